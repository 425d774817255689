"""Benchmark: the list of one tool defined without code at N records on PostgreSQL, filtered and sorted.

    python benchmarks/nocode_bench.py --records 1000000          # the issue's figure (a few minutes to load)
    python benchmarks/nocode_bench.py --records 100000 --requests 100

It DROPS AND RECREATES the schema of --db (its name must start with "bench"), seeds the district, defines and
publishes the shared-bike patrol tool (its filterable fields get their expression indexes at publish, as in
production), loads N records in one INSERT … SELECT (spread over the 85 grids, 500 Jing'an codes, counts,
brands, a blocking flag), ANALYZEs, then times GET /api/v1/tools/<code>/records through the whole Flask
stack (token, access check, scope, filter, sort, page, count) for a district operator and a street operator.
Prints p50/p95/max per query. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_nocode"
CODE = "bike_bench"
DEFINITION = {
    "code": CODE, "name": "共享单车停放巡查（基准）", "roles": ["worker", "operator", "manager"],
    "place_kinds": [{"code": "bike_bench_spot", "name": "停放点"}],
    "fields": [
        {"name": "spot", "label": "停放点", "type": "text", "filterable": True},
        {"name": "count", "label": "车辆数", "type": "integer", "filterable": True},
        {"name": "brand", "label": "品牌", "type": "choice", "options": ["美团", "哈啰", "青桔"], "filterable": True},
        {"name": "blocking", "label": "占道", "type": "boolean", "filterable": True},
        {"name": "note", "label": "说明", "type": "long_text"},
    ],
}
QUERIES = [
    ("newest first, no filter", {}),
    ("brand=美团, newest first", {"brand": "美团"}),
    ("blocking=true, sort -count", {"blocking": "true", "sort": "-count"}),
    ("spot=P0042, newest first", {"spot": "P0042"}),
    ("count=75, sort -created_at, page 5", {"count": "75", "page": "5"}),
]


def reset(url: str) -> None:
    parsed = make_url(url)
    if not (parsed.database or "").startswith("bench") or parsed.get_backend_name() != "postgresql":
        raise SystemExit("--db must be a PostgreSQL database whose name starts with 'bench'")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(parsed)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


LOAD = """
INSERT INTO defined_record (tool_code, version, data, legacy, org_unit_id, org_path, photo_ids, created_at, updated_at)
SELECT :code, 1,
       jsonb_build_object('spot', 'P' || lpad(((i * 7) % 500)::text, 4, '0'),
                          'count', (i * 7919) % 100,
                          'brand', (ARRAY['美团', '哈啰', '青桔'])[1 + i % 3],
                          'blocking', i % 5 = 0,
                          'note', '巡查记录 ' || i),
       '{}'::json, g.id, g.path, '[]'::json,
       now() - make_interval(secs => (:n - i) * 30), now() - make_interval(secs => (:n - i) * 30)
FROM generate_series(1, :n) AS i
JOIN LATERAL (SELECT id, path FROM grids WHERE grids.k = i % (SELECT count(*) FROM grids)) AS g ON true
"""


def load(db, n: int) -> float:
    started = time.perf_counter()
    db.session.execute(text("CREATE TEMP TABLE grids AS SELECT row_number() OVER (ORDER BY code) - 1 AS k, id, path "
                            "FROM org_unit WHERE level = 'grid'"))
    db.session.execute(text(LOAD), {"code": CODE, "n": n})
    db.session.commit()
    db.session.execute(text("ANALYZE defined_record"))
    db.session.commit()
    return time.perf_counter() - started


def timed(client, headers, query: dict, requests: int, path: str = "records") -> list[float]:
    url = f"/api/v1/tools/{CODE}/{path}"
    first = client.get(url, headers=headers, query_string=query)       # warm the plan and the caches
    if first.status_code != 200:
        raise SystemExit(f"{url} {query}: {first.status_code} {first.get_data(as_text=True)[:300]}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, headers=headers, query_string=query)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per query")
    parser.add_argument("--db", default=DEFAULT_DB)
    args = parser.parse_args()

    reset(args.db)
    from app import create_app
    from app.auth import issue_token
    from app.extensions import db
    from app.models.users import User
    from app.services import definitions
    from app.services.district import seed

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.db, "REDIS_URL": None, "SECRET_KEY": "bench",
                      "FIELD_ENCRYPTION_KEYS": ["bench-field-key"]})
    with app.app_context():
        db.create_all()
        seed()
        definitions.create_draft(DEFINITION, "bench")
        definitions.publish(CODE, "bench")
        db.session.commit()
        seconds = load(db, args.records)
        size = db.session.execute(text("SELECT pg_total_relation_size('defined_record')")).scalar()
        tokens = {}
        for userid in ("ja-operator", "ja01-operator"):
            user = db.session.execute(db.select(User).where(User.wecom_userid == userid)).scalar_one()
            tokens[userid] = issue_token(user, client="bench")[0]
        db.session.commit()
    print(f"records of one defined tool: {args.records:,} (loaded + ANALYZE in {seconds:.1f} s; "
          f"table + indexes {size / 1024 / 1024:,.0f} MB)")
    client = app.test_client()
    print(f"{'who':14} {'query':38} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    worst = 0.0
    for userid, label in (("ja-operator", "district"), ("ja01-operator", "street JA01")):
        headers = {"Authorization": f"Bearer {tokens[userid]}"}
        floor = sorted(timed(client, headers, {}, args.requests, path="schema"))
        print(f"{label:14} {'(floor: GET …/schema, no records read)':38} {statistics.median(floor):8.1f} "
              f"{floor[max(0, int(len(floor) * 0.95) - 1)]:8.1f} {floor[-1]:8.1f}")
        for name, query in QUERIES:
            times = sorted(timed(client, headers, query, args.requests))
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            worst = max(worst, p95)
            print(f"{label:14} {name:38} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")
    print(f"worst p95 over these lists: {worst:.1f} ms (target < 100 ms at 1,000,000 records)")


if __name__ == "__main__":
    main()
