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
    with app.app_context():
        upgrade()
        assert "alembic_version" in inspect(db.engine).get_table_names()
        assert schema_differences() == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert schema_differences() == []


@needs_postgres
def test_upgrade_from_empty_on_postgresql_matches_the_models(make_app, empty_postgres_database):
    upgrade_and_compare(make_app(SQLALCHEMY_DATABASE_URI=empty_postgres_database))


def test_upgrade_from_empty_on_sqlite_matches_the_models(make_app, tmp_path):
    upgrade_and_compare(make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}"))


def test_upgrade_keeps_photos_readable_by_linking_them_to_their_records(make_app, tmp_path):
    """Photos held before attachment_link existed are linked to their records by the upgrade."""
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="42204f6516e9")
        now = "2026-11-01 08:00:00"
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO org_unit (id, code, name, level, path, sort_order, created_at, updated_at) "
                              "VALUES (1, 'JA', '静安', 'district', '/JA/', 0, :t, :t)"), {"t": now})
            for att_id in (7, 8):
                conn.execute(text(
                    "INSERT INTO attachment (id, sha256, original_key, content_type, format, size, width, height, "
                    "status, redactions, released, public_token, org_path, created_at, updated_at) VALUES "
                    "(:id, 'x', 'k', 'image/jpeg', 'JPEG', 1, 1, 1, 'ready', '[]', 0, :tok, '/JA/', :t, :t)"),
                    {"id": att_id, "tok": f"tok{att_id}", "t": now})
            conn.execute(text(
                "INSERT INTO work_item (id, number, source_tool, source_type, source_id, category, category_name, "
                "limit_kind, title, description, photo_ids, priority, state, org_unit_id, org_path, "
                "dispatch_unit_id, dispatch_path, stage_seq, close_days, extension_days, close_due_at, overdue, "
                "supervised, last_action_at, version, created_at, updated_at) VALUES (3, 'JA-2026-000003', 't', "
                "'r', '1', 'c', 'c', 'ordinary', 'x', '', '[7, 8, 99]', 'normal', 'dispatched', 1, '/JA/', 1, "
                "'/JA/', 0, 5, 0, :t, 0, 0, :t, 1, :t, :t)"), {"t": now})
        upgrade()
        with db.engine.connect() as conn:
            links = conn.execute(text("SELECT attachment_id, holder_kind, holder_id FROM attachment_link "
                                      "ORDER BY attachment_id")).all()
        assert [tuple(row) for row in links] == [(7, "work_item", "3"), (8, "work_item", "3")]
