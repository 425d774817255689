"""Who is looking at a page: the WeCom OAuth cookie session, checked before every view of a blueprint.

    from app.web.session import require_login
    require_login(bp)                       # every view of bp needs a signed-in staff member
    require_login(console_bp, roles=("admin", "security_admin", "audit_admin"))

Signing in is WeCom OAuth (`/api/v1/auth/wecom/oauth?next=…`): inside WeCom it is silent, so an
expired session simply comes back to the page it left. The session is the API's token in the
HttpOnly cookie; state-changing requests carry the CSRF value bound to it, as a form field
(`_csrf`, rendered by `csrf_token()`) or the X-CSRF-Token header.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from app.auth import CSRF_HEADER, SESSION_COOKIE, csrf_token_for, resolve_token
from app.errors import ApiError

CSRF_FIELD = "_csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def wants_json() -> bool:
    """The page's script submitted this (fetch): answer JSON, the page stays as it is."""
    return request.headers.get("X-Requested-With") == "fetch"


def csrf_token() -> str:
    raw = request.cookies.get(SESSION_COOKIE)
    return csrf_token_for(raw) if raw else ""


def login_url() -> str:
    """WeCom OAuth, coming back to this page (for a POST: the page that showed the form)."""
    target = request.full_path.rstrip("?") if request.method in _SAFE_METHODS else request.path
    if request.method not in _SAFE_METHODS and request.query_string:
        target = f"{request.path}?{request.query_string.decode()}"
    return url_for("api_v1.oauth_start", next=target)


def page_error(status: int, message: str, *, title: str = "无法打开", **extra):
    """A friendly page (or, for the page's script, JSON) for a refusal."""
    if wants_json():
        return jsonify({"ok": False, "message": message, **extra}), status
    return render_template("web/error.html", status=status, title=title, message=message, **extra), status


def _session_user():
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None, None
    try:
        user, token = resolve_token(raw)
    except ApiError as err:
        if err.status == 401:
            return None, None  # expired, idle or revoked: sign in again
        raise
    return user, raw


def page_user():
    """The signed-in person of this browser, or None (no session, or one that has ended)."""
    try:
        return _session_user()[0]
    except ApiError:
        return None


def require_login(bp: Blueprint, roles: tuple[str, ...] = (), refusal: str = "您的角色不能使用此页面") -> None:
    """Before every view of bp: a signed-in, active user (with one of roles), and CSRF on writes."""

    @bp.before_request
    def _signed_in():
        try:
            user, raw = _session_user()
        except ApiError as err:  # e.g. a disabled account
            return page_error(err.status, err.message)
        if user is None:
            if wants_json():
                return jsonify({"ok": False, "login": login_url(), "message": "登录已过期，正在重新登录"}), 401
            return redirect(login_url(), code=302)
        g.user = user
        if request.method not in _SAFE_METHODS:
            try:
                sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
            except RequestEntityTooLarge:
                return page_error(413, "提交的内容（照片）太大，请减少照片后重试", title="内容过大")
            if not hmac.compare_digest(sent, csrf_token_for(raw)):
                return page_error(403, "页面已失效，请刷新后重试", title="请刷新页面")
        if roles and not user.has_role(*roles):
            return page_error(403, refusal, title="无权访问")
        return None
