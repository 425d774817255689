"""A tool's screens in the workbench, declared as descriptions (see app/web/screens.py).

A code tool puts them in `<its package>/workbench.py` as `screens = ToolScreens(...)`; the workbench
finds them through the registry and mounts them under /h5/staff/t/<code>/, after the tool access
check. A tool defined without code (issue 15) will build a ToolScreens from its definition — list,
form and detail — and render through the same templates.

    screens = ToolScreens("street_lamps", home="lamps")

    @screens.list("lamps", "路灯")
    def lamps(user, args) -> ListPage: ...

    @screens.detail("lamps")
    def lamp(user, ident) -> DetailPage: ...

    @screens.form("inspect")
    def inspect(user, args) -> FormScreen: ...         # args["id"]: the record, if any

    @screens.record("lamp")                             # one-click query results and Jing'an codes
    def lamp_url(ident) -> str: ...
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from marshmallow import ValidationError
from sqlalchemy import func, select

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.services.scope import in_scope, scope_clause
from app.web.screens import Form

STAFF_PREFIX = "/h5/staff"


@dataclass
class FormScreen:
    form: Form
    save: Callable[[dict], str]        # values → the URL to show next (the service call; may flash)
    initial: dict = field(default_factory=dict)
    back_url: str | None = None
    before: object = None              # a DetailPage shown above the form (what is being acted on)


class ToolScreens:
    def __init__(self, code: str, home: str):
        self.code, self.home = code, home
        self.lists: dict[str, tuple[str, Callable]] = {}
        self.pages: dict[str, tuple[str, Callable]] = {}
        self.details: dict[str, Callable] = {}
        self.forms: dict[str, Callable] = {}
        self.records: dict[str, Callable[[str], str]] = {}

    def url(self, *parts, **query) -> str:
        path = "/".join(str(p) for p in (STAFF_PREFIX, "t", self.code, *parts))
        query = {k: v for k, v in query.items() if v is not None}
        return path + (f"?{urlencode(query)}" if query else "")

    def form_url(self, name: str, **query) -> str:
        return self.url("f", name, **query)

    def _register(self, table: dict, name: str, value):
        def decorate(fn):
            table[name] = (value, fn) if value is not None else fn
            return fn
        return decorate

    def list(self, name: str, title: str):
        """fn(user, args) → ListPage, at /t/<code>/<name>."""
        return self._register(self.lists, name, title)

    def page(self, name: str, title: str):
        """fn(user, args) → DetailPage, at /t/<code>/<name> (an overview, a report)."""
        return self._register(self.pages, name, title)

    def detail(self, name: str):
        """fn(user, ident) → DetailPage, at /t/<code>/<name>/<ident>."""
        return self._register(self.details, name, None)

    def form(self, name: str):
        """fn(user, args) → FormScreen, at /t/<code>/f/<name>?id=…"""
        return self._register(self.forms, name, None)

    def record(self, type_: str):
        """fn(ident) → the workbench URL of one of the tool's records (for one-click query results)."""
        return self._register(self.records, type_, None)

    def record_url(self, type_: str, ident: str) -> str | None:
        fn = self.records.get(type_)
        return fn(ident) if fn is not None else None


_cache: dict[str, ToolScreens | None] = {}


def screens_for(tool) -> ToolScreens | None:
    """The tool's screens: its package's `workbench` module for a code tool.

    A tool defined without code gets screens built from its published definition (app/web/defined_screens.py),
    cached per version."""
    if tool.source == "definition":
        key = f"{tool.code}@{tool.manifest.version}"
        if key not in _cache:
            from app.web.defined_screens import defined_screens

            _cache[key] = defined_screens(tool)
        return _cache[key]
    if tool.code in _cache:
        return _cache[tool.code]
    found = None
    if tool.package:
        name = f"{tool.package}.workbench"
        if importlib.util.find_spec(name) is not None:
            found = getattr(importlib.import_module(name), "screens", None)
    _cache[tool.code] = found
    return found


# --- helpers for screen authors ------------------------------------------------------------------

PER_PAGE = 20


def page_rows(statement, page: int, per_page: int = PER_PAGE):
    """(rows, pages, total) of one page of a select."""
    total = db.session.execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).unique().scalars().all()
    return rows, max(1, -(-total // per_page)), total


def unit_choices(user, roles: tuple[str, ...], levels: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Units (code, name) at these levels inside the subtrees where the user holds one of roles.

    A district-wide user gets streets and grids, not every committee (the list stays short)."""
    stmt = select(OrgUnit).where(scope_clause(OrgUnit.path, user, *roles), OrgUnit.level.in_(levels))
    if any(m.org_unit.level in ("district", "department") and m.role in roles for m in user.memberships):
        stmt = stmt.where(OrgUnit.level.in_([lv for lv in levels if lv in ("district", "street", "grid")]))
    units = db.session.execute(stmt.order_by(OrgUnit.path)).scalars().all()
    return tuple((u.code, u.name) for u in units)


def unit_in_scope(user, code: str | None, roles: tuple[str, ...]) -> OrgUnit:
    """The unit a form names, if the user holds one of roles over it; else 422 on the field `org_unit`."""
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none() if code else None
    if unit is None or not in_scope(user, unit.path, *roles):
        raise ApiError(422, fields={"org_unit": ["请选择您负责范围内的单位"]})
    return unit


def load_with(schema, payload: dict) -> dict:
    """Validate a form's values with the tool's API schema (one set of rules): 422 with Chinese field errors."""
    try:
        return schema.load({k: v for k, v in payload.items() if v is not None})
    except ValidationError as err:
        raise ApiError(422, "validation_error", "请检查标红的内容", "Invalid input", fields=err.messages) from err


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None
