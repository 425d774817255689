"""Schema building blocks for tools' APIs: references to units and people, a register record's
fields in and out, and a page of anything. Chinese messages for the mini-app."""

from __future__ import annotations

from marshmallow import Schema, fields, pre_dump, validate

from app.api import PageOut, ZhSchema, zh_messages, zh_text
from app.services.workflow import open_work_item_for


def several(field_type, count: int, **options) -> tuple:
    """count fields of one type, for declaring related fields on one line: `a, b, c = several(fields.Integer, 3)`."""
    return tuple(field_type(**options) for _ in range(count))


class UnitRef(Schema):
    code, name = several(fields.String, 2)


class PersonRef(Schema):
    userid = fields.String(attribute="wecom_userid")
    name = fields.String()


def latitude(**kw) -> fields.Float:
    return fields.Float(allow_none=True, validate=validate.Range(-90, 90, error="纬度超出范围"),
                        error_messages=zh_messages("纬度"), **kw)


def longitude(**kw) -> fields.Float:
    return fields.Float(allow_none=True, validate=validate.Range(-180, 180, error="经度超出范围"),
                        error_messages=zh_messages("经度"), **kw)


def photo_ids(most: int | None = None, what: str = "每次") -> fields.List:
    limit = {} if most is None else {"validate": validate.Length(max=most, error=f"{what}最多 {most} 张照片")}
    return fields.List(fields.Integer(), load_default=list, error_messages=zh_messages("照片"), **limit)


class RecordIn(ZhSchema):
    """A new register record: where it is and which unit keeps it (subclasses name the record's own fields)."""

    name = zh_text("名称", 100)
    address = zh_text("地址", 200)
    org_unit = zh_text("所属单位代码", 32, metadata={"description": "street, grid or committee code, e.g. JA01G02"})
    lat = latitude()
    lng = longitude()


class RecordOut(Schema):
    id, name, address = fields.Integer(), fields.String(), fields.String()
    lat, lng = several(fields.Float, 2, allow_none=True)
    org_unit = fields.Nested(UnitRef)
    place_code = fields.String(allow_none=True, metadata={"description": "静安码"})
    created_at, updated_at = several(fields.DateTime, 2)


class _OpenWorkItemView:
    """A record being dumped, with its open work item looked up once."""

    def __init__(self, record):
        self.record = record
        self.open_work_item = open_work_item_for(record)

    def __getattr__(self, name):
        return getattr(self.record, name)


class WithOpenWorkItem(Schema):
    """Mix into a record's output schema to show its open work item (the workflow's state, never a copy):

        rectification_open = tk.WithOpenWorkItem.is_open()
        rectification_number = tk.WithOpenWorkItem.number()
    """

    @pre_dump
    def _look_up_open_work_item(self, record, **kwargs):
        return record if isinstance(record, _OpenWorkItemView) else _OpenWorkItemView(record)

    @staticmethod
    def is_open() -> fields.Function:
        return fields.Function(lambda r: r.open_work_item is not None,
                               metadata={"description": "an open work item was raised for this record"})

    @staticmethod
    def item_id() -> fields.Function:
        return fields.Function(lambda r: r.open_work_item.id if r.open_work_item else None, allow_none=True)

    @staticmethod
    def number() -> fields.Function:
        return fields.Function(lambda r: r.open_work_item.number if r.open_work_item else None, allow_none=True)

    @staticmethod
    def due_at() -> fields.Function:
        return fields.Function(lambda r: r.open_work_item.close_due_at.isoformat() if r.open_work_item else None,
                               allow_none=True, metadata={"description": "when the open work item must be closed"})


def page_of(item_schema: type[Schema], **extra) -> type[Schema]:
    """The paged list response of item_schema, named and placed like it (so the registry namespaces it)."""
    page = type(f"{item_schema.__name__.removesuffix('Out')}Page", (PageOut,),
                {"items": fields.List(fields.Nested(item_schema)), **extra, "__module__": item_schema.__module__})
    return page
