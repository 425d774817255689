"""Schemas of facade inspection, with Chinese messages for the mini-app."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import PageArgs
from app.services.crypto import mask_mobile
from toolbox.facade_inspection.models import GRADES, ITEMS, STRUCTURES


def _msgs(label: str) -> dict:
    return {"required": f"请填写{label}", "null": f"{label}不能为空", "invalid": f"{label}格式不正确"}


def _text(label: str, max_len: int, required: bool = True, **kw):
    return fields.String(required=required, error_messages=_msgs(label),
                         validate=validate.Length(min=1 if required else 0, max=max_len,
                                                  error=f"{label}长度须在 {{min}} 至 {{max}} 个字之间"), **kw)


def _choice(label: str, choices: dict[str, str], **kw):
    return fields.String(error_messages=_msgs(label), validate=validate.OneOf(
        list(choices), error=f"{label}须为：" + "、".join(f"{k}（{v}）" for k, v in choices.items())), **kw)


class ZhSchema(Schema):
    error_messages = {"unknown": "不支持的字段", "type": "格式不正确，应为 JSON 对象"}


class FacadeBuildingIn(ZhSchema):
    name = _text("楼宇名称", 100)
    address = _text("地址", 200)
    org_unit = _text("所属单位代码", 32, metadata={"description": "street, grid or committee code"})
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90, error="纬度超出范围"),
                       error_messages=_msgs("纬度"))
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180, error="经度超出范围"),
                       error_messages=_msgs("经度"))
    built_year = fields.Integer(allow_none=True, error_messages=_msgs("建成年份"),
                                validate=validate.Range(1840, 2100, error="建成年份须在 {min} 至 {max} 之间"))
    floors = fields.Integer(required=True, error_messages=_msgs("层数"),
                            validate=validate.Range(1, 200, error="层数须在 {min} 至 {max} 之间"))
    structure = _choice("结构类型", STRUCTURES, required=True)
    managing_party = _text("管理单位", 100)
    managing_contact = _text("管理单位联系人", 50, required=False, allow_none=True)
    managing_phone = fields.String(allow_none=True, error_messages=_msgs("联系电话"), validate=validate.Regexp(
        r"^(1\d{10}|0\d{2,3}-?\d{7,8})$", error="请填写有效的手机号或座机号"))


class FacadeBuildingUpdate(FacadeBuildingIn):
    class Meta:
        exclude = ("org_unit",)


class FacadeGradeIn(ZhSchema):
    item = _choice("排查项", ITEMS, required=True)
    grade = _choice("风险等级", GRADES, required=True)
    note = _text("隐患描述", 500, required=False, load_default="")
    photo_ids = fields.List(fields.Integer(), load_default=list, error_messages=_msgs("照片"))


class FacadeInspectionIn(ZhSchema):
    items = fields.List(fields.Nested(FacadeGradeIn), required=True, error_messages=_msgs("排查项"),
                        validate=validate.Length(min=1, error="请逐项填写排查结果"))
    remarks = _text("排查备注", 2000, required=False, load_default="")
    photo_ids = fields.List(fields.Integer(), load_default=list, error_messages=_msgs("照片"),
                            validate=validate.Length(max=9, error="每次排查最多 9 张照片"))


class FacadeBuildingQuery(PageArgs):
    risk_level = fields.String(validate=validate.OneOf([*GRADES, "uninspected"]),
                               metadata={"description": "none | low | medium | high | uninspected"})
    rectification_open = fields.Boolean()
    org_unit = fields.String(metadata={"description": "only buildings under this unit code"})
    q = fields.String(validate=validate.Length(max=100))


class FacadeProgressQuery(Schema):
    since = fields.Date(metadata={"description": "count inspections on or after this date (campaign start)"})


class FacadeUnitRef(Schema):
    code = fields.String()
    name = fields.String()


class FacadeBuildingOut(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    org_unit = fields.Nested(FacadeUnitRef)
    built_year = fields.Integer(allow_none=True)
    floors = fields.Integer()
    structure = fields.String()
    managing_party = fields.String()
    managing_contact = fields.String(allow_none=True)
    managing_phone = fields.Function(lambda b: mask_mobile(b.managing_phone), metadata={"description": "masked"})
    place_code = fields.String(allow_none=True)
    risk_level = fields.String(allow_none=True, metadata={"description": "null until first inspected"})
    last_inspected_at = fields.DateTime(allow_none=True)
    rectification_open = fields.Boolean()
    rectification_work_item_id = fields.Integer(allow_none=True)
    rectification_number = fields.String(allow_none=True)
    rectification_due_at = fields.DateTime(allow_none=True)


class FacadeGradeOut(Schema):
    item = fields.String()
    item_name = fields.Function(lambda i: ITEMS.get(i.item, i.item))
    grade = fields.String()
    note = fields.String()
    photo_ids = fields.List(fields.Integer())


class FacadeInspectionOut(Schema):
    id = fields.Integer()
    building_id = fields.Integer()
    inspector = fields.Function(lambda i: {"userid": i.inspector.wecom_userid, "name": i.inspector.name})
    inspected_at = fields.DateTime()
    risk_level = fields.String()
    remarks = fields.String()
    photo_ids = fields.List(fields.Integer())
    is_reinspection = fields.Boolean()
    work_item_id = fields.Integer(allow_none=True)
    work_item_outcome = fields.String(allow_none=True, metadata={"description": "raised | still_high | closed"})
    items = fields.List(fields.Nested(FacadeGradeOut))


class FacadeProgressTotals(Schema):
    total = fields.Integer()
    inspected = fields.Integer()
    uninspected = fields.Integer()
    percent = fields.Float()
    by_risk = fields.Dict(keys=fields.String(), values=fields.Integer())


class FacadeStreetProgressOut(FacadeProgressTotals):
    street = fields.Nested(FacadeUnitRef)


class FacadeProgressOut(Schema):
    since = fields.Date(allow_none=True)
    streets = fields.List(fields.Nested(FacadeStreetProgressOut))
    totals = fields.Nested(FacadeProgressTotals)


def page_of(item_schema: type[Schema]) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)), "page": fields.Integer(), "per_page": fields.Integer(),
        "total": fields.Integer(), "pages": fields.Integer()}, name=f"{item_schema.__name__}Page")


FacadeBuildingPage = page_of(FacadeBuildingOut)
FacadeInspectionPage = page_of(FacadeInspectionOut)
