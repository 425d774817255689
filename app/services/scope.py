"""The one data-scope helper: a user sees the union of the subtrees of their org units.

Every query over scoped records goes through scope_clause()/scoped(); single records through
ensure_in_scope(). A record's scope is its org unit's materialised path.
"""

from __future__ import annotations

from sqlalchemy import false, or_
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from app.errors import ApiError


def scope_paths(user, *roles: str) -> list[str]:
    """The minimal set of subtree roots the user may see (optionally only via these roles)."""
    paths = sorted({m.org_unit.path for m in user.memberships if not roles or m.role in roles})
    roots: list[str] = []
    for path in paths:  # sorted, so an ancestor comes before its descendants
        if not any(path.startswith(root) for root in roots):
            roots.append(path)
    return roots


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def scope_clause(path_column, user, *roles: str) -> ColumnElement[bool]:
    """SQL condition: path_column lies inside the user's data scope."""
    roots = scope_paths(user, *roles)
    if not roots:
        return false()
    return or_(*(path_column.like(_escape_like(root) + "%", escape="\\") for root in roots))


def scoped(statement: Select, path_column, user, *roles: str) -> Select:
    return statement.where(scope_clause(path_column, user, *roles))


def in_scope(user, path: str, *roles: str) -> bool:
    return any(path.startswith(root) for root in scope_paths(user, *roles))


def ensure_in_scope(user, path: str, *roles: str) -> None:
    if not in_scope(user, path, *roles):
        raise ApiError(403, "out_of_scope", "该记录不在您的数据范围内", "This record is outside your data scope")
