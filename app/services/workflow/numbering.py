"""Work-item numbers, JA-2026-000123: one counter row per year, incremented atomically."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models.workitem import WorkItemCounter
from app.services.workdays import TZ


def next_number(now) -> str:
    year = now.astimezone(TZ).year
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(WorkItemCounter).values(year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["year"], set_={"last": WorkItemCounter.last + 1})
    last = db.session.execute(stmt.returning(WorkItemCounter.last)).scalar_one()
    return f"JA-{year}-{last:06d}"
