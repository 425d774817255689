"""Migrations: `flask db upgrade` from empty works on PostgreSQL and SQLite, and matches the models."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, migrate, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.extensions import db
from app.schema_filters import include_name, include_object_for
from tests.fixtures import PG_URL, needs_postgres


def schema_differences() -> list:
    """The database against the models of the core and of the tools this app registers."""
    tables = current_app.extensions["toolbox"].tables(db.Model)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "render_as_batch": True,
            "include_name": include_name, "include_object": include_object_for(conn.dialect.name, tables),
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


def test_a_third_party_tool_brings_its_own_branch(make_app, tmp_path):
    """The sample tool's revisions live in its folder: upgrading `heads` applies them beside the core."""
    app = make_app(TOOLBOX_PACKAGES=("tests.sample_tools",), SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'b.db'}")
    upgrade_and_compare(app)
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"shared_bikes_point", "shared_bikes_check"} <= tables and "flood_duty_point" not in tables


@pytest.mark.parametrize("chain", ["core", "facade_inspection"])
def test_autogenerate_sees_one_chain_at_a_time(make_app, tmp_path, chain):
    """Autogenerate for one chain (the core, or a tool's: -x tool=<code>) looks at that chain's tables only:
    another tool's missing table is not its business (unfiltered, it would write a revision creating it)."""
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'auto.db'}")
    with app.app_context():
        upgrade(revision="heads")
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE flood_duty_resource"))
        folders = [Path(p) for p in (Path(app.root_path).parent / "migrations" / "versions",
                                     *app.extensions["toolbox"].migration_dirs())]
        before = {f: set(f.glob("*.py")) for f in folders}
        migrate(message="nothing", head=f"{chain}@head", x_arg=[f"tool={chain}"])
        created = [p for f in folders for p in set(f.glob("*.py")) - before[f]]
        for path in created:
            path.unlink()
    assert created == []


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
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            links = conn.execute(text("SELECT attachment_id, holder_kind, holder_id FROM attachment_link "
                                      "ORDER BY attachment_id")).all()
            limit_kind = conn.execute(text("SELECT limit_kind FROM work_item WHERE id = 3")).scalar_one()
        assert [tuple(row) for row in links] == [(7, "work_item", "3"), (8, "work_item", "3")]
        assert limit_kind == "5 working days"  # the kinds of time limit are named by what they are
