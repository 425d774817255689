"""Queue a job only once the transaction that created its rows has committed.

A worker that picks a job up before the commit would not find its rows. With Redis, jobs
registered here are queued right after the session commits (and dropped on rollback).
Without Redis (embedded mode), jobs run in place immediately, inside the caller's transaction,
so they see the uncommitted rows and commit with them.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.services.redis_conn import get_redis

_KEY = "jobs_after_commit"


def delay_after_commit(job_fn, *args) -> None:
    """job_fn.delay(*args) after the current db.session commits (now, when there is no Redis)."""
    if get_redis() is None:
        job_fn.delay(*args)
        return
    db.session().info.setdefault(_KEY, []).append((job_fn, args))


@event.listens_for(Session, "after_commit")
def _queue_pending(session: Session) -> None:
    pending = session.info.pop(_KEY, None)
    for job_fn, args in pending or ():
        job_fn.delay(*args)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_KEY, None)
