"""A person's inbox: which items they see, which wait for them, which they have done; badge counts;
and the workbench's finer boxes (WORKBENCH_BOXES).

SQL clauses over WorkItem, for the JSON API and server-rendered pages alike.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, case, exists, false, func, not_, or_, select

from app.extensions import db
from app.models.base import utcnow
from app.models.org import OrgUnit
from app.models.users import Role, User
from app.models.workitem import WorkItem, WorkItemApproval, WorkItemEvent
from app.services.scope import scope_clause, scope_paths
from app.services.workflow.states import (
    DISPATCHER,
    DISPATCHER_TODO_STATES,
    HANDLER,
    HANDLER_TODO_STATES,
    OPEN_STATES,
    SIDE_ROLES,
)

BOXES = ("todo", "done", "overdue", "all")


def _acted_on(user: User):
    return exists(select(WorkItemEvent.id).where(WorkItemEvent.work_item_id == WorkItem.id,
                                                 WorkItemEvent.actor_id == user.id))


def visible_to(user: User):
    """Items in my scope (handling or dispatching side), that I reported, or that I acted on."""
    return or_(scope_clause(WorkItem.org_path, user), scope_clause(WorkItem.dispatch_path, user),
               WorkItem.reporter_user_id == user.id, _acted_on(user))


def todo_for(user: User):
    """Items waiting for one of my own units: to sign and handle, or to dispatch, review and follow up."""
    handler_units = [m.org_unit_id for m in user.memberships if m.role in SIDE_ROLES[HANDLER]]
    dispatcher_units = [m.org_unit_id for m in user.memberships if m.role in SIDE_ROLES[DISPATCHER]]
    clauses = []
    if handler_units:
        clauses.append(and_(WorkItem.org_unit_id.in_(handler_units), WorkItem.state.in_(HANDLER_TODO_STATES)))
    if dispatcher_units:
        clauses.append(and_(WorkItem.dispatch_unit_id.in_(dispatcher_units),
                            WorkItem.state.in_(DISPATCHER_TODO_STATES)))
    return or_(*clauses) if clauses else false()


def done_by(user: User):
    return and_(_acted_on(user), not_(todo_for(user)))


def overdue_clause(now):
    return and_(WorkItem.state.in_(OPEN_STATES), or_(WorkItem.overdue.is_(True), WorkItem.due_at < now))


def box_clause(box: str, user: User, now):
    """The clause of one inbox box; None for "all"."""
    return {"todo": todo_for(user), "done": done_by(user), "overdue": overdue_clause(now), "all": None}[box]


def approvals_for(user: User):
    """Approvals addressed to units I manage (a select of WorkItemApproval)."""
    if not scope_paths(user, Role.MANAGER):
        return select(WorkItemApproval).where(false())
    return (select(WorkItemApproval).join(OrgUnit, OrgUnit.id == WorkItemApproval.approver_unit_id)
            .where(scope_clause(OrgUnit.path, user, Role.MANAGER)))


def count_where(condition):
    """count(*) FILTER (WHERE condition) on PostgreSQL; SUM(CASE …) where FILTER is not a given (SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.count().filter(condition)
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def counts_for(user: User) -> dict:
    """Badge counts: to do, done, overdue, and approvals waiting for me, in one statement."""
    now = utcnow()
    boxes = ("todo", "done", "overdue")
    pending = approvals_for(user).where(WorkItemApproval.status == "pending")
    stmt = (select(*(count_where(box_clause(box, user, now)).label(box) for box in boxes),
                   select(func.count()).select_from(pending.subquery()).scalar_subquery().label("approvals"))
            .select_from(WorkItem).where(visible_to(user)))
    row = db.session.execute(stmt).one()
    return {key: int(value) for key, value in row._mapping.items()}


# --- the workbench's boxes (待签收, 处置中, 待审核, 待派单, 临期, 超期) --------------------------------

DUE_SOON = timedelta(hours=24)  # 临期: the current stage ends within a day

# key → (label, whose units, states): the work waiting for my own units (todo_for), split by what is
# to be done; 临期 and 超期 are the same items by their deadline.
WORKBENCH_BOXES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "to_sign": ("待签收", HANDLER, ("dispatched",)),
    "handling": ("处置中", HANDLER, ("handling", "rehandling")),
    "to_review": ("待审核", DISPATCHER, ("reviewing", "visiting")),
    "to_dispatch": ("待派单", DISPATCHER, ("accepted", "returned")),
    "due_soon": ("临期", None, ()),
    "overdue": ("超期", None, ()),
}
assert {s for _, side, states in WORKBENCH_BOXES.values() if side == HANDLER for s in states} == set(
    HANDLER_TODO_STATES) and {s for _, side, states in WORKBENCH_BOXES.values() if side == DISPATCHER
                              for s in states} == set(DISPATCHER_TODO_STATES), "boxes must cover todo_for"


def _waiting_at(user: User, side: str, states: tuple[str, ...]):
    units = [m.org_unit_id for m in user.memberships if m.role in SIDE_ROLES[side]]
    if not units:
        return false()
    column = WorkItem.org_unit_id if side == HANDLER else WorkItem.dispatch_unit_id
    return and_(column.in_(units), WorkItem.state.in_(states))


def workbench_box_clause(box: str, user: User, now=None):
    """The clause of one workbench box ("all": every open item I can see)."""
    now = now or utcnow()
    if box == "overdue":
        return and_(todo_for(user), or_(WorkItem.overdue.is_(True), WorkItem.due_at < now))
    if box == "due_soon":
        return and_(todo_for(user), WorkItem.overdue.is_(False), WorkItem.due_at >= now,
                    WorkItem.due_at < now + DUE_SOON)
    if box == "all":
        return WorkItem.state.in_(OPEN_STATES)
    _, side, states = WORKBENCH_BOXES[box]
    return _waiting_at(user, side, states)


def workbench_counts(user: User) -> dict[str, int]:
    """How many items I can see wait in each workbench box."""
    now = utcnow()
    stmt = select(*(count_where(workbench_box_clause(box, user, now)).label(box) for box in WORKBENCH_BOXES)) \
        .select_from(WorkItem).where(visible_to(user))
    return {key: int(value) for key, value in db.session.execute(stmt).one()._mapping.items()}


def pending_approvals_for(user: User):
    """Forward and extension requests waiting for my decision (a select of WorkItemApproval)."""
    return approvals_for(user).where(WorkItemApproval.status == "pending")


def pending_approval_count(user: User) -> int:
    return db.session.execute(select(func.count()).select_from(pending_approvals_for(user).subquery())).scalar_one()
