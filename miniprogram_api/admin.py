"""Administration: tool enablement (system admin) and the audit log (audit admin only)."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api import paginate, parse_args, parse_json
from app.auth import current_user, roles_required
from app.errors import ApiError
from app.extensions import db
from app.models.audit import AuditLog
from app.models.org import OrgUnit
from app.models.users import Role
from app.registry import current_registry
from app.services import audit
from app.services.scope import ensure_in_admin_scope
from app.services.toolbox import set_enabled, settings_for
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.schemas import AdminToolList, AdminToolOut, AuditPage, AuditQuery, AuditRowOut, ToolSettingIn


def _admin_tool(tool) -> dict:
    return {**tool.to_dict(), "settings": settings_for(tool.code)}


@bp.get("/admin/tools")
@roles_required(Role.ADMIN)
@doc("All registered tools with their per-unit settings (system admin)", tags=("admin",),
     response=AdminToolList)
def admin_list_tools():
    """Every registered tool, built-in or installed, with where it is enabled or disabled."""
    return jsonify({"items": [_admin_tool(t) for t in current_registry()]})


@bp.put("/admin/tools/<code>/settings")
@roles_required(Role.ADMIN)
@doc("Enable or disable a tool for an org unit's subtree (system admin)", tags=("admin",),
     body=ToolSettingIn, response=AdminToolOut, errors=(404,))
def admin_set_tool(code: str):
    """Enable or disable one tool for one unit and everything below it; audited."""
    data = parse_json(ToolSettingIn())
    if current_registry().get(code) is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == data["org_unit"])).scalar_one_or_none()
    if unit is None:
        raise ApiError(422, "org_unit_not_found", "单位不存在", "No such org unit")
    user = current_user()
    ensure_in_admin_scope(user, unit.path, Role.ADMIN)
    set_enabled(code, unit, data["enabled"], user)
    db.session.commit()
    return jsonify(_admin_tool(current_registry().get(code)))


@bp.get("/admin/audit-log")
@roles_required(Role.AUDIT_ADMIN)
@doc("Read the audit trail (audit admin only, 三员分立)", tags=("admin",), query=AuditQuery,
     response=AuditPage)
def read_audit_log():
    """Newest first; reading it is itself audited."""
    args = parse_args(AuditQuery())
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    if "action" in args:
        stmt = stmt.where(AuditLog.action == args["action"])
    if "actor" in args:
        stmt = stmt.where(AuditLog.actor == args["actor"])
    page = paginate(stmt, args["page"], args["per_page"], AuditRowOut().dump)
    audit.record("audit.read", detail={k: v for k, v in args.items()})
    db.session.commit()
    return jsonify(page)
