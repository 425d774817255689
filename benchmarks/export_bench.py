"""Excel export at scale: time and peak worker memory to export N work items to .xlsx.

    .venv/bin/python benchmarks/export_bench.py [--database-url …/bench_stats] [--sheet-rows 1048575]

Runs the export job (app/services/exports/jobs.py: openpyxl write-only, rows streamed a thousand at a time)
in this process over every work item in the database filled by benchmarks/stats_bench.py, as the district
operator, and prints rows, sheets, seconds, file size and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_stats"))
    parser.add_argument("--sheet-rows", type=int, default=1_048_575)
    args = parser.parse_args()
    os.environ.update({"DATABASE_URL": args.database_url, "REDIS_URL": "", "SECRET_KEY": "bench",
                       "FIELD_ENCRYPTION_KEYS": "bench-key"})
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models.export import ExportJob
    from app.models.users import User
    from app.services.exports.jobs import file_path, request_export

    media = tempfile.mkdtemp(prefix="export-bench-")
    app = create_app({"REDIS_URL": None, "MEDIA_ROOT": media, "EXPORT_SHEET_ROWS": args.sheet_rows})
    with app.app_context():
        db.create_all()
        user = db.session.execute(select(User).where(User.wecom_userid == "ja-operator")).scalar_one()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        export = request_export(user, "work_items", {})  # no Redis: the job runs here, in this process
        seconds = time.perf_counter() - started
        export = db.session.get(ExportJob, export.id)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        size = os.path.getsize(file_path(export)) if export.status == "finished" else 0
        print(f"exported {export.done:,} work items in {seconds:.0f} s ({export.status}, {export.sheets} sheets, "
              f"{size / 1e6:.0f} MB file); peak RSS {peak / 1024:.0f} MB (before the export {before / 1024:.0f} MB)")
        db.engine.dispose()


if __name__ == "__main__":
    main()
