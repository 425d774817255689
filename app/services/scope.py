"""The one data-scope helper: a user sees the union of the subtrees of their org units.

Every query over scoped records goes through scope_clause()/scoped(); single records through
ensure_in_scope(). A record's scope is its org unit's materialised path.

三员分立 holds for data: the system, security and audit admin roles grant no business data scope.
The business helpers (scope_paths, scope_clause, scoped, in_scope, ensure_in_scope) count only
business roles (worker, operator, manager), even when an admin role is asked for by name. The few
administrative checks (the security admin's people, the system admin's tools and places) use the
admin_* helpers and name the admin role they need. A person who also needs business data holds a
business role in a unit, as in real life.

Everything is computed from user.memberships, so a cached principal stays correct as long as its
memberships are.
"""

from __future__ import annotations

from sqlalchemy import false, or_
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from app.errors import ApiError
from app.models.users import SEPARATED_ADMIN_ROLES
from app.services.like import starts_with


def _roots(paths) -> list[str]:
    roots: list[str] = []
    for path in sorted(set(paths)):  # sorted, so an ancestor comes before its descendants
        if not any(path.startswith(root) for root in roots):
            roots.append(path)
    return roots


def business_memberships(user, *roles: str) -> list:
    """The memberships that grant business data scope (optionally only these roles)."""
    return [m for m in user.memberships
            if m.role not in SEPARATED_ADMIN_ROLES and (not roles or m.role in roles)]


def scope_paths(user, *roles: str) -> list[str]:
    """The minimal set of subtree roots the user may see business data in (optionally only via these roles)."""
    return _roots(m.org_unit.path for m in business_memberships(user, *roles))


def _paths_clause(path_column, roots: list[str]) -> ColumnElement[bool]:
    if not roots:
        return false()
    return or_(*(starts_with(path_column, root) for root in roots))


def scope_clause(path_column, user, *roles: str) -> ColumnElement[bool]:
    """SQL condition: path_column lies inside the user's business data scope."""
    return _paths_clause(path_column, scope_paths(user, *roles))


def scoped(statement: Select, path_column, user, *roles: str) -> Select:
    return statement.where(scope_clause(path_column, user, *roles))


def in_scope(user, path: str, *roles: str) -> bool:
    return any(path.startswith(root) for root in scope_paths(user, *roles))


def _out_of_scope() -> ApiError:
    return ApiError(403, "out_of_scope", "该记录不在您的数据范围内", "This record is outside your data scope")


def ensure_in_scope(user, path: str, *roles: str) -> None:
    if not in_scope(user, path, *roles):
        raise _out_of_scope()


# --- administrative scope: where an admin role administers (never business data) ------------------

def admin_scope_paths(user, role: str) -> list[str]:
    """Subtree roots where the user holds this one admin role."""
    if role not in SEPARATED_ADMIN_ROLES:
        raise ValueError(f"{role!r} is not one of the separated admin roles; use scope_paths()")
    return _roots(m.org_unit.path for m in user.memberships if m.role == role)


def admin_scope_clause(path_column, user, role: str) -> ColumnElement[bool]:
    return _paths_clause(path_column, admin_scope_paths(user, role))


def in_admin_scope(user, path: str, role: str) -> bool:
    return any(path.startswith(root) for root in admin_scope_paths(user, role))


def ensure_in_admin_scope(user, path: str, role: str) -> None:
    if not in_admin_scope(user, path, role):
        raise _out_of_scope()
