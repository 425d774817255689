"""Every change out: signed, in order per work item, retried with backoff until 2xx, logged, redeliverable;
the system an order came from hears its result even with no subscription (the 12345 back-channel)."""

from __future__ import annotations

import json

from rq import SimpleWorker
from sqlalchemy import select

from app.extensions import db
from app.jobs import get_queue
from app.models.base import utcnow
from app.models.integration import WebhookDelivery
from app.services.integrations import webhooks
from tests.fixtures import USE_REDIS
from tests.integrations.conftest import order
from tests.workflow.helpers import Actor

URL = "/api/v1/integrations/work-orders"


def drain(app, rounds: int = 200) -> None:
    """Run the periodic sweep and real RQ workers until nothing is pending (retries included)."""
    with app.app_context():
        for _ in range(rounds):
            webhooks.sweep_webhooks()
            if USE_REDIS:
                conn = get_queue("notify").connection
                SimpleWorker([get_queue("notify"), get_queue("default")], connection=conn).work(
                    burst=True, with_scheduler=False)
            db.session.rollback()
            if not db.session.execute(select(WebhookDelivery.id).where(WebhookDelivery.status == "pending")).first():
                return
        raise AssertionError("deliveries still pending")


def walk_an_item(client, auth, key: str, place_code: str) -> int:
    """Order in; signed for, forwarded down to the grid, handled, fed back, reviewed, followed up: closed."""
    item_id = client.post(URL, json=order(place_code=place_code), headers={"X-Api-Key": key}).get_json()["work_item_id"]
    api = Actor(client, auth)
    api.ok("ja01-operator", item_id, "sign")
    api.ok("ja01-operator", item_id, "forward", unit="JA01G01", reason="由网格处置")
    api.ok("ja01g01-worker", item_id, "sign")
    api.ok("ja01g01-worker", item_id, "feedback", result="垃圾已清运")
    api.ok("ja-operator", item_id, "review_pass")
    api.ok("ja-operator", item_id, "visit", satisfaction="satisfied")
    return item_id


def test_subscribed_events_arrive_signed_in_order_after_retries(app, client, auth, admin, register, place_code,
                                                               receiver, fast_retries):
    issued = register(events=["work_item.*"])
    hook = receiver(issued["webhook_secret"], fail_first=3)
    client.patch("/api/v1/admin/integrations/hotline12345", json={"webhook_url": hook.url}, headers=admin)
    walk_an_item(client, auth, issued["api_key"], place_code)
    drain(app)

    log = hook.log()
    assert all(entry["signature_ok"] for entry in log)
    assert [e["status"] for e in log[:3]] == [500, 500, 500]
    delivered = [e for e in log if e["status"] == 200]
    assert [e["type"] for e in delivered] == [
        "work_item.created", "work_item.accepted", "work_item.forwarded", "work_item.accepted",
        "work_item.fed_back", "work_item.reviewed", "work_item.closed"]
    assert all(e["header_event"] == e["type"] for e in log)
    assert log[0]["event_id"] == log[3]["event_id"]  # the retries are the same event
    closed = delivered[-1]["data"]
    assert closed["result"] == "垃圾已清运" and closed["handling_unit"]["code"] == "JA01G01"
    assert closed["source"] == {"system": "hotline12345", "external_id": "12345-0001"}

    page = client.get("/api/v1/admin/integrations/hotline12345/deliveries", headers=admin).get_json()
    assert page["total"] == 7 and {d["status"] for d in page["items"]} == {"delivered"}
    first = page["items"][-1]
    assert first["event_type"] == "work_item.created" and first["attempts"] == 4
    assert [a["response_code"] for a in first["log"]] == [500, 500, 500, 200]


def test_the_source_hears_its_result_without_subscribing(app, client, auth, admin, register, place_code, receiver):
    issued = register(events=[])
    hook = receiver(issued["webhook_secret"])
    client.patch("/api/v1/admin/integrations/hotline12345", json={"webhook_url": hook.url}, headers=admin)
    key = {"X-Api-Key": issued["api_key"]}
    item_id = client.post(URL, json=order(place_code=place_code), headers=key).get_json()["work_item_id"]
    api = Actor(client, auth)
    api.ok("ja01-operator", item_id, "return", reason="不属于本街道职责")
    drain(app)
    [returned] = hook.log()
    assert returned["type"] == "work_item.returned"
    assert returned["data"]["reason"] == "不属于本街道职责" and returned["data"]["handling_unit"]["code"] == "JA01"


def test_a_system_hears_nothing_outside_its_units_and_nothing_once_disabled(app, client, auth, admin, register,
                                                                           place_code, receiver):
    source = register()
    other = register("jg", units=["JA02"], events=["work_item.*"])
    hook = receiver(other["webhook_secret"])
    client.patch("/api/v1/admin/integrations/jg", json={"webhook_url": hook.url}, headers=admin)
    watcher = register("watcher", events=["work_item.*"])
    watching = receiver(watcher["webhook_secret"])
    client.patch("/api/v1/admin/integrations/watcher", json={"webhook_url": watching.url}, headers=admin)
    client.post("/api/v1/admin/integrations/watcher/disable", headers=admin)
    client.post(URL, json=order(place_code=place_code), headers={"X-Api-Key": source["api_key"]})
    drain(app)
    assert hook.log() == [] and watching.log() == []


def test_redelivery_sends_the_same_event_again(app, client, auth, admin, register, place_code, receiver):
    issued = register(events=["work_item.created"])
    hook = receiver(issued["webhook_secret"])
    client.patch("/api/v1/admin/integrations/hotline12345", json={"webhook_url": hook.url}, headers=admin)
    client.post(URL, json=order(place_code=place_code), headers={"X-Api-Key": issued["api_key"]})
    drain(app)
    [delivery] = client.get("/api/v1/admin/integrations/hotline12345/deliveries", headers=admin).get_json()["items"]
    again = client.post(f"/api/v1/admin/integrations/hotline12345/deliveries/{delivery['id']}/redeliver",
                        headers=admin)
    assert again.status_code == 202 and again.get_json()["event_id"] == delivery["event_id"]
    drain(app)
    assert [e["event_id"] for e in hook.log()] == [delivery["event_id"]] * 2


def test_a_delivery_failing_past_the_give_up_time_is_failed_and_the_chain_moves_on(app, ctx, district):
    from app.services.integrations import systems
    issued = systems.register({"code": "dead", "name": "停机系统", "webhook_url": "http://127.0.0.1:9/none"}, "test")
    db.session.commit()
    made = webhooks.emit([issued.system], "work_item.created", "work_item:1", {"n": 1})
    made += webhooks.emit([issued.system], "work_item.closed", "work_item:1", {"n": 2})
    db.session.commit()
    old = utcnow().replace(year=utcnow().year - 1)
    for delivery in made:
        delivery.created_at = delivery.next_attempt_at = old  # (embedded mode tried once already)
    db.session.commit()
    webhooks.deliver_chain(issued.system.id, "work_item:1")
    statuses = [db.session.get(WebhookDelivery, d.id, populate_existing=True).status for d in made]
    assert statuses == ["failed", "failed"]


def test_backoff_is_exponential_and_retries_last_more_than_a_day(app, ctx):
    delays = [webhooks.backoff_seconds(n) for n in range(1, 6)]
    assert delays == [delays[0] * 2 ** i for i in range(5)]
    total, attempts = 0.0, 0
    while total < app.config["WEBHOOK_GIVE_UP_SECONDS"]:
        attempts += 1
        total += webhooks.backoff_seconds(attempts)
    assert app.config["WEBHOOK_GIVE_UP_SECONDS"] >= 24 * 3600 and attempts > 10


def test_the_signature_header_carries_one_v1_per_live_secret():
    body = json.dumps({"id": "evt_1"}).encode()
    header = webhooks.signature_header(["new-secret", "old-secret"], body)
    assert header.startswith("t=") and header.count("v1=") == 2
    assert webhooks.verify("new-secret", header, body) and webhooks.verify("old-secret", header, body)
    assert not webhooks.verify("other", header, body) and not webhooks.verify("new-secret", header, body + b" ")


def test_a_tools_record_events_are_heard_by_subscribers(app, client, auth, admin, register, receiver):
    issued = register("watch", events=["flood_duty.point.*"])
    hook = receiver(issued["webhook_secret"])
    client.patch("/api/v1/admin/integrations/watch", json={"webhook_url": hook.url}, headers=admin)
    point = client.post("/api/v1/tools/flood_duty/points", headers=auth.headers("ja01-operator"), json={
        "org_unit": "JA01G01", "name": "延平路武定路口", "address": "静安区延平路武定路口",
        "threshold_cm": 15}).get_json()
    drain(app)
    saved = [e for e in hook.log() if e["type"] == "flood_duty.point.saved"]
    assert saved and saved[0]["data"]["id"] == str(point["id"]) and all(e["signature_ok"] for e in saved)
