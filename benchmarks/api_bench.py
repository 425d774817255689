"""The read path measured as a client loads it: wrk against 2 gunicorn sync workers, with bare Flask /ping and
a raw-SQL reference implementation of the same endpoints served and measured in the same run.

    make bench-api                                  # installs wrk where apt-get can, then both databases
    .venv/bin/python benchmarks/api_bench.py [--duration 10] [--connections 8] [--workers 2]
        [--backend sqlite|postgresql|both] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_api]
        [--compare principal_cache|tool_settings_cache|pre_ping] [--app-root /path/to/other/checkout]
        [--only me,toolbox,...]

Per endpoint: req/s, p50/p95 (wrk's own latency percentiles), the ratio to bare Flask /ping and, for /me,
/toolbox and /users, to benchmarks/reference_app.py (the same JSON for the same user, checked before the
load). Also the citizen report accept (POST /h5/c/<code>, a 4 MB JPEG, a new idempotency key each request,
from a Python client: uploads are few enough) against a bare multipart endpoint (--only citizen for just that),
and the RSS of each toolbox worker after 10,000 requests.
--compare runs the toolbox twice, the lever off (its setting) and on, and prints after/before per endpoint;
--app-root serves the toolbox from another checkout (e.g. a worktree of main before a change).
Without wrk a Python client is used (it caps near 3,000 req/s on 2 cores: the bare ratio is then too kind).
It DROPS the --pg-url database's public schema: point it at a database of its own.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import secrets
import shutil
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

USERS = {"manager": "ja01-manager", "district": "ja-operator", "grid": "ja01g01-worker"}
# name, path, whose token, reference path (None: no reference)
ENDPOINTS = [
    ("me", "/api/v1/me", "manager", "/api/v1/me"),
    ("toolbox", "/api/v1/toolbox", "manager", "/api/v1/toolbox"),
    ("users", "/api/v1/users?unit=JA01G01", "manager", "/api/v1/users?unit=JA01G01"),
    ("inbox", "/api/v1/work-items?box=all", "manager", None),
    ("query_district", "/api/v1/query?q=%E8%B7%AF", "district", None),
    ("query_grid", "/api/v1/query?q=%E8%B7%AF", "grid", None),
]
# lever → (setting that turns it off, value)
LEVERS = {"principal_cache": ("PRINCIPAL_CACHE_SECONDS", "0"),
          "tool_settings_cache": ("TOOL_SETTINGS_CACHE_SECONDS", "0"),
          "pre_ping": ("DB_PING_IDLE_SECONDS", "-1")}  # -1: every checkout pinged, as pool_pre_ping did
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p95_us\\": %d, "
    .. "\\"errors\\": %d, \\"non2xx\\": %d}\\n", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(95), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(env: dict, tmp: Path) -> dict:
    """Migrate, seed the district and its demo records, a Jing'an code; tokens; the registry's tool dicts."""
    os.environ.update(env)
    from app import create_app
    from app.auth import issue_token
    from app.extensions import db
    from app.models import User
    from app.registry import current_registry
    from app.services.demo import seed_demo
    from app.services.district import seed
    from app.services.places import create_place

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(revision="heads")
        seed()
        seed_demo()
        tokens = {}
        for key, userid in USERS.items():
            user = db.session.query(User).filter_by(wecom_userid=userid).one()
            tokens[key], _ = issue_token(user, client="benchmark")
        from app.models.org import OrgUnit
        unit = db.session.query(OrgUnit).filter_by(code="JA01G01").one()
        place = create_place(name="延平路 123 号", kind="building", org_unit=unit, address="延平路123号",
                             lat=31.2302, lng=121.4401)
        db.session.commit()
        tools = [{**t.to_dict(), "roles": list(t.manifest.roles)} for t in current_registry()]
        place_code = place.code
        db.engine.dispose()
    (tmp / "tools.json").write_text(json.dumps(tools, ensure_ascii=False), encoding="utf-8")
    return {"tokens": tokens, "place": place_code}


def four_mb_jpeg() -> bytes:
    """A 12 MP photo of about 4 MB, like a phone's."""
    from PIL import Image, ImageFilter

    noise = Image.effect_noise((4000, 3000), 60).filter(ImageFilter.GaussianBlur(1.2))
    img = Image.merge("RGB", (noise, noise.rotate(180), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    for quality in (97, 95, 92, 88, 84, 80):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        if buf.tell() <= 4.4 * 1024 * 1024:
            return buf.getvalue()
    return buf.getvalue()


def multipart(photo: bytes, boundary: str) -> bytes:
    fields = {"category": "facilities", "description": "人行道地砖松动，容易绊倒行人", "mobile": "13812345678",
              "privacy": "on", "idempotency_key": "@@KEY@@"}
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + photo + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


class Server:
    def __init__(self, spec: str, workers: int, env: dict, cwd: Path = ROOT):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--log-level",
             "warning", "--timeout", "120", spec], cwd=cwd, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn for {spec} did not start")

    def get(self, path: str, headers: dict) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, body[:200]

    def worker_rss_mib(self) -> list[float]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        sizes = []
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wrk(port: int, path: str, headers: dict, args, script: str = "") -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + WRK_REPORT)
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "30s",
               "-s", f.name]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                            timeout=args.duration + 120).stdout
    os.unlink(f.name)
    line = next(ln for ln in output.splitlines() if ln.startswith("JSON "))
    data = json.loads(line[5:])
    return {"requests": data["requests"], "rps": data["requests"] / (data["duration_us"] / 1e6),
            "p50": data["p50_us"] / 1000, "p95": data["p95_us"] / 1000, "bad": data["errors"] + data["non2xx"]}


def python_load(port: int, path: str, headers: dict, args) -> dict:
    """Fallback without wrk: threads with keep-alive connections for --duration seconds."""
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + args.duration

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status >= 300:
                bad[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ordered = sorted(latencies)
    return {"requests": len(ordered), "rps": len(ordered) / (time.perf_counter() - started),
            "p50": statistics.median(ordered) * 1000, "p95": ordered[int(len(ordered) * 0.95) - 1] * 1000,
            "bad": bad[0]}


def measure(server: Server, path: str, headers: dict, args, script: str = "") -> dict:
    if not script:
        for _ in range(20):  # warm both workers
            server.get(path, headers)
    if shutil.which("wrk"):
        return wrk(server.port, path, headers, args, script)
    return python_load(server.port, path, headers, args)


def line(name: str, row: dict, bare: dict | None = None, ref: dict | None = None) -> str:
    text = f"{name:28} {row['rps']:9.1f} req/s  p50 {row['p50']:7.2f} ms  p95 {row['p95']:7.2f} ms"
    if bare:
        text += f"   {row['rps'] / bare['rps']:5.3f}x bare"
    if ref:
        text += f"   {row['rps'] / ref['rps']:5.2f}x reference"
    if row["bad"]:
        text += f"   ({row['bad']} errors or non-2xx!)"
    return text


def run_backend(backend: str, url: str, args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="toolbox-api-bench-"))
    if backend == "postgresql":
        reset_database(url)
    else:
        url = f"sqlite:///{tmp}/bench.db"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "benchmark-secret-key",
           "FIELD_ENCRYPTION_KEYS": "benchmark-field-key", "INSTANCE_PATH": str(tmp), "MEDIA_ROOT": str(tmp / "media"),
           "TOKEN_IDLE_SECONDS": str(24 * 3600), "CITIZEN_RATE_LIMIT": "100000000/1", "TOOLBOX_ENV": "development",
           "REFERENCE_TOOLS": str(tmp / "tools.json"), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING",
           "JOB_RETRY_INTERVALS": ""}
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    else:
        env.pop("REDIS_URL", None)
    fixture = prepare(env, tmp)
    headers = {key: {"Authorization": f"Bearer {token}"} for key, token in fixture["tokens"].items()}
    endpoints = [e for e in ENDPOINTS if not args.only or e[0] in args.only]
    print(f"\n=== {backend}  ({'wrk' if shutil.which('wrk') else 'python client'}, {args.workers} gunicorn sync "
          f"workers, {args.connections} connections, {args.duration} s per endpoint, {os.cpu_count()} cores, "
          f"redis: {'yes' if args.redis_url else 'no (jobs inline)'})", flush=True)

    bare_server = Server("benchmarks.bare_app:app", args.workers, env)
    try:
        bare = measure(bare_server, "/ping", {}, args)
        print(line("bare Flask GET /ping", bare), flush=True)
        references = {}
        if not args.compare:
            ref_server = Server("benchmarks.reference_app:app", args.workers, env)
            try:
                for name, _path, who, ref_path in endpoints:
                    if ref_path:
                        references[name] = (ref_server.get(ref_path, headers[who])[1],
                                            measure(ref_server, ref_path, headers[who], args))
                        print(line(f"reference {name}", references[name][1], bare), flush=True)
            finally:
                ref_server.stop()
        variants = [("after", {})]
        if args.compare:
            setting, value = LEVERS[args.compare]
            variants = [("before", {setting: value}), ("after", {})]
        results: dict[str, dict] = {}
        for label, overrides in variants:
            server = Server("wsgi:app", args.workers, {**env, **overrides}, cwd=Path(args.app_root or ROOT))
            served = 0
            try:
                for name, path, who, _ref in endpoints:
                    status, body = server.get(path, headers[who])
                    if status != 200:
                        print(f"  {name}: {path} answered {status}: {body}")
                        continue
                    if name in references and references[name][0] != body:
                        print(f"  WARNING: the reference's {name} JSON differs from the toolbox's")
                    row = measure(server, path, headers[who], args)
                    served += row["requests"]
                    results.setdefault(name, {})[label] = row
                    print(line(f"toolbox {name}" + (f" [{label}]" if args.compare else ""), row, bare,
                               references.get(name, (None, None))[1]), flush=True)
                if not args.compare and not args.only:
                    while served < args.rss_requests:
                        served += measure(server, ENDPOINTS[0][1], headers["manager"], args)["requests"]
                    rss = server.worker_rss_mib()
                    print(f"toolbox worker RSS after {served:,} requests: "
                          + ", ".join(f"{r:.0f} MiB" for r in rss), flush=True)
            finally:
                server.stop()
        if args.compare:
            print(f"lever {args.compare} (off: {LEVERS[args.compare][0]}={LEVERS[args.compare][1]}): "
                  "after/before req/s " + ", ".join(
                      f"{n} {r['after']['rps'] / r['before']['rps']:.2f}x" for n, r in results.items()
                      if "before" in r and "after" in r), flush=True)
        if not args.compare and (not args.only or "citizen" in args.only):
            citizen(env, fixture["place"], args)
    finally:
        bare_server.stop()


def post_load(port: int, path: str, body: bytes, boundary: str, args) -> dict:
    """POSTs of body (a new idempotency key in each) from --connections threads for --duration seconds.

    A Python client, not wrk: at tens of uploads a second the client is not the limit, and each request
    needs its own key (wrk's Lua request() rebuilt 4 MB per request and stalled the toolbox's uploads).
    """
    head, _, tail = body.partition(b"@@KEY@@")
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + args.duration
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def client():
        mine = []
        while time.perf_counter() < stop_at:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            started = time.perf_counter()
            conn.request("POST", path, body=head + secrets.token_hex(12).encode() + tail, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            mine.append(time.perf_counter() - started)
            if response.status >= 400:
                bad[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ordered = sorted(latencies)
    return {"requests": len(ordered), "rps": len(ordered) / (time.perf_counter() - started),
            "p50": statistics.median(ordered) * 1000, "p95": ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000,
            "bad": bad[0]}


def citizen(env: dict, place: str, args) -> None:
    """A citizen's report with a 4 MB photo, accepted, against a bare multipart endpoint."""
    photo = four_mb_jpeg()
    boundary = "----toolboxbench" + secrets.token_hex(8)
    body = multipart(photo, boundary)
    quiet = argparse.Namespace(**{**vars(args), "connections": min(args.connections, 4)})
    rows = {}
    for name, spec, path in (("bare multipart POST", "benchmarks.bare_app:app", "/upload"),
                             ("citizen report accept", "wsgi:app", f"/h5/c/{place}")):
        server = Server(spec, args.workers, env)
        try:
            warm = argparse.Namespace(**{**vars(quiet), "duration": 2})
            post_load(server.port, path, body, boundary, warm)  # both workers past their first request
            rows[name] = post_load(server.port, path, body, boundary, quiet)
        finally:
            server.stop()
        print(line(f"{name} ({len(photo) / 1024 / 1024:.1f} MB)", rows[name]), flush=True)
    bare, accept = rows.values()
    print(f"citizen accept p50 / bare multipart p50: {accept['p50'] / bare['p50']:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_API_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_api"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"),
                        help="Redis for the toolbox (jobs queued, cache versions); default: none, jobs inline")
    parser.add_argument("--compare", choices=sorted(LEVERS))
    parser.add_argument("--app-root", help="serve the toolbox (wsgi:app) from this checkout")
    parser.add_argument("--only", type=lambda s: set(s.split(",")), help="endpoint names, comma-separated")
    parser.add_argument("--rss-requests", type=int, default=10_000)
    args = parser.parse_args()
    for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        run_backend(backend, args.pg_url, args)


if __name__ == "__main__":
    main()
