"""The OpenAPI document: valid OpenAPI 3, generated from the schemas, covering every /api/v1 route."""

from openapi_spec_validator import validate


def test_openapi_document_is_valid_openapi_3(client):
    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_api_v1_route_is_documented(app):
    undocumented = sorted(
        f"{','.join(sorted(rule.methods - {'HEAD', 'OPTIONS'}))} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1") and not hasattr(app.view_functions[rule.endpoint], "_openapi")
    )
    assert undocumented == []


def test_schemas_and_errors_come_from_marshmallow(client):
    spec = client.get("/api/openapi.json").get_json()
    streets = spec["paths"]["/api/v1/org-units"]["get"]
    assert {p["name"] for p in streets["parameters"]} >= {"level", "parent", "page", "per_page"}
    assert streets["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    assert "OrgUnitOut" in spec["components"]["schemas"]
    assert spec["paths"]["/api/v1/admin/tools/{code}/settings"]["put"]["requestBody"]


def test_docs_page_renders_the_document(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert "openapi.json" in page and "工具箱" in page


# --- the contract is exact (issue 12) -----------------------------------------------------------------

import re  # noqa: E402

import pytest  # noqa: E402

from tests.test_health_and_errors import assert_error_shape  # noqa: E402


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def test_every_operation_has_a_stable_unique_camel_case_operation_id(spec):
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert all(ids) and len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", i) for i in ids)
    by_route = {(m, p): op["operationId"] for m, p, op in operations(spec)}
    assert by_route["get", "/api/v1/work-items"] == "listWorkItems"
    assert by_route["post", "/api/v1/work-items/{item_id}/sign"] == "signWorkItem"
    assert by_route["get", "/api/v1/tools/construction_sites/sites"] == "constructionSitesListSites"


def test_each_work_item_action_has_its_own_typed_body(spec):
    from app.services.workflow import TRANSITIONS

    schemas = spec["components"]["schemas"]
    for action, transition in TRANSITIONS.items():
        op = spec["paths"][f"/api/v1/work-items/{{item_id}}/{action}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        body = schemas[ref]
        assert body["additionalProperties"] is False and set(body.get("required", [])) == set(transition.requires)
    assert "unit" in schemas["DispatchIn"]["properties"] and "unit" not in schemas["SignIn"]["properties"]


def test_every_success_answer_is_described(spec):
    bare = [f"{m.upper()} {p} {s}" for m, p, op in operations(spec) for s, r in op["responses"].items()
            if s.startswith("2") and s != "204" and "content" not in r]
    assert bare == []


def test_bodies_that_refuse_unknown_fields_say_so(client, spec, district, auth):
    schemas = spec["components"]["schemas"]
    assert schemas["construction_sites.SiteIn"]["additionalProperties"] is False
    response = client.post("/api/v1/tools/construction_sites/sites/1/close", json={"reason": "完工", "extra": 1},
                           headers=auth.headers("ja-operator"))
    assert response.status_code in (404, 422)
    response = client.post("/api/v1/work-items/1/sign", json={"surprise": True}, headers=auth.headers("ja-operator"))
    assert_error_shape(response, 422)


def test_the_upload_documents_its_multipart_file(spec):
    form = spec["paths"]["/api/v1/attachments"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    ref = form["$ref"].rsplit("/", 1)[-1]
    upload = spec["components"]["schemas"][ref]
    assert upload["required"] == ["file"] and upload["properties"]["file"]["format"] == "binary"


def test_query_says_q_is_required(spec):
    params = {p["name"]: p for p in spec["paths"]["/api/v1/query"]["get"]["parameters"]}
    assert params["q"]["required"] is True


def test_path_ids_are_bounded_to_the_database(spec):
    from app.input_guard import DB_INT_MAX

    item_id = spec["paths"]["/api/v1/work-items/{item_id}"]["get"]["parameters"][0]
    assert item_id["schema"] == {"type": "integer", "minimum": 0, "maximum": DB_INT_MAX}
    day = spec["paths"]["/api/v1/admin/calendar/{day}"]["put"]["parameters"][0]
    assert day["schema"]["format"] == "date"
    assert "404" in spec["paths"]["/api/v1/work-items/{item_id}"]["get"]["responses"]


def _segments(rule):
    """Each segment of a rule: ("static", text) or ("var", converter)."""
    out = []
    for part in rule.rule.strip("/").split("/"):
        match = re.fullmatch(r"<(?:[^:<>]+:)?([^<>]+)>", part)
        out.append(("var", rule._converters[match[1]]) if match else ("static", part))
    return out


def _may_overlap(a, b) -> bool:
    if len(a) != len(b):
        return False
    for (kind_a, x), (kind_b, y) in zip(a, b, strict=True):
        if kind_a == kind_b == "static" and x != y:
            return False
        if {kind_a, kind_b} == {"static", "var"}:
            static, conv = (x, y) if kind_a == "static" else (y, x)
            if not re.fullmatch(conv.regex, static):
                return False
    return True


def test_no_two_api_rules_overlap(app):
    """Two rules that could match the same URL for the same method: the first registered silently wins."""
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")
             and all(":" not in p or p.startswith(("<int:", "<day:", "<code:", "<hex:")) or "<" not in p
                     for p in r.rule.split("/"))]
    overlaps = []
    for i, a in enumerate(rules):
        for b in rules[i + 1:]:
            if a.rule != b.rule and (a.methods & b.methods) - {"HEAD", "OPTIONS"} and \
                    _may_overlap(_segments(a), _segments(b)):
                overlaps.append(f"{a.rule} ~ {b.rule}")
    assert overlaps == []


@pytest.mark.parametrize("url", ["/api/v1/users?unit=NOPE", "/api/v1/work-items?unit=NOPE",
                                 "/api/v1/query?q=工地&org=NOPE", "/api/v1/org-units?parent=NOPE",
                                 "/api/v1/tools/facade_inspection/buildings?org_unit=NOPE",
                                 "/api/v1/tools/flood_duty/rosters?org_unit=NOPE"])
def test_an_unknown_unit_in_a_filter_answers_the_same_everywhere(client, district, auth, url):
    assert_error_shape(client.get(url, headers=auth.headers("ja-operator")), 404, "org_unit_not_found")
