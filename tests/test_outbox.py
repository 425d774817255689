"""No job is lost: the job outbox, relayed after commit, swept after a Redis outage or a dead worker.

The outage tests run their own redis-server on a free port, stop and start it; the dead-worker test
SIGKILLs a real worker process in the middle of a photo.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from PIL import Image
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import get_queue, sweep_outbox
from app.models.attachment import Attachment
from app.models.audit import AuditLog
from app.models.base import utcnow
from app.models.outbox import JobOutbox
from app.services import audit
from tests import jobs_for_tests
from tests.citizen_support import run_jobs
from tests.fixtures import needs_redis, process_env

pytestmark = needs_redis


def markers() -> list[str]:
    return [row.detail["label"] for row in db.session.execute(
        select(AuditLog).where(AuditLog.action == "test.marker").order_by(AuditLog.id)).scalars()]


def outbox_statuses() -> list[str]:
    db.session.expire_all()
    return [r.status for r in db.session.execute(select(JobOutbox).order_by(JobOutbox.id)).scalars()]


def test_a_job_asked_for_in_a_rolled_back_transaction_never_runs(ctx):
    audit.record("test.other", detail={"label": "the row"})  # the transaction has written: the job joins it
    jobs_for_tests.write_marker.delay("never")
    db.session.rollback()
    assert outbox_statuses() == [] and get_queue("default").count == 0


def test_a_job_of_a_writing_transaction_is_relayed_only_when_it_commits(app, ctx):
    audit.record("test.other", detail={"label": "the caller's own row"})
    handle = jobs_for_tests.write_marker.delay("after-commit")
    assert handle.get_status() == "pending" and get_queue("default").count == 0
    db.session.commit()
    assert get_queue("default").count == 1 and outbox_statuses() == ["queued"]
    run_jobs(app, "default")
    assert "after-commit" in markers() and outbox_statuses() == ["done"]


def test_the_same_key_asks_for_one_job(ctx):
    first = jobs_for_tests.write_marker.delay("once", key="marker:once")
    second = jobs_for_tests.write_marker.delay("once", key="marker:once")
    assert first.id == second.id
    assert len(outbox_statuses()) == 1 and get_queue("default").count == 1


def test_not_before_and_retry_intervals_reach_rq(ctx):
    when = utcnow() + timedelta(hours=1)
    handle = jobs_for_tests.write_marker.delay("later", not_before=when, retry_intervals=[60, 3600, 86400])
    registry = ScheduledJobRegistry("default", connection=get_queue().connection)
    assert handle.id in registry.get_job_ids() and get_queue("default").count == 0
    rq_job = handle._rq()
    assert rq_job.retries_left == 3 and rq_job.retry_intervals == [60, 3600, 86400]


def test_jobs_a_job_asks_for_go_out_even_when_it_does_not_commit(app, ctx):
    jobs_for_tests.asks_for_a_marker.delay("inner")
    run_jobs(app, "default")
    run_jobs(app, "default")
    assert markers() == ["asked-inner", "inner"]


def test_inline_mode_runs_a_writing_transactions_job_after_its_commit(make_app):
    inline = make_app(REDIS_URL=None)
    with inline.app_context():
        audit.record("test.other", detail={"label": "work"})
        handle = jobs_for_tests.write_marker.delay("inline-after")
        assert handle.get_status() == "deferred" and markers() == []
        db.session.commit()
        assert handle.is_finished and markers() == ["inline-after"]


# --- real processes: a private Redis the test stops and starts, a worker it kills ----------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self, tmp_path):
        self.port, self.dir, self.proc = _free_port(), tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def photo(n: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (n * 40 % 256, 100, 200)).save(buf, "PNG")
    return buf.getvalue()


def upload(client, headers, data: bytes):
    return client.post("/api/v1/attachments", headers=headers,
                       data={"file": (io.BytesIO(data), "p.png")}, content_type="multipart/form-data")


def statuses(app, ids) -> list[str]:
    with app.app_context():
        return [db.session.get(Attachment, i).status for i in ids]


def test_photos_uploaded_while_redis_is_down_are_processed_after_it_returns(
        make_app, district, auth, private_redis, media_root):
    app = make_app(REDIS_URL=private_redis.url, MEDIA_ROOT=str(media_root), OUTBOX_RELAY_GRACE=0)
    headers = auth.headers("ja01g01-worker")
    client = app.test_client()
    private_redis.stop()
    ids = []
    for n in range(3):
        response = upload(client, headers, photo(n))
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    with app.app_context():
        assert outbox_statuses() == ["pending"] * 3
        assert sweep_outbox()["relayed"] == 0  # still down: the sweeper waits, raises nothing
    private_redis.start()
    with app.app_context():
        assert sweep_outbox()["relayed"] == 3
    result = subprocess.run([sys.executable, "-m", "flask", "toolbox", "worker", "media", "--burst"],
                            env=process_env(app, MEDIA_ROOT=str(media_root)), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert statuses(app, ids) == ["ready"] * 3
    with app.app_context():
        assert outbox_statuses() == ["done"] * 3


def test_jobs_redis_forgot_are_relayed_again(make_app, district, auth, private_redis, media_root):
    app = make_app(REDIS_URL=private_redis.url, MEDIA_ROOT=str(media_root))
    response = upload(app.test_client(), auth.headers("ja01g01-worker"), photo(7))
    private_redis.stop()   # no persistence: the queued job is gone with it
    private_redis.start()
    with app.app_context():
        db.session.execute(JobOutbox.__table__.update().values(sent_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        assert sweep_outbox()["lost"] == 1
        db.session.execute(JobOutbox.__table__.update().values(created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        assert sweep_outbox()["relayed"] == 1
        assert get_queue("media").count == 1
    run_jobs(app, "media")
    assert statuses(app, [response.get_json()["id"]]) == ["ready"]


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_photo_whose_worker_was_killed_mid_job_is_processed_again_within_two_minutes(
        make_app, district, auth, private_redis, media_root, tmp_path):
    app = make_app(REDIS_URL=private_redis.url, MEDIA_ROOT=str(media_root), JOB_MONITORING_INTERVAL=5)
    att_id = upload(app.test_client(), auth.headers("ja01g01-worker"), photo(3)).get_json()["id"]
    env = process_env(app, MEDIA_ROOT=str(media_root), SLOW_MARKER=str(tmp_path / "hung"), JOB_RETRY_INTERVALS="0,0",
                      JOB_MONITORING_INTERVAL="5")
    slow = subprocess.Popen([sys.executable, "-m", "tests.slow_media_worker"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: statuses(app, [att_id]) == ["processing"], 120, "the photo to be in processing")
    finally:
        os.killpg(slow.pid, signal.SIGKILL)  # the worker and its work horse, mid-job
        slow.wait(timeout=30)
    killed_at = time.monotonic()
    assert statuses(app, [att_id]) == ["processing"]  # honest: it is not ready, and not given up
    worker = subprocess.Popen([sys.executable, "-m", "flask", "toolbox", "worker", "media"], env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def swept_and_ready():
            with app.app_context():
                sweep_outbox()
            return statuses(app, [att_id]) == ["ready"]
        _wait_for(swept_and_ready, 240, "the photo to be processed again")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    assert time.monotonic() - killed_at < 120
    with app.app_context():
        row = db.session.execute(select(JobOutbox)).scalar_one()
        assert row.status == "done" and row.runs == 2


def test_a_job_rq_gave_up_on_marks_its_photo_failed(make_app, district, auth, private_redis, media_root):
    app = make_app(REDIS_URL=private_redis.url, MEDIA_ROOT=str(media_root))
    att_id = upload(app.test_client(), auth.headers("ja01g01-worker"), photo(5)).get_json()["id"]
    with app.app_context():
        row = db.session.execute(select(JobOutbox)).scalar_one()
        rq_job = get_queue("media").fetch_job(row.job_id)
        rq_job.set_status("failed")   # what RQ does when the last retry's worker died too
        db.session.execute(JobOutbox.__table__.update().values(sent_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        assert sweep_outbox()["failed"] == 1
        assert db.session.scalar(select(func.count()).select_from(JobOutbox).where(JobOutbox.status == "failed")) == 1
    assert statuses(app, [att_id]) == ["failed"]
