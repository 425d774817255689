"""The platform's own export sources (work items, staff, audit log, indicator tables) and one source
per table of every built-in tool that keeps records in org units (found through the registry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.errors import ApiError
from app.extensions import db
from app.models.audit import AuditLog
from app.models.org import OrgUnit
from app.models.users import Membership, Role, User
from app.models.workitem import WorkItem
from app.registry import current_registry
from app.services.crypto import EncryptedString
from app.services.exports.sources import ExportColumn, ExportSource, QueryExportSource, register_export_source
from app.services.like import starts_with
from app.services.scope import admin_scope_clause, admin_scope_paths, business_memberships, scope_paths
from app.services.workdays import TZ
from app.services.workflow.states import SATISFACTION, STATES

ROLE_LABELS = {Role.WORKER: "网格员/巡查员", Role.OPERATOR: "值班员/派单员", Role.MANAGER: "负责人",
               Role.ADMIN: "系统管理员", Role.SECURITY_ADMIN: "安全管理员", Role.AUDIT_ADMIN: "审计管理员"}
PRIORITY_LABELS = {"normal": "普通", "urgent": "紧急"}
C = ExportColumn


def _day_bounds(filters: dict) -> tuple[datetime | None, datetime | None]:
    """from/to (YYYY-MM-DD, Beijing) as UTC instants; 422 when unreadable."""
    try:
        first = date.fromisoformat(filters["from"]) if filters.get("from") else None
        last = date.fromisoformat(filters["to"]) if filters.get("to") else None
    except (TypeError, ValueError):
        raise ApiError(422, "invalid_filters", "日期格式应为 YYYY-MM-DD", "Dates are YYYY-MM-DD") from None
    return (datetime.combine(first, time.min, tzinfo=TZ) if first else None,
            datetime.combine(last, time.max, tzinfo=TZ) if last else None)


class WorkItems(QueryExportSource):
    code, name, model = "work_items", "工单", WorkItem
    columns = (
        C("number", "工单编号"), C("title", "标题"), C("tool", "来源工具"), C("category", "问题类别"),
        C("state", "状态"), C("priority", "优先级"), C("unit", "承办单位"), C("dispatch_unit", "派单单位"),
        C("address", "地址"), C("reporter_name", "报告人", personal="name"),
        C("reporter_mobile", "报告人电话", personal="mobile"), C("created_at", "受理时间"),
        C("close_due_at", "办结时限"), C("closed_at", "办结时间"), C("overdue", "是否超期"),
        C("supervised", "是否督办"), C("satisfaction", "回访满意度"), C("result", "处置结果"),
    )

    def allowed(self, user) -> bool:
        return bool(scope_paths(user))

    def may_unmask(self, user) -> bool:
        return bool(business_memberships(user, Role.OPERATOR, Role.MANAGER))

    def statement(self, user, filters):
        from app.services.workflow import visible_to

        self._tools = {t.manifest.code: t.manifest.name for t in current_registry()}
        stmt = select(WorkItem).where(visible_to(user))
        for key, column in (("state", WorkItem.state), ("tool", WorkItem.source_tool),
                            ("category", WorkItem.category)):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        if filters.get("unit"):
            unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == filters["unit"])).scalar_one_or_none()
            if unit is None:
                raise ApiError(422, "unknown_unit", "没有该单位", "No such unit", fields={"unit": ["unknown"]})
            stmt = stmt.where(starts_with(WorkItem.org_path, unit.path))
        first, last = _day_bounds(filters)
        if first:
            stmt = stmt.where(WorkItem.created_at >= first)
        if last:
            stmt = stmt.where(WorkItem.created_at <= last)
        return stmt

    def values(self, item: WorkItem) -> dict:
        tools = getattr(self, "_tools", {})
        return {
            "number": item.number, "title": item.title, "tool": tools.get(item.source_tool, item.source_tool),
            "category": item.category_name, "state": STATES.get(item.state, item.state),
            "priority": PRIORITY_LABELS.get(item.priority, item.priority), "unit": item.org_unit.name,
            "dispatch_unit": item.dispatch_unit.name, "address": item.address,
            "reporter_name": item.reporter_name, "reporter_mobile": item.reporter_mobile,
            "created_at": item.created_at, "close_due_at": item.close_due_at, "closed_at": item.closed_at,
            "overdue": item.overdue, "supervised": item.supervised,
            "satisfaction": SATISFACTION.get(item.satisfaction or "", item.satisfaction), "result": item.result,
        }


class Staff(QueryExportSource):
    """People in the security admin's units (人员与授权)."""

    code, name, model = "staff", "人员", User
    columns = (C("userid", "企业微信账号"), C("name", "姓名"), C("mobile", "手机号", personal="mobile"),
               C("position", "职务"), C("units", "单位及角色"), C("active", "是否启用"), C("created_at", "创建时间"))

    def allowed(self, user) -> bool:
        return bool(admin_scope_paths(user, Role.SECURITY_ADMIN))

    def may_unmask(self, user) -> bool:
        return self.allowed(user)

    def statement(self, user, filters):
        inside = select(Membership.user_id).join(OrgUnit).where(
            admin_scope_clause(OrgUnit.path, user, Role.SECURITY_ADMIN))
        return (select(User).where(User.id.in_(inside))
                .options(selectinload(User.memberships).joinedload(Membership.org_unit)))

    def values(self, person: User) -> dict:
        units = "；".join(f"{m.org_unit.name}（{ROLE_LABELS.get(m.role, m.role)}）" for m in person.memberships)
        return {"userid": person.wecom_userid, "name": person.name, "mobile": person.mobile,
                "position": person.position, "units": units, "active": person.active,
                "created_at": person.created_at}


class AuditTrail(QueryExportSource):
    """The audit log, for the audit admin only (三员分立)."""

    code, name, model = "audit_log", "审计日志", AuditLog
    columns = (C("id", "序号"), C("at", "时间"), C("actor", "操作人"), C("action", "操作"),
               C("target_type", "对象类型"), C("target_id", "对象"), C("ip", "IP 地址"), C("outcome", "结果"),
               C("detail", "详情"), C("hash", "校验值"))

    def allowed(self, user) -> bool:
        return any(m.role == Role.AUDIT_ADMIN for m in user.memberships)

    def statement(self, user, filters):
        stmt = select(AuditLog)
        first, last = _day_bounds(filters)
        if first:
            stmt = stmt.where(AuditLog.at >= first)
        if last:
            stmt = stmt.where(AuditLog.at <= last)
        if filters.get("action"):
            stmt = stmt.where(starts_with(AuditLog.action, filters["action"]))
        for column in ("actor", "target_type", "target_id", "outcome"):  # the console's filters (who, which record)
            if filters.get(column):
                stmt = stmt.where(getattr(AuditLog, column) == str(filters[column]))
        return stmt

    def values(self, row: AuditLog) -> dict:
        return {"id": row.id, "at": row.at, "actor": row.actor, "action": row.action,
                "target_type": row.target_type, "target_id": row.target_id, "ip": row.ip, "outcome": row.outcome,
                "detail": json.dumps(row.detail or {}, ensure_ascii=False, sort_keys=True), "hash": row.hash}


class IndicatorTable(ExportSource):
    """The indicator table of GET /api/v1/stats/indicators (filters: group, from, to, unit, preset…)."""

    code, name = "indicators", "考核指标"

    def allowed(self, user) -> bool:
        return bool(scope_paths(user))

    def _table(self, user, filters) -> dict:
        from app.services.assessment.query import indicators

        return indicators(user, {k: str(v) for k, v in (filters or {}).items()})

    def columns_for(self, user, filters):
        from app.services.assessment.indicators import INDICATORS, SCORE

        cols = [C("code", "单位代码"), C("unit", "单位"), C("sample", "样本量（受理量）"), C("ranked", "参与排名"),
                C("rank", "排名"), C("score", SCORE.name)]
        for ind in INDICATORS.values():
            unit = "（%）" if ind.kind == "rate" else "（工作日）" if ind.kind == "average" else ""
            cols.append(C(ind.code, f"{ind.name}{unit}"))
            if ind.denominator is not None:
                cols += [C(f"{ind.code}.n", f"{ind.name}·分子"), C(f"{ind.code}.d", f"{ind.name}·分母")]
        return tuple(cols)

    def count(self, user, filters):
        return len(self._table(user, filters)["rows"])

    def rows(self, user, filters) -> Iterator[dict]:
        for row in self._table(user, filters)["rows"]:
            out = {"code": row["unit"]["code"], "unit": row["unit"]["name"], "sample": row["sample"],
                   "ranked": row["ranked"], "rank": row["rank"], "score": row["values"]["score"]["value"]}
            for code, figure in row["values"].items():
                out[code], out[f"{code}.n"], out[f"{code}.d"] = figure["value"], figure["numerator"], \
                    figure["denominator"]
            yield out


# --- every built-in tool's tables of records in org units ------------------------------------------

COMMON_LABELS = {
    "id": "序号", "name": "名称", "address": "地址", "lat": "纬度", "lng": "经度", "status": "状态",
    "category": "类别", "description": "描述", "created_at": "创建时间", "updated_at": "更新时间",
    "place_code": "静安码", "org_unit": "所属单位", "mobile": "手机号", "phone": "联系电话",
    "reporter_name": "报告人", "contact_name": "联系人", "contact_mobile": "联系电话", "email": "电子邮箱",
    "tracking_code": "查询码", "source": "来源", "rating": "评价", "rating_comment": "评价意见",
    "rated_at": "评价时间", "work_item_id": "工单序号", "reopen_count": "重启次数", "note": "备注",
    "notes": "备注", "level": "等级", "risk_level": "风险等级", "result": "结果", "kind": "类型",
    "title": "标题", "started_at": "开始时间", "ended_at": "结束时间", "at": "时间", "inspected_at": "检查时间",
    "builder": "施工单位", "permit_no": "许可证号", "start_date": "开工日期", "end_date": "完工日期",
    "district": "区域", "floors": "层数", "height_m": "高度（米）", "depth_cm": "积水深度（厘米）",
    "reported_at": "报告时间", "summary": "摘要", "anonymised_at": "匿名化时间",
    "activate_from": "启用预警等级", "active": "是否有效", "batches_sent": "已发批次", "batches_total": "总批次",
    "built_year": "建成年份", "calls_count": "召集人数", "calls_warning_id": "召集预警序号",
    "close_reason": "关闭原因", "closed_at": "关闭时间", "closed_by_id": "关闭人序号", "confirm_lat": "签到纬度",
    "confirm_lng": "签到经度", "confirm_note": "签到备注", "confirmed_at": "签到时间",
    "contractor_contact": "施工单位联系人", "contractor_name": "施工单位", "contractor_phone": "施工单位电话",
    "created_by_id": "创建人序号", "duty": "职责", "hazard": "灾害类型", "last_depth_cm": "最近积水深度（厘米）",
    "last_inspected_at": "最近检查时间", "last_reported_at": "最近报告时间", "managing_contact": "管理单位联系人",
    "managing_party": "管理单位", "managing_phone": "管理单位电话", "message": "消息内容",
    "messages_done_at": "消息发送完成时间", "night_work_permit_number": "夜间施工许可证号",
    "night_work_permitted": "是否许可夜间施工", "notified_at": "通知时间", "owner_contact": "建设单位联系人",
    "owner_name": "建设单位", "owner_phone": "建设单位电话", "permit_number": "施工许可证号",
    "previous_level": "原预警等级", "previous_warning_id": "原预警序号", "recipients_count": "接收人数",
    "roster_id": "值班表序号", "set_at": "发布时间", "set_by_id": "发布人序号", "shift_end": "班次结束",
    "shift_start": "班次开始", "structure": "结构类型", "threshold_cm": "预警阈值（厘米）", "user_id": "人员序号",
    "warning_id": "预警序号", "work_kind": "施工类型",
}
#: Codes shown as their Chinese labels, by table and column (a column may also carry info={"labels": {…}}).
VALUE_LABELS = {
    "citizen_report_reports": {"status": {"draft": "待确认", "filed": "已立案", "joined": "已并入",
                                          "discarded": "已作废"},
                               "source": {"h5": "静安码页面", "open311": "Open311 接口"},
                               "rating": {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}},
}
#: Chinese names of the tools' record tables (the sheet and list name), by table.
TABLE_NAMES = {
    "citizen_report_reports": "市民报告", "construction_sites_site": "工地台账",
    "facade_inspection_building": "建筑台账",
    "flood_duty_warning": "预警发布记录", "flood_duty_call": "值班召集记录", "flood_duty_point": "积水点台账",
    "flood_duty_roster": "值班表",
}
SKIPPED = {"org_unit_id", "org_path", "photo_ids", "idempotency_key", "client_hash", "open311_token",
           "api_key_id", "privacy_version", "media_url", "key_hash", "key_prefix", "previous_work_item_ids",
           "joined_report_id", "place_id"}


def _personal(column) -> str | None:
    """Phone numbers are masked wherever they are; other encrypted columns (names, e-mail) too."""
    name = column.name
    if "mobile" in name or "phone" in name:
        return "mobile"
    if not isinstance(column.type, EncryptedString):
        return None
    return "name" if "name" in name else "secret"


class ToolTable(QueryExportSource):
    """One table of a tool's records (its rows in org units), scoped like its records."""

    def __init__(self, tool, model):
        self.tool, self.model = tool, model
        table = model.__table__
        self.code = f"{tool.manifest.code}.{table.name.removeprefix(tool.manifest.code + '_')}"
        self.name = f"{tool.manifest.name}·{TABLE_NAMES.get(table.name, table.name)}"
        self.columns = (C("org_unit", "所属单位"), *(
            C(c.name, c.info.get("label") or c.comment or COMMON_LABELS.get(c.name, c.name), _personal(c))
            for c in table.columns if c.name not in SKIPPED))

    def allowed(self, user) -> bool:
        return bool(scope_paths(user))

    def may_unmask(self, user) -> bool:
        return bool(business_memberships(user, Role.OPERATOR, Role.MANAGER))

    def statement(self, user, filters):
        from app.services.scope import scope_clause

        return select(self.model).where(scope_clause(self.model.__table__.c.org_path, user))

    def values(self, obj) -> dict:
        out = {c.key: getattr(obj, c.key, None) for c in self.columns if c.key != "org_unit"}
        for key, labels in VALUE_LABELS.get(self.model.__table__.name, {}).items():
            out[key] = labels.get(out.get(key), out.get(key))
        unit = db.session.get(OrgUnit, obj.org_unit_id) if getattr(obj, "org_unit_id", None) else None
        out["org_unit"] = unit.name if unit else None
        return out


def tool_tables() -> dict[str, ToolTable]:
    """A source per table of each registered tool that has org_path (its records in org units)."""
    registry = current_app.extensions.get("toolbox")
    out: dict[str, ToolTable] = {}
    if registry is None:
        return out
    mappers = list(db.Model.registry.mappers)
    for tool in current_registry():
        prefix = tool.manifest.code + "_"
        for mapper in mappers:
            table = getattr(mapper.class_, "__table__", None)
            if table is None or not table.name.startswith(prefix) or "org_path" not in table.c \
                    or "id" not in table.c:
                continue
            source = ToolTable(tool, mapper.class_)
            out[source.code] = source
    return out


_BUILTIN = (WorkItems(), Staff(), AuditTrail(), IndicatorTable())
for _source in _BUILTIN:
    register_export_source(_source)
