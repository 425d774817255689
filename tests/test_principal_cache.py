"""The per-process caches of the resolved principal and of tool settings (app/services/local_cache.py).

A cached principal must never outlive a revocation, a logout, a disabled account or a role change:
at once in the process that made the change, within 1 s in every other (the version key in Redis).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import ApiToken
from app.models.base import utcnow
from app.models.users import Membership, User
from app.services import local_cache
from tests.fixtures import needs_redis, statements


def token_statements(seen):
    return [s for s in seen if "api_token" in s]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clocks(app):
    """Every cache of the app on a clock the test moves."""
    clock = FakeClock()
    caches = app.extensions["local_caches"].values()
    for cache in caches:
        cache.clock = clock
    yield clock
    for cache in caches:
        cache.clock = __import__("time").monotonic


def test_authentication_is_one_statement_then_none_while_cached(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    with statements(app) as seen:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert len(token_statements(seen)) == 1
    assert "membership" in token_statements(seen)[0]  # user, memberships and units in the same statement
    with statements(app) as seen:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert token_statements(seen) == [] and not any("membership" in s for s in seen)


def test_no_statement_on_a_cached_toolbox(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    assert client.get("/api/v1/toolbox", headers=headers).status_code == 200
    with statements(app) as seen:
        response = client.get("/api/v1/toolbox", headers=headers)
    assert response.status_code == 200 and response.get_json()["items"]
    # No token, no tool settings, no pre-ping. (The registry's look at published tool definitions runs on
    # every access in tests, DEFINITIONS_REFRESH_SECONDS=0; at most every 2 s in production.)
    assert [s for s in seen if "tool_definition" not in s] == []


def test_logout_is_refused_at_once_on_the_same_worker(client, district, auth):
    headers = auth.headers("ja01g01-worker")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code in (200, 204)
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"


def test_a_revocation_by_update_is_refused_at_once(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_disabling_a_user_is_refused_at_once(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():
        user = db.session.execute(select(User).where(User.wecom_userid == "ja01g01-worker")).scalar_one()
        user.active = False
        db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "user_disabled"


def test_a_removed_role_shrinks_the_scope_at_once(app, client, district, auth):
    headers = auth.headers("ja01-manager")
    assert client.get("/api/v1/users?unit=JA01G01", headers=headers).status_code == 200
    with app.app_context():
        user = db.session.execute(select(User).where(User.wecom_userid == "ja01-manager")).scalar_one()
        for membership in list(user.memberships):
            db.session.delete(membership)
        db.session.commit()
    assert client.get("/api/v1/users?unit=JA01G01", headers=headers).status_code == 403


def test_routine_use_does_not_invalidate_the_cache(app, client, district, auth, clocks):
    """last_seen_at moving forward (every 30 s of use) is no change anyone must hear about."""
    headers = auth.headers("ja01g01-worker")
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    before = app.extensions["local_caches"]["principal"].version()
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # refreshes last_seen_at
    assert app.extensions["local_caches"]["principal"].version() == before


def test_the_idle_timeout_still_holds(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    idle = app.config["TOKEN_IDLE_SECONDS"]
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_seen_at=utcnow() - timedelta(seconds=idle + 1)))
        db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_idle"


@needs_redis
@pytest.mark.parametrize("change", ["revoke", "disable"])
def test_a_change_on_another_worker_is_refused_within_one_second(app, make_app, district, auth, clocks, change):
    """Two app instances share PostgreSQL and Redis as two gunicorn workers do; B changes, A must follow."""
    other = make_app()
    headers = auth.headers("ja01g01-worker")
    client_a = app.test_client()
    assert client_a.get("/api/v1/me", headers=headers).status_code == 200  # cached in A
    with other.app_context():
        if change == "revoke":
            row = db.session.execute(select(ApiToken)).scalar_one()
            row.revoked_at = utcnow()
        else:
            db.session.execute(update(User).where(User.wecom_userid == "ja01g01-worker").values(active=False))
        db.session.commit()  # B's commit bumps the version in Redis
    clocks.now += 1.0
    assert client_a.get("/api/v1/me", headers=headers).status_code in (401, 403)


@needs_redis
def test_a_role_granted_on_another_worker_shows_within_one_second(app, make_app, district, auth, clocks):
    other = make_app()
    headers = auth.headers("ja01g01-worker")
    client_a = app.test_client()
    before = client_a.get("/api/v1/me", headers=headers).get_json()["roles"]
    with other.app_context():
        user = db.session.execute(select(User).where(User.wecom_userid == "ja01g01-worker")).scalar_one()
        unit = district.unit("JA01")
        db.session.add(Membership(user_id=user.id, org_unit_id=unit.id, role="operator"))
        db.session.commit()
    clocks.now += 1.0
    after = client_a.get("/api/v1/me", headers=headers).get_json()["roles"]
    assert "operator" in after and "operator" not in before


def test_without_redis_an_entry_lives_at_most_one_second():
    cache = local_cache.VersionedCache("principal", None, max_age=30)
    clock = FakeClock()
    cache.clock = clock
    value, version = cache.get("k")
    cache.put("k", "v", version)
    assert cache.get("k")[0] == "v"
    clock.now += 1.01
    assert cache.get("k")[0] is None


class BrokenRedis:
    def get(self, key):
        raise ConnectionError("down")

    def incr(self, key):
        raise ConnectionError("down")


def test_when_redis_cannot_be_read_the_cache_is_bypassed():
    cache = local_cache.VersionedCache("principal", BrokenRedis(), max_age=30)
    value, version = cache.get("k")
    cache.put("k", "v", version)
    assert version is None and cache.get("k")[0] is None
    cache.bump()  # logs, does not raise
