"""Keeping the facts current: every commit that changes a work item (or adds to its timeline)
recomputes that item's stats_item row and moves the difference into stats_daily, in the same
transaction; `rebuild()` recomputes everything (flask toolbox stats rebuild).

stats_daily is, by construction, the sum of stats_item grouped by each measure's anchor day; the
incremental path adds (new − old) contributions, the rebuild sums afresh. Both use facts.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from rq import get_current_job
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from app.extensions import db
from app.jobs import job
from app.models.stats import ANCHOR_COLUMNS, MEASURE_COLUMNS, StatsDaily, StatsItem
from app.models.workitem import WorkItem, WorkItemEvent
from app.services.assessment.facts import FactMaker
from app.services.assessment.indicators import MEASURE_ANCHOR

_DIRTY, _BUSY = "stats_dirty_items", "stats_busy"
KEY_COLUMNS = ("day", "l1", "l2", "tool", "category")


def _contributions(row: dict | None) -> dict[tuple, dict[str, int]]:
    """What one item's facts add to stats_daily: {(day, l1, l2, tool, category): {measure: n}}."""
    out: dict[tuple, dict[str, int]] = defaultdict(dict)
    if row is None:
        return out
    for measure in MEASURE_COLUMNS:
        value, day = row.get(measure) or 0, row.get(f"{MEASURE_ANCHOR[measure]}_day")
        if value and day is not None:
            out[(day, row["l1"], row["l2"], row["tool"], row["category"])][measure] = value
    return out


def _insert_for(session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _add_to_daily(session, deltas: dict[tuple, dict[str, int]]) -> None:
    insert_ = _insert_for(session)
    for key in sorted(deltas, key=lambda k: (k[0].isoformat(), *k[1:])):  # one order: no deadlocks
        delta = {m: n for m, n in deltas[key].items() if n}
        if not delta:
            continue
        values = dict(zip(KEY_COLUMNS, key, strict=True)) | {m: delta.get(m, 0) for m in MEASURE_COLUMNS}
        stmt = insert_(StatsDaily).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(KEY_COLUMNS),
            set_={m: getattr(StatsDaily.__table__.c, m) + stmt.excluded[m] for m in delta})
        session.execute(stmt)


def _row_of(stats: StatsItem | None) -> dict | None:
    if stats is None:
        return None
    return {c: getattr(stats, c) for c in ("l1", "l2", "tool", "category", *ANCHOR_COLUMNS, *MEASURE_COLUMNS)}


def refresh_items(session, items: Iterable[WorkItem], maker: FactMaker | None = None) -> int:
    """Recompute these items' facts and move the difference into stats_daily (caller commits)."""
    from app.services.assessment.repeats import repeat_ids

    items = [i for i in items if i.id is not None]
    if not items:
        return 0
    maker = maker or FactMaker()
    repeats = repeat_ids(session, [i.id for i in items])
    deltas: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        stats = session.get(StatsItem, item.id)
        new = maker.facts(item, repeat=item.id in repeats)
        for key, measures in _contributions(_row_of(stats)).items():
            for m, n in measures.items():
                deltas[key][m] -= n
        for key, measures in _contributions(new).items():
            for m, n in measures.items():
                deltas[key][m] += n
        if stats is None:
            session.add(StatsItem(**new))
        else:
            for column, value in new.items():
                setattr(stats, column, value)
    session.flush()
    _add_to_daily(session, deltas)
    return len(items)


# --- the incremental keeper: session hooks ----------------------------------------------------------

@event.listens_for(Session, "before_flush")
def _collect(session, flush_context, instances):
    if session.info.get(_BUSY):
        return
    dirty = session.info.setdefault(_DIRTY, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, WorkItem):
            dirty.add(obj)
        elif isinstance(obj, WorkItemEvent) and obj.work_item is not None:
            dirty.add(obj.work_item)


@event.listens_for(Session, "before_commit")
def _keep_current(session):
    if session.info.get(_BUSY):
        return
    session.flush()
    items = session.info.pop(_DIRTY, None)
    if not items:
        return
    session.info[_BUSY] = True
    try:
        refresh_items(session, [i for i in items if i in session])
    finally:
        session.info.pop(_BUSY, None)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(_DIRTY, None)


# --- the rebuild ----------------------------------------------------------------------------------

def rebuild(batch: int = 500, progress: Callable[[int, int], None] | None = None) -> dict:
    """Recompute every item's facts, then stats_daily from them; commits per batch. Returns counts."""
    session = db.session
    session.info[_BUSY] = True
    try:
        total = session.execute(select(func.count(WorkItem.id))).scalar_one()
        session.execute(delete(StatsDaily))
        session.execute(delete(StatsItem))
        session.commit()
        maker, done, last_id = FactMaker(), 0, 0
        from app.services.assessment.repeats import repeat_ids
        while True:
            items = session.execute(select(WorkItem).where(WorkItem.id > last_id).order_by(WorkItem.id)
                                    .limit(batch).options(selectinload(WorkItem.events))).unique().scalars().all()
            if not items:
                break
            repeats = repeat_ids(session, [i.id for i in items])
            session.execute(insert(StatsItem), [maker.facts(i, repeat=i.id in repeats) for i in items])
            session.commit()
            done, last_id = done + len(items), items[-1].id
            session.expunge_all()
            if progress:
                progress(done, total)
        days = sum_daily(session)
        session.commit()
        return {"items": done, "daily_rows": days}
    finally:
        session.info.pop(_BUSY, None)


def sum_daily(session) -> int:
    """stats_daily := the sums of stats_item per anchor day (the rebuild's second half; pure SQL)."""
    session.execute(delete(StatsDaily))
    table, items = StatsDaily.__table__, StatsItem.__table__
    insert_ = _insert_for(session)
    for anchor in ANCHOR_COLUMNS:
        measures = [m for m in MEASURE_COLUMNS if f"{MEASURE_ANCHOR[m]}_day" == anchor]
        day = items.c[anchor]
        select_ = (select(day, items.c.l1, items.c.l2, items.c.tool, items.c.category,
                          *(func.sum(items.c[m]) for m in measures))
                   .where(day.is_not(None)).group_by(day, items.c.l1, items.c.l2, items.c.tool, items.c.category))
        stmt = insert_(table).from_select([*KEY_COLUMNS, *measures], select_)
        stmt = stmt.on_conflict_do_update(index_elements=list(KEY_COLUMNS),
                                          set_={m: table.c[m] + stmt.excluded[m] for m in measures})
        session.execute(stmt)
    return session.execute(select(func.count()).select_from(table)).scalar_one()


@job("default", timeout=6 * 3600)
def rebuild_job() -> dict:
    """rebuild() as an RQ job; progress in job.meta["progress"] ({done, total})."""
    current = get_current_job()

    def progress(done: int, total: int) -> None:
        if current is not None:
            current.meta["progress"] = {"done": done, "total": total}
            current.save_meta()

    return rebuild(progress=progress)
