"""The work-item workflow (工单流转), after the district's 12345 practice.

    受理 accepted → 派单 dispatched → 签收 (+先行联系) handling → 反馈 reviewing → 审核 visiting
    (驳回 → rehandling → 反馈 …) → 回访 → 办结 closed;  退单 returned, 转派/改派, 延期, 督办.

The state machine is data (TRANSITIONS): action, source states, destination, which side may act.
Every action runs in perform(): check, apply, write events and audit, commit here, and only after
the commit send `work_item_changed` and queue notifications. create_work_item() is the exception
the tools need: it adds to the caller's session and the caller commits; its signal and
notifications still go out only after that commit (see `after_commit`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from app.errors import ApiError
from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.org import OrgLevel, OrgUnit
from app.models.users import Membership, Role, User
from app.models.workitem import (
    WorkItem,
    WorkItemAlert,
    WorkItemApproval,
    WorkItemCounter,
    WorkItemEvent,
    WorkItemLimit,
)
from app.services import audit
from app.services.after_commit import after_commit
from app.services.scope import in_scope
from app.services.workdays import TZ, add_working_days
from app.signals import SearchableRecord, searchable_saved, work_item_changed

log = logging.getLogger(__name__)

# --- states and actions, as data -------------------------------------------------------------

STATES: dict[str, str] = {
    "accepted": "受理",
    "dispatched": "已派单",
    "handling": "处置中",
    "reviewing": "待审核",
    "rehandling": "再处置",
    "visiting": "待回访",
    "returned": "已退单",
    "closed": "已办结",
}
OPEN_STATES = tuple(s for s in STATES if s != "closed")

HANDLER, DISPATCHER, MANAGER = "handler", "dispatcher", "manager"
SIDE_ROLES = {
    HANDLER: (Role.WORKER, Role.OPERATOR, Role.MANAGER),     # staff of the handling unit (or above it)
    DISPATCHER: (Role.OPERATOR, Role.MANAGER),               # the unit that dispatched: reviews, follows up
    MANAGER: (Role.MANAGER,),                                # 督办
}
SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
PRIORITIES = ("normal", "urgent")


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    dest: str | None          # None: the state does not change
    side: str
    requires: tuple[str, ...] = ()  # fields the request must carry


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("dispatch", "派单", ("accepted", "returned"), "dispatched", DISPATCHER, ("unit",)),
    Transition("sign", "签收", ("dispatched",), "handling", HANDLER),
    Transition("contact", "先行联系", ("handling", "rehandling"), None, HANDLER, ("note",)),
    Transition("feedback", "反馈", ("handling", "rehandling"), "reviewing", HANDLER, ("result",)),
    Transition("review_pass", "审核通过", ("reviewing",), "visiting", DISPATCHER),
    Transition("review_reject", "审核驳回", ("reviewing",), "rehandling", DISPATCHER, ("reason",)),
    Transition("visit", "回访", ("visiting",), "closed", DISPATCHER, ("satisfaction",)),
    Transition("reopen", "回访不满意重办", ("visiting",), "rehandling", DISPATCHER, ("reason",)),
    Transition("return", "退单", ("dispatched", "handling"), "returned", HANDLER, ("reason",)),
    Transition("forward", "转派", ("dispatched", "handling"), "dispatched", HANDLER, ("unit",)),
    Transition("reassign", "改派", ("dispatched", "handling", "rehandling", "returned"), "dispatched",
               DISPATCHER, ("unit",)),
    Transition("extend", "延期", ("dispatched", "handling", "rehandling"), None, HANDLER, ("days", "reason")),
    Transition("supervise", "督办", OPEN_STATES, None, MANAGER),
    Transition("close", "办结", ("accepted", "returned"), "closed", DISPATCHER, ("reason",)),
)}

# Labels of timeline entries that are not user actions.
EVENT_LABELS = {
    "create": "受理", "forward_requested": "申请转派", "extend_requested": "申请延期",
    "forward_rejected": "转派被驳回", "extend_rejected": "延期被驳回", "approval_void": "审批作废",
    "remind": "临期提醒", "overdue": "超期", **{a: t.label for a, t in TRANSITIONS.items()},
}
APPROVAL_KINDS = {"forward": "转派", "extend": "延期"}
APPROVAL_STATUS = {"pending": "待审批", "approved": "已同意", "rejected": "已驳回", "void": "已作废"}

# Stages that run against a clock, by the state that starts them.
STAGE_OF_STATE = {"dispatched": "sign", "handling": "handle", "rehandling": "rehandle"}
STAGE_LABELS = {"sign": "签收及先行联系", "handle": "处置办结", "rehandle": "再处置"}
CARD_RESPONSE_CODE_TTL = timedelta(hours=72)
INVALID_RESPONSE_CODE = 40058  # WeCom: the response code is invalid, used or expired
REMIND_FRACTION = 0.8


# --- time limits -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    sign_days: int = 1
    close_days: int = 5
    rehandle_days: int = 3
    max_days: int = 15  # close + approved extensions

    def to_dict(self) -> dict:
        return {"sign_days": self.sign_days, "close_days": self.close_days,
                "rehandle_days": self.rehandle_days, "max_days": self.max_days}


def limits_for(tool: str, category: str, limit_kind: str) -> Limits:
    """Defaults by category kind, overridden by the tool's row, then by the tool+category row."""
    from toolbox.registry import TIME_LIMIT_KINDS

    values = Limits(close_days=TIME_LIMIT_KINDS.get(limit_kind, 5)).to_dict()
    rows = db.session.execute(select(WorkItemLimit).where(
        WorkItemLimit.tool_code == tool, WorkItemLimit.category.in_(("", category)))).scalars().all()
    for row in sorted(rows, key=lambda r: r.category != ""):  # tool-wide first, category wins
        for key in values:
            if getattr(row, key) is not None:
                values[key] = getattr(row, key)
    return Limits(**values)


def _enter_stage(item: WorkItem, now) -> None:
    """Recompute the deadline of the state the item just entered."""
    stage = STAGE_OF_STATE.get(item.state)
    item.stage, item.overdue = stage, False
    if stage is None:
        item.stage_started_at = item.due_at = None
        return
    limits = limits_for(item.source_tool, item.category, item.limit_kind)
    item.stage_seq = (item.stage_seq or 0) + 1
    item.stage_started_at = now
    if stage == "sign":
        item.due_at = min(add_working_days(now, limits.sign_days), item.close_due_at)
    elif stage == "handle":
        item.due_at = item.close_due_at  # the close clock keeps running through returns and forwards
    else:
        item.due_at = add_working_days(now, limits.rehandle_days)
    # A deadline already past (e.g. signed after the close deadline) stays as it is: supervision flags it.


# --- routing ---------------------------------------------------------------------------------

def _unit_by_code(code: str) -> OrgUnit | None:
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()


def _ancestor_at(unit: OrgUnit, level: str) -> OrgUnit | None:
    current: OrgUnit | None = unit
    while current is not None and current.level != level:
        current = current.parent
    return current


def route(tool: str, category: str, org_unit: OrgUnit):
    """The tool manifest's category → (category, responsible unit)."""
    from toolbox.registry import current_registry

    cat = current_registry().category(tool, category)
    if cat is None:
        raise ApiError(422, "unknown_category", "工具未声明该工单类别", "The tool declares no such category",
                       tool=tool, category=category)
    if cat.route_to in ("street", "grid"):
        target = _ancestor_at(org_unit, cat.route_to)
        if target is None and cat.route_to == "grid":
            target = _ancestor_at(org_unit, OrgLevel.STREET)  # a street-level record: the street handles it
        if target is None:
            target = org_unit  # a district or department record stays where it is
    else:
        target = _unit_by_code(cat.route_to)
        if target is None:
            raise ApiError(422, "route_unit_missing", "工单类别指向的单位不存在",
                           "The category routes to an org unit that does not exist", route_to=cat.route_to)
    return cat, target


def _next_number(now) -> str:
    year = now.astimezone(TZ).year
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(WorkItemCounter).values(year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["year"], set_={"last": WorkItemCounter.last + 1})
    last = db.session.execute(stmt.returning(WorkItemCounter.last)).scalar_one()
    return f"JA-{year}-{last:06d}"


# --- creating --------------------------------------------------------------------------------

def _actor_label(actor, default: str = "system") -> str:
    return getattr(actor, "wecom_userid", None) or (actor if isinstance(actor, str) else default)


def _event(item: WorkItem, action: str, actor, *, from_state=None, to_state=None, from_unit=None,
           to_unit=None, reason=None, at=None, **detail) -> WorkItemEvent:
    ev = WorkItemEvent(
        action=action, from_state=from_state, to_state=to_state, reason=reason, detail=detail,
        actor_id=getattr(actor, "id", None), actor_label=_actor_label(actor, item.source_tool),
        from_unit_id=getattr(from_unit, "id", None), to_unit_id=getattr(to_unit, "id", None), at=at or utcnow(),
    )
    item.events.append(ev)
    return ev


def create_work_item(*, tool: str, category: str, title: str, org_unit: OrgUnit, source_type: str, source_id,
                     description: str = "", address: str | None = None, lat: float | None = None,
                     lng: float | None = None, photo_ids: Iterable[int] = (), reporter_name: str | None = None,
                     reporter_mobile: str | None = None, reporter_user: User | None = None,
                     priority: str = "normal", actor=None) -> WorkItem:
    """Accept (受理) and dispatch (派单) a problem to the unit its category routes to. THE CALLER COMMITS."""
    if priority not in PRIORITIES:
        raise ApiError(422, "invalid_priority", "优先级无效", "Unknown priority", allowed=list(PRIORITIES))
    if not title or not title.strip():
        raise ApiError(422, "title_required", "工单标题不能为空", "A work item needs a title")
    cat, target = route(tool, category, org_unit)
    dispatcher = target.parent or target
    now = utcnow()
    limits = limits_for(tool, cat.code, cat.limit)
    item = WorkItem(
        number=_next_number(now), source_tool=tool, source_type=source_type, source_id=str(source_id),
        category=cat.code, category_name=cat.name, limit_kind=cat.limit, title=title.strip()[:200],
        description=description or "", address=address, lat=lat, lng=lng, photo_ids=[int(p) for p in photo_ids],
        reporter_name=reporter_name, reporter_mobile=reporter_mobile,
        reporter_user_id=getattr(reporter_user, "id", None), priority=priority, state="dispatched",
        org_unit=target, org_path=target.path, dispatch_unit=dispatcher, dispatch_path=dispatcher.path,
        created_by_id=getattr(actor, "id", None), close_days=limits.close_days,
        close_due_at=add_working_days(now, limits.close_days), last_action_at=now,
    )
    _event(item, "create", actor, to_state="accepted", to_unit=dispatcher, at=now,
           source={"tool": tool, "type": source_type, "id": str(source_id)}, origin_unit=org_unit.code)
    _event(item, "dispatch", actor, from_state="accepted", to_state="dispatched", from_unit=dispatcher,
           to_unit=target, at=now, auto=True, route_to=cat.route_to)
    _enter_stage(item, now)
    db.session.add(item)
    db.session.flush()
    _index(item)
    audit.record("work_item.create", target_type="work_item", target_id=item.id, actor=actor,
                 detail={"number": item.number, "tool": tool, "category": cat.code, "unit": target.code})
    _after_change(item, "create", notify=[(unit_staff(target), _msg(item, f"新工单已派至{target.name}，请及时签收"))])
    return item


# --- who may do what -------------------------------------------------------------------------

def close_verified(item_id: int, *, tool: str, actor, reason: str, **detail) -> WorkItem | None:
    """Close an open item because the tool that raised it verified the fix on site (a re-inspection).

    The item is closed (办结) by that finding, with a timeline entry naming the tool, the same
    index update and after-commit announcement as any other action, and a message to the handlers.
    Returns None for an item already closed. Adds to the session; THE CALLER COMMITS.
    """
    item = db.session.get(WorkItem, item_id, with_for_update={"of": WorkItem}, populate_existing=True)
    if item is None or item.state == "closed":
        return None
    if item.source_tool != tool:
        raise ValueError(f"work item {item.number} was not raised by {tool}")
    now = utcnow()
    before = item.state
    handlers = _handlers(item)
    item.state = "closed"
    item.closed_at = now
    item.result = item.result or reason
    _event(item, "close", actor, from_state=before, to_state="closed", from_unit=item.org_unit,
                    to_unit=item.org_unit, reason=reason, at=now, verified_by=tool, **detail)
    _enter_stage(item, now)
    item.last_action_at = now
    _index(item)
    audit.record("work_item.close_verified", target_type="work_item", target_id=item.id, actor=actor,
                 detail={"number": item.number, "from": before, "to": "closed", "tool": tool, **detail})
    _after_change(item, "close", notify=[(handlers, _msg(item, f"经复查已办结：{reason}"))],
                           exclude=getattr(actor, "wecom_userid", None))
    return item


def may_act(user: User, item: WorkItem, transition: Transition) -> bool:
    roles = SIDE_ROLES[transition.side]
    if transition.side == HANDLER:
        return in_scope(user, item.org_path, *roles)
    if transition.side == DISPATCHER:
        return in_scope(user, item.dispatch_path, *roles)
    return in_scope(user, item.org_path, *roles) or in_scope(user, item.dispatch_path, *roles)


def allowed_actions(item: WorkItem, user: User) -> list[str]:
    return [a for a, t in TRANSITIONS.items() if item.state in t.sources and may_act(user, item, t)]


def _approver_units(user: User) -> list[int]:
    return [m.org_unit_id for m in user.memberships if m.role == Role.MANAGER]


def approver_can_decide(user: User, approval: WorkItemApproval) -> bool:
    return in_scope(user, approval.approver_unit.path, Role.MANAGER)


def can_view(user: User, item: WorkItem) -> bool:
    if in_scope(user, item.org_path) or in_scope(user, item.dispatch_path):
        return True
    if item.reporter_user_id == user.id or any(ev.actor_id == user.id for ev in item.events):
        return True
    return any(approver_can_decide(user, a) for a in item.approvals)  # an approver reads what they decide


def ensure_can_view(user: User, item: WorkItem | None) -> WorkItem:
    if item is None:
        raise ApiError(404, "work_item_not_found", "工单不存在", "No such work item")
    if not can_view(user, item):
        raise ApiError(403, "out_of_scope", "该工单不在您的数据范围内", "This work item is outside your data scope")
    return item


# --- people to tell --------------------------------------------------------------------------

def unit_staff(unit: OrgUnit, roles: tuple[str, ...] = (Role.WORKER, Role.OPERATOR)) -> list[str]:
    """WeCom userids of the unit's own staff with these roles (its managers when it has none)."""
    def members(*wanted):
        rows = db.session.execute(
            select(User.wecom_userid).join(Membership).where(
                Membership.org_unit_id == unit.id, Membership.role.in_(wanted), User.active.is_(True)))
        return sorted(set(rows.scalars()))
    return members(*roles) or members(Role.MANAGER)


def unit_managers(unit: OrgUnit) -> tuple[OrgUnit, list[str]]:
    """The nearest unit at or above `unit` that has an active manager, and those managers."""
    current: OrgUnit | None = unit
    while current is not None:
        found = db.session.execute(select(User.wecom_userid).join(Membership).where(
            Membership.org_unit_id == current.id, Membership.role == Role.MANAGER, User.active.is_(True))
        ).scalars().all()
        if found:
            return current, sorted(set(found))
        current = current.parent
    return unit, []


def _msg(item: WorkItem, text: str) -> str:
    return f"【工单 {item.number}】{item.title}\n{text}"


def _handlers(item: WorkItem) -> list[str]:
    if item.assignee is not None and item.assignee.active:
        return [item.assignee.wecom_userid]
    return unit_staff(item.org_unit)


def _dispatchers(item: WorkItem) -> list[str]:
    return unit_staff(item.dispatch_unit, (Role.OPERATOR,))


def searchable_record(item: WorkItem) -> SearchableRecord:
    return SearchableRecord(
        tool="work_items", type="work_item", id=str(item.id), org_path=item.org_path,
        title=f"{item.number} {item.title}", address=item.address or "",
        text=" ".join(filter(None, [item.category_name, item.description, item.result])),
        status=STATES[item.state], updated_at=item.updated_at or utcnow())


def _index(item: WorkItem) -> None:
    searchable_saved.send("work_items", record=searchable_record(item))


def search_documents() -> Iterable[SearchableRecord]:
    """Every work item as one-click query sees it, for a full reindex."""
    last_id = 0
    while True:
        batch = db.session.execute(select(WorkItem).where(WorkItem.id > last_id).order_by(WorkItem.id)
                                   .limit(500)).scalars().all()
        if not batch:
            return
        for item in batch:
            yield searchable_record(item)
        last_id = batch[-1].id


def _after_change(item: WorkItem, action: str, *, notify: Iterable[tuple[list[str], str]] = (),
                  exclude: str | None = None) -> None:
    """After commit: announce the change and tell the people it concerns (WeCom, notify queue)."""
    payload = {"item_id": item.id, "action": action, "state": item.state, "source_tool": item.source_tool,
               "source_type": item.source_type, "source_id": item.source_id}
    messages = []
    for userids, content in notify:
        ids = sorted({u for u in userids if u and u != exclude})
        if ids:
            messages.append((ids, content))

    def fire():
        work_item_changed.send(None, **payload)
        for ids, content in messages:
            try:
                _send_text(ids, content)
            except Exception:  # noqa: BLE001 - a notification failure never undoes the change
                log.exception("queueing a work item notification failed")

    after_commit(fire)


def _send_text(userids: list[str], content: str) -> None:
    from app.services.notify import send_text_message

    send_text_message.delay(userids, content)


# --- performing actions ----------------------------------------------------------------------

def _conflict(item: WorkItem, user: User, code: str, zh: str, en: str, status: int = 409, **extra) -> ApiError:
    return ApiError(status, code, zh, en, state=item.state, state_label=STATES[item.state],
                    allowed_actions=allowed_actions(item, user), **extra)


def _require(transition: Transition, data: dict) -> None:
    missing = [f for f in transition.requires if data.get(f) in (None, "")]
    if missing:
        raise ApiError(422, "validation_error", "缺少必填内容", "Required fields are missing",
                       fields={f: ["必填 Required."] for f in missing})


def _target_unit(data: dict) -> OrgUnit:
    unit = _unit_by_code(data["unit"])
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
        raise _conflict(item, user, "action_not_allowed", f"工单当前为「{STATES[item.state]}」，不能{transition.label}",
                        f"'{action}' is not allowed while the item is {item.state}")
    if not may_act(user, item, transition):
        raise _conflict(item, user, "action_forbidden", f"您无权对该工单执行「{transition.label}」",
                        f"You may not '{action}' this work item", status=403)
    if data.get("version") is not None and int(data["version"]) != item.version:
        raise _conflict(item, user, "stale_version", "工单已被他人更新，请刷新后重试",
                        "The work item changed since you loaded it", version=item.version)
    _require(transition, data)
    now = utcnow()
    before_state, before_unit = item.state, item.org_unit
    result: dict = {}
    notify: list[tuple[list[str], str]] = []
    with _write_conflicts(item.id, user):
        handler = _APPLY[action]
        moved = handler(item, user, data, now, notify, result)
        if moved is not False and transition.dest is not None:
            item.state = transition.dest
            _event(item, action, user, from_state=before_state, to_state=item.state, from_unit=before_unit,
                   to_unit=item.org_unit, reason=data.get("reason") or data.get("result") or data.get("note"),
                   at=now, **result.pop("detail", {}))
            _enter_stage(item, now)
        item.last_action_at = now  # always bumps the version: concurrent writers collide here
        _index(item)
        audit.record(f"work_item.{result.get('audit_action', action)}", target_type="work_item", target_id=item.id,
                     actor=user, detail={"number": item.number, "from": before_state, "to": item.state})
        _after_change(item, action, notify=notify, exclude=user.wecom_userid)
        db.session.commit()
    return item, result


@contextmanager
def _write_conflicts(item_id: int, user: User | None):
    """Another transaction changed the item first (version mismatch): roll back everything, 409."""
    try:
        yield
    except ApiError:
        db.session.rollback()
        raise
    except StaleDataError as exc:
        db.session.rollback()
        fresh = db.session.get(WorkItem, item_id, populate_existing=True)
        raise ApiError(409, "concurrent_update", "工单刚被他人处理，请刷新后重试",
                       "Someone else changed the work item at the same time", state=fresh.state,
                       state_label=STATES[fresh.state],
                       allowed_actions=allowed_actions(fresh, user) if user else []) from exc


def _apply_dispatch(item, user, data, now, notify, result):
    target = _target_unit(data)
    if not target.path.startswith(item.dispatch_path):
        raise ApiError(422, "outside_subtree", "派单只能派至本单位及下级单位，跨单位请使用改派",
                       "Dispatch goes within the dispatching unit's subtree; use reassign otherwise")
    _move(item, target)
    notify.append((unit_staff(target), _msg(item, f"新工单已派至{target.name}，请及时签收")))


def _move(item: WorkItem, target: OrgUnit) -> None:
    item.org_unit, item.org_unit_id, item.org_path, item.assignee_id = target, target.id, target.path, None
    item.assignee = None


def _apply_sign(item, user, data, now, notify, result):
    item.assignee, item.assignee_id = user, user.id
    if data.get("note"):
        item.first_contact_at = now
        result["detail"] = {"first_contact": True}
    if item.reporter_user is not None:
        notify.append(([item.reporter_user.wecom_userid], _msg(item, f"您上报的问题已由{item.org_unit.name}签收")))


def _apply_contact(item, user, data, now, notify, result):
    if item.first_contact_at is None:
        item.first_contact_at = now
    _event(item, "contact", user, from_state=item.state, to_state=item.state, reason=data["note"], at=now)


def _apply_feedback(item, user, data, now, notify, result):
    item.result = data["result"]
    notify.append((_dispatchers(item), _msg(item, f"{item.org_unit.name}已反馈处置结果，请审核")))


def _apply_review_pass(item, user, data, now, notify, result):
    notify.append((_handlers(item), _msg(item, "处置结果已审核通过")))


def _apply_review_reject(item, user, data, now, notify, result):
    notify.append((_handlers(item), _msg(item, f"审核驳回，请在限期内再处置。原因：{data['reason']}")))


def _apply_visit(item, user, data, now, notify, result):
    if data["satisfaction"] not in SATISFACTION:
        raise ApiError(422, "validation_error", "满意度无效", "Unknown satisfaction",
                       fields={"satisfaction": [f"one of {sorted(SATISFACTION)}"]})
    item.satisfaction, item.closed_at = data["satisfaction"], now
    result["detail"] = {"satisfaction": data["satisfaction"]}
    people = list(_handlers(item)) + ([item.reporter_user.wecom_userid] if item.reporter_user else [])
    notify.append((people, _msg(item, f"工单已办结（回访：{SATISFACTION[data['satisfaction']]}）")))


def _apply_reopen(item, user, data, now, notify, result):
    item.satisfaction = "unsatisfied"
    result["detail"] = {"satisfaction": "unsatisfied"}
    notify.append((_handlers(item), _msg(item, f"回访不满意，请在限期内重办。原因：{data['reason']}")))


def _apply_close(item, user, data, now, notify, result):
    item.closed_at = now
    people = list(_handlers(item)) + ([item.reporter_user.wecom_userid] if item.reporter_user else [])
    notify.append((people, _msg(item, f"工单已办结。说明：{data['reason']}")))


def _apply_return(item, user, data, now, notify, result):
    from_unit = item.org_unit
    _move(item, item.dispatch_unit)
    result["detail"] = {"returned_by_unit": from_unit.code}
    notify.append((_dispatchers(item), _msg(item, f"{from_unit.name}退单，请重新派单。原因：{data['reason']}")))


def _forward(item, user, data, now, notify, result, *, sending: OrgUnit, kind_label: str):
    target = _target_unit(data)
    if target.id == item.org_unit_id:
        raise ApiError(422, "same_unit", "工单已在该单位", "The item is already at that unit")
    if target.path.startswith(sending.path):  # inside the sender's own subtree: immediate
        _move(item, target)
        result["detail"] = {"immediate": True}
        notify.append((unit_staff(target), _msg(item, f"工单已{kind_label}至{target.name}，请及时签收")))
        return True
    result["approval"] = _request_approval(item, user, "forward", sending, now, notify, target=target,
                                           reason=data.get("reason") or "")
    result["audit_action"] = "forward_requested"
    return False


def _apply_forward(item, user, data, now, notify, result):
    return _forward(item, user, data, now, notify, result, sending=item.org_unit, kind_label="转派")


def _apply_reassign(item, user, data, now, notify, result):
    return _forward(item, user, data, now, notify, result, sending=item.dispatch_unit, kind_label="改派")


def _apply_extend(item, user, data, now, notify, result):
    try:
        days = int(data["days"])
    except (TypeError, ValueError):
        days = 0
    limits = limits_for(item.source_tool, item.category, item.limit_kind)
    room = limits.max_days - item.close_days - item.extension_days - _pending_extension_days(item)
    if days < 1 or days > room:
        raise ApiError(422, "validation_error", f"延期天数须在 1 至 {max(room, 0)} 个工作日之间",
                       f"Extension must be 1..{max(room, 0)} working days", max_days=limits.max_days,
                       fields={"days": [f"1..{max(room, 0)}"]})
    result["approval"] = _request_approval(item, user, "extend", item.org_unit, now, notify, days=days,
                                           reason=data["reason"])
    result["audit_action"] = "extend_requested"


def _pending_extension_days(item: WorkItem) -> int:
    return sum(a.days or 0 for a in item.approvals if a.kind == "extend" and a.status == "pending")


def _apply_supervise(item, user, data, now, notify, result):
    item.supervised = True
    _event(item, "supervise", user, from_state=item.state, to_state=item.state, reason=data.get("note"), at=now)
    notify.append((_handlers(item), _msg(item, f"工单被督办，请尽快处置。{data.get('note') or ''}".strip())))


_APPLY = {name.removeprefix("_apply_"): fn for name, fn in dict(globals()).items() if name.startswith("_apply_")}


# --- approvals (forward across units, extensions) --------------------------------------------

def _request_approval(item, user, kind, sending: OrgUnit, now, notify, *, target=None, days=None, reason=""):
    if any(a.status == "pending" for a in item.approvals):
        raise _conflict(item, user, "approval_pending", "该工单已有待审批的申请", "An approval is already pending")
    approver_unit, approvers = unit_managers(sending)
    approval = WorkItemApproval(
        kind=kind, status="pending", requested_by_id=user.id, from_unit_id=sending.id,
        approver_unit_id=approver_unit.id, approver_unit=approver_unit, target_unit_id=getattr(target, "id", None),
        target_unit=target, days=days, reason=reason, task_id=f"wi-{item.id}-{secrets.token_hex(8)}",
        card_userids=approvers)
    item.approvals.append(approval)
    _event(item, f"{kind}_requested", user, from_state=item.state, to_state=item.state, from_unit=sending,
           to_unit=target, reason=reason or None, at=now, days=days, approver_unit=approver_unit.code)
    db.session.flush()
    approval_id = approval.id
    after_commit(lambda: send_approval_card.delay(approval_id))
    return approval


def decide(approval_id: int, user: User, approve: bool, *, via: str, note: str | None = None,
           response_code: str | None = None):
    """Apply a manager's decision once. Returns (approval, applied: bool); a repeat changes nothing."""
    stmt = (select(WorkItemApproval).where(WorkItemApproval.id == approval_id)
            .with_for_update(of=WorkItemApproval).execution_options(populate_existing=True))
    approval = db.session.execute(stmt).scalar_one_or_none()
    if approval is None:
        raise ApiError(404, "approval_not_found", "审批不存在", "No such approval")
    if approval.status != "pending":
        return approval, False
    if not approver_can_decide(user, approval):
        raise ApiError(403, "not_approver", "您不是该申请的审批人", "You are not an approver of this request")
    item = db.session.get(WorkItem, approval.work_item_id, populate_existing=True)
    now = utcnow()
    with _write_conflicts(item.id, user):
        requester = approval.requested_by
        kind_label = APPROVAL_KINDS[approval.kind]
        notify: list[tuple[list[str], str]] = []
        approval.decided_by_id, approval.decided_at, approval.decided_via = user.id, now, via
        if response_code:  # a tap brings a fresh code, good for one update within 72 hours
            approval.response_code, approval.response_code_at = response_code, now
        approval.decision_note = note
        action = f"{approval.kind}_rejected"
        if not approve:
            approval.status = "rejected"
            _event(item, action, user, from_state=item.state, to_state=item.state, reason=note, at=now,
                   approval_id=approval.id, via=via)
        elif approval.kind == "forward" and not _forward_still_applies(item, approval):
            approval.status, action = "void", "approval_void"
            _event(item, action, user, from_state=item.state, to_state=item.state, at=now, approval_id=approval.id,
                   reason="工单状态已变化")
        elif approval.kind == "forward":
            approval.status, action = "approved", "forward"
            before_state, from_unit, target = item.state, item.org_unit, approval.target_unit
            _move(item, target)
            item.state = "dispatched"
            _event(item, "forward", user, from_state=before_state, to_state="dispatched", from_unit=from_unit,
                   to_unit=target, reason=approval.reason or None, at=now, approval_id=approval.id, via=via)
            _enter_stage(item, now)
            notify.append((unit_staff(target), _msg(item, f"工单已转派至{target.name}，请及时签收")))
        else:
            approval.status, action = "approved", "extend"
            item.extension_days += approval.days
            item.close_due_at = add_working_days(item.close_due_at, approval.days)
            if item.stage == "handle":  # a new deadline: a new clock, with its own reminders
                item.due_at, item.overdue, item.stage_started_at = item.close_due_at, False, now
                item.stage_seq += 1
            _event(item, "extend", user, from_state=item.state, to_state=item.state, reason=approval.reason, at=now,
                   approval_id=approval.id, days=approval.days, via=via)
        verdict = APPROVAL_STATUS[approval.status]
        if requester is not None:
            notify.append(([requester.wecom_userid], _msg(item, f"您的{kind_label}申请{verdict}（{user.name}）")))
        item.last_action_at = now
        _index(item)
        audit.record(f"work_item.approval.{'approve' if approve else 'reject'}", target_type="work_item_approval",
                     target_id=approval.id, actor=user, detail={"number": item.number, "kind": approval.kind,
                                                                "status": approval.status, "via": via})
        _after_change(item, action, notify=notify)
        after_commit(lambda: update_approval_card.delay(approval_id))
        db.session.commit()
    return approval, True


def _forward_still_applies(item: WorkItem, approval: WorkItemApproval) -> bool:
    """The item has not moved on since the forward was asked for."""
    movable = set(TRANSITIONS["forward"].sources) | set(TRANSITIONS["reassign"].sources)
    return item.state in movable and approval.from_unit_id in (item.org_unit_id, item.dispatch_unit_id)


def approval_card(approval: WorkItemApproval) -> dict:
    """The WeCom template card (button_interaction) asking a manager to decide."""
    item = approval.work_item
    kind = APPROVAL_KINDS[approval.kind]
    what = (f"转派至 {approval.target_unit.name}" if approval.kind == "forward"
            else f"延期 {approval.days} 个工作日")
    requester = approval.requested_by.name if approval.requested_by else "系统"
    return {
        "card_type": "button_interaction",
        "source": {"desc": "静安工具箱 · 工单流转"},
        "main_title": {"title": f"{kind}审批：{item.number}", "desc": item.title[:30]},
        "sub_title_text": f"{approval.from_unit.name} 申请{what}。理由：{approval.reason or '无'}"[:160],
        "horizontal_content_list": [
            {"keyname": "工单编号", "value": item.number},
            {"keyname": "类别", "value": item.category_name},
            {"keyname": "申请人", "value": requester},
            {"keyname": "办结时限", "value": item.close_due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")},
        ],
        "task_id": approval.task_id,
        "button_list": [{"text": "同意", "style": 1, "key": "approve"},
                        {"text": "驳回", "style": 2, "key": "reject"}],
    }


def _decision_text(approval: WorkItemApproval) -> str:
    who = approval.decided_by.name if approval.decided_by else "系统"
    at = approval.decided_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if approval.decided_at else ""
    return f"{APPROVAL_STATUS[approval.status]}（{who} {at}）"


@job("notify")
def send_approval_card(approval_id: int) -> str | None:
    """Send the approval card to the approvers; retried with backoff on WeCom errors."""
    from app.wecom.client import get_client

    approval = db.session.get(WorkItemApproval, approval_id)
    if approval is None or approval.status != "pending" or approval.response_code:
        return None
    userids = approval.card_userids or unit_managers(approval.approver_unit)[1]
    if not userids:
        log.error("approval %s has no manager to ask", approval_id)
        return None
    response = get_client().send_template_card(userids, approval_card(approval))
    approval.response_code = response.get("response_code")
    approval.card_sent_at = approval.response_code_at = utcnow()
    approval.card_userids = userids
    db.session.commit()
    return approval.response_code


@job("notify")
def update_approval_card(approval_id: int) -> str | None:
    """Show the decision on the card, or, past the response code's 72 hours, send a fresh message."""
    from app.wecom.client import WeComError, get_client

    approval = db.session.execute(select(WorkItemApproval).where(WorkItemApproval.id == approval_id)
                                  .with_for_update(of=WorkItemApproval)).scalar_one_or_none()  # one updater
    if approval is None or approval.status == "pending" or approval.card_updated_at is not None:
        return None
    text = _decision_text(approval)
    userids = approval.card_userids or unit_managers(approval.approver_unit)[1]
    issued = approval.response_code_at or approval.card_sent_at
    fresh = approval.response_code and issued is not None and utcnow() - issued < CARD_RESPONSE_CODE_TTL
    if fresh:
        card = {**approval_card(approval), "replace_text": text}
        card["sub_title_text"] = f"{card['sub_title_text']}\n{text}"[:160]
        try:
            get_client().update_template_card(userids, approval.response_code, card)
            approval.card_update_mode = "updated"
        except WeComError as err:
            if err.errcode != INVALID_RESPONSE_CODE:
                raise  # transient: the job is retried with backoff
            log.warning("approval %s: response code refused (%s), sending a message instead", approval_id, err)
            fresh = False
    if not fresh:
        get_client().send_text(userids, _msg(approval.work_item, f"{APPROVAL_KINDS[approval.kind]}申请{text}"))
        approval.card_update_mode = "message"
    approval.card_updated_at = utcnow()
    db.session.commit()
    return approval.card_update_mode


def on_template_card_event(event: dict) -> None:
    """A manager tapped 同意/驳回 on an approval card (WeCom callback, run inside a job)."""
    task_id = str(event.get("TaskId") or "")
    if not task_id.startswith("wi-"):
        return
    approval = db.session.execute(select(WorkItemApproval).where(WorkItemApproval.task_id == task_id)
                                  ).scalar_one_or_none()
    if approval is None:
        log.warning("card event for unknown task %s", task_id)
        return
    userid = event.get("FromUserName")
    user = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()
    key = str(event.get("EventKey") or "")
    if user is None or key not in ("approve", "reject"):
        log.warning("card event from %r with key %r ignored", userid, key)
        return
    try:
        decide(approval.id, user, key == "approve", via="card", response_code=event.get("ResponseCode") or None)
    except ApiError as err:
        if err.status != 403:
            raise
        db.session.rollback()
        audit.record("work_item.approval.denied", target_type="work_item_approval", target_id=approval.id,
                     actor=user, outcome="denied", detail={"task_id": task_id})
        db.session.commit()


# --- supervision (督办) ------------------------------------------------------------------------

def _claim_alert(item: WorkItem, stage_key: str, level: str, userids: list[str]) -> bool:
    """Record a supervision step; False when it was already taken (by this or another worker)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(WorkItemAlert).values(work_item_id=item.id, stage_key=stage_key, level=level, at=utcnow(),
                                        userids=userids).on_conflict_do_nothing()
    return db.session.execute(stmt.returning(WorkItemAlert.id)).scalar_one_or_none() is not None


def supervise_item(item: WorkItem, now) -> list[str]:
    """Take the supervision steps now due for one item (caller commits). Returns the levels taken."""
    if item.state not in OPEN_STATES or item.due_at is None or item.stage is None:
        return []
    start, due = item.stage_started_at or item.created_at, item.due_at
    total = max((due - start).total_seconds(), 1.0)
    elapsed = (now - start).total_seconds()
    key = f"{item.stage}:{item.stage_seq}"
    stage = STAGE_LABELS[item.stage]
    taken, notify = [], []
    deadline = due.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    if elapsed / total >= REMIND_FRACTION or now >= due:
        ids = _handlers(item)
        if _claim_alert(item, key, "remind", ids):
            taken.append("remind")
            _event(item, "remind", "system", from_state=item.state, to_state=item.state, at=now, stage=item.stage)
            notify.append((ids, _msg(item, f"「{stage}」时限将于 {deadline} 到期，请抓紧办理")))
    if now >= due:
        ids = _handlers(item)
        if _claim_alert(item, key, "overdue", ids):
            taken.append("overdue")
            item.overdue = True
            _event(item, "overdue", "system", from_state=item.state, to_state=item.state, at=now, stage=item.stage)
            notify.append((ids, _msg(item, f"「{stage}」已超期（时限 {deadline}）")))
        manager_unit, managers = unit_managers(item.org_unit)
        if _claim_alert(item, key, "escalate", managers):
            taken.append("escalate")
            item.supervised = True
            _event(item, "supervise", "system", from_state=item.state, to_state=item.state, at=now,
                   stage=item.stage, auto=True, manager_unit=manager_unit.code)
            notify.append((managers, _msg(item, f"{item.org_unit.name}「{stage}」已超期，请督办")))
    if taken:
        item.last_action_at = now
        _index(item)
        audit.record("work_item.supervise", target_type="work_item", target_id=item.id, actor="system",
                     detail={"number": item.number, "stage": key, "levels": taken})
        _after_change(item, "supervise", notify=notify)
    return taken


@periodic("workflow.supervise", 300)
@job("default")
def supervise_work_items() -> dict:
    """Remind at 80 %, mark overdue at 100 % and escalate (督办) — each once per item and stage."""
    now = utcnow()
    # An item already marked overdue has had every step for its current stage (they commit together).
    ids = db.session.execute(select(WorkItem.id).where(
        WorkItem.state.in_(OPEN_STATES), WorkItem.due_at.is_not(None), WorkItem.overdue.is_(False))
    ).scalars().all()
    counts = {"remind": 0, "overdue": 0, "escalate": 0}
    for item_id in ids:
        item = db.session.get(WorkItem, item_id, populate_existing=True)
        try:
            for level in supervise_item(item, now):
                counts[level] += 1
            db.session.commit()
        except StaleDataError:  # a person acted on it meanwhile; the next run looks again
            db.session.rollback()
    return counts


# --- views -----------------------------------------------------------------------------------

def _local(at):
    return at.astimezone(TZ).isoformat() if at is not None else None


def public_view(item: WorkItem) -> dict:
    """Citizen-safe status and timeline: units and times, never staff names or phone numbers."""
    public_actions = {"create", "dispatch", "sign", "feedback", "review_pass", "review_reject", "visit",
                      "return", "forward", "reassign", "extend", "close"}
    timeline = []
    for ev in item.events:
        if ev.action not in public_actions:
            continue
        unit = ev.to_unit or ev.from_unit
        timeline.append({"at": _local(ev.at), "action": ev.action, "label": EVENT_LABELS.get(ev.action, ev.action),
                         "state": ev.to_state, "state_label": STATES.get(ev.to_state or "", ""),
                         "unit": unit.name if unit else None})
    return {
        "number": item.number, "title": item.title, "category": item.category_name,
        "state": item.state, "state_label": STATES[item.state], "unit": item.org_unit.name,
        "created_at": _local(item.created_at), "updated_at": _local(item.updated_at),
        "closed_at": _local(item.closed_at), "result": item.result if item.state in ("visiting", "closed") else None,
        "satisfaction": item.satisfaction, "timeline": timeline,
    }


def init_app(app) -> None:
    """Subscribe to WeCom card taps (approval decisions)."""
    from app.wecom.callback import register_handler

    register_handler("template_card_event", on_template_card_event)
