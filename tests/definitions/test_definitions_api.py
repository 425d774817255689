"""Definitions over HTTP: draft, publish, the tool in the toolbox, records, rules, change reports."""

from openapi_spec_validator import validate

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


def test_each_published_tool_is_in_the_openapi_document(client, district, auth, bikes):
    admin = auth.headers("ja-admin")
    client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes)
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/tools/bike_patrol/records" not in spec["paths"]
    assert "/api/v1/admin/tool-definitions/{code}/publish" in spec["paths"]
    publish(client, admin, "bike_patrol")
    spec = client.get("/api/openapi.json").get_json()
    post = spec["paths"]["/api/v1/tools/bike_patrol/records"]["post"]
    assert post["tags"] == ["bike_patrol"]
    values = spec["components"]["schemas"]["bike_patrol.Values"]
    assert values["properties"]["count"] == {"title": "车辆数", "x-type": "integer", "type": "integer", "minimum": 0}
    assert "/api/v1/tools/bike_patrol/records/{record_id}" in spec["paths"]
    validate(spec)


def test_definitions_are_checked_and_admin_only(client, district, auth, bikes):
    admin = auth.headers("ja-admin")
    assert client.post("/api/v1/admin/tool-definitions", headers=auth.headers("ja01-operator"),
                       json=bikes).status_code == 403
    bad = {**bikes, "fields": [*bikes["fields"], {"name": "x", "label": "X", "type": "colour"}],
           "rules": [{"code": "r", "kind": "threshold", "field": "nope", "op": ">", "value": 1,
                      "category": "bike_overflow"}]}
    r = client.post("/api/v1/admin/tool-definitions", headers=admin, json=bad)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "definition_invalid"
    assert any("colour" in p for p in r.get_json()["error"]["problems"])
    bad["fields"] = bikes["fields"]
    problems = client.post("/api/v1/admin/tool-definitions", headers=admin, json=bad).get_json()["error"]["problems"]
    assert problems == ["规则 r：字段 nope 不存在"]
    wide = {**bikes, "code": "wide_tool", "rules": [], "categories": [],
            "fields": [{"name": f"f{i}", "label": f"字段{i}", "type": "text"} for i in range(300)]}
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=wide).status_code == 201
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes).status_code == 201
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes).status_code == 409
    taken = {**bikes, "code": "facade_inspection"}
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=taken).status_code == 409
    assert client.get("/api/v1/admin/tool-definitions/nope", headers=admin).status_code == 404
    assert client.get("/api/v1/tools/bike_patrol/schema", headers=auth.headers("ja01g01-worker")).status_code == 404
