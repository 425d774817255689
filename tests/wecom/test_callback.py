"""/wecom/callback: verified, decrypted, stored, handled in a job; refusals are 403 and audited."""

import time

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.extensions import db
from app.jobs import get_queue
from app.models.audit import AuditLog
from app.models.wecom import WeComCallbackEvent
from app.wecom.callback import register_handler, unregister_handler
from app.wecom.simulator import _event_xml, encrypt_envelope
from tests.fixtures import USE_REDIS

received: list[dict] = []


def on_card_event(event: dict):
    received.append(event)


failures = {"left": 0}


def flaky_handler(event: dict):
    if failures["left"] > 0:
        failures["left"] -= 1
        raise RuntimeError("downstream not ready")
    received.append(event)


@pytest.fixture
def card_handler():
    received.clear()
    register_handler("template_card_event", on_card_event)
    yield received
    unregister_handler("template_card_event", on_card_event)


def run_jobs(app):
    if USE_REDIS:
        with app.app_context():
            queue = get_queue("default")
            SimpleWorker([queue], connection=queue.connection).work(burst=True)


def _card(task_id):
    return {"card_type": "button_interaction", "main_title": {"title": "转派审批"}, "task_id": task_id,
            "button_list": [{"text": "同意", "key": "approve"}, {"text": "驳回", "key": "reject"}]}


def _envelope(app, xml, nonce="n0nce123", timestamp=None, token=None):
    cfg = app.config
    timestamp = str(timestamp or int(time.time()))
    env = encrypt_envelope(xml, token=token or cfg["WECOM_TOKEN"], aes_key=cfg["WECOM_AES_KEY"],
                           corp_id=cfg["WECOM_CORP_ID"], nonce=nonce, timestamp=timestamp)
    body = (f"<xml><ToUserName><![CDATA[{cfg['WECOM_CORP_ID']}]]></ToUserName>"
            f"<Encrypt><![CDATA[{env['encrypt']}]]></Encrypt></xml>")
    query = {"msg_signature": env["signature"], "timestamp": timestamp, "nonce": nonce}
    return body, query


def _tap_xml(app, userid="ja01-manager", task_id="t1", key="approve"):
    return _event_xml(to_user=app.config["WECOM_CORP_ID"], from_user=userid, agent_id=1000002, event_key=key,
                      task_id=task_id, card_type="button_interaction", response_code="rc-1")


def _denials(app, reason=None):
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(AuditLog.action == "wecom.callback",
                                                         AuditLog.outcome == "denied")).scalars().all()
        return [r.detail["reason"] for r in rows if reason is None or r.detail["reason"] == reason]


def _events(app):
    with app.app_context():
        return db.session.execute(select(WeComCallbackEvent).order_by(WeComCallbackEvent.id)).scalars().all()


def test_url_verification_answers_the_decrypted_echostr(app, client):
    import base64

    from wechatpy.enterprise.crypto import PrpCrypto
    from wechatpy.utils import WeChatSigner

    cfg = app.config
    key = base64.b64decode(cfg["WECOM_AES_KEY"] + "=")
    echostr = PrpCrypto(key).encrypt("echo-4242", cfg["WECOM_CORP_ID"]).decode()
    ts, nonce = str(int(time.time())), "abc"
    signer = WeChatSigner()
    signer.add_data(cfg["WECOM_TOKEN"], ts, nonce, echostr)
    res = client.get("/wecom/callback", query_string={"msg_signature": signer.signature, "timestamp": ts,
                                                      "nonce": nonce, "echostr": echostr})
    assert res.status_code == 200
    assert res.get_data(as_text=True) == "echo-4242"
    bad = client.get("/wecom/callback", query_string={"msg_signature": "0" * 40, "timestamp": ts,
                                                      "nonce": nonce, "echostr": echostr})
    assert bad.status_code == 403
    assert _denials(app) == ["bad_signature"]


def test_card_tap_from_the_simulator_reaches_the_registered_handler(app, wecom_sim, card_handler):
    from app.wecom.client import get_client

    with app.app_context():
        get_client().send_template_card(["ja01-manager"], _card("task-42"))
    result = wecom_sim.tap_result("ja01-manager", "task-42", "approve")
    assert result["status"] == 200
    (stored,) = _events(app)
    assert stored.event == "template_card_event" and stored.from_user == "ja01-manager"
    run_jobs(app)
    (event,) = card_handler
    assert event["FromUserName"] == "ja01-manager"
    assert event["Event"] == "template_card_event"
    assert event["EventKey"] == "approve"
    assert event["TaskId"] == "task-42"
    assert event["CardType"] == "button_interaction"
    assert event["ResponseCode"] == result["response_code"]
    assert int(event["CreateTime"]) <= time.time()
    assert _events(app)[0].status == "handled"
    # The tap's response code updates the card once.
    with app.app_context():
        assert get_client().update_template_card(["ja01-manager"], event["ResponseCode"],
                                                 {"button": {"replace_name": "已同意"}})["errcode"] == 0


def test_replayed_callback_is_refused_audited_and_changes_nothing(app, client, card_handler):
    body, query = _envelope(app, _tap_xml(app), nonce="same-nonce")
    assert client.post("/wecom/callback", query_string=query, data=body).status_code == 200
    run_jobs(app)
    replay = client.post("/wecom/callback", query_string=query, data=body)
    assert replay.status_code == 403
    assert replay.get_json()["error"]["code"] == "callback_replayed"
    run_jobs(app)
    assert len(_events(app)) == 1
    assert len(card_handler) == 1
    assert _denials(app) == ["replayed"]


def test_stale_timestamp_is_refused(app, client, card_handler):
    body, query = _envelope(app, _tap_xml(app), timestamp=int(time.time()) - 301)
    res = client.post("/wecom/callback", query_string=query, data=body)
    assert res.status_code == 403
    assert _events(app) == []
    assert _denials(app) == ["stale_timestamp"]


def test_bad_signature_is_refused(app, client, card_handler):
    body, query = _envelope(app, _tap_xml(app), token="not-our-token")
    assert client.post("/wecom/callback", query_string=query, data=body).status_code == 403
    query2 = {**_envelope(app, _tap_xml(app))[1], "msg_signature": "f" * 40}
    assert client.post("/wecom/callback", query_string=query2, data=body).status_code == 403
    assert client.post("/wecom/callback", data=body).status_code == 403
    assert _events(app) == []
    assert _denials(app) == ["bad_signature", "bad_signature", "missing_parameters"]


def test_a_callback_refused_before_storage_does_not_burn_its_nonce(app, client, card_handler):
    body, query = _envelope(app, _tap_xml(app), nonce="retry-nonce")
    broken = body.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA")
    assert client.post("/wecom/callback", query_string=query, data=broken).status_code == 403
    assert client.post("/wecom/callback", query_string=query, data=body).status_code == 200  # WeCom's retry
    run_jobs(app)
    assert len(card_handler) == 1


def test_unknown_events_are_acknowledged_and_marked_ignored(app, client):
    xml = ("<xml><ToUserName><![CDATA[ww]]></ToUserName><FromUserName><![CDATA[ja-admin]]></FromUserName>"
           "<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event>"
           "</xml>")
    body, query = _envelope(app, xml, nonce="unknown-1")
    assert client.post("/wecom/callback", query_string=query, data=body).status_code == 200
    run_jobs(app)
    (event,) = _events(app)
    assert event.status == "ignored"
    assert event.kind == "enter_agent"


def test_a_failing_handler_is_retried_by_the_job_and_then_handled(app, client):
    received.clear()
    failures["left"] = 1
    register_handler("template_card_event", flaky_handler)
    try:
        body, query = _envelope(app, _tap_xml(app), nonce="flaky-1")
        assert client.post("/wecom/callback", query_string=query, data=body).status_code == 200
        run_jobs(app)
    finally:
        unregister_handler("template_card_event", flaky_handler)
    (event,) = _events(app)
    assert event.status == "handled"
    assert event.attempts == 2
    assert len(received) == 1


def test_stored_but_unqueued_events_are_swept_into_the_queue(app, card_handler):
    from datetime import timedelta

    from app.models.base import utcnow
    from app.wecom.callback import requeue_stale_callbacks

    with app.app_context():
        db.session.add(WeComCallbackEvent(nonce="lost", msg_timestamp=1, msg_type="event",
                                          event="template_card_event", from_user="ja01-manager",
                                          payload={"Event": "template_card_event", "TaskId": "x"},
                                          received_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
        assert requeue_stale_callbacks() == 1
    run_jobs(app)
    assert [e["TaskId"] for e in card_handler] == ["x"]


def test_a_flood_of_refused_callbacks_stops_being_audited(app, client):
    app.config["WECOM_CALLBACK_REFUSAL_LIMIT"] = 3
    try:
        statuses = [client.post("/wecom/callback", data=b"junk").status_code for _ in range(5)]
    finally:
        app.config["WECOM_CALLBACK_REFUSAL_LIMIT"] = 60
    assert statuses == [403, 403, 403, 429, 429]
    assert len(_denials(app)) == 3


def test_replay_over_http_is_refused(app, live_server, card_handler):
    from app.wecom.simulator import post_encrypted

    cfg = app.config
    url = f"{live_server.url}/wecom/callback"
    kwargs = {"token": cfg["WECOM_TOKEN"], "aes_key": cfg["WECOM_AES_KEY"], "corp_id": cfg["WECOM_CORP_ID"],
              "agent_id": 1000002, "nonce": "http-replay", "timestamp": int(time.time())}
    xml = _tap_xml(app)
    assert post_encrypted(url, xml, **kwargs)[0] == 200
    status, body = post_encrypted(url, xml, **kwargs)
    assert status == 403 and "callback_replayed" in body
    run_jobs(app)
    assert len(card_handler) == 1
