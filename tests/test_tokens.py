"""Bearer tokens: checked on every /api request; expire absolutely, when idle, and when revoked."""

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken
from app.models.base import utcnow


def age_token(app, **changes):
    with app.app_context():
        row = db.session.execute(select(ApiToken)).scalar_one()
        for field, value in changes.items():
            setattr(row, field, value)
        db.session.commit()


def error_code(response):
    return response.get_json()["error"]["code"]


def test_a_fresh_token_opens_the_api(client, district, auth):
    response = client.get("/api/v1/me", headers=auth.headers("ja01g01-worker"))
    assert response.status_code == 200
    assert response.get_json()["user"]["userid"] == "ja01g01-worker"


def test_an_expired_token_is_refused(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    age_token(app, expires_at=utcnow() - timedelta(seconds=1))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and error_code(response) == "token_expired"


def test_an_idle_token_is_refused(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    age_token(app, last_seen_at=utcnow() - timedelta(seconds=app.config["TOKEN_IDLE_SECONDS"] + 1))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and error_code(response) == "token_idle"


def test_use_keeps_a_token_alive(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    almost_idle = utcnow() - timedelta(seconds=app.config["TOKEN_IDLE_SECONDS"] - 5)
    age_token(app, last_seen_at=almost_idle)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():
        assert db.session.execute(select(ApiToken.last_seen_at)).scalar_one() > almost_idle


def test_a_revoked_token_is_refused(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    age_token(app, revoked_at=utcnow())
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and error_code(response) == "token_revoked"


def test_a_disabled_user_is_refused_even_with_a_valid_token(app, client, district, auth):
    headers = auth.headers("ja01g01-worker")
    with app.app_context():
        district.user("ja01g01-worker").active = False
        db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 403 and error_code(response) == "user_disabled"


def test_only_a_hash_of_the_token_is_stored(app, district, auth):
    token = auth.token("ja01g01-worker")
    with app.app_context():
        stored = db.session.execute(select(ApiToken.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64
