"""Benchmark: a red flood warning for the whole district with 5,000 people on duty.

Measures, end to end over real HTTP to the local WeCom simulator and real RQ workers on Redis:
  - the operator's request (POST /api/v1/tools/flood_duty/warnings): levels, 5,000 duty calls, commit;
  - the time from that request until the simulator has accepted a message for every person on duty;
  - the number of `message/send` calls (WeCom accepts at most 1,000 users per call).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_tools \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/5 python benchmarks/flood_warning_bench.py --people 5000 --workers 2

The database named by BENCH_DATABASE_URL is wiped and rebuilt (its name must start with "bench"), and the
Redis database is flushed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_tools"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"


def bench_config(db_url: str, redis_url: str, wecom_base: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis_url, "WECOM_API_BASE": wecom_base,
            "SECRET_KEY": "bench", "FIELD_ENCRYPTION_KEYS": ["bench-field-key"], "JOB_RETRY_INTERVALS": [1, 5]}


def ensure_database(db_url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if not (url.database or "").startswith("bench"):
        raise SystemExit(f"refusing to wipe {url.database!r}: the benchmark database name must start with 'bench'")
    if url.get_backend_name() != "postgresql":
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).first():
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def worker_main(config: dict) -> None:
    """One RQ worker process on the notify queue (spawned, so it builds its own app)."""
    from rq import SimpleWorker

    from app import create_app
    from app.jobs import get_queue

    app = create_app(config)
    with app.app_context():
        queue = get_queue("notify")
        SimpleWorker([queue], connection=queue.connection).work(logging_level="WARNING")


def setup_data(app, people: int) -> None:
    """Reset the schema, seed Jing'an, and put `people` staff on red-level rosters across all grids."""
    from sqlalchemy import select, text

    from app.extensions import db
    from app.models.base import utcnow
    from app.models.org import OrgLevel, OrgUnit
    from app.models.users import User
    from app.services.district import seed
    from toolbox.flood_duty.models import Roster, RosterMember

    with app.app_context():
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        seed()
        now = utcnow()
        db.session.execute(User.__table__.insert(), [
            {"wecom_userid": f"duty{i:05d}", "name": f"防汛值班{i}", "active": True, "created_at": now,
             "updated_at": now} for i in range(people)])
        user_ids = db.session.execute(select(User.id).where(User.wecom_userid.like("duty%"))
                                      .order_by(User.id)).scalars().all()
        grids = db.session.execute(select(OrgUnit).where(OrgUnit.level == OrgLevel.GRID)
                                   .order_by(OrgUnit.path)).scalars().all()
        rosters = [Roster(org_unit=g, org_unit_id=g.id, org_path=g.path, name=f"{g.name}汛期值班",
                          activate_from="blue", shift_start=now - timedelta(hours=1),
                          shift_end=now + timedelta(hours=23)) for g in grids]
        db.session.add_all(rosters)
        db.session.flush()
        db.session.execute(RosterMember.__table__.insert(), [
            {"roster_id": rosters[n % len(rosters)].id, "user_id": uid, "duty": "on_duty"}
            for n, uid in enumerate(user_ids)])
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes on the notify queue")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    args = parser.parse_args()

    import logging

    import redis

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("app.wecom.client").setLevel(logging.ERROR)

    from app import create_app
    from app.wecom.simulator import SimulatorServer, simulator_from_config

    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    ensure_database(db_url)
    redis.Redis.from_url(redis_url).flushdb()

    probe = create_app(bench_config(db_url, redis_url, "http://127.0.0.1:9/cgi-bin/"))
    sim = SimulatorServer(simulator_from_config(probe.config)).start()
    config = bench_config(db_url, redis_url, f"{sim.url}/cgi-bin/")
    app = create_app(config)
    print(f"setting up {args.people} people on duty in 85 grids ...", flush=True)
    setup_data(app, args.people)
    for i in range(args.people):  # the simulator's directory knows everyone, so no recipient is invalid
        sim.state.users[f"duty{i:05d}"] = {"userid": f"duty{i:05d}", "name": f"防汛值班{i}", "department": [1],
                                           "main_department": 1, "status": 1, "enable": 1}

    from app.auth import issue_token
    from app.extensions import db
    from app.models.users import User

    with app.app_context():
        operator = db.session.execute(db.select(User).where(User.wecom_userid == "ja-operator")).scalar_one()
        token, _ = issue_token(operator, client="bench")
        db.session.commit()

    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=worker_main, args=(config,), daemon=True) for _ in range(args.workers)]
    for w in workers:
        w.start()
    from rq import Worker

    conn = redis.Redis.from_url(redis_url)
    ready_by = time.monotonic() + 60
    while Worker.count(connection=conn) < args.workers and time.monotonic() < ready_by:
        time.sleep(0.1)  # the clock starts once every worker is listening

    client = app.test_client()
    t0 = time.perf_counter()
    res = client.post("/api/v1/tools/flood_duty/warnings", json={"org_unit": "JA", "level": "red",
                                                                 "hazard": "typhoon", "message": "基准测试"},
                      headers={"Authorization": f"Bearer {token}"})
    t_request = time.perf_counter() - t0
    if res.status_code != 201:
        raise SystemExit(f"raising the warning failed: {res.status_code} {res.get_json()}")
    warning = res.get_json()

    expected = {f"duty{i:05d}" for i in range(args.people)}
    reached: set[str] = set()
    deadline = t0 + args.timeout
    while time.perf_counter() < deadline:
        messages = list(sim.state.messages)
        reached = {u for m in messages if m.get("msgtype") == "textcard" for u in m["touser"].split("|")}
        if expected <= reached:
            break
        time.sleep(0.01)
    t_done = time.perf_counter() - t0
    for w in workers:
        w.terminate()
        w.join(5)
    sim.stop()

    sends = sim.state.calls.get("message/send", 0)
    sizes = [len(m["touser"].split("|")) for m in sim.state.messages if m.get("msgtype") == "textcard"]
    print(f"people on duty called:          {warning['calls_count']}")
    print(f"operator request (raise + calls): {t_request:.3f} s")
    print(f"all messages accepted after:     {t_done:.3f} s ({len(expected & reached)}/{len(expected)} people)")
    print(f"message/send calls:              {sends} (recipients per call: {sorted(sizes, reverse=True)})")
    print(f"RQ worker processes:             {args.workers}")
    if not expected <= reached:
        raise SystemExit("not every person was reached before the timeout")


if __name__ == "__main__":
    main()
