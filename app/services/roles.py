"""Granting and taking away roles (the security admin's work, 三员分立), audited.

The console's people page uses these; `flask toolbox grant-role` keeps its own wording for the shell.
"""

from __future__ import annotations

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import KNOWN_ROLES, Membership, Role, User
from app.services import audit
from app.services.directory import separated_roles_held
from app.services.scope import ensure_in_admin_scope


def grant_role(user: User, role: str, unit: OrgUnit, *, actor: User) -> Membership:
    """Give user the role at unit (the caller commits). A second admin role is refused, and the refusal audited."""
    if role not in KNOWN_ROLES:
        raise ApiError(422, "unknown_role", "角色无效", "Unknown role")
    ensure_in_admin_scope(actor, unit.path, Role.SECURITY_ADMIN)
    if any(m.org_unit_id == unit.id and m.role == role for m in user.memberships):
        raise ApiError(409, "role_exists", "该人员在此单位已有此角色", "The user already holds this role there")
    held = separated_roles_held([*(m.role for m in user.memberships), role])
    if len(held) > 1:
        audit.record("directory.role.grant", target_type="user", target_id=user.id, outcome="denied", actor=actor,
                     detail={"userid": user.wecom_userid, "role": role, "unit": unit.code,
                             "reason": "separated_roles", "roles": sorted(held)})
        db.session.commit()  # the refusal is kept even though nothing else is
        raise ApiError(422, "separated_roles", "三员分立：同一人不得同时担任系统管理员、安全管理员、审计管理员中的两个",
                       "Separation of duties: one person may not hold two of the admin roles", roles=sorted(held))
    membership = Membership(org_unit=unit, role=role)
    user.memberships.append(membership)
    db.session.flush()
    audit.record("directory.role.grant", target_type="user", target_id=user.id, actor=actor,
                 detail={"userid": user.wecom_userid, "role": role, "unit": unit.code, "created_user": False})
    return membership


def revoke_membership(user: User, membership_id: int, *, actor: User) -> Membership:
    """Take one role at one unit away from user (the caller commits); audited as the CLI's revoke-role."""
    membership = next((m for m in user.memberships if m.id == membership_id), None)
    if membership is None:
        raise ApiError(404, "not_found", "该角色不存在", "No such membership")
    ensure_in_admin_scope(actor, membership.org_unit.path, Role.SECURITY_ADMIN)
    user.memberships.remove(membership)
    db.session.flush()
    audit.record("directory.role.revoke", target_type="user", target_id=user.id, actor=actor,
                 detail={"userid": user.wecom_userid, "role": membership.role, "units": [membership.org_unit.code]})
    return membership
