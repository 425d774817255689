"""The workbench's inbox boxes (待签收, 处置中, 待审核, 待派单, 临期, 超期): SQL clauses over WorkItem.

Each box is work waiting for one of my own units, as the API's "todo" is, split by what is to be
done; 临期 and 超期 are my open items by their deadline. Pages show exactly these counts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, false, func, or_, select

from app.extensions import db
from app.models.base import utcnow
from app.models.org import OrgUnit
from app.models.users import Role, User
from app.models.workitem import WorkItem, WorkItemApproval, WorkItemEvent
from app.services.scope import scope_clause, scope_paths
from app.services.workflow import DISPATCHER, HANDLER, OPEN_STATES, SIDE_ROLES

DUE_SOON = timedelta(hours=24)  # 临期: the current stage ends within a day

# key → (label, which side's units, states)
BOXES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "to_sign": ("待签收", HANDLER, ("dispatched",)),
    "handling": ("处置中", HANDLER, ("handling", "rehandling")),
    "to_review": ("待审核", DISPATCHER, ("reviewing", "visiting")),
    "to_dispatch": ("待派单", DISPATCHER, ("accepted", "returned")),
    "due_soon": ("临期", None, ()),
    "overdue": ("超期", None, ()),
}


def visible_to(user: User):
    """Items in my scope (handling or dispatching side), that I reported, or that I acted on."""
    acted = exists(select(WorkItemEvent.id).where(WorkItemEvent.work_item_id == WorkItem.id,
                                                  WorkItemEvent.actor_id == user.id))
    return or_(scope_clause(WorkItem.org_path, user), scope_clause(WorkItem.dispatch_path, user),
               WorkItem.reporter_user_id == user.id, acted)


def _side(user: User, side: str, states: tuple[str, ...]):
    units = [m.org_unit_id for m in user.memberships if m.role in SIDE_ROLES[side]]
    if not units:
        return false()
    column = WorkItem.org_unit_id if side == HANDLER else WorkItem.dispatch_unit_id
    return and_(column.in_(units), WorkItem.state.in_(states))


def waiting_for(user: User):
    """Everything waiting for one of my units (the union of the four work boxes)."""
    return or_(*(_side(user, side, states) for side, states in
                 ((s, st) for _, s, st in BOXES.values() if s is not None)))


def box_clause(box: str, user: User, now=None):
    now = now or utcnow()
    if box == "overdue":
        return and_(waiting_for(user), or_(WorkItem.overdue.is_(True), WorkItem.due_at < now))
    if box == "due_soon":
        return and_(waiting_for(user), WorkItem.overdue.is_(False), WorkItem.due_at >= now,
                    WorkItem.due_at < now + DUE_SOON)
    if box == "all":
        return WorkItem.state.in_(OPEN_STATES)
    _, side, states = BOXES[box]
    return _side(user, side, states)


def box_counts(user: User) -> dict[str, int]:
    """How many visible items wait in each box."""
    now = utcnow()
    visible = visible_to(user)
    return {box: db.session.execute(select(func.count(WorkItem.id)).where(visible, box_clause(box, user, now)))
            .scalar_one() for box in BOXES}


def pending_approvals(user: User):
    """Pending forward and extension requests addressed to units I manage (a select of WorkItemApproval)."""
    if not scope_paths(user, Role.MANAGER):
        return select(WorkItemApproval).where(false())
    return (select(WorkItemApproval).join(OrgUnit, OrgUnit.id == WorkItemApproval.approver_unit_id)
            .where(scope_clause(OrgUnit.path, user, Role.MANAGER), WorkItemApproval.status == "pending"))


def approval_count(user: User) -> int:
    return db.session.execute(select(func.count()).select_from(pending_approvals(user).subquery())).scalar_one()
