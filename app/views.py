"""What the views of every tool's staff API share: a record loaded in the caller's scope or 404, the
org unit a new record is registered in, paged list responses, and the usual list filters."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api import PageArgs, paginate, parse_args, parse_json
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgLevel, OrgUnit
from app.services.like import contains_any, starts_with
from app.services.scope import ensure_in_scope, scope_clause

#: Where a register's records are kept: below the district, down to the residential committee.
REGISTER_LEVELS = (OrgLevel.STREET, OrgLevel.GRID, OrgLevel.COMMITTEE)


def load_in_scope(model, ident: int, *roles: str, missing: tuple[str, str, str] = ("not_found", "记录不存在",
                                                                                     "Not found"), path=None):
    """The row of model with this id, if the caller may see it (with one of roles, when given).

    404 `missing` (code, Chinese, English) when there is none; 403 out_of_scope outside the caller's scope.
    path(row) gives the row's org path when it is not row.org_path (e.g. a line of a record).
    """
    row = db.session.get(model, ident)
    if row is None:
        raise ApiError(404, *missing)
    ensure_in_scope(current_user(), path(row) if path is not None else row.org_path, *roles)
    return row


def in_my_scope(model, *roles: str):
    """select(model) limited to the rows in the caller's data scope (by model.org_path)."""
    return select(model).where(scope_clause(model.org_path, current_user(), *roles))


def register_unit(code: str, *roles: str, levels=REGISTER_LEVELS, field: str = "org_unit",
                  what: str = "记录") -> OrgUnit:
    """The org unit (by code) a new record is kept in: it exists, has a fitting level, is in the caller's scope."""
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise ApiError(422, fields={field: ["所属单位不存在"]})
    if levels and unit.level not in levels:
        names = {OrgLevel.DISTRICT: "全区", OrgLevel.STREET: "街镇", OrgLevel.GRID: "网格", OrgLevel.COMMITTEE: "居村"}
        raise ApiError(422, fields={field: [f"{what}只能属于{'、'.join(names[lvl] for lvl in levels)}"]})
    ensure_in_scope(current_user(), unit.path, *roles)
    return unit


def register_from_request(schema, register, *roles: str, levels=REGISTER_LEVELS, what: str = "记录"):
    """The usual create view's work: the JSON body loaded with schema, the unit it names (`org_unit`, in the
    caller's scope with one of roles), and register(data, unit, user) for the new record."""
    data = parse_json(schema)
    unit = register_unit(data.pop("org_unit"), *roles, levels=levels, what=what)
    return register(data, unit, current_user())


def created(record, schema):
    """Commit, and answer 201 with the new record."""
    db.session.commit()
    return jsonify(schema.dump(record)), 201


def paged(statement, dump, args: dict | None = None):
    """A JSON page of statement's rows (page/per_page from args, else from the query string)."""
    args = args if args is not None else parse_args(PageArgs())
    return jsonify(paginate(statement, args["page"], args["per_page"], dump))


def filter_unit(code: str) -> OrgUnit:
    """The org unit a list is filtered by: one answer everywhere for an unknown one (404 org_unit_not_found)."""
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise ApiError(404, "org_unit_not_found", "单位不存在", "No such org unit")
    return unit


def under_unit(path_column, code: str):
    """SQL: path_column lies in the subtree of the unit with this code (404 when there is no such unit)."""
    return starts_with(path_column, filter_unit(code).path)


def text_matches(q: str, *columns):
    """SQL: any of columns contains q (case-insensitive; % and _ in q are literal)."""
    return contains_any(q, *columns)
