"""Who may see a work item, and who may take which action on it (the rule itself is data: states.SIDES,
Transition.side and Transition.not_by)."""

from __future__ import annotations

from app.errors import ApiError
from app.models.users import Role, User
from app.models.workitem import WorkItem, WorkItemApproval
from app.services.scope import business_memberships, in_scope
from app.services.workflow.states import (
    ABOVE,
    AT,
    ROUND_STARTS,
    SIDES,
    TRANSITIONS,
    Side,
    Transition,
)

NOT_YOUR_SIDE, ACTED_THIS_ROUND = "not_your_side", "acted_this_round"
REASONS = {
    NOT_YOUR_SIDE: "须由{side}办理",
    ACTED_THIS_ROUND: "本轮已由您{acted}，须由他人{label}",
}


def on_side(user: User, item: WorkItem, side: Side) -> bool:
    """Does the user hold one of the side's roles at (or above) the unit the side is measured from?"""
    unit = getattr(item, side.unit)
    for m in business_memberships(user, *side.roles):
        if side.reach == AT and m.org_unit_id == unit.id:
            return True
        if side.reach != AT and unit.path.startswith(m.org_unit.path) and \
                (side.reach != ABOVE or m.org_unit.path != unit.path):
            return True
    return False


def acted_this_round(item: WorkItem, actions: tuple[str, ...]) -> set[int]:
    """Who took one of these actions since the current round of handling started."""
    actors: set[int] = set()
    for ev in reversed(item.events):
        if ev.action in ROUND_STARTS:
            break
        if ev.action in actions and ev.actor_id is not None:
            actors.add(ev.actor_id)
    return actors


def why_not(user: User, item: WorkItem, transition: Transition) -> str | None:
    """None when the user may take the action now (state aside); else the reason code."""
    if not on_side(user, item, SIDES[transition.side]):
        return NOT_YOUR_SIDE
    if transition.not_by and user.id in acted_this_round(item, transition.not_by):
        return ACTED_THIS_ROUND
    return None


def may_act(user: User, item: WorkItem, transition: Transition) -> bool:
    return why_not(user, item, transition) is None


def allowed_actions(item: WorkItem, user: User) -> list[str]:
    return [a for a, t in TRANSITIONS.items() if item.state in t.sources and may_act(user, item, t)]


def action_options(item: WorkItem, user: User) -> list[dict]:
    """Every action the item's state allows, whether this user may take it, and if not, why and who may."""
    options = []
    for action, t in TRANSITIONS.items():
        if item.state not in t.sources:
            continue
        reason = why_not(user, item, t)
        side = SIDES[t.side]
        acted = "、".join(TRANSITIONS[a].label for a in t.not_by)
        options.append({"action": action, "label": t.label, "side": t.side, "side_label": side.label,
                        "allowed": reason is None, "reason": reason,
                        "reason_label": REASONS[reason].format(side=side.label, acted=acted, label=t.label)
                        if reason else None})
    return options


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
