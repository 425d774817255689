"""The job outbox: a job asked for by a transaction is a row of that transaction, so none is lost.

    add(...)      write the row: in the caller's transaction when it has written something (the job
                  goes with its rows, or not at all), else at once on its own connection
    relay(ids)    hand rows to RQ (after commit; again by the sweeper while Redis was away)
    sweep()       relay what is unsent, re-queue what a dead worker left, close what RQ gave up

Delivery is at least once: a job may run twice (a relay whose bookkeeping failed, a worker killed
after its work but before RQ heard), so jobs are written to be idempotent (they take ids).
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.base import utcnow
from app.models.outbox import JobOutbox, OutboxStatus
from app.services.after_commit import after_commit
from app.services.redis_conn import get_redis

log = logging.getLogger(__name__)

FAILED_JOB_TTL = 30 * 24 * 3600  # keep failed jobs a month for inspection and requeue
RESULT_TTL = 24 * 3600
LOST_GRACE = timedelta(seconds=60)    # a queued job Redis no longer knows (flushed, failed over)
KEEP_DONE = timedelta(days=7)
SWEEP_BATCH = 500

_WROTE, BATCH = "outbox_transaction_wrote", "outbox_batch"


@event.listens_for(Session, "after_flush")
def _note_write(session, _flush_context):
    # Marked on the root transaction itself: a savepoint's end does not clear it, and a transaction
    # begun later (in an after-commit hook, say) is another object, so it has not written.
    session.info[_WROTE] = session.get_transaction()


def _writing(session) -> bool:
    """Has the caller's open transaction written (or is about to write) anything?"""
    root = session.get_transaction()
    if root is None:
        return False
    return session.info.get(_WROTE) is root or bool(session.new or session.dirty or session.deleted)


def joins_transaction() -> bool:
    return _writing(db.session())


def dotted(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def add(func, args, kwargs, *, queue: str, timeout: int, intervals: list[int], job_id: str | None = None,
        key: str | None = None, not_before=None) -> tuple[str, bool]:
    """Write the outbox row; return (its RQ job id, whether it is new). Relayed after commit."""
    values = {"job_id": job_id or os.urandom(12).hex(), "key": key, "func": dotted(func), "args": list(args),
              "kwargs": dict(kwargs), "queue": queue, "timeout": timeout, "retry_intervals": list(intervals),
              "not_before": not_before, "status": OutboxStatus.PENDING, "created_at": utcnow()}
    session = db.session()  # the scoped session's current Session
    if _writing(session):
        row_id = _insert(session, values)
        if row_id is None:
            return _existing_job_id(session, key), False
        _relay_after_commit(session, row_id)
        return values["job_id"], True
    with db.engine.begin() as conn:
        row_id = _insert(conn, values)
        if row_id is None:
            return _existing_job_id(conn, key), False
    relay([row_id])
    return values["job_id"], True


def _insert(executor, values: dict) -> int | None:
    """Insert the row; None when a row with the same idempotency key exists (the job is asked for once)."""
    statement = insert(JobOutbox).values(**values).returning(JobOutbox.id)
    if values["key"] is None:
        return executor.execute(statement).scalar_one()
    if _existing_job_id(executor, values["key"]) is not None:
        return None
    try:
        if isinstance(executor, Session):
            with executor.begin_nested():  # a concurrent twin must not spoil the caller's transaction
                return executor.execute(statement).scalar_one()
        return executor.execute(statement).scalar_one()
    except IntegrityError:
        return None  # a concurrent caller asked for the same key first


def _existing_job_id(executor, key):
    return executor.execute(select(JobOutbox.job_id).where(JobOutbox.key == key)).scalar()


def _relay_after_commit(session, row_id: int) -> None:
    """One relay per transaction, after it commits, for every row it asked for."""
    root = session.get_transaction()
    held = session.info.get(BATCH)
    if held is None or held[0] is not root:
        held = session.info[BATCH] = (root, [])
        batch = held[1]
        after_commit(lambda: relay(batch))
    held[1].append(row_id)


def asked_in_open_transaction() -> bool:
    """Did the open transaction ask for jobs (that go out only when it commits)?"""
    session = db.session()
    held = session.info.get(BATCH)
    return held is not None and held[0] is session.get_transaction() and bool(held[1])


# --- relaying ------------------------------------------------------------------------------------

def relay(ids: list[int] | None = None, *, older_than: timedelta | None = None) -> int:
    """Hand pending rows (these ids, or all older than `older_than`) to RQ; return how many went.

    Rows are locked while they are handed over (SKIP LOCKED), so any number of sweepers can run;
    each batch goes to Redis in one pipeline. A Redis failure leaves the batch pending for the next
    sweep: it is logged, never raised.
    """
    conn_redis = get_redis()
    if conn_redis is None or (ids is not None and not ids):
        return 0
    query = select(JobOutbox).where(JobOutbox.status == OutboxStatus.PENDING).order_by(JobOutbox.id)
    if older_than is not None:
        query = query.where(JobOutbox.created_at < utcnow() - older_than)
    sent = 0
    chunks = [ids[i:i + SWEEP_BATCH] for i in range(0, len(ids), SWEEP_BATCH)] if ids is not None else [None]
    for chunk in chunks:
        batch_query = query if chunk is None else query.where(JobOutbox.id.in_(chunk))
        with Session(db.engine) as session, session.begin():
            rows = session.execute(batch_query.limit(SWEEP_BATCH).with_for_update(skip_locked=True)).scalars().all()
            if not rows:
                continue
            try:
                with conn_redis.pipeline() as pipe:
                    for row in rows:
                        _to_rq(row, conn_redis, pipe)
                    pipe.execute()
            except RedisError as exc:
                log.warning("Redis refused %d job(s); they stay in the outbox for the sweeper: %s", len(rows), exc)
                for row in rows:
                    row.last_error = f"relay: {type(exc).__name__}: {exc}"[:2000]
                return sent
            now = utcnow()
            session.execute(update(JobOutbox).where(JobOutbox.id.in_([r.id for r in rows])).values(
                status=OutboxStatus.QUEUED, sent_at=now, relays=JobOutbox.relays + 1))
            sent += len(rows)
    return sent


def _to_rq(row: JobOutbox, conn_redis, pipe) -> None:
    queue = Queue(row.queue, connection=conn_redis)
    intervals = list(row.retry_intervals or [])
    job = queue.create_job(
        row.func, args=row.args, kwargs=row.kwargs, timeout=row.timeout, job_id=row.job_id,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        failure_ttl=FAILED_JOB_TTL, result_ttl=RESULT_TTL, meta={"outbox_id": row.id})
    if row.not_before is not None and row.not_before > utcnow():
        queue.schedule_job(job, row.not_before, pipeline=pipe)
    else:
        queue.enqueue_job(job, pipeline=pipe)


# --- what a worker reports -------------------------------------------------------------------------

def mark(job_id: str, status: str, error: str | None = None) -> None:
    """Record a worker's progress on its row (its own short transaction; a missing row is fine)."""
    values = {"status": status}
    if status == OutboxStatus.RUNNING:
        values["runs"] = JobOutbox.runs + 1
    if status in (OutboxStatus.DONE, OutboxStatus.FAILED):
        values["finished_at"] = utcnow()
    if error is not None:
        values["last_error"] = error[:2000]
    try:
        with db.engine.begin() as conn:
            conn.execute(update(JobOutbox).where(JobOutbox.job_id == job_id).values(**values))
    except SQLAlchemyError as exc:  # bookkeeping must not fail a job that did its work; the sweeper catches up
        log.warning("could not mark job %s %s in the outbox: %s", job_id, status, exc)


# --- the sweeper ---------------------------------------------------------------------------------

def sweep() -> dict:
    """Relay unsent rows, re-queue jobs of dead workers, close what RQ gave up on; return counts."""
    counts = {"relayed": 0, "abandoned": 0, "lost": 0, "failed": 0, "purged": 0}
    conn_redis = get_redis()
    if conn_redis is None:
        return counts
    try:
        counts["abandoned"] = _clean_started(conn_redis)
        counts["failed"], counts["lost"] = _reconcile(conn_redis)
        counts["relayed"] = relay(older_than=timedelta(seconds=current_app.config["OUTBOX_RELAY_GRACE"]))
    except RedisError as exc:
        log.warning("outbox sweep stopped, Redis unreachable: %s", exc)
    with db.engine.begin() as conn:
        counts["purged"] = conn.execute(JobOutbox.__table__.delete().where(
            JobOutbox.status == OutboxStatus.DONE, JobOutbox.finished_at < utcnow() - KEEP_DONE)).rowcount
    return counts


def _clean_started(conn_redis) -> int:
    """RQ re-queues (while retries last) or fails jobs whose worker stopped sending heartbeats."""
    from app.jobs import QUEUES

    abandoned = 0
    for name in QUEUES:
        registry = StartedJobRegistry(name, connection=conn_redis)
        abandoned += len(registry.get_expired_job_ids())
        registry.cleanup()
    return abandoned


def _reconcile(conn_redis) -> tuple[int, int]:
    """Rows RQ holds as given up become failed; rows Redis forgot (and not done) go back to pending."""
    with Session(db.engine) as session, session.begin():
        rows = session.execute(select(JobOutbox).where(
            JobOutbox.status.in_((OutboxStatus.QUEUED, OutboxStatus.RUNNING)),
            JobOutbox.sent_at < utcnow() - LOST_GRACE).order_by(JobOutbox.id).limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)).scalars().all()
        jobs = Job.fetch_many([r.job_id for r in rows], connection=conn_redis) if rows else []
        failed = lost = 0
        for row, rq_job in zip(rows, jobs, strict=True):
            if rq_job is None:
                row.status, lost = OutboxStatus.PENDING, lost + 1
            elif rq_job.get_status(refresh=False) in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                row.status, row.finished_at, failed = OutboxStatus.FAILED, utcnow(), failed + 1
                row.last_error = row.last_error or "given up by RQ (the worker died or every retry failed)"
                _give_up(row)
            elif rq_job.get_status(refresh=False) == JobStatus.FINISHED:
                row.status, row.finished_at = OutboxStatus.DONE, utcnow()
    return failed, lost


def _give_up(row: JobOutbox) -> None:
    """Tell the job's own `give_up` hook (e.g. mark a photo failed) that it will not run again."""
    from rq.utils import import_attribute

    try:
        hook = getattr(import_attribute(row.func), "give_up", None)
        if hook is not None:
            hook(*row.args, **row.kwargs)
    except Exception:  # noqa: BLE001 - one job's hook must not stop the sweep
        log.exception("give-up hook of job %s (%s) failed", row.job_id, row.func)
