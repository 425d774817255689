"""Registered systems: register, change, rotate keys with a grace period, disable at once, authenticate.

An API key is shown once and kept as a SHA-256 hash; the webhook secret is shown once and kept
encrypted (signing needs the secret itself). No request objects here: the admin API and the CLI call these.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from fnmatch import fnmatchcase

from flask import current_app
from sqlalchemy import or_, select

from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.integration import IntegrationCredential, IntegrationSystem
from app.models.org import OrgUnit
from app.registry import current_registry
from app.services import audit

CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
KEY_PREFIX = "tbk_"
#: Work-item events a system may subscribe to; a tool's record events are "<tool>.<type>.saved".
WORK_ITEM_EVENTS = ("work_item.created", "work_item.dispatched", "work_item.accepted", "work_item.forwarded",
                    "work_item.fed_back", "work_item.returned", "work_item.reviewed", "work_item.closed",
                    "work_item.reopened", "work_item.extended", "work_item.supervised")


@dataclass(frozen=True)
class Issued:
    """What registration and rotation hand out, once."""

    system: IntegrationSystem
    api_key: str
    webhook_secret: str
    old_valid_until: object = None


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def get_system(code: str) -> IntegrationSystem:
    system = db.session.execute(select(IntegrationSystem).where(IntegrationSystem.code == code)).scalar_one_or_none()
    if system is None:
        raise ApiError(404, "integration_not_found", "接入系统不存在", "No such integrated system")
    return system


def resolve_category(code: str):
    """A category code a system may send → (tool code, Category). "tool:category" picks a tool; a bare code
    is the citizen category of that code first (what the public reports), else the one tool declaring it."""
    registry = current_registry()
    if ":" in code:
        tool, _, cat = code.partition(":")
        found = registry.category(tool, cat)
        return (tool, found) if found else None
    matches = [(t.code, c) for t in registry for c in t.manifest.categories if c.code == code]
    matches.sort(key=lambda m: not m[1].citizen)
    return matches[0] if matches else None


def _problems(data: dict, creating: bool) -> dict[str, list[str]]:
    """Every problem of a registration or change at once."""
    problems: dict[str, list[str]] = {}
    if creating and not CODE_RE.match(data.get("code") or ""):
        problems["code"] = ["编码须为 2–40 位小写字母、数字、-、_，以字母开头"]
    for code in data.get("categories") or ():
        if resolve_category(code) is None:
            problems.setdefault("categories", []).append(f"工单类别不存在：{code}")
    units = data.get("units") or ()
    if units:
        known = set(db.session.execute(select(OrgUnit.code).where(OrgUnit.code.in_(units))).scalars())
        for code in units:
            if code not in known:
                problems.setdefault("units", []).append(f"单位不存在：{code}")
    for pattern in data.get("events") or ():
        if not (pattern in WORK_ITEM_EVENTS or pattern == "*" or re.match(r"^[a-z_*]+\.[a-z_*.]+$", pattern)):
            problems.setdefault("events", []).append(f"事件类型无效：{pattern}")
    url = data.get("webhook_url")
    if url and not re.match(r"^https?://[^\s/]+", url):
        problems["webhook_url"] = ["须为 http(s) 地址"]
    return problems


def _invalid(problems: dict) -> ApiError:
    return ApiError(422, "validation_error", "接入系统信息有误", "The system's settings are invalid", fields=problems)


def _new_credential(system: IntegrationSystem) -> tuple[str, str]:
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    secret = "whsec_" + secrets.token_urlsafe(32)
    system.credentials.append(IntegrationCredential(
        key_hash=hash_key(api_key), key_prefix=api_key[:10], webhook_secret=secret, created_at=utcnow()))
    return api_key, secret


def _settings(system: IntegrationSystem) -> dict:
    return {"name": system.name, "categories": system.categories, "units": system.units,
            "webhook_url": system.webhook_url, "events": system.events}


def register(data: dict, actor) -> Issued:
    """Register a system; its key and secret are in the result and nowhere else in clear. THE CALLER COMMITS."""
    problems = _problems(data, creating=True)
    if data.get("code") and db.session.execute(
            select(IntegrationSystem.id).where(IntegrationSystem.code == data["code"])).first():
        problems.setdefault("code", []).append("编码已被使用")
    if problems:
        raise _invalid(problems)
    system = IntegrationSystem(code=data["code"], name=data["name"], categories=list(data.get("categories") or []),
                               units=list(data.get("units") or []), webhook_url=data.get("webhook_url") or None,
                               events=list(data.get("events") or []), enabled=True)
    db.session.add(system)
    api_key, secret = _new_credential(system)
    db.session.flush()
    audit.record("integration.register", target_type="integration", target_id=system.code, actor=actor,
                 detail=_settings(system))
    return Issued(system, api_key, secret)


def update(system: IntegrationSystem, data: dict, actor) -> IntegrationSystem:
    """Change name, grants, webhook or subscriptions; audited with the values before and after."""
    problems = _problems(data, creating=False)
    if problems:
        raise _invalid(problems)
    before = _settings(system)
    for key in ("name", "categories", "units", "webhook_url", "events"):
        if key in data:
            setattr(system, key, list(data[key]) if isinstance(data[key], list | tuple) else data[key])
    audit.record("integration.update", target_type="integration", target_id=system.code, actor=actor,
                 detail={"before": before, "after": _settings(system)})
    return system


def rotate(system: IntegrationSystem, actor, grace_hours: float | None = None) -> Issued:
    """A new key and secret; the current ones stay valid for the grace period (0: revoked at once)."""
    hours = current_app.config["INTEGRATION_KEY_GRACE_HOURS"] if grace_hours is None else grace_hours
    now = utcnow()
    until = now + timedelta(hours=hours)
    for cred in system.credentials:
        if cred.expires_at is None or cred.expires_at > until:
            cred.expires_at = until
    api_key, secret = _new_credential(system)
    audit.record("integration.rotate", target_type="integration", target_id=system.code, actor=actor,
                 detail={"grace_hours": hours, "old_valid_until": until.isoformat()})
    return Issued(system, api_key, secret, old_valid_until=until)


def set_enabled(system: IntegrationSystem, enabled: bool, actor) -> IntegrationSystem:
    """Disable: every key is refused from the next request on, and nothing more is sent to it."""
    system.enabled = enabled
    system.disabled_at = None if enabled else utcnow()
    audit.record("integration.enable" if enabled else "integration.disable", target_type="integration",
                 target_id=system.code, actor=actor)
    return system


def live_credentials(system: IntegrationSystem) -> list[IntegrationCredential]:
    """Newest first: the current credential and any still in their grace period."""
    now = utcnow()
    return sorted((c for c in system.credentials if c.expires_at is None or c.expires_at > now),
                  key=lambda c: c.id, reverse=True)


def authenticate(raw_key: str | None) -> IntegrationSystem:
    """The enabled system holding this live key, or 401/403."""
    if not raw_key:
        raise ApiError(401, "api_key_required", "缺少接入密钥 X-Api-Key", "The X-Api-Key header is required")
    now = utcnow()
    cred = db.session.execute(select(IntegrationCredential).where(
        IntegrationCredential.key_hash == hash_key(raw_key.strip()),
        or_(IntegrationCredential.expires_at.is_(None), IntegrationCredential.expires_at > now))
    ).scalar_one_or_none()
    if cred is None:
        raise ApiError(401, "invalid_api_key", "接入密钥无效或已过期", "The API key is invalid or expired")
    if not cred.system.enabled:
        raise ApiError(403, "integration_disabled", "该接入系统已停用", "This system is disabled")
    return cred.system


def hears(system: IntegrationSystem, event_type: str) -> bool:
    return any(fnmatchcase(event_type, pattern) for pattern in system.events or ())


def granted_unit_paths(system: IntegrationSystem) -> list[str]:
    if not system.units:
        return []
    return list(db.session.execute(select(OrgUnit.path).where(OrgUnit.code.in_(system.units))).scalars())


def view(system: IntegrationSystem) -> dict:
    """What an admin sees: settings and key prefixes, never a key or secret."""
    return {
        "code": system.code, "name": system.name, "categories": system.categories, "units": system.units,
        "webhook_url": system.webhook_url, "events": system.events, "enabled": system.enabled,
        "created_at": system.created_at.isoformat() if system.created_at else None,
        "keys": [{"prefix": c.key_prefix, "created_at": c.created_at.isoformat(),
                  "expires_at": c.expires_at.isoformat() if c.expires_at else None} for c in live_credentials(system)],
    }
