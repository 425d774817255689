"""/api/v1/calendar and /api/v1/admin/…: the holiday calendar and work-item time limits (system admin)."""

from __future__ import annotations

from datetime import date

from flask import jsonify
from sqlalchemy import select

from app.api import parse_args, parse_json
from app.auth import current_user, roles_required
from app.errors import ApiError
from app.extensions import db
from app.models.users import Role
from app.models.workitem import CalendarDay, WorkItemLimit
from app.registry import current_registry
from app.services import audit, workdays
from app.services import workflow as wf
from app.terms import TIME_LIMIT_KINDS
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.work_item_schemas import (
    CalendarDayIn,
    CalendarDayOut,
    CalendarOut,
    CalendarQuery,
    LimitIn,
    LimitList,
    LimitOut,
)


@bp.get("/calendar")
@doc("Holidays and adjusted working days (调休) the time limits follow", tags=("work-items",),
     query=CalendarQuery, response=CalendarOut)
def get_calendar():
    """Exceptions to Monday–Friday, by year."""
    args = parse_args(CalendarQuery())
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if "year" in args:
        stmt = stmt.where(CalendarDay.day >= date(args["year"], 1, 1), CalendarDay.day <= date(args["year"], 12, 31))
    return jsonify({"items": CalendarDayOut(many=True).dump(db.session.execute(stmt).scalars())})


@bp.put("/admin/calendar/<day:day>")
@roles_required(Role.ADMIN)
@doc("Mark a day as a holiday or an adjusted working day (system admin)", tags=("admin",), body=CalendarDayIn,
     response=CalendarDayOut)
def put_calendar_day(day: date):
    """Set one calendar exception; audited."""
    data = parse_json(CalendarDayIn())
    user = current_user()
    row = workdays.set_day(day, data["kind"], data["name"], changed_by=user.wecom_userid)
    audit.record("calendar.set", target_type="calendar_day", target_id=day.isoformat(), detail=data)
    db.session.commit()
    return jsonify(CalendarDayOut().dump(row))


@bp.delete("/admin/calendar/<day:day>")
@roles_required(Role.ADMIN)
@doc("Remove a calendar exception (system admin)", tags=("admin",), status=204, errors=(404,))
def delete_calendar_day(day: date):
    """The day follows Monday–Friday again; audited."""
    if not workdays.clear_day(day):
        raise ApiError(404, "not_found", "该日期没有设置", "No exception is set for that day")
    audit.record("calendar.clear", target_type="calendar_day", target_id=day.isoformat())
    db.session.commit()
    return "", 204


@bp.post("/admin/calendar/official")
@roles_required(Role.ADMIN)
@doc("Load the shipped State Council holiday calendar (system admin)", tags=("admin",), response=CalendarOut)
def load_official_calendar():
    """Insert or refresh 2025–2026 from the State Council notices."""
    n = workdays.load_official(changed_by=current_user().wecom_userid)
    audit.record("calendar.load_official", detail={"days": n})
    db.session.commit()
    return get_calendar()


@bp.get("/admin/work-item-limits")
@roles_required(Role.ADMIN)
@doc("Per-tool time-limit overrides (system admin)", tags=("admin",), response=LimitList)
def list_limits():
    """Overrides; everything else follows the defaults."""
    rows = db.session.execute(select(WorkItemLimit).order_by(WorkItemLimit.tool_code, WorkItemLimit.category))
    return jsonify({"items": LimitOut(many=True).dump(rows.scalars()),
                    "defaults": {**wf.Limits().to_dict(), "close_days_by_kind": TIME_LIMIT_KINDS}})


@bp.put("/admin/work-item-limits")
@roles_required(Role.ADMIN)
@doc("Set a tool's (or one category's) time limits in working days (system admin)", tags=("admin",),
     body=LimitIn, response=LimitOut, errors=(404,))
def put_limit():
    """Null fields fall back to the tool-wide row, then to the defaults; applies to items created later."""
    data = parse_json(LimitIn())
    if current_registry().get(data["tool"]) is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    if data["category"] and current_registry().category(data["tool"], data["category"]) is None:
        raise ApiError(422, "unknown_category", "工具未声明该工单类别", "The tool declares no such category")
    row = db.session.execute(select(WorkItemLimit).where(
        WorkItemLimit.tool_code == data["tool"], WorkItemLimit.category == data["category"])).scalar_one_or_none()
    if row is None:
        row = WorkItemLimit(tool_code=data["tool"], category=data["category"])
        db.session.add(row)
    for key in ("sign_days", "close_days", "rehandle_days", "max_days"):
        if key in data:
            setattr(row, key, data[key])
    row.changed_by = current_user().wecom_userid
    audit.record("work_item.limits", target_type="tool", target_id=data["tool"], detail=data)
    db.session.commit()
    return jsonify(LimitOut().dump(row))
