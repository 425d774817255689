"""Migrations: `flask db upgrade` from empty works on PostgreSQL and SQLite, and matches the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.extensions import db
from app.schema_filters import include_name, include_object_for
from tests.fixtures import PG_URL, needs_postgres


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "render_as_batch": True,
            "include_name": include_name, "include_object": include_object_for(conn.dialect.name),
        })
        return compare_metadata(context, db.metadata)


@pytest.fixture
def empty_postgres_database():
    """A brand-new PostgreSQL database next to the test one, dropped afterwards."""
    base = make_url(PG_URL)
    name = f"{base.database}_migrations"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def upgrade_and_compare(app):
    """The core chain and every tool's branch (`heads`), from empty, down to nothing, and up again."""
    with app.app_context():
        upgrade(revision="heads")
        assert "alembic_version" in inspect(db.engine).get_table_names()
        assert schema_differences() == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(revision="heads")
        assert schema_differences() == []


@needs_postgres
def test_upgrade_from_empty_on_postgresql_matches_the_models(make_app, empty_postgres_database):
    upgrade_and_compare(make_app(SQLALCHEMY_DATABASE_URI=empty_postgres_database))


def test_upgrade_from_empty_on_sqlite_matches_the_models(make_app, tmp_path):
    upgrade_and_compare(make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}"))
