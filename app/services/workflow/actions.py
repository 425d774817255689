"""Performing an action: check, apply, write events and audit, commit, and only after the commit
send `work_item_changed` and queue notifications.

What an action does beyond the state change is its handler, registered here by name with
`@handles("…")`; every transition in states.TRANSITIONS must have exactly one (checked at import).
A handler may return False to keep the state (e.g. a forward that waits for an approval).
"""

from __future__ import annotations

from collections.abc import Callable

from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.org import OrgUnit
from app.models.users import User
from app.models.workitem import WorkItem
from app.services import audit
from app.services.photos import bind_photos
from app.services.workflow.approvals import pending_extension_days, request_approval
from app.services.workflow.changes import conflict, move, write_conflicts
from app.services.workflow.indexing import index_item
from app.services.workflow.limits import enter_stage, limits_for
from app.services.workflow.notices import announce_change, dispatchers, handlers, message, unit_staff
from app.services.workflow.permissions import allowed_actions, ensure_can_view, may_act
from app.services.workflow.routing import unit_by_code
from app.services.workflow.states import SATISFACTION, STATES, TRANSITIONS, Transition
from app.services.workflow.timeline import add_event

#: action name → handler(item, user, data, now, notify, result) -> False to keep the state, else None/True
HANDLERS: dict[str, Callable] = {}


def handles(action: str):
    """Register the handler of one action of TRANSITIONS."""
    if action not in TRANSITIONS:
        raise ValueError(f"no transition named {action!r}")

    def register(fn: Callable) -> Callable:
        if action in HANDLERS:
            raise ValueError(f"action {action!r} has two handlers")
        HANDLERS[action] = fn
        return fn
    return register


def _require(transition: Transition, data: dict) -> None:
    missing = [f for f in transition.requires if data.get(f) in (None, "")]
    if missing:
        raise ApiError(422, "validation_error", "缺少必填内容", "Required fields are missing",
                       fields={f: ["必填 Required."] for f in missing})


def _target_unit(data: dict) -> OrgUnit:
    unit = unit_by_code(data["unit"])
    if unit is None:
        raise ApiError(422, "org_unit_not_found", "目标单位不存在", "No such org unit",
                       fields={"unit": ["不存在 Unknown org unit."]})
    return unit


def perform(item_id: int, action: str, user: User, data: dict | None = None) -> tuple[WorkItem, dict]:
    """Apply one action for user; commits. Returns the item and a result dict (e.g. a pending approval)."""
    data = dict(data or {})
    item = db.session.get(WorkItem, item_id, populate_existing=True)
    ensure_can_view(user, item)
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ApiError(404, "unknown_action", "没有该操作", "No such action",
                       allowed_actions=allowed_actions(item, user))
    if item.state not in transition.sources:
        raise conflict(item, user, "action_not_allowed", f"工单当前为「{STATES[item.state]}」，不能{transition.label}",
                       f"'{action}' is not allowed while the item is {item.state}")
    if not may_act(user, item, transition):
        raise conflict(item, user, "action_forbidden", f"您无权对该工单执行「{transition.label}」",
                       f"You may not '{action}' this work item", status=403)
    if data.get("version") is not None and int(data["version"]) != item.version:
        raise conflict(item, user, "stale_version", "工单已被他人更新，请刷新后重试",
                       "The work item changed since you loaded it", version=item.version)
    _require(transition, data)
    now = utcnow()
    before_state, before_unit = item.state, item.org_unit
    result: dict = {}
    notify: list[tuple[list[str], str]] = []
    with write_conflicts(item.id, user):
        moved = HANDLERS[action](item, user, data, now, notify, result)
        if moved is not False and transition.dest is not None:
            item.state = transition.dest
            add_event(item, action, user, from_state=before_state, to_state=item.state, from_unit=before_unit,
                      to_unit=item.org_unit, reason=data.get("reason") or data.get("result") or data.get("note"),
                      at=now, **result.pop("detail", {}))
            enter_stage(item, now)
        item.last_action_at = now  # always bumps the version: concurrent writers collide here
        index_item(item)
        audit.record(f"work_item.{result.get('audit_action', action)}", target_type="work_item", target_id=item.id,
                     actor=user, detail={"number": item.number, "from": before_state, "to": item.state})
        announce_change(item, action, notify=notify, exclude=user.wecom_userid)
        db.session.commit()
    return item, result


# --- the handlers ----------------------------------------------------------------------------------

@handles("dispatch")
def _dispatch(item, user, data, now, notify, result):
    target = _target_unit(data)
    if not target.path.startswith(item.dispatch_path):
        raise ApiError(422, "outside_subtree", "派单只能派至本单位及下级单位，跨单位请使用改派",
                       "Dispatch goes within the dispatching unit's subtree; use reassign otherwise")
    move(item, target)
    notify.append((unit_staff(target), message(item, f"新工单已派至{target.name}，请及时签收")))


@handles("sign")
def _sign(item, user, data, now, notify, result):
    item.assignee, item.assignee_id = user, user.id
    if data.get("note"):
        item.first_contact_at = now
        result["detail"] = {"first_contact": True}
    if item.reporter_user is not None:
        notify.append(([item.reporter_user.wecom_userid], message(item, f"您上报的问题已由{item.org_unit.name}签收")))


@handles("contact")
def _contact(item, user, data, now, notify, result):
    if item.first_contact_at is None:
        item.first_contact_at = now
    add_event(item, "contact", user, from_state=item.state, to_state=item.state, reason=data["note"], at=now)


@handles("feedback")
def _feedback(item, user, data, now, notify, result):
    item.result = data["result"]
    photos = bind_photos(data.get("photo_ids") or (), user)  # after-handling photos (处置后), held by the item
    if photos:
        item.photo_ids = [*(item.photo_ids or []), *photos]
        result["detail"] = {"photo_ids": photos}
    notify.append((dispatchers(item), message(item, f"{item.org_unit.name}已反馈处置结果，请审核")))


@handles("review_pass")
def _review_pass(item, user, data, now, notify, result):
    notify.append((handlers(item), message(item, "处置结果已审核通过")))


@handles("review_reject")
def _review_reject(item, user, data, now, notify, result):
    notify.append((handlers(item), message(item, f"审核驳回，请在限期内再处置。原因：{data['reason']}")))


def _with_reporter(item: WorkItem) -> list[str]:
    return list(handlers(item)) + ([item.reporter_user.wecom_userid] if item.reporter_user else [])


@handles("visit")
def _visit(item, user, data, now, notify, result):
    if data["satisfaction"] not in SATISFACTION:
        raise ApiError(422, "validation_error", "满意度无效", "Unknown satisfaction",
                       fields={"satisfaction": [f"one of {sorted(SATISFACTION)}"]})
    item.satisfaction, item.closed_at = data["satisfaction"], now
    result["detail"] = {"satisfaction": data["satisfaction"]}
    notify.append((_with_reporter(item), message(item, f"工单已办结（回访：{SATISFACTION[data['satisfaction']]}）")))


@handles("reopen")
def _reopen(item, user, data, now, notify, result):
    item.satisfaction = "unsatisfied"
    result["detail"] = {"satisfaction": "unsatisfied"}
    notify.append((handlers(item), message(item, f"回访不满意，请在限期内重办。原因：{data['reason']}")))


@handles("close")
def _close(item, user, data, now, notify, result):
    item.closed_at = now
    notify.append((_with_reporter(item), message(item, f"工单已办结。说明：{data['reason']}")))


@handles("return")
def _return(item, user, data, now, notify, result):
    from_unit = item.org_unit
    move(item, item.dispatch_unit)
    result["detail"] = {"returned_by_unit": from_unit.code}
    notify.append((dispatchers(item), message(item, f"{from_unit.name}退单，请重新派单。原因：{data['reason']}")))


def _forward(item, user, data, now, notify, result, *, sending: OrgUnit, kind_label: str):
    target = _target_unit(data)
    if target.id == item.org_unit_id:
        raise ApiError(422, "same_unit", "工单已在该单位", "The item is already at that unit")
    if target.path.startswith(sending.path):  # inside the sender's own subtree: immediate
        move(item, target)
        result["detail"] = {"immediate": True}
        notify.append((unit_staff(target), message(item, f"工单已{kind_label}至{target.name}，请及时签收")))
        return True
    result["approval"] = request_approval(item, user, "forward", sending, now, notify, target=target,
                                          reason=data.get("reason") or "")
    result["audit_action"] = "forward_requested"
    return False


@handles("forward")
def _forward_to_other_unit(item, user, data, now, notify, result):
    return _forward(item, user, data, now, notify, result, sending=item.org_unit, kind_label="转派")


@handles("reassign")
def _reassign(item, user, data, now, notify, result):
    return _forward(item, user, data, now, notify, result, sending=item.dispatch_unit, kind_label="改派")


@handles("extend")
def _extend(item, user, data, now, notify, result):
    try:
        days = int(data["days"])
    except (TypeError, ValueError):
        days = 0
    limits = limits_for(item.source_tool, item.category, item.limit_kind)
    room = limits.max_days - item.close_days - item.extension_days - pending_extension_days(item)
    if days < 1 or days > room:
        raise ApiError(422, "validation_error", f"延期天数须在 1 至 {max(room, 0)} 个工作日之间",
                       f"Extension must be 1..{max(room, 0)} working days", max_days=limits.max_days,
                       fields={"days": [f"1..{max(room, 0)}"]})
    result["approval"] = request_approval(item, user, "extend", item.org_unit, now, notify, days=days,
                                          reason=data["reason"])
    result["audit_action"] = "extend_requested"


@handles("supervise")
def _supervise(item, user, data, now, notify, result):
    item.supervised = True
    add_event(item, "supervise", user, from_state=item.state, to_state=item.state, reason=data.get("note"), at=now)
    notify.append((handlers(item), message(item, f"工单被督办，请尽快处置。{data.get('note') or ''}".strip())))


_unhandled = sorted(set(TRANSITIONS) - set(HANDLERS))
if _unhandled:
    raise RuntimeError(f"workflow actions without a handler: {_unhandled}")
