"""/api/v1/work-items: my inbox, item detail with timeline, actions, approvals; calendar and limits admin."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, exists, false, func, not_, or_, select

from app.api import PageArgs, PageOut, paginate, parse_args, parse_json
from app.auth import current_user, roles_required
from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.users import Role, User
from app.models.workitem import CalendarDay, WorkItem, WorkItemApproval, WorkItemEvent, WorkItemLimit
from app.services import audit, workdays
from app.services import workflow as wf
from app.services.crypto import mask_mobile, mask_name
from app.services.scope import in_scope, scope_clause, scope_paths
from miniprogram_api import bp
from miniprogram_api.openapi import doc

BOXES = ("todo", "done", "overdue", "all")


# --- schemas ---------------------------------------------------------------------------------

class WorkItemQuery(PageArgs):
    box = fields.String(load_default="todo", validate=validate.OneOf(BOXES),
                        metadata={"description": "todo 待办 / done 已办 / overdue 超期 / all 全部"})
    state = fields.String(validate=validate.OneOf(list(wf.STATES)))
    tool = fields.String()
    category = fields.String()
    unit = fields.String(metadata={"description": "only items handled in this unit's subtree (code)"})
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "number or title"})
    priority = fields.String(validate=validate.OneOf(wf.PRIORITIES))


class UnitRef(Schema):
    code = fields.String()
    name = fields.String()


class WorkItemOut(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"example": "JA-2026-000123"})
    title = fields.String()
    category = fields.String()
    category_name = fields.String()
    source = fields.Dict()
    state = fields.String()
    state_label = fields.String()
    priority = fields.String()
    unit = fields.Nested(UnitRef)
    dispatch_unit = fields.Nested(UnitRef)
    assignee = fields.Dict(allow_none=True)
    stage = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    close_due_at = fields.DateTime()
    overdue = fields.Boolean()
    supervised = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class EventOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    action = fields.String()
    label = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.Dict(allow_none=True)
    from_unit = fields.Nested(UnitRef, allow_none=True)
    to_unit = fields.Nested(UnitRef, allow_none=True)
    reason = fields.String(allow_none=True)
    detail = fields.Dict()


class ApprovalOut(Schema):
    id = fields.Integer()
    work_item_id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    kind_label = fields.String()
    status = fields.String()
    status_label = fields.String()
    from_unit = fields.Nested(UnitRef)
    approver_unit = fields.Nested(UnitRef)
    target_unit = fields.Nested(UnitRef, allow_none=True)
    days = fields.Integer(allow_none=True)
    reason = fields.String()
    requested_by = fields.Dict(allow_none=True)
    decided_by = fields.Dict(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decided_via = fields.String(allow_none=True)
    created_at = fields.DateTime()


class WorkItemDetail(WorkItemOut):
    description = fields.String()
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    photo_ids = fields.List(fields.Integer())
    reporter = fields.Dict(allow_none=True, metadata={"description": "masked unless ?reveal=reporter (audited)"})
    result = fields.String(allow_none=True)
    satisfaction = fields.String(allow_none=True)
    first_contact_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    limits = fields.Dict()
    allowed_actions = fields.List(fields.String())
    timeline = fields.List(fields.Nested(EventOut))
    approvals = fields.List(fields.Nested(ApprovalOut))


class Counts(Schema):
    todo = fields.Integer()
    done = fields.Integer()
    overdue = fields.Integer()
    approvals = fields.Integer()


class WorkItemPage(PageOut):
    items = fields.List(fields.Nested(WorkItemOut))
    counts = fields.Nested(Counts)


class ActionIn(Schema):
    version = fields.Integer(metadata={"description": "the version you loaded; 409 if it changed"})
    unit = fields.String(metadata={"description": "target org unit code (dispatch, forward, reassign)"})
    reason = fields.String(validate=validate.Length(max=1000))
    note = fields.String(validate=validate.Length(max=1000), metadata={"description": "contact / sign note"})
    result = fields.String(validate=validate.Length(max=4000), metadata={"description": "feedback 处置结果"})
    days = fields.Integer(validate=validate.Range(min=1, max=15))
    satisfaction = fields.String(validate=validate.OneOf(list(wf.SATISFACTION)))


class ActionOut(Schema):
    item = fields.Nested(WorkItemDetail)
    approval = fields.Nested(ApprovalOut, allow_none=True)


class ApprovalQuery(PageArgs):
    status = fields.String(load_default="pending", validate=validate.OneOf(list(wf.APPROVAL_STATUS) + ["all"]))


class ApprovalPage(PageOut):
    items = fields.List(fields.Nested(ApprovalOut))


class DecisionIn(Schema):
    note = fields.String(validate=validate.Length(max=1000))


class CalendarQuery(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class CalendarDayOut(Schema):
    date = fields.Date(attribute="day")
    kind = fields.String()
    name = fields.String()
    source = fields.String(allow_none=True)


class CalendarOut(Schema):
    items = fields.List(fields.Nested(CalendarDayOut))


class CalendarDayIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["holiday", "workday"]))
    name = fields.String(load_default="", validate=validate.Length(max=64))


class LimitIn(Schema):
    tool = fields.String(required=True)
    category = fields.String(load_default="")
    sign_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=15))
    close_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=15))
    rehandle_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=15))
    max_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=60))


class LimitOut(Schema):
    tool = fields.String(attribute="tool_code")
    category = fields.String()
    sign_days = fields.Integer(allow_none=True)
    close_days = fields.Integer(allow_none=True)
    rehandle_days = fields.Integer(allow_none=True)
    max_days = fields.Integer(allow_none=True)
    changed_by = fields.String(allow_none=True)


class LimitList(Schema):
    items = fields.List(fields.Nested(LimitOut))
    defaults = fields.Dict()


# --- dumping ---------------------------------------------------------------------------------

def _unit(unit) -> dict | None:
    return {"code": unit.code, "name": unit.name} if unit is not None else None


def _person(user: User | None) -> dict | None:
    return {"userid": user.wecom_userid, "name": user.name} if user is not None else None


def dump_item(item: WorkItem) -> dict:
    return {
        "id": item.id, "number": item.number, "title": item.title, "category": item.category,
        "category_name": item.category_name,
        "source": {"tool": item.source_tool, "type": item.source_type, "id": item.source_id},
        "state": item.state, "state_label": wf.STATES[item.state], "priority": item.priority,
        "unit": _unit(item.org_unit), "dispatch_unit": _unit(item.dispatch_unit),
        "assignee": _person(item.assignee), "stage": item.stage, "due_at": item.due_at,
        "close_due_at": item.close_due_at, "overdue": item.overdue, "supervised": item.supervised,
        "created_at": item.created_at, "updated_at": item.updated_at, "version": item.version,
    }


def dump_approval(a: WorkItemApproval) -> dict:
    return {
        "id": a.id, "work_item_id": a.work_item_id, "number": a.work_item.number, "kind": a.kind,
        "kind_label": wf.APPROVAL_KINDS[a.kind], "status": a.status, "status_label": wf.APPROVAL_STATUS[a.status],
        "from_unit": _unit(a.from_unit), "approver_unit": _unit(a.approver_unit), "target_unit": _unit(a.target_unit),
        "days": a.days, "reason": a.reason, "requested_by": _person(a.requested_by),
        "decided_by": _person(a.decided_by), "decided_at": a.decided_at, "decided_via": a.decided_via,
        "created_at": a.created_at,
    }


def dump_event(ev: WorkItemEvent) -> dict:
    actor = _person(ev.actor) if ev.actor is not None else ({"userid": ev.actor_label, "name": ev.actor_label}
                                                            if ev.actor_label else None)
    return {"id": ev.id, "at": ev.at, "action": ev.action, "label": wf.EVENT_LABELS.get(ev.action, ev.action),
            "from_state": ev.from_state, "to_state": ev.to_state, "actor": actor,
            "from_unit": _unit(ev.from_unit), "to_unit": _unit(ev.to_unit), "reason": ev.reason,
            "detail": ev.detail or {}}


def dump_detail(item: WorkItem, user: User, reveal: bool = False) -> dict:
    reporter = None
    if item.reporter_name or item.reporter_mobile or item.reporter_user_id:
        reporter = {
            "name": item.reporter_name if reveal else mask_name(item.reporter_name),
            "mobile": item.reporter_mobile if reveal else mask_mobile(item.reporter_mobile),
            "user": _person(item.reporter_user),
        }
    return {
        **dump_item(item), "description": item.description, "address": item.address, "lat": item.lat,
        "lng": item.lng, "photo_ids": item.photo_ids or [], "reporter": reporter, "result": item.result,
        "satisfaction": item.satisfaction, "first_contact_at": item.first_contact_at, "closed_at": item.closed_at,
        "limits": {**wf.limits_for(item.source_tool, item.category, item.limit_kind).to_dict(),
                   "extension_days": item.extension_days},
        "allowed_actions": wf.allowed_actions(item, user),
        "timeline": [dump_event(ev) for ev in item.events],
        "approvals": [dump_approval(a) for a in item.approvals],
    }


_item_out, _detail_out, _approval_out = WorkItemOut(), WorkItemDetail(), ApprovalOut()


# --- inbox queries ---------------------------------------------------------------------------

def _visible(user: User):
    acted = exists(select(WorkItemEvent.id).where(WorkItemEvent.work_item_id == WorkItem.id,
                                                  WorkItemEvent.actor_id == user.id))
    return or_(scope_clause(WorkItem.org_path, user), scope_clause(WorkItem.dispatch_path, user),
               WorkItem.reporter_user_id == user.id, acted)


def _todo(user: User):
    """Items waiting for one of my own units: to sign and handle, or to dispatch, review and follow up."""
    handler_units = [m.org_unit_id for m in user.memberships if m.role in wf.SIDE_ROLES[wf.HANDLER]]
    dispatcher_units = [m.org_unit_id for m in user.memberships if m.role in wf.SIDE_ROLES[wf.DISPATCHER]]
    clauses = []
    if handler_units:
        clauses.append(and_(WorkItem.org_unit_id.in_(handler_units),
                            WorkItem.state.in_(("dispatched", "handling", "rehandling"))))
    if dispatcher_units:
        clauses.append(and_(WorkItem.dispatch_unit_id.in_(dispatcher_units),
                            WorkItem.state.in_(("accepted", "returned", "reviewing", "visiting"))))
    return or_(*clauses) if clauses else false()


def _done(user: User):
    acted = exists(select(WorkItemEvent.id).where(WorkItemEvent.work_item_id == WorkItem.id,
                                                  WorkItemEvent.actor_id == user.id))
    return and_(acted, not_(_todo(user)))


def _overdue(now):
    return and_(WorkItem.state.in_(wf.OPEN_STATES), or_(WorkItem.overdue.is_(True), WorkItem.due_at < now))


def _box_clause(box: str, user: User, now):
    return {"todo": _todo(user), "done": _done(user), "overdue": _overdue(now), "all": None}[box]


def _my_approvals(user: User):
    roots = scope_paths(user, Role.MANAGER)
    if not roots:
        return select(WorkItemApproval).where(false())
    from app.models.org import OrgUnit
    return (select(WorkItemApproval).join(OrgUnit, OrgUnit.id == WorkItemApproval.approver_unit_id)
            .where(scope_clause(OrgUnit.path, user, Role.MANAGER)))


def counts_for(user: User) -> dict:
    now = utcnow()
    result = {}
    for box in ("todo", "done", "overdue"):
        stmt = select(func.count(WorkItem.id)).where(_visible(user), _box_clause(box, user, now))
        result[box] = db.session.execute(stmt).scalar_one()
    pending = _my_approvals(user).where(WorkItemApproval.status == "pending")
    result["approvals"] = db.session.execute(select(func.count()).select_from(pending.subquery())).scalar_one()
    return result


# --- views -----------------------------------------------------------------------------------

@bp.get("/work-items")
@doc("My work items: to do, done, overdue (with counts for badges), filtered and paged", tags=("work-items",),
     query=WorkItemQuery, response=WorkItemPage)
def list_work_items():
    """My inbox; everything is limited to my data scope."""
    args = parse_args(WorkItemQuery())
    user, now = current_user(), utcnow()
    stmt = select(WorkItem).where(_visible(user))
    box = _box_clause(args["box"], user, now)
    if box is not None:
        stmt = stmt.where(box)
    for key, column in (("state", WorkItem.state), ("tool", WorkItem.source_tool), ("category", WorkItem.category),
                        ("priority", WorkItem.priority)):
        if key in args:
            stmt = stmt.where(column == args[key])
    if "unit" in args:
        unit = wf._unit_by_code(args["unit"])
        if unit is None:
            raise ApiError(404, "org_unit_not_found", "单位不存在", "No such org unit")
        stmt = stmt.where(WorkItem.org_path.startswith(unit.path, autoescape=True))
    if "q" in args:
        stmt = stmt.where(or_(WorkItem.number.contains(args["q"], autoescape=True),
                              WorkItem.title.contains(args["q"], autoescape=True)))
    order = (WorkItem.due_at.asc().nulls_last(), WorkItem.id.desc()) if args["box"] in ("todo", "overdue") \
        else (WorkItem.last_action_at.desc(), WorkItem.id.desc())
    page = paginate(stmt.order_by(*order), args["page"], args["per_page"], lambda i: _item_out.dump(dump_item(i)))
    page["counts"] = counts_for(user)
    return jsonify(page)


@bp.get("/work-items/counts")
@doc("Badge counts: to do, done, overdue, approvals waiting for me", tags=("work-items",), response=Counts)
def work_item_counts():
    """How many items wait in each box."""
    return jsonify(counts_for(current_user()))


@bp.get("/work-items/<int:item_id>")
@doc("One work item with its timeline, approvals and the actions I may take", tags=("work-items",),
     response=WorkItemDetail, errors=(404,))
def get_work_item(item_id: int):
    """Detail; ?reveal=reporter shows the reporter's name and phone in full (audited)."""
    user = current_user()
    item = wf.ensure_can_view(user, db.session.get(WorkItem, item_id))
    reveal = request.args.get("reveal") == "reporter"
    if reveal:
        if not in_scope(user, item.org_path) and not in_scope(user, item.dispatch_path):
            raise ApiError(403, "out_of_scope", "仅经办单位可查看报告人联系方式",
                           "Only the handling or dispatching unit may see the reporter's contact")
        audit.record("work_item.reporter_view", target_type="work_item", target_id=item.id,
                     detail={"number": item.number})
        db.session.commit()
    return jsonify(_detail_out.dump(dump_detail(item, user, reveal)))


@bp.post("/work-items/<int:item_id>/<action>")
@doc("Take an action: dispatch, sign, contact, feedback, review_pass, review_reject, visit, reopen, return, "
     "forward, reassign, extend, supervise, close (202 when it asks for an approval)", tags=("work-items",),
     body=ActionIn, response=ActionOut, errors=(404, 409))
def act_on_work_item(item_id: int, action: str):
    """409 (with allowed_actions) when the state forbids it or someone else acted first; 403 without the right."""
    data = parse_json(ActionIn())
    item, result = wf.perform(item_id, action, current_user(), data)
    approval = result.get("approval")
    body = {"item": dump_detail(item, current_user()), "approval": dump_approval(approval) if approval else None}
    return jsonify(ActionOut().dump(body)), 202 if approval is not None else 200


@bp.get("/work-item-approvals")
@doc("Forward and extension requests I can decide (managers)", tags=("work-items",), query=ApprovalQuery,
     response=ApprovalPage)
def list_approvals():
    """Approvals addressed to units I manage."""
    args = parse_args(ApprovalQuery())
    stmt = _my_approvals(current_user())
    if args["status"] != "all":
        stmt = stmt.where(WorkItemApproval.status == args["status"])
    stmt = stmt.order_by(WorkItemApproval.id.desc())
    return jsonify(paginate(stmt, args["page"], args["per_page"], lambda a: _approval_out.dump(dump_approval(a))))


def _decide(approval_id: int, approve: bool):
    data = parse_json(DecisionIn())
    approval, applied = wf.decide(approval_id, current_user(), approve, via="api", note=data.get("note"))
    if not applied:
        raise ApiError(409, "already_decided", "该申请已处理", "This request was already decided",
                       approval=dump_approval(approval))
    return jsonify(_approval_out.dump(dump_approval(approval)))


@bp.post("/work-item-approvals/<int:approval_id>/approve")
@doc("Approve a forward or extension (staff not in chat)", tags=("work-items",), body=DecisionIn,
     response=ApprovalOut, errors=(404, 409))
def approve_request(approval_id: int):
    """同意."""
    return _decide(approval_id, True)


@bp.post("/work-item-approvals/<int:approval_id>/reject")
@doc("Reject a forward or extension (staff not in chat)", tags=("work-items",), body=DecisionIn,
     response=ApprovalOut, errors=(404, 409))
def reject_request(approval_id: int):
    """驳回."""
    return _decide(approval_id, False)


# --- calendar and limits ---------------------------------------------------------------------

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


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(404, "not_found", "日期格式应为 YYYY-MM-DD", "Dates are YYYY-MM-DD") from exc


@bp.put("/admin/calendar/<day>")
@roles_required(Role.ADMIN)
@doc("Mark a day as a holiday or an adjusted working day (system admin)", tags=("admin",), body=CalendarDayIn,
     response=CalendarDayOut)
def put_calendar_day(day: str):
    """Set one calendar exception; audited."""
    data = parse_json(CalendarDayIn())
    user = current_user()
    row = workdays.set_day(_parse_day(day), data["kind"], data["name"], changed_by=user.wecom_userid)
    audit.record("calendar.set", target_type="calendar_day", target_id=day, detail=data)
    db.session.commit()
    return jsonify(CalendarDayOut().dump(row))


@bp.delete("/admin/calendar/<day>")
@roles_required(Role.ADMIN)
@doc("Remove a calendar exception (system admin)", tags=("admin",), status=204, errors=(404,))
def delete_calendar_day(day: str):
    """The day follows Monday–Friday again; audited."""
    if not workdays.clear_day(_parse_day(day)):
        raise ApiError(404, "not_found", "该日期没有设置", "No exception is set for that day")
    audit.record("calendar.clear", target_type="calendar_day", target_id=day)
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
    from toolbox.registry import TIME_LIMIT_KINDS
    return jsonify({"items": LimitOut(many=True).dump(rows.scalars()),
                    "defaults": {**wf.Limits().to_dict(), "close_days_by_kind": TIME_LIMIT_KINDS}})


@bp.put("/admin/work-item-limits")
@roles_required(Role.ADMIN)
@doc("Set a tool's (or one category's) time limits in working days (system admin)", tags=("admin",),
     body=LimitIn, response=LimitOut, errors=(404,))
def put_limit():
    """Null fields fall back to the tool-wide row, then to the defaults; applies to items created later."""
    from toolbox.registry import current_registry

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
