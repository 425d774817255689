"""The three field tools (issue 6) in the toolbox: who sees them, where they forward, their API docs."""

from __future__ import annotations

import pytest

FIELD_TOOLS = {"construction_sites", "facade_inspection", "flood_duty"}


@pytest.mark.parametrize("userid", ["ja01g01-worker", "ja01-operator", "ja01-manager", "ja-operator",
                                    "ja-d-jg-operator", "ja-d-fx-manager"])
def test_field_tools_are_in_the_toolbox_of_workers_operators_and_managers(client, district, auth, userid):
    res = client.get("/api/v1/toolbox", headers=auth.headers(userid))
    assert FIELD_TOOLS <= {t["code"] for t in res.get_json()["items"]}


@pytest.mark.parametrize("userid", ["ja-admin", "ja-secadmin", "ja-auditor"])
def test_field_tools_are_not_in_the_toolbox_of_system_administrators(client, district, auth, userid):
    res = client.get("/api/v1/toolbox", headers=auth.headers(userid))
    assert not FIELD_TOOLS & {t["code"] for t in res.get_json()["items"]}
    for code in FIELD_TOOLS:  # and their APIs refuse them
        path = {"construction_sites": "sites", "facade_inspection": "buildings", "flood_duty": "warnings"}[code]
        refused = client.get(f"/api/v1/tools/{code}/{path}", headers=auth.headers(userid))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "tool_not_available"


def test_a_tool_disabled_for_a_street_disappears_from_its_staff(client, district, auth, app):
    from app.extensions import db
    from app.services.toolbox import set_enabled

    with app.app_context():
        set_enabled("flood_duty", district.unit("JA01"), False, actor="test")
        db.session.commit()
    codes = {t["code"] for t in client.get("/api/v1/toolbox", headers=auth.headers("ja01g01-worker")).get_json()[
        "items"]}
    assert codes & FIELD_TOOLS == {"construction_sites", "facade_inspection"}
    assert client.get("/api/v1/tools/flood_duty/points", headers=auth.headers("ja01g01-worker")).status_code == 403
    assert client.get("/api/v1/tools/flood_duty/points", headers=auth.headers("ja02g01-worker")).status_code == 200


def test_manifests_route_problems_to_the_responsible_departments(client, district, auth):
    tools = {t["code"]: t for t in client.get("/api/v1/toolbox", headers=auth.headers("ja-operator")).get_json()[
        "items"]}
    routes = {code: {c["route_to"] for c in tools[code]["categories"]} for code in FIELD_TOOLS}
    assert routes == {"construction_sites": {"JA-D-JG"}, "facade_inspection": {"JA-D-FG"},
                      "flood_duty": {"JA-D-FX"}}
    assert len(tools["construction_sites"]["categories"]) == 6  # one per checklist item


def test_every_field_tool_endpoint_is_in_the_openapi_document(client, app):
    spec = client.get("/api/openapi.json").get_json()
    documented = {p for p in spec["paths"] if p.startswith("/api/v1/tools/")}
    routed = {rule.rule.replace("<int:", "{").replace(">", "}") for rule in app.url_map.iter_rules()
              if rule.rule.split("/")[4:5] and rule.rule.split("/")[4] in FIELD_TOOLS}
    assert routed and routed <= documented
    lists = [p for p in documented if spec["paths"][p].get("get", {}).get("parameters") and any(
        prm.get("in") == "query" for prm in spec["paths"][p]["get"]["parameters"])]
    assert "/api/v1/tools/construction_sites/sites" in lists


def test_one_click_query_finds_records_of_every_field_tool_within_scope(client, district, auth):
    from datetime import date, timedelta

    op = auth.headers("ja01-operator")
    site = {"name": "武定路 88 号修缮工地", "address": "静安区武定路 88 号", "org_unit": "JA01G01",
            "owner_name": "业主", "owner_contact": "张", "owner_phone": "13800000001", "contractor_name": "施工方",
            "contractor_contact": "李", "contractor_phone": "13800000002", "work_kind": "repair",
            "start_date": date.today().isoformat(), "end_date": (date.today() + timedelta(days=9)).isoformat()}
    assert client.post("/api/v1/tools/construction_sites/sites", json=site, headers=op).status_code == 201
    building = {"name": "武定路 90 号住宅楼", "address": "静安区武定路 90 号", "org_unit": "JA01G01", "floors": 6,
                "structure": "brick_concrete", "managing_party": "某物业"}
    assert client.post("/api/v1/tools/facade_inspection/buildings", json=building, headers=op).status_code == 201
    point = {"name": "武定路西康路口", "address": "静安区武定路西康路口", "org_unit": "JA01G01"}
    assert client.post("/api/v1/tools/flood_duty/points", json=point, headers=op).status_code == 201

    found = client.get("/api/v1/query?q=武定路", headers=auth.headers("ja01g01-worker")).get_json()
    assert {(r["tool"], r["type"]) for r in found["items"]} >= {
        ("construction_sites", "site"), ("facade_inspection", "building"), ("flood_duty", "point")}
    elsewhere = client.get("/api/v1/query?q=武定路", headers=auth.headers("ja02g01-worker")).get_json()
    assert not [r for r in elsewhere["items"] if r["tool"] in FIELD_TOOLS]
