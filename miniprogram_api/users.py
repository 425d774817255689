"""The staff directory, within the caller's data scope."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import exists, or_, select

from app.api import paginate, parse_args
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import Membership, Role, User
from app.services.crypto import mask_mobile
from app.services.like import contains, starts_with
from app.services.scope import admin_scope_clause, in_admin_scope, in_scope, scope_clause
from app.views import filter_unit
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.schemas import UserPage, UserQuery

_user_query = UserQuery()  # built once per process (a schema copies its fields when built)


@bp.get("/users")
@doc("Staff within my data scope (mobile numbers masked)", tags=("org",), query=UserQuery, response=UserPage)
def list_users():
    """Staff who hold a role somewhere inside my subtrees (the security admin's: where they manage people)."""
    args = parse_args(_user_query)
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
    stmt = select(*_USER_COLUMNS).where(exists(held)).order_by(User.wecom_userid)
    if "q" in args:
        stmt = stmt.where(or_(contains(User.name, args["q"]), contains(User.wecom_userid, args["q"])))
    page = paginate(stmt, args["page"], args["per_page"], lambda row: row, scalars=False)
    page["items"] = _dump_users(page["items"])
    return jsonify(page)


# A list page needs no ORM objects: plain rows for the page, and everyone's memberships in one more
# statement, already in UserOut's shape (no marshmallow pass), the same JSON as UserOut().dump(user.to_public())
# (tests/test_users_list.py compares them).
_USER_COLUMNS = (User.id, User.wecom_userid, User.name, User.mobile, User.position, User.active)


def _dump_users(rows) -> list[dict]:
    held: dict[int, list[dict]] = {row.id: [] for row in rows}
    if held:
        memberships = db.session.execute(
            select(Membership.user_id, Membership.role, OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.level)
            .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
            .where(Membership.user_id.in_(held)).order_by(Membership.id))
        for user_id, role, unit_id, code, name, level in memberships:
            held[user_id].append({"role": role, "org_unit": {"id": unit_id, "code": code, "name": name,
                                                             "level": level}})
    return [{"id": r.id, "userid": r.wecom_userid, "name": r.name, "mobile": mask_mobile(r.mobile),
             "position": r.position, "active": r.active, "memberships": held[r.id]} for r in rows]
