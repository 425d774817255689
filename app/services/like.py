"""The one way to filter with SQL LIKE: the user's text is always literal (`q=%` finds a percent sign,
not everything; `_` is an underscore, not any character).

    from app.services.like import contains, starts_with
    stmt.where(contains(Site.name, q))              # case-insensitive substring
    stmt.where(starts_with(Site.org_path, unit.path))  # a subtree of the org tree

tests/test_like.py checks that no other module builds a LIKE itself.
"""

from __future__ import annotations

from sqlalchemy import or_
from sqlalchemy.sql import ColumnElement

ESCAPE = "\\"


def escape(text: str) -> str:
    """text with LIKE's wildcards (and the escape character itself) made literal."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(column, text: str, *, case_sensitive: bool = False) -> ColumnElement[bool]:
    pattern = f"%{escape(text)}%"
    return column.like(pattern, escape=ESCAPE) if case_sensitive else column.ilike(pattern, escape=ESCAPE)


def contains_any(text: str, *columns) -> ColumnElement[bool]:
    """Any of columns contains text (case-insensitive)."""
    return or_(*(contains(column, text) for column in columns))


def starts_with(column, prefix: str) -> ColumnElement[bool]:
    return column.like(f"{escape(prefix)}%", escape=ESCAPE)
