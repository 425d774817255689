"""Input and output schemas for small construction sites, with Chinese messages for the mini-app."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api import PageArgs, ZhSchema, zh_messages, zh_text
from app.services.crypto import mask_mobile
from toolbox.construction_sites.models import CHECKLIST, WORK_KINDS

PHONE = validate.Regexp(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$", error="请填写有效的手机号或座机号")


class SiteIn(ZhSchema):
    name = zh_text("工地名称", 100)
    address = zh_text("地址", 200)
    org_unit = zh_text("所属单位代码", 32, metadata={"description": "street, grid or committee code, e.g. JA01G02"})
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90, error="纬度超出范围"),
                       error_messages=zh_messages("纬度"))
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180, error="经度超出范围"),
                       error_messages=zh_messages("经度"))
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


class SiteCloseIn(ZhSchema):
    reason = zh_text("关闭原因", 200)


class SiteChecklistLineIn(ZhSchema):
    item = fields.String(required=True, error_messages=zh_messages("检查项"), validate=validate.OneOf(
        list(CHECKLIST), error="检查项须为：" + "、".join(f"{k}（{v}）" for k, v in CHECKLIST.items())))
    passed = fields.Boolean(required=True, error_messages=zh_messages("是否合格"))
    note = zh_text("问题说明", 500, required=False, load_default="")
    photo_ids = fields.List(fields.Integer(), load_default=list, error_messages=zh_messages("照片"))


class SiteInspectionIn(ZhSchema):
    items = fields.List(fields.Nested(SiteChecklistLineIn), required=True, error_messages=zh_messages("检查清单"),
                        validate=validate.Length(min=1, error="请填写检查清单"))
    remarks = zh_text("检查备注", 2000, required=False, load_default="")
    photo_ids = fields.List(fields.Integer(), load_default=list, validate=validate.Length(
        max=9, error="每次检查最多 9 张照片"), error_messages=zh_messages("照片"))


class SiteQuery(PageArgs):
    view = fields.String(validate=validate.OneOf(["ending_soon", "overdue_inspection", "open_problems"]),
                         metadata={"description": "ending_soon | overdue_inspection | open_problems"})
    days = fields.Integer(validate=validate.Range(min=0, max=365),
                          metadata={"description": "ending_soon: within N days (7); overdue: not inspected "
                                                   "for N days (14)"})
    status = fields.String(validate=validate.OneOf(["active", "closed"]))
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "name, address, permit"})


# --- output ----------------------------------------------------------------------------------------

class SiteUnitRef(Schema):
    code = fields.String()
    name = fields.String()


class SiteOut(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    org_unit = fields.Nested(SiteUnitRef)
    owner_name = fields.String()
    owner_contact = fields.String()
    owner_phone = fields.Function(lambda s: mask_mobile(s.owner_phone), metadata={"description": "masked"})
    contractor_name = fields.String()
    contractor_contact = fields.String()
    contractor_phone = fields.Function(lambda s: mask_mobile(s.contractor_phone))
    permit_number = fields.String(allow_none=True)
    work_kind = fields.String()
    work_kind_name = fields.Function(lambda s: WORK_KINDS.get(s.work_kind, s.work_kind))
    description = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    night_work_permitted = fields.Boolean()
    night_work_permit_number = fields.String(allow_none=True)
    status = fields.String()
    place_code = fields.String(allow_none=True, metadata={"description": "静安码"})
    last_inspected_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class SiteChecklistLineOut(Schema):
    id = fields.Integer()
    item = fields.String()
    item_name = fields.Function(lambda i: CHECKLIST.get(i.item, i.item))
    passed = fields.Boolean()
    note = fields.String()
    photo_ids = fields.List(fields.Integer())
    work_item_id = fields.Integer(allow_none=True)
    work_item_number = fields.String(allow_none=True)
    problem_open = fields.Boolean()


class SiteInspectionOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    inspector = fields.Function(lambda i: {"userid": i.inspector.wecom_userid, "name": i.inspector.name})
    inspected_at = fields.DateTime()
    result = fields.String(metadata={"description": "pass | fail"})
    remarks = fields.String()
    photo_ids = fields.List(fields.Integer())
    items = fields.List(fields.Nested(SiteChecklistLineOut))


class SiteDetailOut(SiteOut):
    open_problems = fields.List(fields.Nested(SiteChecklistLineOut))
    checklist = fields.Dict(metadata={"description": "item code → Chinese name"})


class SiteContactsOut(Schema):
    owner_contact = fields.String()
    owner_phone = fields.String()
    contractor_contact = fields.String()
    contractor_phone = fields.String()


def page_of(item_schema: type[Schema]) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)), "page": fields.Integer(), "per_page": fields.Integer(),
        "total": fields.Integer(), "pages": fields.Integer()}, name=f"{item_schema.__name__}Page")


SitePage = page_of(SiteOut)
SiteInspectionPage = page_of(SiteInspectionOut)
