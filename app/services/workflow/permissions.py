"""Who may see a work item, and who may take which action on it."""

from __future__ import annotations

from app.errors import ApiError
from app.models.users import Role, User
from app.models.workitem import WorkItem, WorkItemApproval
from app.services.scope import in_scope
from app.services.workflow.states import DISPATCHER, HANDLER, SIDE_ROLES, TRANSITIONS, Transition


def may_act(user: User, item: WorkItem, transition: Transition) -> bool:
    roles = SIDE_ROLES[transition.side]
    if transition.side == HANDLER:
        return in_scope(user, item.org_path, *roles)
    if transition.side == DISPATCHER:
        return in_scope(user, item.dispatch_path, *roles)
    return in_scope(user, item.org_path, *roles) or in_scope(user, item.dispatch_path, *roles)


def allowed_actions(item: WorkItem, user: User) -> list[str]:
    return [a for a, t in TRANSITIONS.items() if item.state in t.sources and may_act(user, item, t)]


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
