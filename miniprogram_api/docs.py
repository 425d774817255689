"""/api/openapi.json and /api/docs, a browsable reference with try-it-out: Swagger UI, served from the
swagger-ui-bundle package's own files (no CDN: it works offline and behind the government network)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from app.auth import public
from app.registry import current_registry
from miniprogram_api.openapi import build_spec

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api", template_folder="templates")
STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")


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
    """Swagger UI over openapi.json."""
    return render_template("api_docs.html")


@docs_bp.get("/docs/swagger-ui/<any(" + ", ".join(f'"{f}"' for f in SWAGGER_FILES) + "):filename>")
@public
def swagger_asset(filename: str):
    """Swagger UI's own files, from the installed package."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


@docs_bp.get("/docs/api_docs.js")
@public
def docs_script():
    """The page's own script: starts Swagger UI on this server's document."""
    return send_from_directory(str(STATIC_DIR), "api_docs.js", max_age=3600)
