"""The baseline: a bare Flask app with one JSON endpoint, served the same way as the toolbox."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"ok": True})
