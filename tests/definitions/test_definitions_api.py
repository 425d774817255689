"""Definitions over HTTP: draft, publish, the tool in the toolbox, records, rules, change reports."""

from tests.definitions.conftest import publish


def test_define_publish_and_use(client, district, auth, bikes):
    admin = auth.headers("ja-admin")
    r = client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["published_version"] is None
    worker = auth.headers("ja01g01-worker")
    assert "bike_patrol" not in [t["code"] for t in client.get("/api/v1/toolbox", headers=worker).get_json()["items"]]
    r = publish(client, admin, "bike_patrol")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["to_version"] == 1
    tools = client.get("/api/v1/toolbox", headers=worker).get_json()["items"]
    assert "bike_patrol" in [t["code"] for t in tools]
    schema = client.get("/api/v1/tools/bike_patrol/schema", headers=worker).get_json()
    assert schema["schema"]["properties"]["count"]["type"] == "integer"
    operator = auth.headers("ja01-operator")
    r = client.post("/api/v1/places", headers=operator, json={"name": "南京西路地铁站", "kind": "bike_spot",
                                                               "org_unit": "JA01G01"})
    assert r.status_code == 201, r.get_json()
    spot = r.get_json()["code"]
    r = client.post("/api/v1/tools/bike_patrol/records", headers=worker,
                    json={"values": {"spot": spot, "count": 45, "brand": "美团"}})
    assert r.status_code == 201, r.get_json()
    record = r.get_json()
    assert record["version"] == 1 and record["work_items"][0]["outcome"] == "raised"
    assert record["work_items"][0]["work_item"]["org_unit"] == "JA01"
    r = client.post("/api/v1/tools/bike_patrol/records", headers=worker,
                    json={"values": {"spot": spot, "count": 50}})
    assert r.get_json()["work_items"][0]["outcome"] == "attached"
    r = client.get("/api/v1/tools/bike_patrol/records?brand=美团", headers=worker)
    assert r.get_json()["total"] == 1
    r = client.post("/api/v1/tools/bike_patrol/records", headers=worker, json={"values": {"count": -1}})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["spot"] == ["请填写停放点静安码"]
