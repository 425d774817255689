"""Background jobs: one decorator, one enqueue helper, three named queues.

    @job("notify")
    def send_card(work_item_id: int): ...

    send_card.delay(42)          # RQ with Redis; run in place without it

Jobs take ids, never model objects. With Redis, a failed job is retried with backoff
(JOB_RETRY_INTERVALS) and then kept in RQ's failed registry; without Redis it is retried in
place and its final failure is logged at ERROR. Periodic jobs are data (see `periodic`).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context
from rq import Queue, Retry

from app.services.redis_conn import get_redis

log = logging.getLogger(__name__)

QUEUES = ("default", "notify", "media")
FAILED_JOB_TTL = 30 * 24 * 3600  # keep failed jobs a month for inspection and requeue

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


def get_queue(name: str = "default") -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; queues are {QUEUES}")
    conn = get_redis()
    if conn is None:
        raise RuntimeError("REDIS_URL is not configured")
    return Queue(name, connection=conn)


def enqueue(func: Callable, *args, queue: str = "default", job_id: str | None = None,
            timeout: int = 600, **kwargs):
    """Queue func(*args, **kwargs) on a named queue, or run it now when Redis is absent."""
    intervals = list(current_app.config["JOB_RETRY_INTERVALS"])
    if get_redis() is None:
        return _run_inline(func, args, kwargs, job_id, retries=len(intervals))
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    return get_queue(queue).enqueue(
        func, *args, job_id=job_id, retry=retry, job_timeout=timeout,
        failure_ttl=FAILED_JOB_TTL, result_ttl=24 * 3600, **kwargs,
    )


def _run_inline(func, args, kwargs, job_id, retries: int) -> InlineJob:
    handle = InlineJob(id=job_id or os.urandom(8).hex(), func_name=getattr(func, "__qualname__", str(func)))
    for attempt in range(retries + 1):
        handle.attempts = attempt + 1
        try:
            handle.result = func(*args, **kwargs)
            handle.status = "finished"
            return handle
        except Exception as exc:  # noqa: BLE001 - a job's failure must not break the caller
            handle.error = f"{type(exc).__name__}: {exc}"
            log.warning("inline job %s failed (attempt %d): %s", handle.func_name, attempt + 1, exc)
    handle.status = "failed"
    log.error("inline job %s failed after %d attempts: %s", handle.func_name, handle.attempts, handle.error)
    return handle


def job(queue: str = "default", timeout: int = 600):
    """Declare a job function; call it directly, or `.delay(...)` to queue it."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args, **kwargs):
            if has_app_context():
                return fn(*args, **kwargs)
            with _app_for_worker().app_context():
                return fn(*args, **kwargs)

        run.delay = lambda *a, **kw: enqueue(run, *a, queue=queue, timeout=timeout, **kw)
        run.queue_name = queue
        return run

    return decorate


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
