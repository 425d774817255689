"""The staff directory, within the caller's data scope."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import exists, or_, select

from app.api import paginate, parse_args
from app.auth import current_user
from app.errors import ApiError
from app.models.org import OrgUnit
from app.models.users import Membership, Role, User
from app.services.like import contains, starts_with
from app.services.scope import admin_scope_clause, in_admin_scope, in_scope, scope_clause
from app.views import filter_unit
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.schemas import UserOut, UserPage, UserQuery

_user_out = UserOut()


@bp.get("/users")
@doc("Staff within my data scope (mobile numbers masked)", tags=("org",), query=UserQuery, response=UserPage)
def list_users():
    """Staff who hold a role somewhere inside my subtrees (the security admin's: where they manage people)."""
    args = parse_args(UserQuery())
    me = current_user()
    visible = or_(scope_clause(OrgUnit.path, me), admin_scope_clause(OrgUnit.path, me, Role.SECURITY_ADMIN))
    held = select(Membership.id).join(OrgUnit).where(Membership.user_id == User.id, visible)
    if "unit" in args:
        unit = filter_unit(args["unit"])
        if not (in_scope(me, unit.path) or in_admin_scope(me, unit.path, Role.SECURITY_ADMIN)):
            raise ApiError(403, "out_of_scope", "该记录不在您的数据范围内", "This record is outside your data scope")
        held = held.where(starts_with(OrgUnit.path, unit.path))
    if "role" in args:
        held = held.where(Membership.role == args["role"])
    stmt = select(User).where(exists(held)).order_by(User.wecom_userid)
    if "q" in args:
        stmt = stmt.where(or_(contains(User.name, args["q"]), contains(User.wecom_userid, args["q"])))
    return jsonify(paginate(stmt, args["page"], args["per_page"], lambda u: _user_out.dump(u.to_public())))
