"""/users from plain rows: the same JSON as dumping ORM users, in two statements for a page."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.users import User
from miniprogram_api.schemas import UserOut
from tests.fixtures import statements


def test_plain_rows_give_the_same_json_as_orm_users(app, client, district, auth, make_user):
    make_user("phone-user", ("JA01G01", "worker"), ("JA01G02", "operator"), mobile="13912345678", name="张三")
    headers = auth.headers("ja01-manager")
    body = client.get("/api/v1/users?unit=JA01&per_page=100", headers=headers).get_json()
    assert body["total"] == len(body["items"]) > 5
    with app.app_context():
        ids = [item["id"] for item in body["items"]]
        users = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()}
        expected = [UserOut().dump(users[i].to_public()) for i in ids]
    for item in expected + body["items"]:
        item["memberships"].sort(key=lambda m: (m["org_unit"]["code"], m["role"]))
    assert body["items"] == expected
    phone = next(i for i in body["items"] if i["userid"] == "phone-user")
    assert phone["mobile"] == "139****5678" and len(phone["memberships"]) == 2


def test_a_page_of_users_is_two_statements(app, client, district, auth):
    headers = auth.headers("ja01-manager")
    client.get("/api/v1/me", headers=headers)
    with statements(app) as seen:
        assert client.get("/api/v1/users?unit=JA01G01", headers=headers).status_code == 200
    assert len(seen) == 3  # the unit, the page, everyone's memberships


def test_decryption_reuses_one_cipher_per_process(app, client, district, auth, make_user):
    from app.services import crypto

    make_user("phone-user", ("JA01G01", "worker"), mobile="13912345678")
    headers = auth.headers("ja01-manager")
    client.get("/api/v1/users?unit=JA01G01", headers=headers)
    misses = crypto._ciphers.cache_info().misses
    client.get("/api/v1/users?unit=JA01G01", headers=headers)
    assert crypto._ciphers.cache_info().misses == misses  # no Fernet built per value or per request
