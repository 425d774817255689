"""A person's inbox: which items they see, which wait for them, which they have done; badge counts.

SQL clauses over WorkItem, for the JSON API and server-rendered pages alike.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, false, func, not_, or_, select

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


def counts_for(user: User) -> dict:
    """Badge counts: to do, done, overdue, and approvals waiting for me."""
    now = utcnow()
    result = {}
    for box in ("todo", "done", "overdue"):
        stmt = select(func.count(WorkItem.id)).where(visible_to(user), box_clause(box, user, now))
        result[box] = db.session.execute(stmt).scalar_one()
    pending = approvals_for(user).where(WorkItemApproval.status == "pending")
    result["approvals"] = db.session.execute(select(func.count()).select_from(pending.subquery())).scalar_one()
    return result
