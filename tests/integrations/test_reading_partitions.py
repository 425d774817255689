"""The readings table on PostgreSQL, as the migration makes it: partitioned by month, months made ahead by a
job, old months dropped by the retention job."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.extensions import db
from app.services.integrations import sensors
from tests.fixtures import PG_URL, needs_postgres


@pytest.fixture
def migrated_postgres(make_app):
    base = make_url(PG_URL)
    name = f"{base.database}_partitions"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = make_app(SQLALCHEMY_DATABASE_URI=base.set(database=name).render_as_string(hide_password=False))
    with app.app_context():
        upgrade(revision="heads")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def partitions() -> list[str]:
    return sorted(db.session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'integration_reading'")).scalars())


@needs_postgres
def test_readings_are_partitioned_by_month_and_old_months_are_dropped(migrated_postgres):
    app = migrated_postgres
    with app.app_context():
        assert sensors.is_partitioned()
        sensors.ensure_partitions(months_ahead=3)
        now = datetime.now(UTC)
        this_month = sensors.partition_name(sensors._month_start(now))
        assert this_month in partitions() and "integration_reading_default" in partitions()
        old = datetime(now.year - 3, 1, 1, tzinfo=UTC)
        db.session.execute(text(f"CREATE TABLE {sensors.partition_name(old)} PARTITION OF integration_reading "
                                f"FOR VALUES FROM ('{old.isoformat()}') TO ('{sensors._next_month(old).isoformat()}')"))
        db.session.execute(text("INSERT INTO integration_reading VALUES (1, :old, 1.0), (1, :now, 2.0)"),
                           {"old": old, "now": now})
        db.session.commit()
        outcome = sensors.apply_retention()
        assert outcome["dropped"] == [sensors.partition_name(old)]
        assert sensors.partition_name(old) not in partitions() and this_month in partitions()
        assert db.session.execute(text("SELECT value FROM integration_reading")).scalars().all() == [2.0]
