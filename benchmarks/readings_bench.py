"""Other systems at a city's scale, on PostgreSQL with Redis and gunicorn:

1. sensor readings posted in batches of 1,000 (POST /api/v1/integrations/readings) — readings/s — beside a
   bare COPY of the same rows into the same table in the same run, and the ratio;
2. inbound work orders (POST /api/v1/integrations/work-orders, each a new routed work item) — orders/s, p50/p95;
3. 10,000 queued webhook deliveries (1,000 work items × 10 events, in order per item) drained by RQ workers
   (`flask toolbox worker notify --simple`; --forking-workers for a forked process per job) against a local
   receiver — seconds until none is pending.

    .venv/bin/python benchmarks/readings_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench \\
        --redis-url redis://127.0.0.1:6379/8 [--workers 2] [--batches 100] [--orders 2000] [--deliveries 10000]

The database named in --database-url is dropped and made afresh (never point it at a database you keep);
the Redis database is flushed.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api_bench import Server  # noqa: E402

DEVICES = 200


def fresh_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def prepare(env: dict) -> dict:
    """Migrate, seed, register a hotline and a sensor platform with DEVICES gauges; return their keys."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services.district import seed
    from app.services.integrations import sensors, systems
    from app.services.places import create_place

    app = create_app()
    with app.app_context():
        upgrade(revision="heads")
        seed()
        from app.models.org import OrgUnit
        unit = db.session.query(OrgUnit).filter_by(code="JA01G01C01").one()
        place = create_place(name="南京西路 100 号", kind="committee", org_unit=unit, address="南京西路 100 号",
                             lat=31.229, lng=121.452)
        hotline = systems.register({"code": "hotline", "name": "12345", "categories": ["environment"],
                                    "units": ["JA"]}, "bench")
        iot = systems.register({"code": "iot", "name": "物联感知平台", "units": ["JA"]}, "bench")
        db.session.flush()
        for n in range(DEVICES):
            sensors.register_device(iot.system, {"device_id": f"WL-{n:04d}", "place_code": place.code,
                                                 "metric": "water_depth", "unit": "cm"}, "bench")
        db.session.commit()
        out = {"hotline": hotline.api_key, "iot": iot.api_key, "place": place.code,
               "iot_id": iot.system.id}
        db.engine.dispose()
    return out


def batches(count: int, size: int, start: datetime, device_offset: int = 0):
    """count batches of size readings, every (device, time) distinct."""
    for b in range(count):
        rows = []
        for i in range(size):
            n = b * size + i
            rows.append({"device_id": f"WL-{(n + device_offset) % DEVICES:04d}", "metric": "water_depth",
                         "value": float(n % 9), "at": (start + timedelta(seconds=n // DEVICES)).isoformat()})
        yield rows


def post_all(port: int, path: str, headers: dict, bodies: list[bytes], concurrency: int):
    """POST every body; returns (elapsed seconds, latencies, answers)."""
    lock, queue, latencies, answers = threading.Lock(), list(reversed(bodies)), [], []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers={**headers, "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            with lock:
                latencies.append(time.perf_counter() - started)
                answers.append((response.status, data))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, answers


def bench_readings(port: int, key: str, count: int, concurrency: int) -> float:
    start = datetime.now(UTC) - timedelta(days=1)
    bodies = [json.dumps({"readings": rows}).encode() for rows in batches(count, 1000, start)]
    elapsed, _, answers = post_all(port, "/api/v1/integrations/readings", {"X-Api-Key": key}, bodies, concurrency)
    accepted = sum(json.loads(d)["accepted"] for s, d in answers if s == 202)
    bad = [s for s, _ in answers if s != 202]
    if bad or accepted != count * 1000:
        raise RuntimeError(f"readings: {len(bad)} failed batches, {accepted} accepted")
    rate = accepted / elapsed
    print(f"readings over HTTP (batches of 1000)   {rate:10.0f} readings/s   ({accepted} in {elapsed:.2f} s)")
    return rate


def bench_copy(url: str, count: int) -> float:
    """The same number of rows, by a bare COPY into the same (partitioned) table, other times."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    dsn = (f"host={target.host or '127.0.0.1'} port={target.port or 5432} user={target.username} "
           f"dbname={target.database}")
    start = datetime.now(UTC) - timedelta(days=2)
    with psycopg.connect(dsn) as conn:
        device_pks = [r[0] for r in conn.execute("SELECT id FROM integration_device ORDER BY id")]
        buffer = io.StringIO()
        for n in range(count * 1000):
            at = start + timedelta(seconds=n // DEVICES)
            buffer.write(f"{device_pks[n % DEVICES]}\t{at.isoformat()}\t{float(n % 9)}\n")
        data = buffer.getvalue()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY integration_reading (device_pk, at, value) FROM STDIN") as copy:
            copy.write(data)
        conn.commit()
        elapsed = time.perf_counter() - started
    rate = count * 1000 / elapsed
    print(f"bare COPY of the same rows              {rate:10.0f} readings/s   ({count * 1000} in {elapsed:.2f} s)")
    return rate


def bench_orders(port: int, key: str, place: str, count: int, concurrency: int) -> None:
    bodies = [json.dumps({"external_id": f"BENCH-{n:06d}", "category": "environment", "place_code": place,
                          "description": "南京西路垃圾堆放无人清运", "reporter_phone": "13912345678"}).encode()
              for n in range(count)]
    warm = bodies[:20]
    post_all(port, "/api/v1/integrations/work-orders", {"X-Api-Key": key}, warm, 2)
    elapsed, latencies, answers = post_all(port, "/api/v1/integrations/work-orders", {"X-Api-Key": key},
                                           bodies[20:], concurrency)
    bad = [s for s, _ in answers if s != 201]
    if bad:
        raise RuntimeError(f"work orders: {len(bad)} answers other than 201, e.g. {bad[0]}")
    ordered = sorted(latencies)
    print(f"inbound work orders                     {len(ordered) / elapsed:10.1f} orders/s     "
          f"p50 {statistics.median(ordered) * 1000:.1f} ms   p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f} ms")


def receiver() -> ThreadingHTTPServer:
    counter = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                counter["n"] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.counter = counter
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bench_deliveries(env: dict, iot_id: int, total: int, workers: int, simple: bool = True) -> None:
    """Write `total` deliveries (10 per work item) as the workflow does, queue their chains, and time the drain."""
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models.integration import IntegrationSystem, WebhookDelivery
    from app.services.integrations import webhooks

    hook = receiver()
    app = create_app()
    with app.app_context():
        system = db.session.get(IntegrationSystem, iot_id)
        system.webhook_url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
        db.session.commit()
        started = time.perf_counter()
        per_item = 10
        for item in range(total // per_item):  # one transaction per work item's changes, as the workflow does
            for n in range(per_item):
                webhooks.emit([system], "work_item.accepted", f"work_item:{item}", {"item": item, "n": n})
            db.session.commit()
        queued = time.perf_counter() - started
    command = [sys.executable, "-m", "flask", "toolbox", "worker", "notify", "--burst", *(["--simple"] * simple)]
    procs = [subprocess.Popen(command,
                              cwd=ROOT, env={**env, "FLASK_APP": "wsgi"}) for _ in range(workers)]
    started = time.perf_counter()
    with app.app_context():
        while True:
            pending = db.session.execute(select(func.count(WebhookDelivery.id)).where(
                WebhookDelivery.status == "pending")).scalar_one()
            db.session.rollback()
            if pending == 0 or time.perf_counter() - started > 600:
                break
            time.sleep(0.2)
        drained = time.perf_counter() - started
        first, last = db.session.execute(select(func.min(WebhookDelivery.last_attempt_at),
                                                func.max(WebhookDelivery.last_attempt_at))).one()
        db.engine.dispose()
    for proc in procs:
        proc.wait(timeout=120)
    hook.shutdown()
    kind = "--simple" if simple else "forking"
    span = (last - first).total_seconds()
    print(f"webhook deliveries ({total}, {workers} {kind} workers)   drained in {span:6.1f} s "
          f"from the first attempt to the last ({drained:.1f} s including the workers' start-up; "
          f"{hook.counter['n']} received; writing and queueing them took {queued:.1f} s; pending left {pending})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to drop and make afresh")
    parser.add_argument("--redis-url", required=True, help="a Redis database to flush and use")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=10000)
    parser.add_argument("--forking-workers", action="store_true",
                        help="drain with RQ's forking workers (a process per job) instead of --simple ones")
    args = parser.parse_args()

    import redis
    redis.Redis.from_url(args.redis_url).flushdb()
    fresh_database(args.database_url)
    tmp = tempfile.mkdtemp(prefix="toolbox-bench-")
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "SECRET_KEY": "benchmark",
           "FIELD_ENCRYPTION_KEYS": "benchmark-field-key", "INSTANCE_PATH": tmp,
           "LOG_LEVEL": "WARNING"}
    keys = prepare(env)
    print(f"database: {args.database_url.split('@')[-1]}; gunicorn workers: {args.workers}; "
          f"client threads: {args.concurrency}; cores: {os.cpu_count()}")
    server = Server("wsgi:app", args.workers, env)
    port = server.port
    try:
        api = bench_readings(port, keys["iot"], args.batches, min(args.concurrency, args.workers * 2))
        bare = bench_copy(args.database_url, args.batches)
        print(f"ratio HTTP/COPY                          {api / bare:10.2f}")
        bench_orders(port, keys["hotline"], keys["place"], args.orders, args.concurrency)
    finally:
        server.stop()
    redis.Redis.from_url(args.redis_url).flushdb()  # the work orders' notification jobs: not measured here
    bench_deliveries(env, keys["iot_id"], args.deliveries, args.workers, simple=not args.forking_workers)


if __name__ == "__main__":
    main()
