"""The shared page layer: server-rendered pages on the same services the API uses.

The staff workbench (/h5/staff/), the assessment dashboards and the admin console build on it:

    templates  web/base.html (the page frame), web/macros.html (forms, lists, details, badges),
               web/form.html, web/list.html, web/detail.html, web/error.html
    static     /static/web/web.css, web.js (local drafts, idempotent submits, photo shrinking),
               wecom.js (the WeCom JS-SDK with browser fallbacks), vendor/ (the official SDK)
    session    require_login(bp): the WeCom OAuth cookie session, CSRF, the redirect to log in
    screens    descriptions of forms, lists and details a page renders without its own template
    submit     handle_form(): idempotency key, photos, validation, the service call, the answer

See docs/workbench.md.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Flask, request, url_for

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")
STATIC_DIR = Path(__file__).parent / "static"
WECOM_UA = "wxwork"  # WeCom's in-app browser says so in its user agent


@cache
def _digest(filename: str) -> str:
    return hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    """A static file's URL with its content hash: cached for a year, refetched only when it changes."""
    return url_for("web.static", filename=filename, v=_digest(filename))


def in_wecom() -> bool:
    return WECOM_UA in (request.user_agent.string or "").lower()


def query_with(**changes) -> str:
    """This page's query string with some arguments changed (for pagers and tabs)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    return urlencode(args)


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


@bp.after_request
def _cache_versioned_assets(response):
    if request.endpoint == "web.static" and request.args.get("v"):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def security_headers(response):
    """No third-party anything on our pages: every asset is served from here."""
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; "
                                "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")  # pages show personal data: never cached
    return response


def init_app(app: Flask) -> None:
    from app.web import filters
    from app.web.session import csrf_token

    app.register_blueprint(bp)
    filters.register(app)
    app.jinja_env.globals.update(asset_url=asset_url, in_wecom=in_wecom, csrf_token=csrf_token,
                                 new_idempotency_key=new_idempotency_key, query_with=query_with)
