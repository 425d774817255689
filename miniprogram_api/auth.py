"""One-click login through WeCom: the mini-app's wx.qy.login code, or OAuth in the in-app browser.

Every attempt is audited ("auth.login", committed even when it fails); failed attempts are counted
per client IP and answered 429 (with Retry-After) past LOGIN_FAILURE_LIMIT per window.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote, urlsplit

from flask import current_app, g, jsonify, redirect, request, session, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.api import parse_json
from app.auth import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for, current_user, issue_token, public
from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.users import User
from app.services import audit, ratelimit
from app.wecom.client import CODE_USED, INVALID_CODE, USER_NOT_FOUND, WeComError, get_client
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.schemas import UserOut

_INVALID_CODES = {INVALID_CODE, CODE_USED, 40125}  # invalid, used, expired


class WeComCodeIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=512),
                         metadata={"description": "the code from wx.qy.login"})


class LoginOut(Schema):
    token = fields.String(metadata={"description": "send as Authorization: Bearer <token>"})
    expires_at = fields.DateTime()
    user = fields.Nested(UserOut)


class LogoutOut(Schema):
    revoked = fields.Boolean()


class OAuthQuery(Schema):
    next = fields.String(metadata={"description": "a same-site relative path to return to, e.g. /h5/"})


def _rate_key() -> str:
    return f"login-failures:{request.remote_addr or 'unknown'}"


def _check_rate_limit(method: str) -> None:
    cfg = current_app.config
    failures, retry_after = ratelimit.peek(_rate_key(), cfg["LOGIN_FAILURE_WINDOW_SECONDS"])
    if failures >= cfg["LOGIN_FAILURE_LIMIT"]:
        audit.record("auth.login", outcome="rate_limited", detail={"method": method, "failures": failures})
        db.session.commit()
        raise ApiError(429, "login_rate_limited", "登录失败次数过多，请稍后再试",
                       "Too many failed logins from this client; try again later", retry_after=retry_after)


def _fail(status: int, code: str, zh: str, en: str, *, method: str, userid: str | None = None,
          wecom: WeComError | None = None, count: bool = True) -> ApiError:
    """Audit a failed login (committed on its own), count it against the client, return the error."""
    db.session.rollback()
    if count:
        ratelimit.hit(_rate_key(), current_app.config["LOGIN_FAILURE_LIMIT"],
                      current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])
    detail = {"method": method, "reason": code, **(wecom.to_detail() if wecom else {})}
    audit.record("auth.login", target_type="user", target_id=userid, outcome="failed", detail=detail,
                 actor=userid)
    db.session.commit()
    return ApiError(status, code, zh, en)


def _wecom_failure(err: WeComError, method: str) -> ApiError:
    if err.errcode in _INVALID_CODES:
        return _fail(401, "invalid_code", "登录码无效或已过期，请重新进入应用",
                     "The login code is invalid, expired or already used", method=method, wecom=err)
    if err.errcode == USER_NOT_FOUND:
        return _fail(403, "not_in_directory", "您不在本系统的通讯录中，请联系管理员",
                     "You are not in this organisation's directory", method=method, wecom=err)
    current_app.logger.error("WeCom login call failed: %s", err)
    return _fail(502, "wecom_unavailable", "企业微信服务暂不可用，请稍后再试",
                 "WeCom could not be reached; try again later", method=method, wecom=err, count=False)


def _complete_login(userid: str | None, method: str) -> tuple[str, object, User]:
    """Look the WeCom user up in our directory and issue a token (committed, audited)."""
    if not userid:
        raise _fail(403, "not_in_directory", "您不是本单位企业微信成员", "You are not a member of this WeCom corp",
                    method=method)
    user = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()
    if user is None:
        raise _fail(403, "not_in_directory", "您不在本系统的通讯录中，请联系管理员",
                    "You are not in this organisation's directory", method=method, userid=userid)
    if not user.active:
        raise _fail(403, "user_disabled", "账号已停用，请联系管理员", "This account is disabled",
                    method=method, userid=userid)
    token, row = issue_token(user, client=method)
    g.user = user
    audit.record("auth.login", target_type="user", target_id=user.id, detail={"method": method}, actor=user)
    db.session.commit()
    return token, row, user


@bp.post("/auth/wecom/miniprogram")
@public
@doc("Log in from the WeCom mini-app with the code of wx.qy.login", tags=("auth",), body=WeComCodeIn,
     response=LoginOut, errors=(401, 403, 429, 502, 503), public=True)
def login_miniprogram():
    """Exchange a wx.qy.login code (miniprogram/jscode2session) for an API token."""
    method = "miniprogram"
    _check_rate_limit(method)
    data = parse_json(WeComCodeIn())
    try:
        info = get_client().code2session(data["code"])
    except WeComError as err:
        raise _wecom_failure(err, method) from None
    if info.get("corpid") and info["corpid"] != current_app.config["WECOM_CORP_ID"]:
        raise _fail(403, "wrong_corp", "您不是本单位企业微信成员", "The user belongs to another WeCom corp",
                    method=method, userid=info.get("userid"))
    token, row, user = _complete_login(info.get("userid"), method)
    return jsonify(LoginOut().dump({"token": token, "expires_at": row.expires_at, "user": user.to_public()}))


@bp.post("/auth/logout")
@doc("Log out: revoke the token of this request", tags=("auth",), response=LogoutOut)
def logout():
    """Revoke the current token (bearer or session cookie)."""
    user = current_user()
    token = g.api_token
    token.revoked_at = utcnow()
    audit.record("auth.logout", target_type="user", target_id=user.id, detail={"client": token.client})
    db.session.commit()
    response = jsonify({"revoked": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def safe_next(value: str | None) -> str:
    """A same-site relative path, or 400: never an absolute or scheme-relative URL (open redirect)."""
    if value is None or value == "":
        return "/"
    parts = urlsplit(value)
    if (not value.startswith("/") or value.startswith("//") or "\\" in value or parts.scheme or parts.netloc
            or any(ord(c) < 32 for c in value) or len(value) > 1000):
        raise ApiError(400, "invalid_next", "跳转地址不合法", "next must be a relative path on this site")
    return value


@bp.get("/auth/wecom/oauth")
@public
@doc("Start WeCom OAuth in the in-app browser: 302 to WeCom's authorize page", tags=("auth",),
     query=OAuthQuery, status=302, errors=(400,), public=True)
def oauth_start():
    """Redirect to WeCom's authorize URL; its callback starts a cookie session and returns to next."""
    next_path = safe_next(request.args.get("next"))
    state = secrets.token_urlsafe(24)
    session["wecom_oauth"] = {"state": state, "next": next_path}
    cfg = current_app.config
    callback = f"{cfg['PUBLIC_BASE_URL']}{url_for('api_v1.oauth_callback')}"
    url = (f"{cfg['WECOM_OAUTH_BASE']}?appid={quote(cfg['WECOM_CORP_ID'])}&redirect_uri={quote(callback, safe='')}"
           f"&response_type=code&scope=snsapi_base&state={state}&agentid={quote(str(cfg['WECOM_AGENT_ID']))}"
           "#wechat_redirect")
    return redirect(url, code=302)


@bp.get("/auth/wecom/oauth/callback")
@public
@doc("WeCom OAuth callback: exchange the code (auth/getuserinfo), set the session, 302 to next",
     tags=("auth",), status=302, errors=(400, 401, 403, 429, 502), public=True)
def oauth_callback():
    """WeCom sends the browser back here with ?code=&state=."""
    method = "oauth"
    pending = session.pop("wecom_oauth", None)
    state = request.args.get("state", "")
    if not pending or not state or not secrets.compare_digest(state, pending.get("state", "")):
        raise _fail(400, "invalid_state", "登录请求已失效，请重新进入", "The OAuth state is missing or does not match",
                    method=method)
    _check_rate_limit(method)
    code = request.args.get("code", "")
    if not code:
        raise _fail(401, "invalid_code", "登录码无效，请重新进入", "No code in the OAuth callback", method=method)
    try:
        info = get_client().get_user_info(code)
    except WeComError as err:
        raise _wecom_failure(err, method) from None
    token, row, _user = _complete_login(info.get("userid") or info.get("UserId"), method)
    response = redirect(pending["next"], code=302)
    secure = current_app.config["PUBLIC_BASE_URL"].startswith("https://")
    max_age = current_app.config["TOKEN_TTL_SECONDS"]
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite="Lax",
                        path="/")
    response.set_cookie(CSRF_COOKIE, csrf_token_for(token), max_age=max_age, httponly=False, secure=secure,
                        samesite="Lax", path="/")
    return response
