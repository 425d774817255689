"""Schemas of flood and typhoon duty, with Chinese messages for the mini-app."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from marshmallow import Schema, fields, validate

from app import toolkit as tk
from app.toolkit import PageArgs, ZhSchema, zh_choice, zh_messages, zh_text
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
    hazard = zh_choice("灾害类型（解除时沿用在发布的预警）", HAZARDS, load_default=None)
    message = zh_text("预警说明", 500, required=False, load_default="")


class FloodWarningQuery(PageArgs):
    active = fields.Boolean(metadata={"description": "only warnings in force"})


class FloodConfirmIn(ZhSchema):
    lat = tk.latitude()
    lng = tk.longitude()
    note = zh_text("签到备注", 200, required=False, allow_none=True)


class FloodOverviewQuery(PageArgs):
    people = fields.String(load_default="unconfirmed", validate=validate.OneOf(["unconfirmed", "all", "none"]),
                           metadata={"description": "list unconfirmed people (default), all, or none"})


class FloodPointIn(tk.RecordIn):
    name = zh_text("积水点名称", 100)
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
    photo_ids = tk.photo_ids(most=3, what="每次上报")


class FloodResourceIn(ZhSchema):
    kind = zh_choice("物资类型", RESOURCE_KINDS, required=True)
    quantity = fields.Integer(required=True, error_messages=zh_messages("数量"),
                              validate=validate.Range(0, 100000, error="数量须在 {min} 至 {max} 之间"))
    unit = zh_text("计量单位", 16, required=False, load_default="个")
    note = zh_text("备注", 200, required=False, load_default="")


# --- output ----------------------------------------------------------------------------------------

class FloodRosterMemberOut(Schema):
    user = fields.Nested(tk.PersonRef)
    duty = fields.String()
    pool = fields.String(allow_none=True, metadata={"description": "district when taken from the district pool"})


class FloodRosterOut(Schema):
    id, org_unit, name = fields.Integer(), fields.Nested(tk.UnitRef), fields.String()
    shift_start, shift_end = tk.several(fields.DateTime, 2)
    activate_from, note = tk.several(fields.String, 2)
    members = fields.List(fields.Nested(FloodRosterMemberOut))


class FloodWarningOut(Schema):
    id, org_unit = fields.Integer(), fields.Nested(tk.UnitRef)
    level, previous_level, hazard, message = tk.several(fields.String, 4)
    level_name = fields.Function(lambda w: LEVELS[w.level])
    active = fields.Boolean()
    set_by, set_at, ended_at = fields.Nested(tk.PersonRef), fields.DateTime(), fields.DateTime(allow_none=True)
    # Delivery through WeCom: people called, recipients, message batches.
    calls_count, recipients_count, batches_total, batches_sent = tk.several(fields.Integer, 4)
    messages_done_at = fields.DateTime(allow_none=True)


class FloodDutyCallOut(Schema):
    id, warning_id = tk.several(fields.Integer, 2)
    user, org_unit, duty = fields.Nested(tk.PersonRef), fields.Nested(tk.UnitRef), fields.String()
    notified_at, confirmed_at = tk.several(fields.DateTime, 2, allow_none=True)


class FloodMyDutyOut(FloodDutyCallOut):
    warning = fields.Nested(FloodWarningOut)


class FloodUnitOverviewOut(Schema):
    org_unit = fields.Nested(tk.UnitRef)
    called, confirmed, unconfirmed = tk.several(fields.Integer, 3)
    people = fields.List(fields.Nested(FloodDutyCallOut))


class FloodResourceOut(Schema):
    id, quantity = tk.several(fields.Integer, 2)
    kind, unit, note = tk.several(fields.String, 3)
    kind_name = fields.Function(lambda r: RESOURCE_KINDS.get(r.kind, r.kind))


class FloodPointOut(tk.RecordOut, tk.WithOpenWorkItem):
    threshold_cm, last_depth_cm = fields.Integer(), fields.Integer(allow_none=True)
    last_reported_at, waterlogged = fields.DateTime(allow_none=True), fields.Boolean()
    open_work_item_id = tk.WithOpenWorkItem.item_id()
    open_work_item_number = tk.WithOpenWorkItem.number()
    resources = fields.List(fields.Nested(FloodResourceOut))


class FloodReportOut(Schema):
    id, point_id, depth_cm = tk.several(fields.Integer, 3)
    note, photo_ids = fields.String(), fields.List(fields.Integer())
    reporter, reported_at, escalated = fields.Nested(tk.PersonRef), fields.DateTime(), fields.Boolean()
    work_item_id, work_item_number = fields.Integer(allow_none=True), fields.String(allow_none=True)


FloodRosterPage = tk.page_of(FloodRosterOut)
FloodWarningPage = tk.page_of(FloodWarningOut)
FloodMyDutyPage = tk.page_of(FloodMyDutyOut)
FloodPointPage = tk.page_of(FloodPointOut)
FloodReportPage = tk.page_of(FloodReportOut)
FloodOverviewPage = tk.page_of(FloodUnitOverviewOut, warning=fields.Nested(FloodWarningOut), totals=fields.Dict())
