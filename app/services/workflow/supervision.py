"""Supervision (督办): remind at 80 % of a stage's time, mark overdue at 100 % and escalate to the
nearest manager — each step once per item and stage, however many workers run the pass."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.workitem import WorkItem, WorkItemAlert
from app.services import audit
from app.services.workdays import TZ
from app.services.workflow.indexing import index_item
from app.services.workflow.notices import announce_change, handlers, message, unit_managers
from app.services.workflow.states import OPEN_STATES, STAGE_LABELS
from app.services.workflow.timeline import add_event

REMIND_FRACTION = 0.8


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
        ids = handlers(item)
        if _claim_alert(item, key, "remind", ids):
            taken.append("remind")
            add_event(item, "remind", "system", from_state=item.state, to_state=item.state, at=now, stage=item.stage)
            notify.append((ids, message(item, f"「{stage}」时限将于 {deadline} 到期，请抓紧办理")))
    if now >= due:
        ids = handlers(item)
        if _claim_alert(item, key, "overdue", ids):
            taken.append("overdue")
            item.overdue = True
            add_event(item, "overdue", "system", from_state=item.state, to_state=item.state, at=now,
                      stage=item.stage)
            notify.append((ids, message(item, f"「{stage}」已超期（时限 {deadline}）")))
        manager_unit, managers = unit_managers(item.org_unit)
        if _claim_alert(item, key, "escalate", managers):
            taken.append("escalate")
            item.supervised = True
            add_event(item, "supervise", "system", from_state=item.state, to_state=item.state, at=now,
                      stage=item.stage, auto=True, manager_unit=manager_unit.code)
            notify.append((managers, message(item, f"{item.org_unit.name}「{stage}」已超期，请督办")))
    if taken:
        item.last_action_at = now
        index_item(item)
        audit.record("work_item.supervise", target_type="work_item", target_id=item.id, actor="system",
                     detail={"number": item.number, "stage": key, "levels": taken})
        announce_change(item, "supervise", notify=notify)
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
