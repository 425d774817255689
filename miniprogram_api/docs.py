"""/api/openapi.json and a browsable /api/docs page (no external assets: works offline)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from app.auth import public
from app.registry import current_registry
from miniprogram_api.openapi import build_spec

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api", template_folder="templates")


@docs_bp.get("/openapi.json")
@public
def openapi_json():
    """The OpenAPI 3 document of /api/v1."""
    # Built once per set of published tool definitions (each published defined tool has its own paths).
    defined = tuple((t.code, t.manifest.version) for t in current_registry() if t.source == "definition")
    key, spec = current_app.extensions.get("openapi_spec") or (None, None)
    if spec is None or key != defined:
        spec = build_spec(current_app)
        current_app.extensions["openapi_spec"] = (defined, spec)
    return jsonify(spec)


@docs_bp.get("/docs")
@public
def docs_page():
    """A readable page over openapi.json."""
    return render_template("api_docs.html")
