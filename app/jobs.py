"""Background jobs: one decorator, one enqueue helper, three named queues.

    @job("notify")
    def send_card(work_item_id: int): ...

    send_card.delay(42)          # RQ with Redis; run in place without it

    send_card.delay(42, key="card:42", not_before=when, retry_intervals=[60, 600, 3600])

Jobs take ids, never model objects. This is the one way to queue a job: with Redis, `.delay` writes
a job_outbox row in the caller's transaction, relayed to RQ after commit; the sweeper
(`sweep_outbox`, run by `flask toolbox scheduler`) relays what Redis missed and re-queues what a
dead worker left (app/services/outbox.py). A failed job is retried with backoff
(JOB_RETRY_INTERVALS) and then kept in RQ's failed registry; without Redis it runs in place,
retried there, its final failure logged at ERROR. Periodic jobs are data (see `periodic`).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from rq import Queue, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job

from app.extensions import db
from app.services.after_commit import after_commit
from app.services.redis_conn import get_redis

log = logging.getLogger(__name__)

QUEUES = ("default", "notify", "media")

_worker_app: Flask | None = None
_worker_app_lock = threading.Lock()


def _app_for_worker() -> Flask:
    """A worker process builds the app once, from the environment (never at import time)."""
    global _worker_app
    with _worker_app_lock:
        if _worker_app is None:
            from app import create_app
            _worker_app = create_app()
        return _worker_app


@dataclass
class InlineJob:
    """What enqueue() returns in embedded mode: the outcome of running the job in place."""

    id: str
    func_name: str
    status: str = "queued"
    result: Any = None
    attempts: int = 0
    error: str | None = None
    meta: dict = field(default_factory=dict)

    def get_status(self) -> str:
        return self.status

    @property
    def is_finished(self) -> bool:
        return self.status == "finished"

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"


def make_worker(queues) -> Worker:
    """An RQ worker on these queues, beating often enough that a dead one's job is re-queued soon."""
    return Worker([get_queue(n) for n in queues], connection=get_redis(),
                  job_monitoring_interval=current_app.config["JOB_MONITORING_INTERVAL"])


def _outbox():
    # Imported when first used: models import the registry, which imports this module.
    from app.services import outbox
    return outbox


def get_queue(name: str = "default") -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; queues are {QUEUES}")
    conn = get_redis()
    if conn is None:
        raise RuntimeError("REDIS_URL is not configured")
    return Queue(name, connection=conn)


class QueuedJob:
    """What enqueue() returns with Redis: the job's id, and its RQ job once the outbox relayed it."""

    def __init__(self, job_id: str, queue: str):
        self.id, self.origin, self._job = job_id, queue, None

    def _rq(self) -> Job | None:
        if self._job is None:
            try:
                self._job = Job.fetch(self.id, connection=get_redis())
            except NoSuchJobError:
                return None
        return self._job

    def get_status(self, refresh: bool = True) -> str:
        rq_job = self._rq()
        if rq_job is None:
            return "pending"  # in the outbox: its transaction has not committed, or Redis was away
        status = rq_job.get_status(refresh=refresh)
        return getattr(status, "value", status)

    def refresh(self) -> None:
        if (rq_job := self._rq()) is not None:
            rq_job.refresh()

    @property
    def meta(self) -> dict:
        rq_job = self._rq()
        return {} if rq_job is None else rq_job.meta

    @property
    def is_finished(self) -> bool:
        return self.get_status() == "finished"

    @property
    def is_failed(self) -> bool:
        return self.get_status() == "failed"

    def return_value(self):
        rq_job = self._rq()
        return None if rq_job is None else rq_job.return_value()

    @property
    def result(self):
        return self.return_value()


def enqueue(func: Callable, *args, queue: str = "default", job_id: str | None = None, timeout: int = 600,
            key: str | None = None, not_before: datetime | None = None, retry_intervals: list[int] | None = None,
            **kwargs):
    """Ask for func(*args, **kwargs) on a named queue; it runs once the caller's transaction commits.

    With Redis the request is a job_outbox row (app.services.outbox): written in the caller's
    transaction when that transaction has written anything (the job goes with its rows or not at
    all), else committed at once; relayed to RQ after commit, and by the sweeper if Redis was away.
    `key` asks for a job once (a second call with the same key is the same job), `not_before`
    delays it, `retry_intervals` (seconds) replaces JOB_RETRY_INTERVALS for this job.
    Without Redis the job runs in place: after the commit of a writing transaction, else now;
    `not_before` and `key` are not honoured there (embedded mode has no clock or queue to wait on).
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; queues are {QUEUES}")
    intervals = list(current_app.config["JOB_RETRY_INTERVALS"] if retry_intervals is None else retry_intervals)
    if get_redis() is None:
        handle = InlineJob(id=job_id or os.urandom(8).hex(), func_name=getattr(func, "__qualname__", str(func)))
        if _outbox().joins_transaction():
            handle.status = "deferred"
            after_commit(lambda: _run_inline(handle, func, args, kwargs, retries=len(intervals)))
            return handle
        return _run_inline(handle, func, args, kwargs, retries=len(intervals))
    queued_id, _new = _outbox().add(func, args, kwargs, queue=queue, timeout=timeout, intervals=intervals,
                                 job_id=job_id, key=key, not_before=not_before)
    return QueuedJob(queued_id, queue)


def _run_inline(handle: InlineJob, func, args, kwargs, retries: int) -> InlineJob:
    for attempt in range(retries + 1):
        handle.attempts = attempt + 1
        try:
            handle.result = func(*args, **kwargs)
            handle.status = "finished"
            return handle
        except Exception as exc:  # noqa: BLE001 - a job's failure must not break the caller
            db.session.rollback()
            handle.error = f"{type(exc).__name__}: {exc}"
            log.warning("inline job %s failed (attempt %d): %s", handle.func_name, attempt + 1, exc)
    handle.status = "failed"
    log.error("inline job %s failed after %d attempts: %s", handle.func_name, handle.attempts, handle.error)
    return handle


def job(queue: str = "default", timeout: int = 600, give_up: Callable | None = None):
    """Declare a job function; call it directly, or `.delay(...)` to queue it.

    `.delay` takes the options of `enqueue` (key=, not_before=, retry_intervals=, job_id=).
    `give_up(*args, **kwargs)` is called when the job will not run again (every retry failed or
    its worker died with none left), e.g. to mark a photo failed instead of processing for ever.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args, **kwargs):
            if has_app_context():
                return _as_worker_job(fn, args, kwargs, give_up)
            with _app_for_worker().app_context():
                return _as_worker_job(fn, args, kwargs, give_up)

        run.delay = lambda *a, **kw: enqueue(run, *a, queue=queue, timeout=timeout, **kw)
        run.queue_name = queue
        run.give_up = give_up
        return run

    return decorate


def _as_worker_job(fn, args, kwargs, give_up):
    """Run fn; under an RQ worker, keep the job's outbox row honest (running, done, failed)."""
    rq_job = get_current_job()
    if rq_job is None:
        return fn(*args, **kwargs)
    outbox = _outbox()
    outbox.mark(rq_job.id, outbox.OutboxStatus.RUNNING)
    try:
        result = fn(*args, **kwargs)
        if outbox.asked_in_open_transaction():
            db.session.commit()  # jobs this job asked for go out even if it did not commit itself
    except Exception as exc:
        db.session.rollback()
        last = not rq_job.retries_left
        status = outbox.OutboxStatus.FAILED if last else outbox.OutboxStatus.QUEUED
        outbox.mark(rq_job.id, status, f"{type(exc).__name__}: {exc}")
        if last and give_up is not None:
            give_up(*args, **kwargs)
        raise
    outbox.mark(rq_job.id, outbox.OutboxStatus.DONE)
    return result


# --- periodic jobs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: Callable
    interval_seconds: int
    queue: str = "default"


PERIODIC_JOBS: dict[str, PeriodicJob] = {}
_last_queued_in_memory: dict[str, float] = {}


def periodic(name: str, interval_seconds: int, queue: str = "default"):
    """Register a job to be queued every interval by the scheduler (`flask toolbox scheduler`)."""
    def decorate(fn: Callable) -> Callable:
        PERIODIC_JOBS[name] = PeriodicJob(name, fn, interval_seconds, queue)
        return fn
    return decorate


def schedule_due_jobs() -> list[str]:
    """Queue each periodic job whose interval has passed; safe to run from many schedulers at once.

    A Redis key per job (SET NX EX interval) is the lock: only one scheduler queues a given
    period, and a restarted scheduler does not queue a job again before its interval is up.
    """
    conn = get_redis()
    queued = []
    now = time.time()
    for pj in PERIODIC_JOBS.values():
        if conn is not None:
            if not conn.set(f"periodic:{pj.name}", "1", nx=True, ex=pj.interval_seconds):
                continue
        elif now - _last_queued_in_memory.get(pj.name, 0) < pj.interval_seconds:
            continue
        _last_queued_in_memory[pj.name] = now
        enqueue(pj.func, queue=pj.queue, job_id=None)
        queued.append(pj.name)
    return queued


def sweep_outbox() -> dict:
    """Relay unsent outbox rows and re-queue jobs of dead workers (the scheduler runs it every tick)."""
    return _outbox().sweep()
