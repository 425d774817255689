"""States and transitions of a work item, as data (after the district's 12345 practice).

    受理 accepted → 派单 dispatched → 签收 (+先行联系) handling → 反馈 reviewing → 审核 visiting
    (驳回 → rehandling → 反馈 …) → 回访 → 办结 closed;  退单 returned, 转派/改派, 延期, 督办.

TRANSITIONS says, for each action, the states it starts from, the state it leads to and which side
may take it; actions.py holds what each action does beyond the state change.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models.users import Role

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
FINISHED_STATES = ("closed",)
OPEN_STATES = tuple(s for s in STATES if s not in FINISHED_STATES)
#: Handled and the result accepted: waiting for the follow-up (回访) or closed.
RESOLVED_STATES = ("visiting", "closed")

# Who may act: the 12345 split of 承办 (the handling unit signs, handles and feeds back) and 派单 (the
# dispatching side reviews, follows up and closes), with 督办 from above. Nobody closes an item alone:
# a unit above the handling unit never signs or feeds back for it, and the person who fed back a
# round never reviews, follows up or closes that round (Transition.not_by).
HANDLER, DISPATCHER, MANAGER = "handler", "dispatcher", "manager"
AT, AT_OR_ABOVE, ABOVE = "at", "at_or_above", "above"


@dataclass(frozen=True)
class Side:
    """These roles, held at (or above) the unit the item names."""

    label: str
    roles: tuple[str, ...]
    unit: str    # the item's unit this side is measured from: "org_unit" (handling) or "dispatch_unit"
    reach: str   # AT: that unit itself; AT_OR_ABOVE: it or any unit above it; ABOVE: strictly above it


SIDES: dict[str, Side] = {
    HANDLER: Side("承办单位", (Role.WORKER, Role.OPERATOR, Role.MANAGER), "org_unit", AT),
    DISPATCHER: Side("派单单位", (Role.OPERATOR, Role.MANAGER), "dispatch_unit", AT_OR_ABOVE),
    MANAGER: Side("上级单位负责人", (Role.MANAGER,), "org_unit", ABOVE),
}
SIDE_ROLES = {name: side.roles for name, side in SIDES.items()}
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
    not_by: tuple[str, ...] = ()    # whoever took one of these actions in the current round may not take this one


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("dispatch", "派单", ("accepted", "returned"), "dispatched", DISPATCHER, ("unit",)),
    Transition("sign", "签收", ("dispatched",), "handling", HANDLER),
    Transition("contact", "先行联系", ("handling", "rehandling"), None, HANDLER, ("note",)),
    Transition("feedback", "反馈", ("handling", "rehandling"), "reviewing", HANDLER, ("result",)),
    Transition("review_pass", "审核通过", ("reviewing",), "visiting", DISPATCHER, not_by=("feedback",)),
    Transition("review_reject", "审核驳回", ("reviewing",), "rehandling", DISPATCHER, ("reason",), ("feedback",)),
    Transition("visit", "回访", ("visiting",), "closed", DISPATCHER, ("satisfaction",), ("feedback",)),
    Transition("reopen", "回访不满意重办", ("visiting",), "rehandling", DISPATCHER, ("reason",), ("feedback",)),
    Transition("return", "退单", ("dispatched", "handling"), "returned", HANDLER, ("reason",)),
    Transition("forward", "转派", ("dispatched", "handling"), "dispatched", HANDLER, ("unit",)),
    Transition("reassign", "改派", ("dispatched", "handling", "rehandling", "returned"), "dispatched",
               DISPATCHER, ("unit",)),
    Transition("extend", "延期", ("dispatched", "handling", "rehandling"), None, HANDLER, ("days", "reason")),
    Transition("supervise", "督办", OPEN_STATES, None, MANAGER),
    Transition("close", "办结", ("accepted", "returned"), "closed", DISPATCHER, ("reason",), ("feedback",)),
)}
# A round of handling starts with each of these: a feedback before it belongs to an earlier round.
ROUND_STARTS = ("create", "dispatch", "forward", "reassign", "return", "review_reject", "reopen")

# Labels of timeline entries that are not user actions.
EVENT_LABELS = {
    "create": "受理", "forward_requested": "申请转派", "extend_requested": "申请延期",
    "forward_rejected": "转派被驳回", "extend_rejected": "延期被驳回", "approval_void": "审批作废",
    "remind": "临期提醒", "overdue": "超期", "note": "情况说明", **{a: t.label for a, t in TRANSITIONS.items()},
}
APPROVAL_KINDS = {"forward": "转派", "extend": "延期"}
APPROVAL_STATUS = {"pending": "待审批", "approved": "已同意", "rejected": "已驳回", "void": "已作废"}

# Stages that run against a clock, by the state that starts them.
STAGE_OF_STATE = {"dispatched": "sign", "handling": "handle", "rehandling": "rehandle"}
STAGE_LABELS = {"sign": "签收及先行联系", "handle": "处置办结", "rehandle": "再处置"}

# Which inbox an open item sits in, by the side that must act next.
HANDLER_TODO_STATES = ("dispatched", "handling", "rehandling")
DISPATCHER_TODO_STATES = ("accepted", "returned", "reviewing", "visiting")


def is_open(state: str) -> bool:
    return state not in FINISHED_STATES
