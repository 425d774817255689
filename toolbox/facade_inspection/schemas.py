"""Schemas of facade inspection, with Chinese messages for the mini-app."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import PageArgs, ZhSchema, zh_choice, zh_messages, zh_text
from app.services.crypto import mask_mobile
from toolbox.facade_inspection.models import GRADES, ITEMS, STRUCTURES


class FacadeBuildingIn(ZhSchema):
    name = zh_text("楼宇名称", 100)
    address = zh_text("地址", 200)
    org_unit = zh_text("所属单位代码", 32, metadata={"description": "street, grid or committee code"})
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90, error="纬度超出范围"),
                       error_messages=zh_messages("纬度"))
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180, error="经度超出范围"),
                       error_messages=zh_messages("经度"))
    built_year = fields.Integer(allow_none=True, error_messages=zh_messages("建成年份"),
                                validate=validate.Range(1840, 2100, error="建成年份须在 {min} 至 {max} 之间"))
    floors = fields.Integer(required=True, error_messages=zh_messages("层数"),
                            validate=validate.Range(1, 200, error="层数须在 {min} 至 {max} 之间"))
    structure = zh_choice("结构类型", STRUCTURES, required=True)
    managing_party = zh_text("管理单位", 100)
    managing_contact = zh_text("管理单位联系人", 50, required=False, allow_none=True)
    managing_phone = fields.String(allow_none=True, error_messages=zh_messages("联系电话"), validate=validate.Regexp(
        r"^(1\d{10}|0\d{2,3}-?\d{7,8})$", error="请填写有效的手机号或座机号"))


class FacadeBuildingUpdate(FacadeBuildingIn):
    class Meta:
        exclude = ("org_unit",)


class FacadeGradeIn(ZhSchema):
    item = zh_choice("排查项", ITEMS, required=True)
    grade = zh_choice("风险等级", GRADES, required=True)
    note = zh_text("隐患描述", 500, required=False, load_default="")
    photo_ids = fields.List(fields.Integer(), load_default=list, error_messages=zh_messages("照片"))


class FacadeInspectionIn(ZhSchema):
    items = fields.List(fields.Nested(FacadeGradeIn), required=True, error_messages=zh_messages("排查项"),
                        validate=validate.Length(min=1, error="请逐项填写排查结果"))
    remarks = zh_text("排查备注", 2000, required=False, load_default="")
    photo_ids = fields.List(fields.Integer(), load_default=list, error_messages=zh_messages("照片"),
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
