"""One-click login: the mini-app's code, OAuth in the in-app browser, tokens, logout, rate limit, audit."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, update

from app.extensions import db
from app.models.audit import AuditLog
from app.models.base import utcnow
from app.models.users import ApiToken, User

LOGIN = "/api/v1/auth/wecom/miniprogram"


def login(client, wecom_sim, userid="ja01g01-worker"):
    return client.post(LOGIN, json={"code": wecom_sim.code(userid)})


def login_audit(app):
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(AuditLog.action == "auth.login")
                                  .order_by(AuditLog.id)).scalars().all()
        return [(r.actor, r.outcome, r.detail.get("reason")) for r in rows]


def test_grid_worker_logs_in_with_a_wecom_code_and_sees_their_toolbox(app, client, district, wecom_sim):
    res = login(client, wecom_sim)
    assert res.status_code == 200
    body = res.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"]["userid"] == "ja01g01-worker"
    assert body["user"]["mobile"].startswith("139****")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["roles"] == ["worker"]
    assert [u["code"] for u in me.get_json()["units"]] == ["JA01G01"]
    assert login_audit(app) == [("ja01g01-worker", "ok", None)]
    assert wecom_sim.stats()["jscode2session"] == 1


def test_token_lifetime_is_configurable_ttl(app, client, district, wecom_sim):
    body = login(client, wecom_sim).get_json()
    with app.app_context():
        row = db.session.execute(select(ApiToken)).scalar_one()
        assert (row.expires_at - row.created_at) == timedelta(seconds=app.config["TOKEN_TTL_SECONDS"])
        assert row.client == "miniprogram"
    assert body["expires_at"].startswith(str(row.expires_at.year))


@pytest.mark.parametrize("code", ["garbage", ""])
def test_invalid_code_is_401(app, client, district, wecom_sim, code):
    res = client.post(LOGIN, json={"code": code})
    if code == "":
        assert res.status_code == 422
        return
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "invalid_code"
    assert login_audit(app) == [(None, "failed", "invalid_code")]
    with app.app_context():
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "auth.login")).scalar_one()
        assert row.detail["wecom_errcode"] == 40029


def test_reused_code_is_401(client, district, wecom_sim):
    code = wecom_sim.code("ja01g01-worker")
    assert client.post(LOGIN, json={"code": code}).status_code == 200
    again = client.post(LOGIN, json={"code": code})
    assert again.status_code == 401
    assert again.get_json()["error"]["code"] == "invalid_code"


def test_user_not_in_wecom_is_403(app, client, district, wecom_sim):
    res = client.post(LOGIN, json={"code": wecom_sim.code("stranger")})
    assert res.status_code == 403
    assert res.get_json()["error"]["code"] == "not_in_directory"


def test_wecom_member_missing_from_our_directory_is_403(app, client, district, wecom_sim):
    wecom_sim.put_user("newcomer", name="新同事", department=[1001 + 100])
    res = client.post(LOGIN, json={"code": wecom_sim.code("newcomer")})
    assert res.status_code == 403
    assert res.get_json()["error"]["code"] == "not_in_directory"
    assert login_audit(app) == [("newcomer", "failed", "not_in_directory")]


def test_disabled_user_is_403(app, client, district, wecom_sim):
    with app.app_context():
        db.session.execute(update(User).where(User.wecom_userid == "ja01g01-worker").values(active=False))
        db.session.commit()
    res = login(client, wecom_sim)
    assert res.status_code == 403
    assert res.get_json()["error"]["code"] == "user_disabled"


def test_failed_logins_are_rate_limited_per_client_with_retry_after(app, client, district, wecom_sim):
    app.config["LOGIN_FAILURE_LIMIT"] = 3
    try:
        for _ in range(3):
            assert client.post(LOGIN, json={"code": "bad"}).status_code == 401
        limited = login(client, wecom_sim)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.get_json()["error"]["code"] == "login_rate_limited"
        other = client.post(LOGIN, json={"code": wecom_sim.code("ja01g01-worker")},
                            environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert other.status_code == 200
    finally:
        app.config["LOGIN_FAILURE_LIMIT"] = 10
    assert [o for _, o, _ in login_audit(app)] == ["failed"] * 3 + ["rate_limited", "ok"]


def test_successful_logins_do_not_count_against_the_limit(app, client, district, wecom_sim):
    app.config["LOGIN_FAILURE_LIMIT"] = 2
    try:
        for _ in range(4):
            assert login(client, wecom_sim).status_code == 200
    finally:
        app.config["LOGIN_FAILURE_LIMIT"] = 10


def _token(client, wecom_sim):
    return login(client, wecom_sim).get_json()["token"]


def test_logout_revokes_the_token(app, client, district, wecom_sim):
    headers = {"Authorization": f"Bearer {_token(client, wecom_sim)}"}
    assert client.post("/api/v1/auth/logout", headers=headers).get_json() == {"revoked": True}
    res = client.get("/api/v1/me", headers=headers)
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "token_revoked"
    with app.app_context():
        assert db.session.execute(select(AuditLog.action).where(AuditLog.action == "auth.logout")).scalar_one()


def test_idle_token_expires_after_the_idle_period(app, client, district, wecom_sim):
    headers = {"Authorization": f"Bearer {_token(client, wecom_sim)}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    idle = app.config["TOKEN_IDLE_SECONDS"]
    assert idle == 30 * 60
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_seen_at=utcnow() - timedelta(seconds=idle - 60)))
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # use refreshes last_seen_at
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_seen_at=utcnow() - timedelta(seconds=idle + 1)))
        db.session.commit()
    res = client.get("/api/v1/me", headers=headers)
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "token_idle"
    # The mini-app silently logs in again with a new code.
    assert login(client, wecom_sim).status_code == 200


def test_token_expires_after_its_lifetime_even_when_in_use(app, client, district, wecom_sim):
    headers = {"Authorization": f"Bearer {_token(client, wecom_sim)}"}
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    res = client.get("/api/v1/me", headers=headers)
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "token_expired"


def test_disabling_a_user_ends_their_sessions(app, client, district, wecom_sim):
    headers = {"Authorization": f"Bearer {_token(client, wecom_sim)}"}
    with app.app_context():
        db.session.execute(update(User).where(User.wecom_userid == "ja01g01-worker").values(active=False))
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 403


# --- OAuth in the WeCom in-app browser, end to end over HTTP ------------------------------------

@pytest.fixture
def browser(app, live_server):
    old = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = live_server.url
    yield requests.Session()
    app.config["PUBLIC_BASE_URL"] = old


def test_oauth_redirects_to_the_authorize_page_and_back_into_a_session(app, live_server, district, wecom_sim,
                                                                         browser):
    start = browser.get(f"{live_server.url}/api/v1/auth/wecom/oauth", params={"next": "/h5/tasks?tab=mine"},
                        allow_redirects=False)
    assert start.status_code == 302
    authorize = urlsplit(start.headers["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{wecom_sim.url}/connect/oauth2/authorize"
    query = parse_qs(authorize.query)
    assert query["appid"] == [app.config["WECOM_CORP_ID"]]
    assert query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == [f"{live_server.url}/api/v1/auth/wecom/oauth/callback"]
    # The person confirms in WeCom; WeCom sends the browser back with a code.
    back = browser.get(start.headers["Location"].split("#")[0] + "&userid=ja01g01-worker", allow_redirects=False)
    assert back.status_code == 302
    done = browser.get(back.headers["Location"], allow_redirects=False)
    assert done.status_code == 302, done.text
    assert done.headers["Location"] == "/h5/tasks?tab=mine"
    assert "HttpOnly" in done.headers["Set-Cookie"]
    me = browser.get(f"{live_server.url}/api/v1/me")
    assert me.status_code == 200
    assert me.json()["user"]["userid"] == "ja01g01-worker"
    assert wecom_sim.stats()["getuserinfo"] == 1
    assert login_audit(app) == [("ja01g01-worker", "ok", None)]


def test_cookie_session_needs_the_csrf_header_for_state_changing_requests(app, live_server, district,
                                                                           wecom_sim, browser):
    start = browser.get(f"{live_server.url}/api/v1/auth/wecom/oauth", allow_redirects=False)
    back = browser.get(start.headers["Location"].split("#")[0] + "&userid=ja01g01-worker", allow_redirects=False)
    assert browser.get(back.headers["Location"], allow_redirects=False).headers["Location"] == "/"
    refused = browser.post(f"{live_server.url}/api/v1/auth/logout")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert browser.get(f"{live_server.url}/api/v1/me").status_code == 200  # still signed in
    ok = browser.post(f"{live_server.url}/api/v1/auth/logout",
                      headers={"X-CSRF-Token": browser.cookies["toolbox_csrf"]})
    assert ok.status_code == 200
    assert browser.get(f"{live_server.url}/api/v1/me").status_code == 401


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                      "javascript:alert(1)", "h5/relative"])
def test_oauth_refuses_open_redirects(client, next_url):
    res = client.get("/api/v1/auth/wecom/oauth", query_string={"next": next_url})
    assert res.status_code == 400
    assert res.get_json()["error"]["code"] == "invalid_next"


def test_oauth_callback_without_matching_state_is_refused(app, client, district, wecom_sim):
    res = client.get("/api/v1/auth/wecom/oauth/callback", query_string={"code": wecom_sim.code("ja-admin"),
                                                                        "state": "forged"})
    assert res.status_code == 400
    assert res.get_json()["error"]["code"] == "invalid_state"
    assert login_audit(app) == [(None, "failed", "invalid_state")]


def test_oauth_for_a_non_member_is_403(app, client, district, wecom_sim):
    start = client.get("/api/v1/auth/wecom/oauth")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    res = client.get("/api/v1/auth/wecom/oauth/callback", query_string={"code": wecom_sim.code("outsider"),
                                                                        "state": state})
    assert res.status_code == 403
    assert res.get_json()["error"]["code"] == "not_in_directory"


def test_expired_code_is_401(client, district, wecom_sim):
    res = client.post(LOGIN, json={"code": wecom_sim.code("ja01g01-worker", expires_in=0)})
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "invalid_code"


def test_a_stale_token_does_not_block_logging_in_again(app, client, district, wecom_sim):
    stale = {"Authorization": f"Bearer {_token(client, wecom_sim)}"}
    client.post("/api/v1/auth/logout", headers=stale)
    res = client.post(LOGIN, json={"code": wecom_sim.code("ja01g01-worker")}, headers=stale)
    assert res.status_code == 200


def test_wecom_outage_during_login_is_502_and_audited(app, client, district, wecom_sim):
    old = app.config["WECOM_API_BASE"]
    app.config["WECOM_API_BASE"] = "http://127.0.0.1:9/cgi-bin/"
    try:
        res = client.post(LOGIN, json={"code": "whatever"})
    finally:
        app.config["WECOM_API_BASE"] = old
    assert res.status_code == 502
    assert res.get_json()["error"]["code"] == "wecom_unavailable"
    assert login_audit(app) == [(None, "failed", "wecom_unavailable")]
