"""No pre-ping per request; a pooled connection that died while idle is replaced, not a 500."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from tests.fixtures import needs_postgres


def test_no_pre_ping_on_every_checkout(app):
    with app.app_context():
        assert not db.engine.pool._pre_ping
        assert "pool_pre_ping" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]


@needs_postgres
def test_a_connection_killed_while_idle_is_replaced(make_app, app, district, auth):
    other = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0}, DB_PING_IDLE_SECONDS=0)
    headers = auth.headers("ja01g01-worker")
    client = other.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with other.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()
    with app.app_context():  # another server-side session ends it, as a restart or a firewall would
        db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with other.app_context():
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
