"""Work orders in: routed like any other item, idempotent by (system, external_id) even for concurrent twins,
the source's due date wins, personal data encrypted and masked, every bad field named, grants enforced."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models.integration import ExternalWorkOrder
from app.models.workitem import WorkItem
from tests.fixtures import needs_postgres
from tests.integrations.conftest import order

URL = "/api/v1/integrations/work-orders"


def count_items(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(WorkItem.id))).scalar_one()


def test_a_work_order_becomes_a_routed_item_and_the_same_id_again_is_the_same_item(app, client, register,
                                                                                   place_code):
    key = {"X-Api-Key": register()["api_key"]}
    first = client.post(URL, json=order(place_code=place_code), headers=key)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["external_id"] == "12345-0001" and body["state"] == "dispatched"
    again = client.post(URL, json=order(place_code=place_code, description="改过的描述不会生效"), headers=key)
    assert again.status_code == 200 and again.get_json()["work_item_id"] == body["work_item_id"]
    assert count_items(app) == 1
    with app.app_context():
        item = db.session.get(WorkItem, body["work_item_id"])
        assert item.description == "南京西路垃圾堆放无人清运"  # the repeat changed nothing
        assert item.org_unit.code == "JA01" and item.source_type == "integration_order"


def test_personal_data_is_encrypted_at_rest_and_masked_in_answers(app, client, register, place_code):
    key = {"X-Api-Key": register()["api_key"]}
    body = client.post(URL, json=order(place_code=place_code), headers=key).get_json()
    assert body["reporter_name"] == "张*丰" and body["reporter_phone"] == "139****5678"
    fetched = client.get(f"{URL}/12345-0001", headers=key).get_data(as_text=True)
    assert "13912345678" not in fetched and "张三丰" not in fetched
    with app.app_context():
        raw = db.session.execute(text("SELECT reporter_name, reporter_mobile FROM work_item")).one()
        assert "张三丰" not in raw.reporter_name and "13912345678" not in raw.reporter_mobile


def test_the_source_due_date_overrides_the_category_limit(app, client, register, place_code):
    key = {"X-Api-Key": register()["api_key"]}
    due = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
    body = client.post(URL, json=order(place_code=place_code, due_at=due.isoformat()), headers=key).get_json()
    assert datetime.fromisoformat(body["close_due_at"]) == due


def test_get_by_external_id_gives_the_state_and_public_timeline_to_its_sender_only(client, register, place_code):
    key = {"X-Api-Key": register()["api_key"]}
    client.post(URL, json=order(place_code=place_code), headers=key)
    got = client.get(f"{URL}/12345-0001", headers=key).get_json()
    assert [e["action"] for e in got["public"]["timeline"]] == ["create", "dispatch"]
    other = {"X-Api-Key": register("other")["api_key"]}
    assert client.get(f"{URL}/12345-0001", headers=other).status_code == 404
    assert client.get(f"{URL}/12345-0001").status_code == 401


def test_bad_input_gets_422_naming_every_field_and_creates_nothing(app, client, register):
    key = {"X-Api-Key": register()["api_key"]}
    bad = {"external_id": "has space", "category": "", "description": "", "lat": 200, "reporter_phone": "abc",
           "due_at": "tomorrow", "attachments": [{"url": "not a url"}]}
    response = client.post(URL, json=bad, headers=key)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) >= {"external_id", "category", "description", "lat",
                                                           "reporter_phone", "due_at", "attachments"}
    missing_place = client.post(URL, json=order(), headers=key)
    assert missing_place.status_code == 422 and "place_code" in missing_place.get_json()["error"]["fields"]
    assert count_items(app) == 0


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"category": "no_such_category"}, 422, "validation_error"),
    ({"category": "construction"}, 403, "category_not_granted"),
    ({"unit": "JA02", "place_code": None, "address": "别的街道", "lat": 31.2, "lng": 121.4}, 403, "unit_not_granted"),
])
def test_an_ungranted_or_unknown_category_or_unit_is_refused_whole(app, client, register, place_code, change,
                                                                  status, code):
    key = {"X-Api-Key": register()["api_key"]}
    body = {k: v for k, v in {**order(place_code=place_code), **change}.items() if v is not None}
    response = client.post(URL, json=body, headers=key)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    assert count_items(app) == 0
    with app.app_context():
        assert db.session.execute(select(func.count(ExternalWorkOrder.id))).scalar_one() == 0


@needs_postgres
def test_ten_concurrent_duplicates_make_exactly_one_item(app, register, place_code):
    key = {"X-Api-Key": register()["api_key"]}
    barrier, answers = threading.Barrier(10), []

    def send():
        client = app.test_client()
        barrier.wait()
        response = client.post(URL, json=order("DUP-1", place_code=place_code), headers=key)
        answers.append((response.status_code, response.get_json().get("work_item_id")))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(s for s, _ in answers) == [200] * 9 + [201]
    assert len({i for _, i in answers}) == 1
    assert count_items(app) == 1
