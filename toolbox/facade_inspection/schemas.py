"""Schemas of facade inspection, with Chinese messages for the mini-app (named facade_inspection.* in the
OpenAPI document by the registry)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app import toolkit as tk
from toolbox.facade_inspection.models import GRADES, ITEMS, STRUCTURES


class BuildingIn(tk.RecordIn):
    name = tk.zh_text("楼宇名称", 100)
    built_year = fields.Integer(allow_none=True, error_messages=tk.zh_messages("建成年份"),
                                validate=validate.Range(1840, 2100, error="建成年份须在 {min} 至 {max} 之间"))
    floors = fields.Integer(required=True, error_messages=tk.zh_messages("层数"),
                            validate=validate.Range(1, 200, error="层数须在 {min} 至 {max} 之间"))
    structure = tk.zh_choice("结构类型", STRUCTURES, required=True)
    managing_party = tk.zh_text("管理单位", 100)
    managing_contact = tk.zh_text("管理单位联系人", 50, required=False, allow_none=True)
    managing_phone = fields.String(allow_none=True, error_messages=tk.zh_messages("联系电话"), validate=validate.Regexp(
        r"^(1\d{10}|0\d{2,3}-?\d{7,8})$", error="请填写有效的手机号或座机号"))


class BuildingUpdate(BuildingIn):
    class Meta:
        exclude = ("org_unit",)


class GradeIn(tk.ZhSchema):
    item = tk.zh_choice("排查项", ITEMS, required=True)
    grade = tk.zh_choice("风险等级", GRADES, required=True)
    note = tk.zh_text("隐患描述", 500, required=False, load_default="")
    photo_ids = tk.photo_ids()


class InspectionIn(tk.ZhSchema):
    items = fields.List(fields.Nested(GradeIn), required=True, error_messages=tk.zh_messages("排查项"),
                        validate=validate.Length(min=1, error="请逐项填写排查结果"))
    remarks = tk.zh_text("排查备注", 2000, required=False, load_default="")
    photo_ids = tk.photo_ids(most=9, what="每次排查")


class BuildingQuery(tk.PageArgs):
    risk_level = fields.String(validate=validate.OneOf([*GRADES, "uninspected"]),
                               metadata={"description": "none | low | medium | high | uninspected"})
    rectification_open = fields.Boolean()
    org_unit = fields.String(metadata={"description": "only buildings under this unit code"})
    q = fields.String(validate=validate.Length(max=100))


class ProgressQuery(Schema):
    since = fields.Date(metadata={"description": "count inspections on or after this date (campaign start)"})


class BuildingOut(tk.RecordOut, tk.WithOpenWorkItem):
    """The rectification_* fields are the building's open work item, as the workflow has it."""

    built_year = fields.Integer(allow_none=True)
    floors = fields.Integer()
    structure = fields.String()
    managing_party = fields.String()
    managing_contact = fields.String(allow_none=True)
    managing_phone = fields.Function(lambda b: tk.mask_mobile(b.managing_phone), metadata={"description": "masked"})
    risk_level = fields.String(allow_none=True, metadata={"description": "null until first inspected"})
    last_inspected_at = fields.DateTime(allow_none=True)
    rectification_open = tk.WithOpenWorkItem.is_open()
    rectification_work_item_id = tk.WithOpenWorkItem.item_id()
    rectification_number = tk.WithOpenWorkItem.number()
    rectification_due_at = tk.WithOpenWorkItem.due_at()


class GradeOut(Schema):
    item = fields.String()
    item_name = fields.Function(lambda i: ITEMS.get(i.item, i.item))
    grade = fields.String()
    note = fields.String()
    photo_ids = fields.List(fields.Integer())


class InspectionOut(Schema):
    id = fields.Integer()
    building_id = fields.Integer()
    inspector = fields.Nested(tk.PersonRef)
    inspected_at = fields.DateTime()
    risk_level = fields.String()
    remarks = fields.String()
    photo_ids = fields.List(fields.Integer())
    is_reinspection = fields.Boolean()
    work_item_id = fields.Integer(allow_none=True)
    work_item_outcome = fields.String(allow_none=True, metadata={"description": "raised | still_high | closed"})
    items = fields.List(fields.Nested(GradeOut))


class ProgressTotals(Schema):
    total = fields.Integer()
    inspected = fields.Integer()
    uninspected = fields.Integer()
    percent = fields.Float()
    by_risk = fields.Dict(keys=fields.String(), values=fields.Integer())


class StreetProgressOut(ProgressTotals):
    street = fields.Nested(tk.UnitRef)


class ProgressOut(Schema):
    since = fields.Date(allow_none=True)
    streets = fields.List(fields.Nested(StreetProgressOut))
    totals = fields.Nested(ProgressTotals)


BuildingPage = tk.page_of(BuildingOut)
InspectionPage = tk.page_of(InspectionOut)


class _Named(Schema):
    name = fields.String(metadata={"description": "中文名称"})


class ItemRef(_Named):
    item = fields.String(metadata={"example": "awnings"})


class GradeRef(_Named):
    grade = fields.String(metadata={"example": "low"})


class StructureRef(_Named):
    structure = fields.String(metadata={"example": "frame"})


class ReferenceOut(Schema):
    """What the mini-app's forms offer: the graded items, the grades and the building structures."""

    items = fields.List(fields.Nested(ItemRef))
    grades = fields.List(fields.Nested(GradeRef))
    structures = fields.List(fields.Nested(StructureRef))
