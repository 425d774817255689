"""Benchmark: what the job outbox costs per job, against a bare RQ enqueue.

Prints milliseconds per job for:
  - bare RQ `Queue.enqueue` (what `.delay` did before the outbox: nothing in the database);
  - `.delay` in a writing transaction, N jobs then one commit (rows written with it, relayed in one batch);
  - `.delay` outside a transaction (each job committed and relayed on its own);
  - the sweeper relaying N jobs left pending by a Redis outage.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_outbox \
        python benchmarks/outbox_bench.py --jobs 2000

It starts its own redis-server on a free port. The database named by BENCH_DATABASE_URL is wiped and
rebuilt (its name must start with "bench"). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.flood_warning_bench import ensure_database  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_outbox"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int) -> subprocess.Popen:
    import redis

    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", tempfile.mkdtemp()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if redis.Redis(port=port).ping():
                return proc
        except redis.RedisError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def timed(label: str, n: int, fn) -> None:
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed * 1000 / n:8.3f} ms/job   ({n} jobs, {elapsed:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    n = args.jobs
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    ensure_database(db_url)
    port = free_port()
    server = start_redis(port)
    try:
        run(db_url, f"redis://127.0.0.1:{port}/0", n, server, port)
    finally:
        server.terminate()
        server.wait()


def run(db_url: str, redis_url: str, n: int, server, port: int) -> None:
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from app.jobs import get_queue, sweep_outbox
    from app.models.outbox import JobOutbox
    from app.services import audit
    from tests import jobs_for_tests

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench",
                      "FIELD_ENCRYPTION_KEYS": ["bench-field-key"], "OUTBOX_RELAY_GRACE": 0})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        queue = get_queue("default")

        def reset_outbox():
            with db.engine.begin() as conn:
                conn.execute(JobOutbox.__table__.delete())

        timed("bare RQ Queue.enqueue (no outbox)", n,
              lambda: [queue.enqueue(jobs_for_tests.write_marker, "x") for _ in range(n)])
        queue.empty()
        reset_outbox()

        def in_transaction():
            audit.record("bench.write", detail={})
            for _ in range(n):
                jobs_for_tests.write_marker.delay("x")
            db.session.commit()
        timed(".delay in a writing transaction, one commit", n, in_transaction)
        queue.empty()
        reset_outbox()

        timed(".delay outside a transaction (each committed + relayed)", n,
              lambda: [jobs_for_tests.write_marker.delay("x") for _ in range(n)])
        queue.empty()
        reset_outbox()

        server.terminate()
        server.wait()
        audit.record("bench.write", detail={})
        for _ in range(n):
            jobs_for_tests.write_marker.delay("x")
        db.session.commit()   # Redis is down: every row stays pending
        restarted = start_redis(port)
        try:
            def sweep_all():
                while sweep_outbox()["relayed"]:
                    pass
            timed("sweeper relaying jobs left by a Redis outage", n, sweep_all)
            print(f"queued in RQ after the sweep: {get_queue('default').count} of {n}")
        finally:
            restarted.terminate()
            restarted.wait()
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
