"""Sensor readings in: devices bound to places, batches answered 202 with counts, rejected one by one, and the
waterlogging rule raising the flood duty escalation once per episode, ending it below the hysteresis band."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.integration import SensorEpisode, SensorReading
from app.models.workitem import WorkItem

FLOOD = "/api/v1/tools/flood_duty"
READINGS = "/api/v1/integrations/readings"


@pytest.fixture
def flood_point(client, district, auth):
    res = client.post(f"{FLOOD}/points", json={"org_unit": "JA01G01", "name": "延平路武定路口",
                                               "address": "静安区延平路武定路口", "threshold_cm": 15},
                      headers=auth.headers("ja01-operator"))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


@pytest.fixture
def sensor(client, admin, register, flood_point):
    """A sensor platform with one water-depth gauge at the flood point; returns its X-Api-Key header."""
    key = register("iot", categories=[], units=["JA01"])["api_key"]
    res = client.post("/api/v1/admin/integrations/iot/devices", json={
        "device_id": "WL-001", "place_code": flood_point["place_code"], "metric": "water_depth", "unit": "cm"},
        headers=admin)
    assert res.status_code == 201, res.get_json()
    return {"X-Api-Key": key}


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def at(minutes: float) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


def send(client, key, *points):
    return client.post(READINGS, json={"readings": [
        {"device_id": "WL-001", "metric": "water_depth", "value": v, "at": at(m)} for m, v in points]}, headers=key)


def items(app) -> list[WorkItem]:
    with app.app_context():
        return list(db.session.execute(select(WorkItem).order_by(WorkItem.id)).scalars())


def test_a_batch_is_accepted_with_counts_and_bad_readings_rejected_one_by_one(app, client, sensor):
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    response = client.post(READINGS, json={"readings": [
        {"device_id": "WL-001", "metric": "water_depth", "value": 3, "at": at(0)},
        {"device_id": "WL-001", "metric": "water_depth", "value": 4, "at": at(1)},
        {"device_id": "NOPE", "metric": "water_depth", "value": 4, "at": at(1)},
        {"device_id": "WL-001", "metric": "rainfall", "value": 4, "at": at(1)},
        {"device_id": "WL-001", "metric": "water_depth", "value": 4, "at": future},
        {"device_id": "WL-001", "metric": "water_depth", "value": "deep", "at": at(2)},
    ]}, headers=sensor)
    assert response.status_code == 202
    body = response.get_json()
    assert (body["accepted"], body["rejected"]) == (2, 4)
    assert [p["reason"] for p in body["problems"]] == ["unknown_device", "wrong_metric", "time_in_future",
                                                       "invalid_value"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SensorReading)).scalar_one() == 2
    again = send(client, sensor, (0, 3))  # a retried batch is accepted again and stored once
    assert again.get_json()["accepted"] == 1
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SensorReading)).scalar_one() == 2


def test_depth_over_the_threshold_for_the_configured_time_raises_one_item_per_episode(app, client, sensor):
    send(client, sensor, (0, 10), (1, 20), (3, 30))   # over for 2 minutes: not yet (5 minutes by default)
    assert items(app) == []
    send(client, sensor, (6, 32), (7, 35), (8, 31))   # over for 7 minutes: one escalation
    [item] = items(app)
    assert item.source_tool == "flood_duty" and item.category == "waterlogging"
    send(client, sensor, (9, 14), (10, 13))           # under the threshold but inside the 3 cm band: still on
    with app.app_context():
        assert db.session.execute(select(SensorEpisode)).scalar_one().ended_at is None
    send(client, sensor, (11, 25), (20, 30))          # still the same episode: no second item
    assert len(items(app)) == 1
    send(client, sensor, (21, 8))                     # below threshold − hysteresis: the episode ends
    with app.app_context():
        episode = db.session.execute(select(SensorEpisode)).scalar_one()
        assert episode.ended_at is not None and episode.peak == 35
        item = db.session.get(WorkItem, item.id)
        assert [e.action for e in item.events][-1] == "note" and "积水结束" in item.events[-1].reason


def test_a_short_spike_raises_nothing(app, client, sensor):
    send(client, sensor, (0, 40), (2, 10), (4, 40), (6, 5))
    assert items(app) == []


def test_the_rule_kind_reads_as_data():
    from app.services.integrations.sensors import ThresholdRule
    rule = ThresholdRule.from_dict({"code": "river", "kind": "threshold_for_duration", "field": "level",
                                    "value": 4.5, "for_seconds": 600, "hysteresis": 0.2})
    assert rule.to_dict(place=object()) == {"code": "river", "kind": "threshold_for_duration", "field": "level",
                                            "op": ">=", "value": 4.5, "for_seconds": 600.0, "hysteresis": 0.2}
