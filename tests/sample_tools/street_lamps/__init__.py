"""A minimal built-in-style tool used by the registry tests."""

from flask import Blueprint, jsonify

from toolbox.registry import Category, Manifest, Tool

blueprint = Blueprint("street_lamps", __name__)


@blueprint.get("/ping")
def ping():
    """Answer with the tool's code."""
    return jsonify({"tool": "street_lamps"})


tool = Tool(
    manifest=Manifest(code="street_lamps", name="路灯巡查", icon="lamp", version="0.1.0",
                      roles=("worker", "manager"),
                      categories=(Category("lamp_out", "路灯不亮", route_to="street"),)),
    blueprint=blueprint,
)
