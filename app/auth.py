"""Bearer-token authentication for /api, checked before every request.

Every view under /api requires a valid token unless it is marked @public. Tokens expire
after TOKEN_TTL_SECONDS and after TOKEN_IDLE_SECONDS without use, and can be revoked.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask, current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.users import ApiToken, Membership, User
from app.services import local_cache

# Refresh last_seen_at at most this often, so reads do not all become writes.
_LAST_SEEN_RESOLUTION = timedelta(seconds=30)


def public(view):
    """Mark a view as reachable without a token."""
    view.is_public = True
    return view


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, client: str | None = None) -> tuple[str, ApiToken]:
    """Create a bearer token for user (added to the session; the caller commits)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(token_hash=_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                   expires_at=now + timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"]),
                   client=client)
    db.session.add(row)
    return token, row


def active_tokens(user: User) -> list[ApiToken]:
    """The user's sessions that still work (not revoked, not expired)."""
    return list(db.session.execute(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
        .order_by(ApiToken.last_seen_at.desc())).scalars())


def revoke_tokens(user: User) -> int:
    """End every session of user, mini-app and browser alike (the caller commits and audits)."""
    rows = active_tokens(user)
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def _unauthenticated(code: str, zh: str, en: str) -> ApiError:
    return ApiError(401, code, zh, en)


def _load_token(token_hash: str) -> ApiToken | None:
    """The token, its user, their memberships and units: one statement."""
    return db.session.execute(
        select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.memberships)
                                 .joinedload(Membership.org_unit))
        .where(ApiToken.token_hash == token_hash)
    ).unique().scalar_one_or_none()


def _detached_copy(row: ApiToken, last_seen_at) -> ApiToken:
    """A copy of the loaded token (with user, memberships, units) that no session holds: the cached
    principal. Requests never use it directly; each merges it into its own session (no SQL)."""
    holder = Session()
    copy = holder.merge(row, load=False)
    holder.expunge_all()
    set_committed_value(copy, "last_seen_at", last_seen_at)
    return copy


def _check(row: ApiToken | None, now) -> None:
    if row is None:
        raise _unauthenticated("invalid_token", "登录凭证无效，请重新登录", "The token is invalid")
    if row.revoked_at is not None:
        raise _unauthenticated("token_revoked", "您已退出登录，请重新登录", "The token was revoked")
    if row.expires_at <= now:
        raise _unauthenticated("token_expired", "登录已过期，请重新登录", "The token has expired")
    idle = timedelta(seconds=current_app.config["TOKEN_IDLE_SECONDS"])
    if row.last_seen_at + idle <= now:
        raise _unauthenticated("token_idle", "长时间未操作，请重新登录", "The session timed out after inactivity")
    if not row.user.active:
        raise ApiError(403, "user_disabled", "账号已停用", "This account is disabled")


def resolve_token(raw: str) -> tuple[User, ApiToken]:
    """The token's user, checked (revoked, expired, idle, disabled) on every request.

    The resolved principal is cached per process (local_cache "principal"), keyed by the token's hash,
    for as long as last_seen_at needs no refresh (30 s); revocation, logout, disabling and role changes
    bump the cache's version, so they hold at once here and within 1 s in every other process.
    """
    token_hash, now = _hash(raw), utcnow()
    principals = local_cache.cache("principal")
    cached, version = principals.get(token_hash)
    if cached is not None and now - cached.last_seen_at < _LAST_SEEN_RESOLUTION:
        row = db.session.merge(cached, load=False)
        _check(row, now)
        return row.user, row
    row = _load_token(token_hash)
    _check(row, now)
    fresh = now - row.last_seen_at >= _LAST_SEEN_RESOLUTION
    copy = _detached_copy(row, now if fresh else row.last_seen_at)
    if fresh:
        row.last_seen_at = now
        db.session.commit()
    principals.put(token_hash, copy, version)
    return row.user, row


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# The WeCom in-app browser (H5) signs in through OAuth and holds its token in an HttpOnly cookie.
# A cookie is sent by the browser on its own, so state-changing requests authenticated by it must
# also carry X-CSRF-Token (the value of the readable CSRF cookie): a cross-site form cannot.
SESSION_COOKIE = "toolbox_token"
CSRF_COOKIE = "toolbox_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token_for(raw_token: str) -> str:
    """The CSRF value bound to a session token (no storage needed: an HMAC under SECRET_KEY)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + raw_token.encode(), hashlib.sha256).hexdigest()


def _cookie_token(view) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or getattr(view, "is_public", False):
        return None  # a stale cookie must not block public views such as login
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token_for(raw)):
            raise ApiError(403, "csrf_failed", "页面已失效，请刷新后重试",
                           "Missing or wrong X-CSRF-Token for a cookie-authenticated request")
    return raw


def authenticate_api_request():
    """before_request: every /api view needs a valid token unless marked @public."""
    if not request.path.startswith("/api/") or request.endpoint is None:
        return None  # unknown URLs fall through to the 404/405 handlers
    view = current_app.view_functions.get(request.endpoint)
    raw = _bearer_token() or _cookie_token(view)
    if raw is None:
        if getattr(view, "is_public", False):
            return None
        raise _unauthenticated("unauthenticated", "请先登录", "Authentication required")
    try:
        g.user, g.api_token = resolve_token(raw)
    except ApiError as err:
        # A stale token must not block public views: the mini-app logs in again with a new code.
        if err.status == 401 and getattr(view, "is_public", False):
            return None
        raise
    return None


def current_user() -> User:
    user = g.get("user")
    if user is None:
        raise ApiError(401)
    return user


def roles_required(*roles: str):
    """Allow the view only to users holding one of these roles (anywhere)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user().has_role(*roles):
                raise ApiError(403, "role_required", "您没有执行此操作的角色权限",
                               "Your role does not allow this", required_roles=list(roles))
            return view(*args, **kwargs)
        return wrapper
    return decorate


def init_app(app: Flask) -> None:
    local_cache.init_app(app, {"principal": float(app.config.get("PRINCIPAL_CACHE_SECONDS", 30)),
                               "tool_settings": float(app.config.get("TOOL_SETTINGS_CACHE_SECONDS", 60))})
    app.before_request(authenticate_api_request)
