"""Jobs: one helper, named queues, real RQ workers with Redis, retries ending in the failed registry."""

import subprocess
import sys

import pytest
from rq import SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from app.extensions import db
from app.jobs import PERIODIC_JOBS, InlineJob, get_queue, periodic, schedule_due_jobs
from app.models import AuditLog
from tests import jobs_for_tests
from tests.fixtures import REDIS_URL, needs_redis, process_env


def markers() -> list[str]:
    return [row.detail["label"] for row in db.session.execute(
        select(AuditLog).where(AuditLog.action == "test.marker").order_by(AuditLog.id)).scalars()]


def run_worker(*queues: str) -> None:
    conn = get_queue(queues[0]).connection
    SimpleWorker([get_queue(q) for q in queues], connection=conn).work(burst=True, with_scheduler=False)


@needs_redis
def test_job_is_queued_and_a_real_worker_runs_it(ctx):
    handle = jobs_for_tests.write_marker.delay("from-worker")
    assert handle.origin == "default" and handle.get_status() == "queued"
    assert markers() == []  # nothing happens until a worker picks it up
    run_worker("default")
    db.session.expire_all()
    assert markers() == ["from-worker"]
    assert Job.fetch(handle.id, connection=get_queue().connection).return_value() == "from-worker"


@needs_redis
def test_failing_job_is_retried_then_kept_in_the_failed_registry(ctx, app):
    conn = get_queue("notify").connection
    handle = jobs_for_tests.always_fails.delay("attempts")
    for _ in range(len(app.config["JOB_RETRY_INTERVALS"]) + 1):
        run_worker("notify")
    assert int(conn.get("attempts")) == 1 + len(app.config["JOB_RETRY_INTERVALS"])
    failed = FailedJobRegistry(queue=get_queue("notify"))
    assert handle.id in failed.get_job_ids()
    assert "WeCom said no" in Job.fetch(handle.id, connection=conn).latest_result().exc_string


@needs_redis
def test_a_separate_worker_process_runs_jobs_with_the_app_built_from_the_environment(ctx, app):
    jobs_for_tests.write_marker.delay("from-process")
    env = process_env(app, REDIS_URL=REDIS_URL)
    result = subprocess.run([sys.executable, "-m", "flask", "toolbox", "worker", "default", "--burst"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    db.session.expire_all()
    assert markers() == ["from-process"]


def test_without_redis_jobs_run_inline_through_the_same_code(make_app):
    app = make_app(REDIS_URL=None)
    with app.app_context():
        handle = jobs_for_tests.write_marker.delay("inline")
        assert isinstance(handle, InlineJob) and handle.is_finished and handle.result == "inline"
        assert markers() == ["inline"]


def test_inline_failures_are_retried_and_reported_not_raised(make_app, caplog):
    app = make_app(REDIS_URL=None, JOB_RETRY_INTERVALS=[0, 0, 0])
    with app.app_context():
        handle = jobs_for_tests.always_fails.delay("unused")
    assert handle.is_failed and handle.attempts == 4
    assert "WeCom said no" in handle.error
    assert any(r.levelname == "ERROR" and "failed after 4 attempts" in r.message for r in caplog.records)


def test_unknown_queue_is_refused():
    with pytest.raises(ValueError, match="unknown queue"):
        get_queue("urgent")


@pytest.fixture
def heartbeat_every_hour():
    periodic("test-heartbeat", interval_seconds=3600)(jobs_for_tests.heartbeat)
    yield
    PERIODIC_JOBS.pop("test-heartbeat")


@needs_redis
def test_periodic_jobs_are_queued_once_per_interval_by_any_number_of_schedulers(ctx, heartbeat_every_hour):
    first = schedule_due_jobs()
    second = schedule_due_jobs()  # another scheduler process, or the same one restarted
    assert "test-heartbeat" in first and "test-heartbeat" not in second
    queued = [j for j in get_queue("default").jobs if j.func_name.endswith("heartbeat")]
    assert len(queued) == 1
    run_worker("default")
    db.session.expire_all()
    assert "heartbeat" in markers()
