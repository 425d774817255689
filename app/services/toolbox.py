"""Which tools a user may open, and per-org-unit enablement (stored and audited)."""

from __future__ import annotations

from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.tools import ToolSetting
from app.registry import Tool, current_registry
from app.services import audit, local_cache
from app.services.like import starts_with


def _all_settings() -> dict[str, dict[str, bool]]:
    """Every tool's settings by unit path, in one statement, cached per process (local_cache
    "tool_settings": a changed setting or a moved unit bumps its version everywhere)."""
    def load():
        settings: dict[str, dict[str, bool]] = {}
        rows = db.session.execute(select(ToolSetting.tool_code, OrgUnit.path, ToolSetting.enabled)
                                  .join(OrgUnit, OrgUnit.id == ToolSetting.org_unit_id))
        for code, path, enabled in rows:
            settings.setdefault(code, {})[path] = enabled
        return settings
    return local_cache.cache("tool_settings").get_or_load("all", load)


def _settings_by_path(tool_code: str) -> dict[str, bool]:
    return _all_settings().get(tool_code, {})


def _enabled_at(settings: dict[str, bool], path: str) -> bool:
    """The nearest ancestor's (or the unit's own) setting wins; a tool is on by default."""
    best = None
    for setting_path, enabled in settings.items():
        if path.startswith(setting_path) and (best is None or len(setting_path) > len(best[0])):
            best = (setting_path, enabled)
    return True if best is None else best[1]


def is_enabled(tool_code: str, unit: OrgUnit) -> bool:
    return _enabled_at(_settings_by_path(tool_code), unit.path)


def may_open(user, tool: Tool) -> bool:
    """A role the tool admits, at a unit where it is enabled."""
    settings = _settings_by_path(tool.code)
    return any(m.role in tool.manifest.roles and _enabled_at(settings, m.org_unit.path) for m in user.memberships)


def tools_for(user) -> list[Tool]:
    """The tools the user may open: a role the tool admits, at a unit where it is enabled."""
    return [tool for tool in current_registry() if may_open(user, tool)]


def require_tool_access(user, tool_code: str) -> Tool:
    tool = current_registry().get(tool_code)
    if tool is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    if not may_open(user, tool):  # this tool's settings only, not every tool's
        raise ApiError(403, "tool_not_available", "您无权使用该工具或该工具未对您的单位开放",
                       "This tool is not available to you")
    return tool


def set_enabled(tool_code: str, unit: OrgUnit, enabled: bool, actor) -> ToolSetting:
    """Enable or disable a tool for a unit's subtree (caller commits); actor: a User or a label."""
    changed_by = getattr(actor, "wecom_userid", actor)
    if current_registry().get(tool_code) is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    row = db.session.execute(select(ToolSetting).where(
        ToolSetting.tool_code == tool_code, ToolSetting.org_unit_id == unit.id)).scalar_one_or_none()
    if row is None:
        row = ToolSetting(tool_code=tool_code, org_unit_id=unit.id, org_unit=unit)
        db.session.add(row)
    row.enabled, row.changed_by = enabled, changed_by
    audit.record("tool.enable" if enabled else "tool.disable", target_type="tool", target_id=tool_code,
                 detail={"org_unit": unit.code, "enabled": enabled}, actor=actor)
    return row


def settings_for(tool_code: str) -> list[dict]:
    rows = db.session.execute(select(ToolSetting).where(ToolSetting.tool_code == tool_code)).scalars()
    return [{"org_unit": r.org_unit.to_summary(), "enabled": r.enabled, "changed_by": r.changed_by}
            for r in sorted(rows, key=lambda r: r.org_unit.path)]


def preview_enable(tool_code: str, unit: OrgUnit, enabled: bool) -> dict[str, list]:
    """Who would gain and who would lose the tool if it were set so for unit's subtree (nothing is written).

    Only people holding a role the tool admits somewhere in the subtree can be affected."""
    from app.models.users import Membership, User

    tool = current_registry().get(tool_code)
    if tool is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    before = _settings_by_path(tool_code)
    after = {**before, unit.path: enabled}
    roles = tool.manifest.roles
    people = db.session.execute(
        select(User).join(Membership).join(OrgUnit)
        .where(Membership.role.in_(roles), starts_with(OrgUnit.path, unit.path),
               User.active.is_(True))
        .distinct().order_by(User.wecom_userid)).scalars().all()
    gains, losses = [], []
    for person in people:
        def may(settings, person=person):
            return any(m.role in roles and _enabled_at(settings, m.org_unit.path) for m in person.memberships)
        had, has = may(before), may(after)
        if has and not had:
            gains.append(person)
        elif had and not has:
            losses.append(person)
    return {"gains": gains, "losses": losses}
