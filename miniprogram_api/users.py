"""The staff directory, within the caller's data scope."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import exists, or_, select

from app.api import paginate, parse_args
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import Membership, User
from app.services.scope import ensure_in_scope, scope_clause
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.schemas import UserOut, UserPage, UserQuery

_user_out = UserOut()


@bp.get("/users")
@doc("Staff within my data scope (mobile numbers masked)", tags=("org",), query=UserQuery, response=UserPage)
def list_users():
    """Staff who hold a role somewhere inside my subtrees."""
    args = parse_args(UserQuery())
    me = current_user()
    in_scope = select(Membership.id).join(OrgUnit).where(
        Membership.user_id == User.id, scope_clause(OrgUnit.path, me))
    if "unit" in args:
        unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == args["unit"])).scalar_one_or_none()
        if unit is None:
            raise ApiError(404, "org_unit_not_found", "单位不存在", "No such org unit")
        ensure_in_scope(me, unit.path)
        in_scope = in_scope.where(OrgUnit.path.startswith(unit.path))
    if "role" in args:
        in_scope = in_scope.where(Membership.role == args["role"])
    stmt = select(User).where(exists(in_scope)).order_by(User.wecom_userid)
    if "q" in args:
        stmt = stmt.where(or_(User.name.contains(args["q"]), User.wecom_userid.contains(args["q"])))
    return jsonify(paginate(stmt, args["page"], args["per_page"], lambda u: _user_out.dump(u.to_public())))
