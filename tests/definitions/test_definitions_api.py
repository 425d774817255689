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
    for odd in (["text"], {"a": 1}, 7, None):  # a type that is not a name is a problem to report, not a 500
        shaped = {**bikes, "fields": [{"name": "x", "label": "X", "type": odd}]}
        r = client.post("/api/v1/admin/tool-definitions", headers=admin, json=shaped)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "definition_invalid", (odd, r.get_json())
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


ENGINE_ROUTES = [("GET", "/schema"), ("GET", "/records"), ("POST", "/records"), ("GET", "/records/1"),
                 ("PATCH", "/records/1"), ("GET", "/records/1/personal")]


def test_every_engine_route_is_behind_the_tool_access_rule_and_the_per_unit_switch(app, client, district, auth,
                                                                                    bikes, runner):
    admin = auth.headers("ja-admin")
    client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes)
    publish(client, admin, "bike_patrol")
    assert runner.invoke(args=["toolbox", "tools", "disable", "bike_patrol", "--unit", "JA01"]).exit_code == 0
    for userid in ("ja01g01-worker", "ja-auditor"):                 # switched off for JA01; a role it does not admit
        headers = auth.headers(userid)
        for method, path in ENGINE_ROUTES:
            r = client.open(f"/api/v1/tools/bike_patrol{path}", method=method, headers=headers, json={})
            assert (r.status_code, r.get_json()["error"]["code"]) == (403, "tool_not_available"), (userid, path)
    assert "bike_patrol" not in {t["code"] for t in client.get("/api/v1/toolbox",
                                                               headers=auth.headers("ja01g01-worker")).get_json()["items"]}
    assert client.get("/api/v1/tools/bike_patrol/schema", headers=auth.headers("ja02g01-worker")).status_code == 200
    r = client.get("/api/v1/tools/no_such_tool/records", headers=auth.headers("ja02g01-worker"))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "tool_not_found"
    assert client.get("/api/v1/tools/bike_patrol/records").status_code == 401


def test_another_host_sees_a_published_definition_and_its_new_version(app, make_app, district, auth, bikes):
    """Two app processes on one database: what one publishes, the other's registry picks up from the rows
    (within a second: the version a publish bumps in Redis is read at most every 0.5 s)."""
    import time

    def toolbox_of(client, headers):
        for _ in range(40):
            tools = {t["code"]: t for t in client.get("/api/v1/toolbox", headers=headers).get_json()["items"]}
            if "bike_patrol" in tools and tools["bike_patrol"]["name"] == expected[0]:
                return tools
            time.sleep(0.1)
        return tools

    admin = auth.headers("ja-admin")
    other = make_app(DEFINITIONS_REFRESH_SECONDS=0).test_client()
    worker = auth.headers("ja01g01-worker")
    assert "bike_patrol" not in {t["code"] for t in other.get("/api/v1/toolbox", headers=worker).get_json()["items"]}
    client = app.test_client()
    client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes)
    expected = ["共享单车停放巡查"]
    publish(client, admin, "bike_patrol")
    tools = toolbox_of(other, worker)
    assert tools["bike_patrol"]["version"] == "1" and tools["bike_patrol"]["source"] == "definition"
    assert other.get("/api/v1/tools/bike_patrol/schema", headers=worker).get_json()["version"] == 1
    client.put("/api/v1/admin/tool-definitions/bike_patrol", headers=admin, json={**bikes, "name": "单车巡查"})
    expected[0] = "单车巡查"
    publish(client, admin, "bike_patrol")
    tools = toolbox_of(other, worker)
    assert (tools["bike_patrol"]["version"], tools["bike_patrol"]["name"]) == ("2", "单车巡查")
