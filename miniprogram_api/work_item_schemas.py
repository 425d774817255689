"""Shapes of /api/v1/work-items… and approvals: request and response schemas, and the dumps that fill them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import PageArgs, PageOut
from app.extensions import db
from app.models.users import User
from app.models.workitem import WorkItem, WorkItemApproval, WorkItemEvent
from app.schemas import UnitRef, several
from app.services import workflow as wf
from app.services.assessment.repeats import repeat_view
from app.services.crypto import mask_mobile, mask_name

# --- schemas ---------------------------------------------------------------------------------

class WorkItemQuery(PageArgs):
    box = fields.String(load_default="todo", validate=validate.OneOf(wf.BOXES),
                        metadata={"description": "todo 待办 / done 已办 / overdue 超期 / all 全部"})
    state = fields.String(validate=validate.OneOf(list(wf.STATES)))
    tool = fields.String()
    category = fields.String()
    unit = fields.String(metadata={"description": "only items handled in this unit's subtree (code)"})
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "number or title"})
    priority = fields.String(validate=validate.OneOf(wf.PRIORITIES))
    indicator = fields.String(metadata={"description": "drill-down: the items counted in this indicator's figure "
                                                   "(with unit, from, to; see /api/v1/stats/indicators)"})
    part = fields.String(metadata={"description": "drill-down: numerator (default) or denominator"})
    from_ = fields.String(data_key="from", metadata={"description": "drill-down period start, YYYY-MM-DD"})
    to = fields.String(metadata={"description": "drill-down period end, YYYY-MM-DD"})


class WorkItemOut(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"example": "JA-2026-000123"})
    title, category, category_name = several(fields.String, 3)
    source = fields.Dict()
    state, state_label, priority = several(fields.String, 3)
    unit, dispatch_unit = several(fields.Nested, 2, nested=UnitRef)
    assignee, stage = fields.Dict(allow_none=True), fields.String(allow_none=True)
    due_at, close_due_at = fields.DateTime(allow_none=True), fields.DateTime()
    overdue, supervised = several(fields.Boolean, 2)
    created_at, updated_at = several(fields.DateTime, 2)
    version = fields.Integer()


class EventOut(Schema):
    id, at = fields.Integer(), fields.DateTime()
    action, label = several(fields.String, 2)
    from_state, to_state = several(fields.String, 2, allow_none=True)
    actor = fields.Dict(allow_none=True)
    from_unit, to_unit = several(fields.Nested, 2, nested=UnitRef, allow_none=True)
    reason, detail = fields.String(allow_none=True), fields.Dict()


class ApprovalOut(Schema):
    id, work_item_id = several(fields.Integer, 2)
    number, kind, kind_label, status, status_label = several(fields.String, 5)
    from_unit, approver_unit = several(fields.Nested, 2, nested=UnitRef)
    target_unit = fields.Nested(UnitRef, allow_none=True)
    days, reason = fields.Integer(allow_none=True), fields.String()
    requested_by, decided_by = several(fields.Dict, 2, allow_none=True)
    decided_at, decided_via = fields.DateTime(allow_none=True), fields.String(allow_none=True)
    created_at = fields.DateTime()


class ActionOptionOut(Schema):
    action, label = several(fields.String, 2)
    side = fields.String(metadata={"description": "handler 承办单位 | dispatcher 派单单位 | manager 上级单位负责人"})
    side_label = fields.String()
    allowed = fields.Boolean(metadata={"description": "whether you may take it now"})
    reason = fields.String(allow_none=True, metadata={"description": "not_your_side | acted_this_round"})
    reason_label = fields.String(allow_none=True)


class WorkItemDetail(WorkItemOut):
    description, address = fields.String(), fields.String(allow_none=True)
    lat, lng = several(fields.Float, 2, allow_none=True)
    photo_ids = fields.List(fields.Integer())
    reporter = fields.Dict(allow_none=True, metadata={"description": "masked unless ?reveal=reporter (audited)"})
    result, satisfaction = several(fields.String, 2, allow_none=True)
    first_contact_at, closed_at = several(fields.DateTime, 2, allow_none=True)
    limits = fields.Dict()
    allowed_actions = fields.List(fields.String(), metadata={"description": "what you may do now"})
    actions = fields.List(fields.Nested(ActionOptionOut), metadata={
        "description": "every action the state allows: who may take it, and whether you may (and why not)"})
    timeline = fields.List(fields.Nested(EventOut))
    approvals = fields.List(fields.Nested(ApprovalOut))
    repeat_of = fields.Dict(allow_none=True, metadata={
        "description": "重复诉求: the earlier item this one repeats {id, number, title, reason, reason_label, "
                       "distance_m, similarity}"})
    repeated_by = fields.Integer(metadata={"description": "how many later items repeat this one"})


class Counts(Schema):
    todo, done, overdue, approvals = several(fields.Integer, 4)


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
    photo_ids = fields.List(fields.Integer(), validate=validate.Length(max=9),
                            metadata={"description": "feedback: photos after handling (uploaded attachments)"})


#: What each action reads beyond version, reason and note (which every action may carry: the timeline
#: records them). Required fields come from the transition (states.TRANSITIONS[action].requires).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "dispatch": ("unit",), "forward": ("unit",), "reassign": ("unit",), "feedback": ("result", "photo_ids"),
    "visit": ("satisfaction",), "extend": ("days",),
}


def _action_schema(transition) -> type[Schema]:
    """The request body of one action: ActionIn's fields it uses, the transition's requirements required."""
    names = ("version", "reason", "note", *ACTION_FIELDS.get(transition.action, ()))
    declared = {}
    for name in names:
        field = ActionIn._declared_fields[name]
        kwargs = {"required": name in transition.requires, "validate": field.validate,
                  "metadata": field.metadata}
        if isinstance(field, fields.List):
            declared[name] = fields.List(fields.Integer(), **kwargs)
        else:
            declared[name] = type(field)(**kwargs)
    class_name = "".join(part.capitalize() for part in transition.action.split("_")) + "In"
    return type(class_name, (Schema,), {**declared, "__module__": __name__,
                                        "__doc__": f"{transition.label}（{transition.action}）"})


#: One typed request body per action, in the order of the workflow.
ACTION_BODIES: dict[str, type[Schema]] = {action: _action_schema(t) for action, t in wf.TRANSITIONS.items()}


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
    kind, name = several(fields.String, 2)
    source = fields.String(allow_none=True)


class CalendarOut(Schema):
    items = fields.List(fields.Nested(CalendarDayOut))


class CalendarDayIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["holiday", "workday"]))
    name = fields.String(load_default="", validate=validate.Length(max=64))


class LimitIn(Schema):
    tool = fields.String(required=True)
    category = fields.String(load_default="")
    # Working days; 15 at most for a stage, 60 for the close deadline with its extensions.
    sign_days, close_days, rehandle_days = several(fields.Integer, 3, allow_none=True,
                                                   validate=validate.Range(min=1, max=15))
    max_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=60))


class LimitOut(Schema):
    tool, category = fields.String(attribute="tool_code"), fields.String()
    sign_days, close_days, rehandle_days, max_days = several(fields.Integer, 4, allow_none=True)
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
        "allowed_actions": wf.allowed_actions(item, user), "actions": wf.action_options(item, user),
        "timeline": [dump_event(ev) for ev in item.events],
        "approvals": [dump_approval(a) for a in item.approvals],
        **repeat_view(db.session, item),
    }
