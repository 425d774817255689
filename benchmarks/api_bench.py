"""Requests per second and p50/p95 latency of an authenticated, scoped read endpoint under gunicorn,
beside a bare Flask endpoint measured in the same run on the same machine.

    .venv/bin/python benchmarks/api_bench.py [--requests 3000] [--concurrency 8] [--workers 2]
                                             [--database-url postgresql+psycopg://postgres@127.0.0.1/bench]

The scoped endpoint is GET /api/v1/users?unit=JA01G01 as the JA01 street manager: bearer-token check,
scope filter, paging and serialisation. Without --database-url a fresh SQLite file is used.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(env: dict) -> str:
    """Migrate, seed the district and return a bearer token for the JA01 street manager."""
    os.environ.update(env)
    from app import create_app
    from app.auth import issue_token
    from app.extensions import db
    from app.models import User
    from app.services.district import seed

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(revision="heads")
        seed()
        user = db.session.query(User).filter_by(wecom_userid="ja01-manager").one()
        app.config["TOKEN_IDLE_SECONDS"] = 24 * 3600
        token, _ = issue_token(user, client="benchmark")
        db.session.commit()
        db.engine.dispose()
    return token


def serve(app_spec: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", app_spec], cwd=ROOT, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"gunicorn for {app_spec} did not start")


def load(port: int, path: str, headers: dict, total: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [total]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)

    for _ in range(min(50, total)):  # warm-up, not counted
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
        conn.close()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def summarise(name: str, elapsed: float, latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    row = {"name": name, "rps": len(ordered) / elapsed,
           "p50": statistics.median(ordered) * 1000, "p95": ordered[int(len(ordered) * 0.95) - 1] * 1000}
    print(f"{name:34} {row['rps']:9.1f} req/s   p50 {row['p50']:7.2f} ms   p95 {row['p95']:7.2f} ms")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="toolbox-bench-")
    env = {**os.environ, "DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.db",
           "SECRET_KEY": "benchmark", "FIELD_ENCRYPTION_KEYS": "benchmark-field-key", "INSTANCE_PATH": tmp,
           "TOKEN_IDLE_SECONDS": str(24 * 3600)}
    env.pop("REDIS_URL", None)
    token = prepare_database(env)
    print(f"database: {env['DATABASE_URL'].split('@')[-1]}; gunicorn workers: {args.workers}; "
          f"requests: {args.requests}; concurrency: {args.concurrency}; cores: {os.cpu_count()}")

    results = {}
    for name, spec, path, headers in [
        ("bare Flask GET /ping", "benchmarks.bare_app:app", "/ping", {}),
        ("toolbox GET /api/v1/users (scoped)", "wsgi:app", "/api/v1/users?unit=JA01G01",
         {"Authorization": f"Bearer {token}"}),
    ]:
        port = free_port()
        proc = serve(spec, port, args.workers, env)
        try:
            elapsed, latencies = load(port, path, headers, args.requests, args.concurrency)
            results[name] = summarise(name, elapsed, latencies)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    bare, scoped = results.values()
    print(f"ratio scoped/bare: throughput {scoped['rps'] / bare['rps']:.2f}x, "
          f"p50 latency {scoped['p50'] / bare['p50']:.1f}x, p95 latency {scoped['p95'] / bare['p95']:.1f}x")


if __name__ == "__main__":
    main()
