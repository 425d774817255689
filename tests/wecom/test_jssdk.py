"""JS-SDK signatures: WeCom's algorithm, verified by the simulator as WeCom's client would, tickets cached."""

from __future__ import annotations

import pytest

from app.wecom.jssdk import TICKET_SAFETY_MARGIN, sign
from tests.fixtures import needs_redis

PAGE = "http://127.0.0.1:5000/h5/staff/items/7?box=to_sign"


def test_signature_follows_wecoms_documented_example():
    # The example of WeCom's "JS-SDK 签名算法" page.
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    assert sign(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value") == \
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def _config(client, auth, url=PAGE, **params):
    return client.get("/api/v1/wecom/jsapi-config", query_string={"url": url, **params},
                      headers=auth.headers("ja01g01-worker"))


def test_both_signatures_verify_against_the_simulators_tickets(client, auth, district, wecom_sim):
    res = _config(client, auth, PAGE + "#/tab")
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["url"] == PAGE  # the fragment never takes part
    assert body["config"]["corpId"] == body["agentConfig"]["corpId"] == "ww_jingan_demo"
    assert body["agentConfig"]["agentId"] == "1000002"
    assert wecom_sim.jsapi_verify("config", body["config"], PAGE) == 0
    assert wecom_sim.jsapi_verify("agentConfig", body["agentConfig"], PAGE) == 0
    # Each ticket signs only its own call, and only this URL.
    assert wecom_sim.jsapi_verify("agentConfig", {**body["agentConfig"], "signature": body["config"]["signature"]},
                                  PAGE) == 40093
    assert wecom_sim.jsapi_verify("config", body["config"], PAGE + "&x=1") == 40093


def test_tickets_are_fetched_once_and_reused(client, auth, district, wecom_sim):
    for _ in range(3):
        assert _config(client, auth).status_code == 200
    calls = wecom_sim.stats()
    assert calls["get_jsapi_ticket"] == 1 and calls["ticket/get"] == 1


@needs_redis
def test_tickets_are_shared_by_every_process_through_redis(app, client, auth, district, wecom_sim, make_app):
    assert _config(client, auth).status_code == 200
    other = make_app(REDIS_URL=app.config["REDIS_URL"], WECOM_API_BASE=wecom_sim.api_base)
    token = auth.token("ja01g01-worker")
    res = other.test_client().get("/api/v1/wecom/jsapi-config", query_string={"url": PAGE},
                                  headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200
    assert wecom_sim.jsapi_verify("config", res.get_json()["config"], PAGE) == 0
    assert wecom_sim.stats()["get_jsapi_ticket"] == 1
    # Cached for WeCom's lifetime less the margin: replaced before WeCom expires it.
    from app.services.redis_conn import get_redis
    with app.app_context():
        ttls = [get_redis().ttl(k) for k in get_redis().keys("wecom:jsapi_ticket:*") if not k.endswith(b":lock")]
    assert len(ttls) == 2 and all(0 < t <= 7200 - TICKET_SAFETY_MARGIN for t in ttls)


def test_a_stale_ticket_is_refetched_once_when_the_page_says_wecom_refused_it(app, client, auth, district,
                                                                              wecom_sim):
    first = _config(client, auth).get_json()
    wecom_sim.expire_tickets()  # WeCom no longer accepts the cached tickets
    assert wecom_sim.jsapi_verify("config", first["config"], PAGE) == 42012
    # A refresh right after a fetch keeps the ticket (WeCom allows 100 fetches an hour per app) ...
    kept = _config(client, auth, refresh="1").get_json()
    assert wecom_sim.jsapi_verify("config", kept["config"], PAGE) == 42012
    # ... past the minimum age it fetches new ones, once.
    app.config["WECOM_TICKET_MIN_REFRESH_SECONDS"] = 0
    try:
        fresh = _config(client, auth, refresh="1").get_json()
    finally:
        app.config.pop("WECOM_TICKET_MIN_REFRESH_SECONDS")
    assert wecom_sim.jsapi_verify("config", fresh["config"], PAGE) == 0
    assert wecom_sim.jsapi_verify("agentConfig", fresh["agentConfig"], PAGE) == 0
    assert wecom_sim.stats()["get_jsapi_ticket"] == 2
    assert _config(client, auth).get_json()["config"]["signature"] != first["config"]["signature"]


@pytest.mark.parametrize("url", ["https://evil.example/h5/staff/", "javascript:alert(1)", "/h5/staff/"])
def test_only_our_own_pages_are_signed(client, auth, district, wecom_sim, url):
    res = _config(client, auth, url)
    assert res.status_code == 422
    assert res.get_json()["error"]["code"] == "invalid_url"
    assert "get_jsapi_ticket" not in wecom_sim.stats()


def test_signatures_need_a_signed_in_user(client, district, wecom_sim):
    assert client.get("/api/v1/wecom/jsapi-config", query_string={"url": PAGE}).status_code == 401
