"""Timestamps come back timezone-aware UTC on every database (SQLite would hand back naive ones)."""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import OrgUnit

SHANGHAI = timezone(timedelta(hours=8))


def test_an_aware_timestamp_is_stored_and_read_back_as_utc(ctx, district):
    unit = district.unit("JA01")
    unit.updated_at = datetime(2026, 7, 1, 9, 30, tzinfo=SHANGHAI)
    db.session.commit()
    db.session.expire_all()
    read = db.session.execute(select(OrgUnit.updated_at).where(OrgUnit.code == "JA01")).scalar_one()
    assert read == datetime(2026, 7, 1, 1, 30, tzinfo=UTC)
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_taken_as_utc(ctx, district):
    unit = district.unit("JA02")
    unit.updated_at = datetime(2026, 7, 1, 9, 30)
    db.session.commit()
    db.session.expire_all()
    read = db.session.execute(select(OrgUnit.updated_at).where(OrgUnit.code == "JA02")).scalar_one()
    assert read == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
