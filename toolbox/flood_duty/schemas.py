"""Schemas of flood and typhoon duty, with Chinese messages for the mini-app."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from marshmallow import Schema, fields, validate

from app.api import PageArgs, ZhSchema, zh_choice, zh_messages, zh_text
from toolbox.flood_duty.models import DUTIES, HAZARDS, LEVELS, RESOURCE_KINDS

BEIJING = ZoneInfo("Asia/Shanghai")




POOLS = {"district": "区级力量"}


class FloodRosterMemberIn(ZhSchema):
    userid = zh_text("人员账号", 64)
    duty = zh_choice("值班职责", DUTIES, load_default="on_duty")
    pool = zh_choice("人员来源", POOLS, required=False, allow_none=True, metadata={
        "description": "district: someone of the district centre or a district department, on a roster outside "
                       "the caller's own scope (the district pool is always explicit)"})


class FloodRosterIn(ZhSchema):
    org_unit = zh_text("所属单位代码", 32)
    name = zh_text("班次名称", 100)
    shift_start = fields.AwareDateTime(
        required=True, default_timezone=BEIJING, error_messages=zh_messages("班次开始时间"),
        metadata={"description": "ISO 8601; without an offset it is Beijing time"})
    shift_end = fields.AwareDateTime(
        required=True, default_timezone=BEIJING, error_messages=zh_messages("班次结束时间"))
    activate_from = zh_choice("启动等级", {k: v for k, v in LEVELS.items() if k != "none"}, load_default="blue")
    note = zh_text("备注", 500, required=False, load_default="")
    members = fields.List(fields.Nested(FloodRosterMemberIn), required=True, error_messages=zh_messages("值班人员"),
                          validate=validate.Length(min=1, max=5000, error="值班人员须为 {min} 至 {max} 人"))


class FloodRosterUpdate(FloodRosterIn):
    class Meta:
        exclude = ("org_unit",)


class FloodRosterQuery(PageArgs):
    org_unit = fields.String(metadata={"description": "only rosters under this unit code"})
    on_shift = fields.Boolean(metadata={"description": "only rosters whose shift is on now"})


class FloodLevelIn(ZhSchema):
    org_unit = zh_text("预警范围（全区 JA 或街镇代码）", 32, load_default="JA", required=False)
    level = zh_choice("预警等级", LEVELS, required=True)
    hazard = zh_choice("灾害类型", HAZARDS, load_default="rainstorm")
    message = zh_text("预警说明", 500, required=False, load_default="")


class FloodWarningQuery(PageArgs):
    active = fields.Boolean(metadata={"description": "only warnings in force"})


class FloodConfirmIn(ZhSchema):
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90, error="纬度超出范围"))
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180, error="经度超出范围"))
    note = zh_text("签到备注", 200, required=False, allow_none=True)


class FloodOverviewQuery(PageArgs):
    people = fields.String(load_default="unconfirmed", validate=validate.OneOf(["unconfirmed", "all", "none"]),
                           metadata={"description": "list unconfirmed people (default), all, or none"})


class FloodPointIn(ZhSchema):
    org_unit = zh_text("所属单位代码", 32)
    name = zh_text("积水点名称", 100)
    address = zh_text("地址", 200)
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90, error="纬度超出范围"))
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180, error="经度超出范围"))
    threshold_cm = fields.Integer(allow_none=True, error_messages=zh_messages("警戒水深"),
                                  validate=validate.Range(1, 300, error="警戒水深须在 {min} 至 {max} 厘米之间"))


class FloodPointUpdate(FloodPointIn):
    class Meta:
        exclude = ("org_unit",)


class FloodPointQuery(PageArgs):
    waterlogged = fields.Boolean(metadata={"description": "only points at or above their threshold"})
    q = fields.String(validate=validate.Length(max=100))


class FloodReportIn(ZhSchema):
    depth_cm = fields.Integer(required=True, error_messages=zh_messages("积水深度"),
                              validate=validate.Range(0, 500, error="积水深度须在 {min} 至 {max} 厘米之间"))
    note = zh_text("情况说明", 500, required=False, load_default="")
    photo_ids = fields.List(fields.Integer(), load_default=list, error_messages=zh_messages("照片"),
                            validate=validate.Length(max=3, error="每次上报最多 3 张照片"))


class FloodResourceIn(ZhSchema):
    kind = zh_choice("物资类型", RESOURCE_KINDS, required=True)
    quantity = fields.Integer(required=True, error_messages=zh_messages("数量"),
                              validate=validate.Range(0, 100000, error="数量须在 {min} 至 {max} 之间"))
    unit = zh_text("计量单位", 16, required=False, load_default="个")
    note = zh_text("备注", 200, required=False, load_default="")


# --- output ----------------------------------------------------------------------------------------

class FloodUnitRef(Schema):
    code = fields.String()
    name = fields.String()


class FloodPersonRef(Schema):
    userid = fields.String(attribute="wecom_userid")
    name = fields.String()


class FloodRosterMemberOut(Schema):
    user = fields.Nested(FloodPersonRef)
    duty = fields.String()
    pool = fields.String(allow_none=True, metadata={"description": "district when taken from the district pool"})


class FloodRosterOut(Schema):
    id = fields.Integer()
    org_unit = fields.Nested(FloodUnitRef)
    name = fields.String()
    shift_start = fields.DateTime()
    shift_end = fields.DateTime()
    activate_from = fields.String()
    note = fields.String()
    members = fields.List(fields.Nested(FloodRosterMemberOut))


class FloodWarningOut(Schema):
    id = fields.Integer()
    org_unit = fields.Nested(FloodUnitRef)
    level = fields.String()
    level_name = fields.Function(lambda w: LEVELS[w.level])
    previous_level = fields.String()
    hazard = fields.String()
    message = fields.String()
    active = fields.Boolean()
    set_by = fields.Nested(FloodPersonRef)
    set_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    calls_count = fields.Integer()
    recipients_count = fields.Integer()
    batches_total = fields.Integer()
    batches_sent = fields.Integer()
    messages_done_at = fields.DateTime(allow_none=True)


class FloodDutyCallOut(Schema):
    id = fields.Integer()
    warning_id = fields.Integer()
    user = fields.Nested(FloodPersonRef)
    org_unit = fields.Nested(FloodUnitRef)
    duty = fields.String()
    notified_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)


class FloodMyDutyOut(FloodDutyCallOut):
    warning = fields.Nested(FloodWarningOut)


class FloodUnitOverviewOut(Schema):
    org_unit = fields.Nested(FloodUnitRef)
    called = fields.Integer()
    confirmed = fields.Integer()
    unconfirmed = fields.Integer()
    people = fields.List(fields.Nested(FloodDutyCallOut))


class FloodResourceOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_name = fields.Function(lambda r: RESOURCE_KINDS.get(r.kind, r.kind))
    quantity = fields.Integer()
    unit = fields.String()
    note = fields.String()


class FloodPointOut(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    org_unit = fields.Nested(FloodUnitRef)
    threshold_cm = fields.Integer()
    place_code = fields.String(allow_none=True)
    last_depth_cm = fields.Integer(allow_none=True)
    last_reported_at = fields.DateTime(allow_none=True)
    waterlogged = fields.Boolean()
    open_work_item_id = fields.Integer(allow_none=True)
    open_work_item_number = fields.String(allow_none=True)
    resources = fields.List(fields.Nested(FloodResourceOut))


class FloodReportOut(Schema):
    id = fields.Integer()
    point_id = fields.Integer()
    depth_cm = fields.Integer()
    note = fields.String()
    photo_ids = fields.List(fields.Integer())
    reporter = fields.Nested(FloodPersonRef)
    reported_at = fields.DateTime()
    escalated = fields.Boolean()
    work_item_id = fields.Integer(allow_none=True)
    work_item_number = fields.String(allow_none=True)


def page_of(item_schema: type[Schema], **extra) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)), "page": fields.Integer(), "per_page": fields.Integer(),
        "total": fields.Integer(), "pages": fields.Integer(), **extra}, name=f"{item_schema.__name__}Page")


FloodRosterPage = page_of(FloodRosterOut)
FloodWarningPage = page_of(FloodWarningOut)
FloodMyDutyPage = page_of(FloodMyDutyOut)
FloodPointPage = page_of(FloodPointOut)
FloodReportPage = page_of(FloodReportOut)
FloodOverviewPage = page_of(FloodUnitOverviewOut, warning=fields.Nested(FloodWarningOut), totals=fields.Dict())
