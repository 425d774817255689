"""A minimal built-in-style tool used by the registry tests."""

from flask import Blueprint, jsonify

from app import toolkit as tk

blueprint = Blueprint("street_lamps", __name__)


@blueprint.get("/ping")
def ping():
    """Answer with the tool's code."""
    return jsonify({"tool": "street_lamps"})


tool = tk.Tool(
    manifest=tk.Manifest(code="street_lamps", name="路灯巡查", icon="lamp", version="0.1.0",
                         roles=("worker", "manager"),
                         categories=(tk.Category("lamp_out", "路灯不亮", route_to="street"),)),
    blueprint=blueprint,
)
