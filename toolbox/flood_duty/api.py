"""HTTP API of flood and typhoon duty, mounted at /api/v1/tools/flood_duty/.

The registry checks that the caller may open the tool before every view here.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import func, or_, select

from app import toolkit as tk
from app.toolkit import (
    ApiError,
    OrgLevel,
    PageArgs,
    current_user,
    db,
    doc,
    ensure_in_scope,
    paged,
    parse_args,
    parse_json,
    scope_clause,
    utcnow,
)
from toolbox.flood_duty import jobs, services
from toolbox.flood_duty.models import DutyCall, FloodWarning, PointResource, Roster, WaterPoint, WaterReport
from toolbox.flood_duty.schemas import (
    FloodConfirmIn,
    FloodDutyCallOut,
    FloodLevelIn,
    FloodMyDutyOut,
    FloodMyDutyPage,
    FloodOverviewPage,
    FloodOverviewQuery,
    FloodPointIn,
    FloodPointOut,
    FloodPointPage,
    FloodPointQuery,
    FloodPointUpdate,
    FloodReportIn,
    FloodReportOut,
    FloodReportPage,
    FloodResourceIn,
    FloodResourceOut,
    FloodRosterIn,
    FloodRosterOut,
    FloodRosterPage,
    FloodRosterQuery,
    FloodRosterUpdate,
    FloodWarningOut,
    FloodWarningPage,
    FloodWarningQuery,
)

bp = Blueprint("flood_duty", __name__)
TAGS = ("flood_duty",)
COMMAND_ROLES = ("operator", "manager")  # keep rosters, set warning levels, manage points and resources

_roster_out, _warning_out, _call_out = FloodRosterOut(), FloodWarningOut(), FloodDutyCallOut()
_point_out, _report_out, _resource_out = FloodPointOut(), FloodReportOut(), FloodResourceOut()


def _unit(code: str, *levels: str, what: str = "记录"):
    return tk.register_unit(code, *COMMAND_ROLES, levels=levels, what=what)


def _get(model, ident: int, code: str, zh: str):
    row = db.session.get(model, ident)
    if row is None:
        raise ApiError(404, code, zh, "Not found")
    return row


# --- rosters ------------------------------------------------------------------------------------------

@bp.get("/rosters")
@doc("Duty rosters in my scope", tags=TAGS, query=FloodRosterQuery, response=FloodRosterPage)
def list_rosters():
    """Rosters per unit and shift."""
    args = parse_args(FloodRosterQuery())
    stmt = tk.in_my_scope(Roster)
    if "org_unit" in args:
        stmt = stmt.where(tk.under_unit(Roster.org_path, args["org_unit"]))
    if args.get("on_shift"):
        now = utcnow()
        stmt = stmt.where(Roster.shift_start <= now, Roster.shift_end > now)
    return paged(stmt.order_by(Roster.shift_start.desc(), Roster.org_path, Roster.id), _roster_out.dump, args)


@bp.post("/rosters")
@doc("Create a duty roster for a unit and shift (operators and managers)", tags=TAGS, body=FloodRosterIn,
     response=FloodRosterOut, status=201)
def create_roster():
    """A shift: who is on duty, from which warning level."""
    return tk.created(tk.register_from_request(FloodRosterIn(), services.save_roster, *COMMAND_ROLES, levels=()),
                      _roster_out)


@bp.get("/rosters/<int:roster_id>")
@doc("One roster", tags=TAGS, response=FloodRosterOut, errors=(404,))
def get_roster(roster_id: int):
    """A roster with its members."""
    roster = _get(Roster, roster_id, "roster_not_found", "值班表不存在")
    ensure_in_scope(current_user(), roster.org_path)
    return jsonify(_roster_out.dump(roster))


@bp.patch("/rosters/<int:roster_id>")
@doc("Change a roster; members, when sent, replace the list", tags=TAGS, body=FloodRosterUpdate,
     response=FloodRosterOut, errors=(404,))
def update_roster(roster_id: int):
    """Edit a roster."""
    roster = _get(Roster, roster_id, "roster_not_found", "值班表不存在")
    ensure_in_scope(current_user(), roster.org_path, *COMMAND_ROLES)
    data = parse_json(FloodRosterUpdate(), partial=True)
    services.save_roster(data, roster.org_unit, current_user(), roster=roster)
    db.session.commit()
    return jsonify(_roster_out.dump(roster))


@bp.delete("/rosters/<int:roster_id>")
@doc("Delete a roster that no warning has called yet", tags=TAGS, status=204, errors=(404, 409))
def delete_roster(roster_id: int):
    """Remove a roster entered by mistake."""
    roster = _get(Roster, roster_id, "roster_not_found", "值班表不存在")
    ensure_in_scope(current_user(), roster.org_path, *COMMAND_ROLES)
    if db.session.execute(select(DutyCall.id).where(DutyCall.roster_id == roster.id).limit(1)).first():
        raise ApiError(409, "roster_called", "该值班表已被预警启动过，不能删除", "The roster has been called")
    db.session.delete(roster)
    db.session.commit()
    return "", 204


# --- warnings -----------------------------------------------------------------------------------------

@bp.get("/warnings")
@doc("Warnings that concern me (the district's, my street's, and those in my scope), newest first", tags=TAGS,
     query=FloodWarningQuery, response=FloodWarningPage)
def list_warnings():
    """Warning history and the levels in force."""
    args = parse_args(FloodWarningQuery())
    stmt = services.visible_warnings(current_user())
    if "active" in args:
        stmt = stmt.where(FloodWarning.active.is_(args["active"]))
    return paged(stmt.order_by(FloodWarning.set_at.desc(), FloodWarning.id.desc()), _warning_out.dump, args)


@bp.post("/warnings")
@doc("Raise, lower or lift (level=none) the warning of the district or a street; raising calls the "
     "rosters it requires and messages everyone on duty through WeCom", tags=TAGS, body=FloodLevelIn,
     response=FloodWarningOut, status=201, errors=(409,))
def set_level():
    """Set a warning level."""
    data = parse_json(FloodLevelIn())
    unit = _unit(data["org_unit"], OrgLevel.DISTRICT, OrgLevel.STREET, what="预警")
    warning = services.set_level(unit, data["level"], current_user(), hazard=data["hazard"],
                                 message=data["message"])
    jobs.dispatch_warning.delay(warning.id)  # committed with the warning (the job outbox)
    db.session.commit()
    return jsonify(_warning_out.dump(db.session.get(FloodWarning, warning.id))), 201


def _visible_warning(warning_id: int) -> FloodWarning:
    warning = _get(FloodWarning, warning_id, "warning_not_found", "预警不存在")
    if not services.may_see_warning(current_user(), warning):
        raise ApiError(403, "out_of_scope", "该记录不在您的数据范围内", "This record is outside your data scope")
    return warning


@bp.get("/warnings/<int:warning_id>")
@doc("One warning and its message delivery", tags=TAGS, response=FloodWarningOut, errors=(404,))
def get_warning(warning_id: int):
    """A warning."""
    return jsonify(_warning_out.dump(_visible_warning(warning_id)))


@bp.get("/warnings/<int:warning_id>/overview")
@doc("Who confirmed arrival and who did not, per unit in my scope", tags=TAGS, query=FloodOverviewQuery,
     response=FloodOverviewPage, errors=(404,))
def warning_overview(warning_id: int):
    """Arrival overview of a warning, unit by unit."""
    warning = _visible_warning(warning_id)
    args = parse_args(FloodOverviewQuery())
    user = current_user()
    stmt = services.unit_overview_rows(warning, user)
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    totals = db.session.execute(select(func.count(DutyCall.id), func.count(DutyCall.confirmed_at)).where(
        DutyCall.warning_id == warning.id, scope_clause(DutyCall.org_path, user))).one()
    rows = db.session.execute(stmt.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])).all()
    people: dict[int, list] = {}
    if rows and args["people"] != "none":
        calls = select(DutyCall).where(DutyCall.warning_id == warning.id,
                                       DutyCall.org_unit_id.in_([r[0].id for r in rows]))
        if args["people"] == "unconfirmed":
            calls = calls.where(DutyCall.confirmed_at.is_(None))
        for call in db.session.execute(calls.order_by(DutyCall.id)).unique().scalars():
            people.setdefault(call.org_unit_id, []).append(_call_out.dump(call))
    items = [{"org_unit": {"code": unit.code, "name": unit.name}, "called": called, "confirmed": int(confirmed),
              "unconfirmed": called - int(confirmed), "people": people.get(unit.id, [])}
             for unit, called, confirmed in rows]
    return jsonify({"warning": _warning_out.dump(warning), "items": items, "page": args["page"],
                    "per_page": args["per_page"], "total": total,
                    "pages": (total + args["per_page"] - 1) // args["per_page"],
                    "totals": {"called": totals[0], "confirmed": totals[1], "unconfirmed": totals[0] - totals[1]}})


@bp.post("/warnings/<int:warning_id>/confirm")
@doc("Confirm my arrival on duty (签到) for a warning in force", tags=TAGS, body=FloodConfirmIn,
     response=FloodDutyCallOut, errors=(404, 409))
def confirm(warning_id: int):
    """签到."""
    warning = _get(FloodWarning, warning_id, "warning_not_found", "预警不存在")
    data = parse_json(FloodConfirmIn())
    call = services.confirm_arrival(warning, current_user(), data.get("lat"), data.get("lng"), data.get("note"))
    db.session.commit()
    return jsonify(_call_out.dump(call))


@bp.get("/my-duty")
@doc("My duty calls for warnings in force (what to confirm)", tags=TAGS, query=PageArgs, response=FloodMyDutyPage)
def my_duty():
    """Am I called, and have I confirmed?"""
    stmt = (select(DutyCall).join(FloodWarning, FloodWarning.id == DutyCall.warning_id)
            .where(DutyCall.user_id == current_user().id, FloodWarning.active.is_(True))
            .order_by(FloodWarning.set_at.desc()))
    return paged(stmt, FloodMyDutyOut().dump)


# --- waterlogging points --------------------------------------------------------------------------------

def _point(point_id: int, *roles: str) -> WaterPoint:
    return tk.load_in_scope(WaterPoint, point_id, *roles, missing=("point_not_found", "积水点不存在", "Not found"))


@bp.get("/points")
@doc("Waterlogging points in my scope", tags=TAGS, query=FloodPointQuery, response=FloodPointPage)
def list_points():
    """积水点 with their latest depth and resources."""
    args = parse_args(FloodPointQuery())
    stmt = tk.in_my_scope(WaterPoint)
    if "waterlogged" in args:
        logged = WaterPoint.last_depth_cm >= WaterPoint.threshold_cm
        stmt = stmt.where(logged if args["waterlogged"] else or_(WaterPoint.last_depth_cm.is_(None), ~logged))
    if args.get("q"):
        stmt = stmt.where(tk.text_matches(args["q"], WaterPoint.name, WaterPoint.address))
    return paged(stmt.order_by(WaterPoint.last_depth_cm.desc().nulls_last(), WaterPoint.id), _point_out.dump, args)


@bp.post("/points")
@doc("Add a waterlogging point (operators and managers); it gets a Jing'an code", tags=TAGS, body=FloodPointIn,
     response=FloodPointOut, status=201)
def create_point():
    """Register a waterlogging point."""
    return tk.created(tk.register_from_request(FloodPointIn(), services.create_point, *COMMAND_ROLES, what="积水点"),
                      _point_out)


@bp.get("/points/<int:point_id>")
@doc("One waterlogging point", tags=TAGS, response=FloodPointOut, errors=(404,))
def get_point(point_id: int):
    """A point with its resources."""
    return jsonify(_point_out.dump(_point(point_id)))


@bp.patch("/points/<int:point_id>")
@doc("Change a point (operators and managers)", tags=TAGS, body=FloodPointUpdate, response=FloodPointOut, errors=(404,))
def update_point(point_id: int):
    """Edit a point, e.g. its threshold."""
    point = _point(point_id, *COMMAND_ROLES)
    data = parse_json(FloodPointUpdate(), partial=True)
    if "threshold_cm" in data and data["threshold_cm"] is None:
        data["threshold_cm"] = services.default_threshold_cm()
    tk.update_record(point, data, current_user())
    db.session.commit()
    return jsonify(_point_out.dump(point))


@bp.delete("/points/<int:point_id>")
@doc("Delete a point without an open work item", tags=TAGS, status=204, errors=(404, 409))
def delete_point(point_id: int):
    """Remove a point."""
    services.delete_point(_point(point_id, *COMMAND_ROLES), current_user())
    db.session.commit()
    return "", 204


@bp.get("/points/<int:point_id>/reports")
@doc("Depth reports of a point, newest first", tags=TAGS, query=PageArgs, response=FloodReportPage, errors=(404,))
def list_reports(point_id: int):
    """Readings at a point."""
    point = _point(point_id)
    stmt = select(WaterReport).where(WaterReport.point_id == point.id).order_by(
        WaterReport.reported_at.desc(), WaterReport.id.desc())
    return paged(stmt, _report_out.dump)


@bp.post("/points/<int:point_id>/reports")
@doc("Report the water depth (cm) with a photo; at or above the threshold it becomes a work item", tags=TAGS,
     body=FloodReportIn, response=FloodReportOut, status=201, errors=(404,))
def create_report(point_id: int):
    """Report waterlogging."""
    point = _point(point_id)
    data = parse_json(FloodReportIn())
    report = services.report_depth(point, data["depth_cm"], current_user(), note=data["note"],
                                   photo_ids=data["photo_ids"])
    db.session.commit()
    return jsonify(_report_out.dump(report)), 201


@bp.post("/points/<int:point_id>/resources")
@doc("Add a resource (pumps, sandbags ...) to a point", tags=TAGS, body=FloodResourceIn, response=FloodResourceOut,
     status=201, errors=(404,))
def add_resource(point_id: int):
    """Stock a point."""
    point = _point(point_id, *COMMAND_ROLES)
    resource = services.add_resource(point, parse_json(FloodResourceIn()), current_user())
    db.session.commit()
    return jsonify(_resource_out.dump(resource)), 201


def _resource(resource_id: int) -> PointResource:
    resource = _get(PointResource, resource_id, "resource_not_found", "物资记录不存在")
    ensure_in_scope(current_user(), resource.point.org_path, *COMMAND_ROLES)
    return resource


@bp.patch("/resources/<int:resource_id>")
@doc("Change a resource's quantity or note", tags=TAGS, body=FloodResourceIn, response=FloodResourceOut, errors=(404,))
def update_resource(resource_id: int):
    """Update stock."""
    resource = _resource(resource_id)
    services.update_resource(resource, parse_json(FloodResourceIn(), partial=True), current_user())
    db.session.commit()
    return jsonify(_resource_out.dump(resource))


@bp.delete("/resources/<int:resource_id>")
@doc("Remove a resource from a point", tags=TAGS, status=204, errors=(404,))
def delete_resource(resource_id: int):
    """Remove stock."""
    services.remove_resource(_resource(resource_id), current_user())
    db.session.commit()
    return "", 204

