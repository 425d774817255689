"""Assessment at district scale: indicators for the 14 streets over a year from N work items.

    .venv/bin/python benchmarks/stats_bench.py [--items 1000000] [--repeat 5]
                     [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_stats]

Fills a PostgreSQL database (created, and emptied, by this script) with the district and N work
items spread over the 85 grids and 6 departments and over the last 400 days, with their facts
(stats_item, written by SQL with spread-out flags rather than through the workflow, which would take
hours at this size); then times the real code: the SQL half of `flask toolbox stats rebuild`
(stats_daily from stats_item) and GET /api/v1/stats/indicators?group=street for a year as the district
operator (the service call and the HTTP request). Prints the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_stats"


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


WORK_ITEMS_SQL = """
INSERT INTO work_item (number, source_tool, source_type, source_id, category, category_name, limit_kind, title,
    description, photo_ids, priority, state, org_unit_id, org_path, dispatch_unit_id, dispatch_path, stage_seq,
    close_days, extension_days, close_due_at, overdue, supervised, closed_at, last_action_at, version,
    created_at, updated_at)
SELECT 'B-' || g, 'citizen_report', 'report', g::text, 'cat' || (g % 12), '类别' || (g % 12), '5 working days',
    '基准工单 ' || g, '', '[]', 'normal', CASE WHEN g % 10 < 8 THEN 'closed' ELSE 'handling' END,
    u.id, u.path, u.parent_id, u.parent_path, 1, 5, 0, t + interval '7 days', g % 37 = 0, false,
    CASE WHEN g % 10 < 8 THEN t + (g % 9) * interval '1 day' END, t, 1, t, t
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT now() - ((g::bigint * 7919) % (400 * 24)) * interval '1 hour' AS t) AS tt
JOIN bench_units u ON u.k = g % (SELECT count(*) FROM bench_units)
"""

STATS_ITEMS_SQL = """
INSERT INTO stats_item (work_item_id, l1, l2, tool, category, received_day, sign_due_day, signed_day, closed_day,
    close_due_day, received, returned, repeat, sign_due, sign_on_time, signed, contacted, closed, closed_on_time,
    solved, rated, satisfied, extended, redone, close_days_sum, overdue_open, is_open)
SELECT w.id, split_part(w.org_path, '/', 3), split_part(w.org_path, '/', 4), w.source_tool, w.category,
    (w.created_at AT TIME ZONE 'Asia/Shanghai')::date,
    (w.created_at AT TIME ZONE 'Asia/Shanghai')::date + 1, (w.created_at AT TIME ZONE 'Asia/Shanghai')::date,
    (w.closed_at AT TIME ZONE 'Asia/Shanghai')::date, (w.close_due_at AT TIME ZONE 'Asia/Shanghai')::date,
    1, (w.id % 23 = 0)::int, (w.id % 17 = 0)::int, 1, (w.id % 13 <> 0)::int, 1, (w.id % 11 <> 0)::int,
    (w.state = 'closed')::int, (w.state = 'closed' AND w.id % 9 <> 0)::int,
    (w.state = 'closed' AND w.id % 19 <> 0)::int,
    (w.state = 'closed' AND w.id % 3 <> 0)::int, (w.state = 'closed' AND w.id % 3 <> 0 AND w.id % 29 <> 0)::int,
    (w.state = 'closed' AND w.id % 31 = 0)::int, (w.state = 'closed' AND w.id % 41 = 0)::int,
    CASE WHEN w.state = 'closed' THEN w.id % 9 ELSE 0 END, (w.state <> 'closed' AND w.overdue)::int,
    w.state <> 'closed'
FROM work_item w WHERE w.number LIKE 'B-%'
"""


def fill(app, items: int) -> None:
    from sqlalchemy import text

    from app.extensions import db
    from app.services.district import seed

    with app.app_context():
        db.drop_all()
        db.create_all()
        seed()
        db.session.commit()
        db.session.execute(text(
            "CREATE TEMP TABLE bench_units AS SELECT row_number() OVER (ORDER BY u.path) - 1 AS k, u.id, u.path, "
            "u.parent_id, p.path AS parent_path FROM org_unit u JOIN org_unit p ON p.id = u.parent_id "
            "WHERE u.level IN ('grid', 'department')"))
        started = time.perf_counter()
        db.session.execute(text(WORK_ITEMS_SQL), {"n": items})
        db.session.execute(text(STATS_ITEMS_SQL))
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"filled {items:,} work items and their facts in {time.perf_counter() - started:.1f} s")


def timed(fn, repeat: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="Reuse the data already there (skip filling).")
    args = parser.parse_args()
    ensure_database(args.database_url)
    os.environ.update({"DATABASE_URL": args.database_url, "REDIS_URL": "", "SECRET_KEY": "bench",
                       "FIELD_ENCRYPTION_KEYS": "bench-key"})
    from sqlalchemy import func, select

    from app import create_app
    from app.auth import issue_token
    from app.extensions import db
    from app.models.base import utcnow
    from app.models.stats import StatsDaily
    from app.models.users import User
    from app.services.assessment.query import indicators
    from app.services.assessment.store import sum_daily
    from app.services.workdays import TZ

    app = create_app({"REDIS_URL": None, "TOKEN_IDLE_SECONDS": 24 * 3600})
    if not args.keep:
        fill(app, args.items)
    else:
        with app.app_context():
            db.create_all()  # tables added since the data was filled
    with app.app_context():
        started = time.perf_counter()
        rows = sum_daily(db.session)
        db.session.commit()
        print(f"stats_daily from stats_item (rebuild, SQL half): {time.perf_counter() - started:.2f} s, "
              f"{rows:,} daily rows")
        today = utcnow().astimezone(TZ).date()
        params = {"group": "street", "from": (today - timedelta(days=364)).isoformat(), "to": today.isoformat()}
        user = db.session.execute(select(User).where(User.wecom_userid == "ja-operator")).scalar_one()
        median, worst, table = timed(lambda: indicators(user, params), args.repeat)
        counted = sum(r["sample"] for r in table["rows"])
        total = db.session.execute(select(func.count()).select_from(StatsDaily)).scalar_one()
        print(f"indicators, 14 streets x 1 year (service): median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms"
              f" ({len(table['rows'])} rows, {counted:,} items received in the year, {total:,} daily rows)")
        token, _ = issue_token(user, client="benchmark")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def request():
        response = client.get("/api/v1/stats/indicators", query_string=params, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response

    median, worst, _ = timed(request, args.repeat)
    print(f"GET /api/v1/stats/indicators?group=street, 1 year, {args.items:,} work items: "
          f"median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms (target < 1000 ms)")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
