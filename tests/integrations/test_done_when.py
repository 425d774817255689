"""Issue 19's "Done when", walked over HTTP: register a system with a webhook to a local receiver, send a work
order twice (one item), forward and close it (signed events in order, with the result), readings over a flood
point's threshold (one waterlogging item), the benchmark's three figures, the README's integration section."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.fixtures import PG_URL, REDIS_URL, needs_postgres, needs_redis
from tests.integrations.conftest import order
from tests.integrations.test_readings import BASE
from tests.integrations.test_webhooks import drain
from tests.workflow.helpers import Actor

ROOT = Path(__file__).resolve().parents[2]


def test_another_system_connects_end_to_end(app, client, auth, admin, district, receiver, fast_retries):
    # An admin registers the hotline; the key and secret come once.
    issued = client.post("/api/v1/admin/integrations", headers=admin, json={
        "code": "hotline12345", "name": "12345市民服务热线", "categories": ["environment"], "units": ["JA01"],
        "events": ["work_item.*"]}).get_json()
    hook = receiver(issued["webhook_secret"], fail_first=1)
    assert client.patch("/api/v1/admin/integrations/hotline12345", headers=admin,
                        json={"webhook_url": hook.url}).status_code == 200
    key = {"X-Api-Key": issued["api_key"]}

    # A place to report at, made over HTTP by the street operator.
    place = client.post("/api/v1/tools/flood_duty/points", headers=auth.headers("ja01-operator"), json={
        "org_unit": "JA01G01", "name": "延平路武定路口", "address": "静安区延平路武定路口",
        "threshold_cm": 15}).get_json()

    # The same order twice: one item.
    body = order(place_code=place["place_code"])
    first = client.post("/api/v1/integrations/work-orders", json=body, headers=key)
    second = client.post("/api/v1/integrations/work-orders", json=body, headers=key)
    assert (first.status_code, second.status_code) == (201, 200)
    item_id = first.get_json()["work_item_id"]
    assert second.get_json()["work_item_id"] == item_id

    # Forwarded and closed in the toolbox.
    api = Actor(client, auth)
    api.ok("ja01-operator", item_id, "sign")
    api.ok("ja01-operator", item_id, "forward", unit="JA01G01", reason="由网格处置")
    api.ok("ja01g01-worker", item_id, "sign")
    api.ok("ja01g01-worker", item_id, "feedback", result="已清运")
    api.ok("ja-operator", item_id, "review_pass")
    api.ok("ja-operator", item_id, "visit", satisfaction="satisfied")
    drain(app)
    log = hook.log()
    assert all(e["signature_ok"] for e in log)
    delivered = [e["type"] for e in log if e["status"] == 200]
    assert delivered[:3] == ["work_item.created", "work_item.accepted", "work_item.forwarded"]
    assert delivered[-1] == "work_item.closed" and log[-1]["data"]["result"] == "已清运"
    state = client.get("/api/v1/integrations/work-orders/12345-0001", headers=key).get_json()
    assert state["state"] == "closed"

    # A sensor platform's gauge at the flood point: readings over the threshold for 10 minutes, one item.
    iot = client.post("/api/v1/admin/integrations", headers=admin, json={
        "code": "iot", "name": "物联感知平台", "units": ["JA01"]}).get_json()
    assert client.post("/api/v1/admin/integrations/iot/devices", headers=admin, json={
        "device_id": "WL-001", "place_code": place["place_code"], "metric": "water_depth", "unit": "cm"}
    ).status_code == 201
    readings = [{"device_id": "WL-001", "metric": "water_depth", "value": 20 + m % 3,
                 "at": (BASE + timedelta(minutes=m)).isoformat()} for m in range(11)]
    sent = client.post("/api/v1/integrations/readings", json={"readings": readings},
                       headers={"X-Api-Key": iot["api_key"]})
    assert sent.status_code == 202 and sent.get_json()["accepted"] == 11
    escalated = client.get("/api/v1/tools/flood_duty/points?waterlogged=true",
                           headers=auth.headers("ja01-operator")).get_json()["items"]
    assert [p["id"] for p in escalated] == [place["id"]]
    assert len(api.inbox("ja-d-fx-operator")["items"]) == 1  # the flood office's one waterlogging item


@needs_postgres
@needs_redis
def test_the_benchmark_prints_the_three_figures():
    url = make_url(PG_URL)
    bench_db = url.set(database=f"{url.database}_readings_bench").render_as_string(hide_password=False)
    result = subprocess.run(
        [sys.executable, "benchmarks/readings_bench.py", "--database-url", bench_db, "--redis-url", REDIS_URL,
         "--batches", "2", "--orders", "40", "--deliveries", "100"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "readings/s" in out and "ratio HTTP/COPY" in out
    assert "orders/s" in out and "p95" in out
    assert "webhook deliveries" in out and "drained in" in out


def test_the_readme_says_how_another_system_connects():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Connecting another system", 1)[1].split("\n## ", 1)[0]
    for needle in ("flask toolbox integrations create", "/api/v1/integrations/work-orders", "X-Api-Key",
                   "X-Toolbox-Signature", "/api/v1/integrations/readings", "docs/integrations.md"):
        assert needle in section
