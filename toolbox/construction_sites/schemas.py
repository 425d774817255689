"""Input and output schemas for small construction sites, with Chinese messages for the mini-app."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app import toolkit as tk
from app.toolkit import zh_messages, zh_text
from toolbox.construction_sites.models import CHECKLIST, WORK_KINDS

PHONE = validate.Regexp(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$", error="请填写有效的手机号或座机号")


class SiteIn(tk.RecordIn):
    name = zh_text("工地名称", 100)
    owner_name = zh_text("建设单位", 100)
    owner_contact = zh_text("建设单位联系人", 50)
    owner_phone = fields.String(required=True, validate=PHONE, error_messages=zh_messages("建设单位联系电话"))
    contractor_name = zh_text("施工单位", 100)
    contractor_contact = zh_text("施工单位联系人", 50)
    contractor_phone = fields.String(required=True, validate=PHONE, error_messages=zh_messages("施工单位联系电话"))
    permit_number = zh_text("施工许可证号", 64, required=False, allow_none=True)
    work_kind = fields.String(required=True, error_messages=zh_messages("施工类型"), validate=validate.OneOf(
        list(WORK_KINDS), error="施工类型须为：" + "、".join(f"{k}（{v}）" for k, v in WORK_KINDS.items())))
    description = zh_text("工程说明", 2000, required=False, load_default="")
    start_date = fields.Date(required=True, error_messages=zh_messages("开工日期"))
    end_date = fields.Date(required=True, error_messages=zh_messages("竣工日期"))
    night_work_permitted = fields.Boolean(load_default=False, error_messages=zh_messages("是否允许夜间施工"))
    night_work_permit_number = zh_text("夜间施工许可证号", 64, required=False, allow_none=True)

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        if "start_date" in data and "end_date" in data and data["end_date"] < data["start_date"]:
            raise ValidationError("竣工日期不能早于开工日期", field_name="end_date")


class SiteUpdate(SiteIn):
    class Meta:
        exclude = ("org_unit",)


class SiteCloseIn(tk.ZhSchema):
    reason = zh_text("关闭原因", 200)


class ChecklistLineIn(tk.ZhSchema):
    item = tk.zh_choice("检查项", CHECKLIST, required=True)
    passed = fields.Boolean(required=True, error_messages=zh_messages("是否合格"))
    note = zh_text("问题说明", 500, required=False, load_default="")
    photo_ids = tk.photo_ids()


class InspectionIn(tk.ZhSchema):
    items = fields.List(fields.Nested(ChecklistLineIn), required=True, error_messages=zh_messages("检查清单"),
                        validate=validate.Length(min=1, error="请填写检查清单"))
    remarks = zh_text("检查备注", 2000, required=False, load_default="")
    photo_ids = tk.photo_ids(most=9, what="每次检查")


class SiteQuery(tk.PageArgs):
    view = fields.String(validate=validate.OneOf(["ending_soon", "overdue_inspection", "open_problems"]),
                         metadata={"description": "ending_soon | overdue_inspection | open_problems"})
    days = fields.Integer(validate=validate.Range(min=0, max=365),
                          metadata={"description": "ending_soon: within N days (7); overdue: not inspected "
                                                   "for N days (14)"})
    status = fields.String(validate=validate.OneOf(["active", "closed"]))
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "name, address, permit"})


# --- output ----------------------------------------------------------------------------------------

class SiteOut(tk.RecordOut):
    owner_name = fields.String()
    owner_contact = fields.String()
    owner_phone = fields.Function(lambda s: tk.mask_mobile(s.owner_phone), metadata={"description": "masked"})
    contractor_name = fields.String()
    contractor_contact = fields.String()
    contractor_phone = fields.Function(lambda s: tk.mask_mobile(s.contractor_phone))
    permit_number = fields.String(allow_none=True)
    work_kind = fields.String()
    work_kind_name = fields.Function(lambda s: WORK_KINDS.get(s.work_kind, s.work_kind))
    description = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    night_work_permitted = fields.Boolean()
    night_work_permit_number = fields.String(allow_none=True)
    status = fields.String()
    last_inspected_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)


class ChecklistLineOut(Schema):
    id = fields.Integer()
    item = fields.String()
    item_name = fields.Function(lambda i: CHECKLIST.get(i.item, i.item))
    passed = fields.Boolean()
    note = fields.String()
    photo_ids = fields.List(fields.Integer())
    work_item_id = fields.Integer(allow_none=True)
    work_item_number = fields.String(allow_none=True)
    problem_open = fields.Boolean(metadata={"description": "failed, and its work item is still open"})


class InspectionOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    inspector = fields.Nested(tk.PersonRef)
    inspected_at = fields.DateTime()
    result = fields.String(metadata={"description": "pass | fail"})
    remarks = fields.String()
    photo_ids = fields.List(fields.Integer())
    items = fields.List(fields.Nested(ChecklistLineOut))


class SiteDetailOut(SiteOut):
    open_problems = fields.List(fields.Nested(ChecklistLineOut))
    checklist = fields.Dict(metadata={"description": "item code → Chinese name"})


class SiteContactsOut(Schema):
    owner_contact = fields.String()
    owner_phone = fields.String()
    contractor_contact = fields.String()
    contractor_phone = fields.String()


SitePage = tk.page_of(SiteOut)
InspectionPage = tk.page_of(InspectionOut)


class ChecklistItemOut(Schema):
    item = fields.String(metadata={"example": "dust"})
    name = fields.String(metadata={"description": "中文名称"})


class ChecklistOut(Schema):
    items = fields.List(fields.Nested(ChecklistItemOut), metadata={"description": "in the order of the form"})
