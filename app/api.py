"""Helpers every JSON endpoint uses: parse input with a schema, page a query."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.sql import Select

from app.errors import ApiError
from app.extensions import db
from app.input_guard import check_moments

MAX_PER_PAGE = 100
MAX_PAGE = 100_000  # an offset the database can always compute; nobody pages further


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


# --- input with Chinese messages, for the mini-apps -----------------------------------------------

class ZhSchema(Schema):
    """A schema whose own errors (unknown field, not an object) read in Chinese."""

    error_messages = {"unknown": "不支持的字段", "type": "格式不正确，应为 JSON 对象"}


def zh_messages(label: str) -> dict:
    """Field error messages naming the field in Chinese."""
    return {"required": f"请填写{label}", "null": f"{label}不能为空", "invalid": f"{label}格式不正确"}


def zh_text(label: str, max_len: int, required: bool = True, **kw) -> fields.String:
    """A text field of at most max_len characters (non-empty when required), with Chinese messages."""
    return fields.String(required=required, error_messages=zh_messages(label),
                         validate=validate.Length(min=1 if required else 0, max=max_len,
                                                  error=f"{label}长度须在 {{min}} 至 {{max}} 个字之间"), **kw)


def zh_choice(label: str, choices: dict[str, str], **kw) -> fields.String:
    """One of choices (code → Chinese name); the error lists them all."""
    names = "、".join(f"{k}（{v}）" for k, v in choices.items())
    return fields.String(error_messages=zh_messages(label), validate=validate.OneOf(
        list(choices), error=f"{label}须为：{names}"), **kw)


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
    data = schema.load(body, partial=partial)
    check_moments(data)
    return data


def parse_args(schema: Schema) -> dict:
    """Load query-string arguments with schema (unknown ones are ignored)."""
    try:
        data = schema.load(request.args.to_dict(), unknown="exclude")
        check_moments(data)
    except ValidationError as err:
        raise ApiError(400, "invalid_query", "查询参数有误", "Invalid query parameters", fields=err.messages) from err
    except ApiError as err:
        raise ApiError(400, "invalid_query", "查询参数有误", "Invalid query parameters", **err.details) from err
    return data


def paginate(statement: Select, page: int, per_page: int, dump) -> dict:
    """Run statement for one page; dump turns each row into JSON.

    The total needs a COUNT only when the page is full (more may follow) or empty past the first page;
    a short page already tells it (offset + rows), which is the common case of a scoped list.
    """
    offset = (page - 1) * per_page
    rows = db.session.execute(statement.limit(per_page).offset(offset)).scalars().all()
    if len(rows) < per_page and (rows or page == 1):
        total = offset + len(rows)
    else:
        total = count_rows(statement)
    return {"items": [dump(r) for r in rows], "page": page, "per_page": per_page, "total": total,
            "pages": (total + per_page - 1) // per_page}


def count_rows(statement: Select) -> int:
    return db.session.execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
