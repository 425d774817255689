"""The WeCom adapter talks HTTP to the simulator through wechatpy, with its gaps closed."""

import pytest
import redis
from rq import SimpleWorker

from app.jobs import get_queue
from app.wecom.client import WeComClient, WeComError, get_client, token_storage
from tests.fixtures import REDIS_URL, USE_REDIS, needs_redis


def test_token_is_fetched_from_the_configured_base_not_from_qyapi(ctx, wecom_sim):
    client = get_client()
    assert client.wechatpy.API_BASE_URL == wecom_sim.api_base
    client.get_user("ja01g01-worker")
    assert wecom_sim.stats()["gettoken"] == 1


def test_token_is_cached_between_calls(ctx, wecom_sim):
    client = get_client()
    for _ in range(3):
        client.get_user("ja-admin")
    assert wecom_sim.stats()["gettoken"] == 1
    assert wecom_sim.stats()["user/get"] == 3


@needs_redis
def test_token_cache_is_shared_across_processes_through_redis(app, wecom_sim):
    with app.app_context():
        first = WeComClient(corp_id=app.config["WECOM_CORP_ID"], secret=app.config["WECOM_SECRET"],
                            agent_id=app.config["WECOM_AGENT_ID"], api_base=wecom_sim.api_base,
                            session=token_storage())
        second = WeComClient(corp_id=app.config["WECOM_CORP_ID"], secret=app.config["WECOM_SECRET"],
                             agent_id=app.config["WECOM_AGENT_ID"], api_base=wecom_sim.api_base,
                             session=token_storage())
        first.get_user("ja-admin")
        second.get_user("ja-admin")
    assert wecom_sim.stats()["gettoken"] == 1
    keys = redis.Redis.from_url(REDIS_URL).keys("wecom:*access_token")
    assert len(keys) == 1
    assert 0 < redis.Redis.from_url(REDIS_URL).ttl(keys[0]) <= 7200 - 300


def test_expired_token_mid_session_is_refreshed_and_the_call_retried_once(ctx, wecom_sim):
    client = get_client()
    assert client.get_user("ja-admin")["name"] == "王系统"
    assert wecom_sim.expire_token() == 1
    assert client.get_user("ja-admin")["name"] == "王系统"
    stats = wecom_sim.stats()
    assert stats["gettoken"] == 2
    assert stats["user/get"] == 3  # the first call, the rejected one, the retry


def test_token_errors_are_retried_exactly_once_not_forever(ctx, wecom_sim, app):
    # A token that WeCom keeps rejecting: wechatpy's own auto_retry would loop; we stop after one retry.
    from app.wecom import client as wecom_client

    client = WeComClient(corp_id=app.config["WECOM_CORP_ID"], secret=app.config["WECOM_SECRET"],
                         agent_id=app.config["WECOM_AGENT_ID"], api_base=wecom_sim.api_base, session=token_storage())
    client.get_user("ja-admin")

    original = client._wx.fetch_access_token

    def fetch_then_expire():
        result = original()
        wecom_sim.expire_token()
        return result

    client._wx.fetch_access_token = fetch_then_expire
    wecom_sim.expire_token()
    with pytest.raises(WeComError) as err:
        client.get_user("ja-admin")
    assert err.value.errcode == 42001
    assert wecom_sim.stats()["user/get"] == 3  # one success, one rejected call, exactly one retry
    assert wecom_client.TOKEN_ERRORS >= {40001, 40014, 42001}


def test_wrong_secret_is_a_clear_error(app, wecom_sim):
    with app.app_context():
        client = WeComClient(corp_id=app.config["WECOM_CORP_ID"], secret="wrong", agent_id="1000002",
                             api_base=wecom_sim.api_base, session=token_storage())
        with pytest.raises(WeComError) as err:
            client.get_user("ja-admin")
    assert err.value.errcode == 40001
    assert err.value.endpoint == "gettoken"
    assert wecom_sim.stats()["gettoken"] == 1


def test_unknown_userid_raises_with_wecoms_errcode(ctx, wecom_sim):
    with pytest.raises(WeComError) as err:
        get_client().get_user("nobody")
    assert err.value.errcode == 60111
    assert "userid" in err.value.errmsg
    assert err.value.to_detail()["wecom_errcode"] == 60111


def test_unreachable_wecom_is_a_wecom_error(app):
    with app.app_context():
        client = WeComClient(corp_id="c", secret="s", agent_id="1", api_base="http://127.0.0.1:9/cgi-bin/")
        with pytest.raises(WeComError) as err:
            client.get_user("x")
    assert err.value.errcode is None


def test_send_text_batches_at_most_1000_recipients(ctx, wecom_sim):
    userids = [f"u{i:04d}" for i in range(2345)]
    results = get_client().send_text(userids, "台风预警：请各网格员做好准备")
    assert len(results) == 3
    bodies = wecom_sim.messages()
    assert [len(b["touser"].split("|")) for b in bodies] == [1000, 1000, 345]
    assert bodies[0]["msgtype"] == "text"
    assert bodies[0]["text"]["content"] == "台风预警：请各网格员做好准备"
    assert bodies[0]["agentid"] == 1000002


def _card(task_id):
    return {
        "card_type": "button_interaction",
        "main_title": {"title": "工单流转审批", "desc": "JA-2026-000001"},
        "task_id": task_id,
        "button_list": [{"text": "同意", "style": 1, "key": "approve"}, {"text": "驳回", "style": 2, "key": "reject"}],
    }


def test_template_card_returns_response_code_and_can_be_updated_once(ctx, wecom_sim):
    client = get_client()
    sent = client.send_template_card(["ja01-manager"], _card("task-1"))
    assert sent["response_code"]
    updated = client.update_template_card(["ja01-manager"], sent["response_code"],
                                          {"button": {"replace_name": "已同意"}})
    assert updated["errcode"] == 0
    with pytest.raises(WeComError) as err:
        client.update_template_card(["ja01-manager"], sent["response_code"], {"button": {"replace_name": "x"}})
    assert "response_code" in err.value.errmsg
    sent_body, last = wecom_sim.messages()  # the refused update is not recorded
    assert sent_body["template_card"]["task_id"] == "task-1"
    assert last["response_code"] == sent["response_code"]
    assert last["button"] == {"replace_name": "已同意"}


def test_media_upload(ctx, wecom_sim):
    result = get_client().upload_media("image", "photo.png", b"\x89PNG fake image bytes")
    assert result["media_id"]
    assert result["type"] == "image"


@needs_redis
def test_send_text_message_job_runs_on_the_notify_queue(app, wecom_sim):
    from app.services.notify import send_text_message

    with app.app_context():
        job = send_text_message.delay(["ja01g01-worker", "ja01g02-worker"], "请签收新工单")
        assert job.origin == "notify"
        assert wecom_sim.messages() == []
        queue = get_queue("notify")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    (body,) = wecom_sim.messages()
    assert body["touser"] == "ja01g01-worker|ja01g02-worker"
    assert body["text"]["content"] == "请签收新工单"


@pytest.mark.skipif(USE_REDIS, reason="embedded mode only")
def test_send_text_message_runs_inline_without_redis(app, wecom_sim):
    from app.services.notify import send_text_message

    with app.app_context():
        assert send_text_message.delay(["ja01g01-worker"], "hi").is_finished
    assert len(wecom_sim.messages()) == 1


def test_failed_notification_is_audited_with_wecoms_errcode(app, wecom_sim):
    from sqlalchemy import select

    from app.extensions import db
    from app.models.audit import AuditLog
    from app.services.notify import send_text_message

    app.config["WECOM_AGENT_ID"] = "999"
    try:
        with app.app_context():
            with pytest.raises(WeComError):
                send_text_message(["ja01g01-worker"], "hi")
            row = db.session.execute(select(AuditLog).where(AuditLog.action == "wecom.message")).scalar_one()
    finally:
        app.config["WECOM_AGENT_ID"] = "1000002"
    assert row.outcome == "failed"
    assert row.detail["wecom_errcode"] == 40056
    assert row.detail["wecom_endpoint"] == "message/send"
