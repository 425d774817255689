"""Helpers every JSON endpoint uses: parse input with a schema, page a query."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.sql import Select

from app.errors import ApiError
from app.extensions import db

MAX_PER_PAGE = 100


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageOut(Schema):
    """The paging fields of every list response (paginate()); subclasses declare `items`."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


def parse_json(schema: Schema, partial: bool = False) -> dict:
    """Load the JSON body with schema: 400 if it is not a JSON object, 422 with field errors."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体必须是 JSON 对象", "The request body must be a JSON object")
    return schema.load(body, partial=partial)


def parse_args(schema: Schema) -> dict:
    """Load query-string arguments with schema (unknown ones are ignored)."""
    try:
        return schema.load(request.args.to_dict(), unknown="exclude")
    except ValidationError as err:
        raise ApiError(400, "invalid_query", "查询参数有误", "Invalid query parameters", fields=err.messages) from err


def paginate(statement: Select, page: int, per_page: int, dump) -> dict:
    """Run statement for one page; dump turns each row into JSON."""
    total = db.session.execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return {"items": [dump(r) for r in rows], "page": page, "per_page": per_page, "total": total,
            "pages": (total + per_page - 1) // per_page}
