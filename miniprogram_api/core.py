"""Org units, the caller, and the caller's toolbox."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api import paginate, parse_args
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.services.toolbox import tools_for
from app.views import filter_unit
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.schemas import MeOut, OrgUnitOut, OrgUnitPage, OrgUnitQuery, ToolList, UserOut

_org_out = OrgUnitOut()
_user_out = UserOut()  # built once: a marshmallow schema's construction copies every field


@bp.get("/org-units")
@doc("List org units (the district tree), filtered by level or parent", tags=("org",),
     query=OrgUnitQuery, response=OrgUnitPage)
def list_org_units():
    """The district's org units; any signed-in user may read the tree itself."""
    args = parse_args(OrgUnitQuery())
    stmt = select(OrgUnit).order_by(OrgUnit.path)
    if "level" in args:
        stmt = stmt.where(OrgUnit.level == args["level"])
    if "parent" in args:
        parent = filter_unit(args["parent"])
        stmt = stmt.where(OrgUnit.parent_id == parent.id)
    stmt = stmt.order_by(None).order_by(OrgUnit.sort_order, OrgUnit.code)
    return jsonify(paginate(stmt, args["page"], args["per_page"], _org_out.dump))


@bp.get("/org-units/<code>")
@doc("One org unit", tags=("org",), response=OrgUnitOut, errors=(404,))
def get_org_unit(code: str):
    """One org unit by code."""
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise ApiError(404, "org_unit_not_found", "单位不存在", "No such org unit")
    return jsonify(_org_out.dump(unit))


@bp.get("/me")
@doc("The signed-in user, their units, roles and toolbox", tags=("auth",), response=MeOut)
def me():
    """Who am I, and what may I open."""
    user = current_user()
    units = {m.org_unit.id: m.org_unit.to_summary() for m in user.memberships}
    return jsonify({
        "user": _user_out.dump(user.to_public()),
        "units": list(units.values()),
        "roles": sorted(user.roles),
        "toolbox": [t.to_dict() for t in tools_for(user)],
    })


@bp.get("/toolbox")
@doc("The tools the signed-in user may open", tags=("toolbox",), response=ToolList)
def my_toolbox():
    """My toolbox: tools my roles admit, enabled for my units."""
    return jsonify({"items": [t.to_dict() for t in tools_for(current_user())]})
