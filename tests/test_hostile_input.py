"""No input reaches a 500: NUL characters, integers past the database's range, extreme dates, JSON too deep
for the parser, invalid UTF-8. Each is refused with the error shape of its area (JSON under /api, the
friendly page under /h5), by one rule in app/input_guard.py rather than by each view."""

from __future__ import annotations

import pytest

from tests.test_health_and_errors import assert_error_shape


@pytest.fixture
def operator(district, auth):
    return auth.headers("ja-operator")


@pytest.fixture
def admin(district, auth):
    return auth.headers("ja-admin")


@pytest.mark.parametrize("url", ["/api/v1/users?q=a%00b", "/api/v1/places/%00", "/api/v1/org-units/JA%0001",
                                 "/api/v1/query?q=%00", "/api/v1/users?a%00=1"])
def test_nul_in_the_path_or_query_is_400(client, operator, url):
    assert_error_shape(client.get(url, headers=operator), 400, "invalid_characters")


def test_nul_in_a_json_string_or_key_is_400_at_any_depth(client, admin):
    url = "/api/v1/tools/construction_sites/sites"
    for body in ({"name": "工地\x00", "address": "x", "org_unit": "JA01"}, {"name\x00": "x"},
                 {"a": [{"b": ["c\x00"]}]}):
        assert_error_shape(client.post(url, json=body, headers=admin), 400, "invalid_characters")


def test_nul_in_a_form_field_is_400(client, admin):
    response = client.post("/api/v1/attachments", data={"purpose": "a\x00"}, headers=admin,
                           content_type="multipart/form-data")
    assert_error_shape(response, 400, "invalid_characters")


@pytest.mark.parametrize("url", ["/h5/t/%00", "/h5/c/%00", "/h5/t?code=%00"])
def test_nul_on_a_citizen_page_gets_the_friendly_page(client, url):
    response = client.get(url)
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'id="error"' in page and "不允许的字符" in page and "Traceback" not in page


def test_nul_in_a_citizen_description_gets_the_friendly_page(app, client, district):
    from toolbox.citizen_report.tests.helpers import form, make_place, submit

    code = make_place(app, district)
    response = submit(client, code, form(description="路灯坏了\x00三天了"))
    assert response.status_code == 400 and 'id="error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/api/v1/work-items/99999999999999999999", "/api/v1/work-items/2147483648",
                                 "/api/v1/attachments/99999999999999999999",
                                 "/api/v1/tools/construction_sites/sites/99999999999999999999"])
def test_an_id_past_the_database_range_is_404(client, operator, url):
    assert_error_shape(client.get(url, headers=operator), 404)


def test_the_largest_database_id_is_an_ordinary_404(client, operator):
    assert_error_shape(client.get("/api/v1/work-items/2147483647", headers=operator), 404, "work_item_not_found")


@pytest.mark.parametrize("args", ["page=9223372036854775807", "page=100001", "per_page=9223372036854775807",
                                  "page=-1"])
@pytest.mark.parametrize("path", ["/api/v1/work-items", "/api/v1/users", "/api/v1/tools/construction_sites/sites"])
def test_paging_past_its_bounds_is_400(client, operator, path, args):
    assert_error_shape(client.get(f"{path}?{args}", headers=operator), 400, "invalid_query")


@pytest.mark.parametrize("args", ["to=9999-12-31", "from=0001-01-01T00:00:00%2B14:00", "to=9999-12-31T23:59:59-14:00",
                                  "from=1899-12-31"])
def test_extreme_dates_in_one_click_query_are_400(client, operator, args):
    error = assert_error_shape(client.get(f"/api/v1/query?q=工地&{args}", headers=operator), 400, "invalid_query")
    assert set(error["fields"]) <= {"from", "to"}


def test_extreme_dates_in_a_json_body_are_422(client, operator):
    body = {"name": "小工地", "address": "延平路1号", "org_unit": "JA01G01", "start_date": "0001-01-01",
            "end_date": "9999-12-31", "owner_name": "某某置业", "owner_contact": "李四", "owner_phone": "13800000001",
            "contractor_name": "某某建设", "contractor_contact": "张三", "contractor_phone": "13800000000",
            "work_kind": "renovation"}
    response = client.post("/api/v1/tools/construction_sites/sites", json=body, headers=operator)
    error = assert_error_shape(response, 422)
    assert set(error["fields"]) & {"start_date", "end_date"}, error


def test_json_nested_past_the_parsers_limit_is_400(client, admin):
    response = client.put("/api/v1/admin/tools/construction_sites/settings", data='{"a":' * 5000 + "1" + "}" * 5000,
                          headers=admin, content_type="application/json")
    assert_error_shape(response, 400, "invalid_json")


def test_json_nested_a_little_too_deep_is_400(client, admin):
    deep = "[" * 40 + "]" * 40
    response = client.put("/api/v1/admin/tools/construction_sites/settings", data=f'{{"a": {deep}}}',
                          headers=admin, content_type="application/json")
    assert_error_shape(response, 400, "invalid_json")


def test_invalid_utf8_json_is_400(client, admin):
    response = client.put("/api/v1/admin/tools/construction_sites/settings", data=b'{"enabled": "\xff\xfe"}',
                          headers=admin, content_type="application/json")
    assert_error_shape(response, 400, "invalid_json")


@pytest.mark.parametrize("url", ["/api/v1/users?q=%ff%fe", "/api/v1/places/%ff", "/h5/t/%ff"])
def test_invalid_utf8_in_the_url_is_never_a_500(client, operator, url):
    assert client.get(url, headers=operator).status_code in (200, 400, 404)


def test_a_value_the_database_refuses_is_400_not_500(make_app, district, auth):
    """The safety net under the rules: what slips past validation into the database is the client's error."""
    from sqlalchemy import text

    from app.auth import public
    from app.extensions import db

    app = make_app()

    @app.get("/api/v1/_overflow")
    @public
    def overflow():
        db.session.execute(text("SELECT CAST(:v AS INTEGER)"), {"v": 2**40}).scalar()
        return "no"

    assert_error_shape(app.test_client().get("/api/v1/_overflow"), 400, "invalid_value")


def test_moments_in_range_still_parse():
    from datetime import UTC, date, datetime

    from app.input_guard import parse_moment

    assert parse_moment("2026-11-05", default_tz=UTC) == date(2026, 11, 5)
    assert parse_moment("2026-11-05T08:15:30Z", default_tz=UTC) == datetime(2026, 11, 5, 8, 15, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_moment("0001-01-01T00:00:00+14:00", default_tz=UTC)
