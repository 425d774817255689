"""The baseline: a bare Flask app with one JSON endpoint and one multipart upload, served the same way as the
toolbox (benchmarks/api_bench.py)."""

from flask import Flask, jsonify, redirect, request

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"ok": True})


@app.post("/upload")
def upload():
    """Parse the form and read the photo, as any multipart endpoint must; then redirect as the H5 form does."""
    photos = request.files.getlist("photos")
    size = sum(len(p.read()) for p in photos)
    return redirect(f"/ping?bytes={size}", code=303)
