"""Schema change without loss: publishing over existing records reports, refuses, and applies only resolved."""

import pytest

from app.extensions import db
from app.models.definitions import DefinedRecord
from tests.definitions.conftest import publish


@pytest.fixture
def tool_with_records(client, district, auth, bikes):
    admin, operator = auth.headers("ja-admin"), auth.headers("ja01-operator")
    bikes["fields"].append({"name": "remark", "label": "备注编号", "type": "text"})
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes).status_code == 201
    assert publish(client, admin, "bike_patrol").status_code == 200
    spot = client.post("/api/v1/places", headers=operator, json={
        "name": "停放点", "kind": "bike_spot", "org_unit": "JA01G01"}).get_json()["code"]
    worker = auth.headers("ja01g01-worker")
    for count, remark in ((3, "12"), (5, "A-7"), (8, None)):
        values = {"spot": spot, "count": count, **({"remark": remark} if remark else {})}
        assert client.post("/api/v1/tools/bike_patrol/records", headers=worker,
                           json={"values": values}).status_code == 201
    return admin, bikes


def _retype(client, admin, bikes, name, **spec):
    for f in bikes["fields"]:
        if f["name"] == name:
            f.update(spec)
    assert client.put("/api/v1/admin/tool-definitions/bike_patrol", headers=admin, json=bikes).status_code == 200


def _records(app):
    with app.app_context():
        return {r.id: (r.version, r.data.get("remark"), r.legacy)
                for r in db.session.execute(db.select(DefinedRecord).order_by(DefinedRecord.id)).scalars()}


def test_a_type_change_that_would_lose_values_is_refused_with_a_report(app, client, tool_with_records):
    admin, bikes = tool_with_records
    _retype(client, admin, bikes, "remark", type="integer")
    before = _records(app)
    dry = publish(client, admin, "bike_patrol", query_string={"dry_run": "1"}).get_json()
    assert dry["dry_run"] and not dry["can_publish"] and dry["unresolved"] == ["remark"]
    field = dry["fields"][0]
    assert (field["change"], field["lost"], field["converted"], field["old_type"], field["new_type"]) == \
        ("retyped", 1, 1, "text", "integer")
    r = publish(client, admin, "bike_patrol")
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "definition_change_unresolved" and "remark" in error["message"]
    assert error["report"]["would_lose"] == 1
    assert _records(app) == before                                   # nothing changed, not even the convertible one
    assert client.get("/api/v1/admin/tool-definitions/bike_patrol", headers=admin).get_json()["published_version"] == 1


def test_keep_leaves_the_old_value_readable_under_its_version(app, client, tool_with_records):
    admin, bikes = tool_with_records
    _retype(client, admin, bikes, "remark", type="integer")
    r = publish(client, admin, "bike_patrol", json={"resolutions": {"remark": {"action": "keep"}}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["to_version"] == 2 and r.get_json()["rewritten"] == 2
    after = _records(app)
    assert after[1] == (2, 12, {})                                   # "12" converted to 12
    assert after[2] == (2, None, {"remark": {"version": 1, "value": "A-7"}})
    assert after[3][0] == 1                                # untouched: still under the version it was written in


def test_convert_with_a_default_and_clear_with_the_count(app, client, tool_with_records):
    admin, bikes = tool_with_records
    _retype(client, admin, bikes, "remark", type="integer")
    r = publish(client, admin, "bike_patrol", json={"resolutions": {"remark": {"action": "convert", "default": 0}}})
    assert r.status_code == 200
    assert _records(app)[2][1] == 0
    bikes["fields"] = [f for f in bikes["fields"] if f["name"] != "remark"]
    client.put("/api/v1/admin/tool-definitions/bike_patrol", headers=admin, json=bikes)
    r = publish(client, admin, "bike_patrol", json={"resolutions": {"remark": {"action": "clear",
                                                                               "expected_count": 9}}})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "resolution_count_changed"
    assert r.get_json()["error"]["count"] == 2
    r = publish(client, admin, "bike_patrol", json={"resolutions": {"remark": {"action": "clear",
                                                                               "expected_count": 2}}})
    assert r.status_code == 200 and r.get_json()["to_version"] == 3
    assert all(v[1] is None for v in _records(app).values())


def test_a_published_version_never_changes(app, client, tool_with_records):
    admin, bikes = tool_with_records
    bikes["name"] = "共享单车巡查（新）"
    client.put("/api/v1/admin/tool-definitions/bike_patrol", headers=admin, json=bikes)
    got = client.get("/api/v1/admin/tool-definitions/bike_patrol", headers=admin).get_json()
    assert got["draft"]["name"] == "共享单车巡查（新）" and got["published"]["name"] == "共享单车停放巡查"
    assert publish(client, admin, "bike_patrol").get_json()["to_version"] == 2
