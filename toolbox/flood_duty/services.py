"""Rules of flood and typhoon duty. No request objects; callers commit, then queue the messages.

Warning levels are set per unit (the district or a street). Raising a unit's level calls, for that
warning, every member of the rosters in the unit's subtree whose shift is on now and whose
`activate_from` level is at or below the new level; each of them gets a WeCom message and confirms
arrival (签到). Lowering or lifting calls no one and tells the people called by the previous warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import and_, case, func, insert, literal, or_, select

from app import toolkit as tk
from app.toolkit import (
    ApiError,
    OrgLevel,
    OrgUnit,
    SearchableRecord,
    User,
    audit,
    business_memberships,
    db,
    in_scope,
    scope_clause,
    scope_paths,
    utcnow,
)
from toolbox.flood_duty.models import (
    CODE,
    HAZARDS,
    LEVEL_ORDER,
    LEVELS,
    DutyCall,
    FloodWarning,
    PointResource,
    Roster,
    RosterMember,
    WaterPoint,
    WaterReport,
)

CATEGORY = "waterlogging"
BATCH_SIZE = 1000  # WeCom's message/send accepts at most 1,000 users per call
DEFAULT_THRESHOLD_CM = 15


def _may_read_report(user, report: WaterReport) -> bool:
    """A depth reading is read by whoever may read its point now."""
    return in_scope(user, report.point.org_path)


tk.holds_photos(WaterReport, may_read=_may_read_report)


def default_threshold_cm() -> int:
    return int(current_app.config.get("FLOOD_DUTY_THRESHOLD_CM", DEFAULT_THRESHOLD_CM))


def _users(userids: list[str]) -> list[User]:
    found = {u.wecom_userid: u for u in db.session.execute(
        select(User).where(User.wecom_userid.in_(userids), User.active.is_(True))).scalars()}
    missing = [u for u in userids if u not in found]
    if missing:
        raise ApiError(422, "unknown_users", "值班人员不存在或已停用", "Unknown or disabled users",
                       fields={"members": [f"人员不存在或已停用：{u}" for u in missing]})
    return [found[u] for u in userids]


# --- rosters ------------------------------------------------------------------------------------------

DISTRICT_POOL_LEVELS = (OrgLevel.DISTRICT, OrgLevel.DEPARTMENT)


def _check_members_in_scope(actor, users: list[User], lines: list[dict]) -> None:
    """Only people within the actor's scope; the district pool (the centre and its departments) only when a
    line asks for it with pool="district". The three admin roles count for neither (三员分立)."""
    roots = scope_paths(actor)
    refused = []
    for user, line in zip(users, lines, strict=True):
        units = [m.org_unit for m in business_memberships(user)]
        if any(u.path.startswith(root) for u in units for root in roots):
            continue
        if line.get("pool") == "district" and any(u.level in DISTRICT_POOL_LEVELS for u in units):
            continue
        refused.append(user.wecom_userid)
    if refused:
        raise ApiError(422, "members_out_of_scope", "值班人员须在您的管辖范围内（区级力量请注明 pool=district）",
                       "Roster members must be within your scope; district staff only with pool=district",
                       fields={"members": [f"不在您的管辖范围内：{u}" for u in refused]})


def save_roster(data: dict, unit: OrgUnit, actor, roster: Roster | None = None) -> Roster:
    """Create a roster, or replace an existing one's details and members (caller commits)."""
    members = data.pop("members", None)
    if roster is None:
        roster = Roster(org_unit=unit, org_unit_id=unit.id, org_path=unit.path, created_by_id=actor.id)
        db.session.add(roster)
    for key, value in data.items():
        if key in ("shift_start", "shift_end"):
            value = value.astimezone(UTC)  # stored in UTC on every database, SQLite included
        setattr(roster, key, value)
    if roster.shift_end <= roster.shift_start:
        raise ApiError(422, fields={"shift_end": ["班次结束时间须晚于开始时间"]})
    if members is not None:
        userids = [m["userid"] for m in members]
        repeated = sorted({u for u in userids if userids.count(u) > 1})
        if repeated:
            raise ApiError(422, fields={"members": [f"人员重复：{u}" for u in repeated]})
        users = _users(userids)
        _check_members_in_scope(actor, users, members)
        existing = {m.user_id: m for m in roster.members}
        roster.members = [existing.get(u.id) or RosterMember(user=u, user_id=u.id) for u in users]
        for member, line in zip(roster.members, members, strict=True):
            member.duty = line.get("duty") or "on_duty"
    audit.record("flood_duty.roster.save", target_type="flood_duty_roster", target_id=roster.id,
                 detail={"org_unit": unit.code, "members": len(roster.members)}, actor=actor)
    return roster


# --- warnings ------------------------------------------------------------------------------------------

def current_warning(unit: OrgUnit) -> FloodWarning | None:
    return db.session.execute(select(FloodWarning).where(
        FloodWarning.org_unit_id == unit.id, FloodWarning.active.is_(True))).scalar_one_or_none()


def set_level(unit: OrgUnit, level: str, actor, hazard: str | None = None, message: str = "",
              now: datetime | None = None) -> FloodWarning:
    """Raise, lower or lift (level "none") a unit's warning; raising calls the rosters it requires.

    Lifting ends the warning in force, so it keeps that warning's hazard (lifting a typhoon warning
    says 台风, whatever the form's default); a change of level keeps it too unless another is given.

    The caller commits and then queues `jobs.dispatch_warning.delay(warning.id)`.
    """
    if unit.level not in (OrgLevel.DISTRICT, OrgLevel.STREET):
        raise ApiError(422, fields={"org_unit": ["预警只能对全区或街镇发布"]})
    now = now or utcnow()
    # Serialise level changes of one unit, so two operators cannot both raise from the same level.
    db.session.execute(select(OrgUnit.id).where(OrgUnit.id == unit.id).with_for_update())
    previous = current_warning(unit)
    previous_level = previous.level if previous else "none"
    if previous is not None and (level == "none" or hazard is None):
        hazard = previous.hazard
    hazard = hazard or "rainstorm"
    if level == previous_level:
        raise ApiError(409, "level_unchanged", f"当前已是{LEVELS[level]}预警", "The level is already in force",
                       level=level)
    if previous is not None:
        previous.active = False
        previous.ended_at = now
        tk.index_record(previous)
    warning = FloodWarning(org_unit=unit, org_unit_id=unit.id, org_path=unit.path, level=level,
                           previous_level=previous_level, previous_warning_id=previous.id if previous else None,
                           hazard=hazard, message=message, set_by_id=actor.id, set_at=now,
                           active=level != "none")
    if level == "none":
        warning.ended_at = now
    db.session.add(warning)
    db.session.flush()
    if warning.raised:
        warning.calls_count = _call_rosters(warning, unit, now)
        warning.calls_warning_id = warning.id
    elif previous is not None:
        warning.calls_warning_id = previous.calls_warning_id
    audit.record("flood_duty.warning.set", target_type="flood_duty_warning", target_id=warning.id,
                 detail={"org_unit": unit.code, "from": previous_level, "to": level, "hazard": hazard,
                         "called": warning.calls_count}, actor=actor)
    tk.index_record(warning)
    return warning


def rosters_required(unit: OrgUnit, level: str, now: datetime):
    """Rosters in the unit's subtree on shift now that this level activates."""
    levels = [lvl for lvl in LEVELS if lvl != "none" and LEVEL_ORDER[lvl] <= LEVEL_ORDER[level]]
    return db.session.execute(select(Roster.id).where(
        tk.starts_with(Roster.org_path, unit.path), Roster.activate_from.in_(levels),
        Roster.shift_start <= now, Roster.shift_end > now)).scalars().all()


def _call_rosters(warning: FloodWarning, unit: OrgUnit, now: datetime) -> int:
    """Insert one duty call per active person on the required rosters (someone on several rosters is called
    once, through their earliest roster entry). One INSERT … SELECT: a district-wide red warning calls
    thousands of people, and no row needs to pass through Python."""
    roster_ids = rosters_required(unit, warning.level, now)
    if not roster_ids:
        return 0
    first_entry = (select(func.min(RosterMember.id)).join(User, User.id == RosterMember.user_id)
                   .where(RosterMember.roster_id.in_(roster_ids), User.active.is_(True))
                   .group_by(RosterMember.user_id))
    rows = (select(literal(warning.id), RosterMember.user_id, Roster.id, Roster.org_unit_id, Roster.org_path,
                   RosterMember.duty)
            .join(Roster, Roster.id == RosterMember.roster_id).where(RosterMember.id.in_(first_entry)))
    db.session.execute(insert(DutyCall).from_select(
        ["warning_id", "user_id", "roster_id", "org_unit_id", "org_path", "duty"], rows))
    return db.session.execute(select(func.count()).where(DutyCall.warning_id == warning.id)).scalar_one()


def recipients_query(warning: FloodWarning):
    """Who a warning's message goes to, in a stable order: its own calls, or (lowered/lifted) the people
    called by the last warning that raised the level."""
    return (select(DutyCall.id, User.wecom_userid).join(User, User.id == DutyCall.user_id)
            .where(DutyCall.warning_id == warning.calls_warning_id).order_by(DutyCall.id))


def message_text(warning: FloodWarning) -> str:
    where = warning.org_unit.name
    at = warning.set_at.astimezone().strftime("%m-%d %H:%M")
    if warning.level == "none":
        return f"【防汛防台】{where}{HAZARDS[warning.hazard]}预警已于 {at} 解除。{warning.message}".strip()
    if warning.raised:
        return (f"【防汛防台】{where}于 {at} 发布{HAZARDS[warning.hazard]}{LEVELS[warning.level]}预警。"
                f"{warning.message} 请立即按值班安排到岗，并在工具箱「防汛防台」中签到。").replace("  ", " ")
    return (f"【防汛防台】{where}{HAZARDS[warning.hazard]}预警于 {at} 由{LEVELS[warning.previous_level]}"
            f"调整为{LEVELS[warning.level]}。{warning.message}").strip()


def card_title(warning: FloodWarning) -> str:
    """The title of a warning's text card (its text is message_text)."""
    where, hazard = warning.org_unit.name, HAZARDS[warning.hazard]
    if warning.level == "none":
        return f"【防汛防台】{where}{hazard}预警解除"
    return f"【防汛防台】{where}{hazard}{LEVELS[warning.level]}预警" + ("，请到岗签到" if warning.raised else "")


def confirm_arrival(warning: FloodWarning, user, lat=None, lng=None, note=None) -> DutyCall:
    """签到: the person called by this warning confirms arrival; confirming twice keeps the first time."""
    call = db.session.execute(select(DutyCall).where(
        DutyCall.warning_id == warning.id, DutyCall.user_id == user.id)).scalar_one_or_none()
    if call is None:
        raise ApiError(404, "not_on_duty", "您不在本次预警的值班名单中", "You are not called by this warning")
    if not warning.active:
        raise ApiError(409, "warning_ended", "该预警已调整或解除，请查看最新预警", "This warning is no longer in force")
    if call.confirmed_at is None:
        call.confirmed_at = utcnow()
        call.confirm_lat, call.confirm_lng, call.confirm_note = lat, lng, note
    return call


def unit_overview_rows(warning: FloodWarning, user):
    """(unit, called, confirmed) ordered by the unit's path, limited to my data scope."""
    confirmed = func.sum(case((DutyCall.confirmed_at.is_not(None), 1), else_=0))
    return (select(OrgUnit, func.count(DutyCall.id).label("called"), confirmed.label("confirmed"))
            .join(DutyCall, and_(DutyCall.org_unit_id == OrgUnit.id, DutyCall.warning_id == warning.id))
            .where(scope_clause(DutyCall.org_path, user))
            .group_by(OrgUnit.id).order_by(OrgUnit.path))


def _concerning_paths(user) -> list[str]:
    """The paths of the units at and above each unit the user holds a business role in."""
    ancestors = set()
    for m in business_memberships(user):
        parts = m.org_unit.path.strip("/").split("/")
        ancestors.update("/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1))
    return sorted(ancestors)


def visible_warnings(user):
    """Warnings a user is concerned by: those of units above them (the district, their street) and within
    their scope. The three admin roles are concerned by none (三员分立)."""
    return select(FloodWarning).where(or_(FloodWarning.org_path.in_(_concerning_paths(user)),
                                          scope_clause(FloodWarning.org_path, user)))


def may_see_warning(user, warning: FloodWarning) -> bool:
    return warning.org_path in _concerning_paths(user) or in_scope(user, warning.org_path)


# --- waterlogging points ----------------------------------------------------------------------------

def create_point(data: dict, unit: OrgUnit, actor) -> WaterPoint:
    if data.get("threshold_cm") is None:
        data["threshold_cm"] = default_threshold_cm()
    return tk.register_record(WaterPoint(**data), unit, actor)


def report_depth(point: WaterPoint, depth_cm: int, actor, note: str = "", photo_ids: Iterable[int] = (),
                 at: datetime | None = None) -> WaterReport:
    """A depth reading; at or above the point's threshold it is escalated as a work item, unless one for this
    point is still open (then the reading is added to that one's record)."""
    report = WaterReport(point=point, point_id=point.id, depth_cm=depth_cm, note=note, reporter_id=actor.id,
                         photo_ids=tk.bind_photos(photo_ids, actor), reported_at=at or utcnow())
    db.session.add(report)
    point.last_depth_cm = depth_cm
    point.last_reported_at = report.reported_at
    db.session.flush()
    if depth_cm >= point.threshold_cm:
        report.escalated = True
        item = tk.open_work_item_for(point) or _raise_work_item(point, report, actor)
        report.work_item_id, report.work_item_number = item.id, item.number
    tk.index_record(point)
    return report


def _raise_work_item(point: WaterPoint, report: WaterReport, actor) -> tk.WorkItem:
    return tk.raise_work_item(
        point, category=CATEGORY, priority="urgent" if report.depth_cm >= 2 * point.threshold_cm else "normal",
        title=f"{point.name}积水 {report.depth_cm} 厘米",
        description=(f"积水点「{point.name}」{report.reported_at.astimezone():%m-%d %H:%M} 积水深度 "
                     f"{report.depth_cm} 厘米，超过 {point.threshold_cm} 厘米警戒值。{report.note}").strip(),
        address=point.address, lat=point.lat, lng=point.lng, photo_ids=list(report.photo_ids), reporter_user=actor,
        actor=actor)


def on_work_item_changed(sender, *, source_type=None, source_id=None, **_ignored) -> None:
    """One-click query shows a point's open work item: re-index the point when it changes. Once it is
    closed, the next reading above the threshold raises a new one (the workflow says it is closed)."""
    point = db.session.get(WaterPoint, int(source_id)) if source_type == "point" else None
    if point is not None:
        tk.index_record(point)


def add_resource(point: WaterPoint, data: dict, actor) -> PointResource:
    resource = PointResource(point=point, **data)
    db.session.add(resource)
    db.session.flush()
    audit.record("flood_duty.resource.add", target_type="flood_duty_point", target_id=point.id,
                 detail={"kind": resource.kind, "quantity": resource.quantity}, actor=actor)
    tk.index_record(point)
    return resource


def update_resource(resource: PointResource, data: dict, actor) -> PointResource:
    for key, value in data.items():
        setattr(resource, key, value)
    audit.record("flood_duty.resource.update", target_type="flood_duty_point", target_id=resource.point_id,
                 detail={"resource_id": resource.id, **{k: v for k, v in data.items() if k != "note"}}, actor=actor)
    tk.index_record(resource.point)
    return resource


def remove_resource(resource: PointResource, actor) -> None:
    point = resource.point
    point.resources.remove(resource)
    audit.record("flood_duty.resource.remove", target_type="flood_duty_point", target_id=point.id,
                 detail={"resource_id": resource.id}, actor=actor)
    tk.index_record(point)


def delete_point(point: WaterPoint, actor) -> None:
    if tk.open_work_item_for(point) is not None:
        raise ApiError(409, "point_has_open_item", "该积水点仍有未办结的工单，不能删除",
                       "The point still has an open work item")
    audit.record("flood_duty.point.delete", target_type="flood_duty_point", target_id=point.id, actor=actor)
    tk.searchable_deleted.send(CODE, type="point", id=str(point.id))
    db.session.delete(point)


# --- one-click query ----------------------------------------------------------------------------------

def search_documents() -> Iterator[SearchableRecord]:
    for p in db.session.execute(select(WaterPoint).order_by(WaterPoint.id)).unique().scalars():
        yield p.search_record()
    for w in db.session.execute(select(FloodWarning).order_by(FloodWarning.id)).unique().scalars():
        yield w.search_record()

