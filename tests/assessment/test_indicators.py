"""Indicators per unit and period: the dictionary, the facts the workflow leaves, scope and the drill-down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.base import utcnow
from app.models.stats import MEASURE_COLUMNS, StatsDaily
from app.services.assessment.indicators import ANCHORS, INDICATORS, SCORE_PRESETS
from app.services.workdays import TZ

REQUIRED = {"sign_on_time", "first_contact", "closed_on_time", "overdue_open", "return_rate", "extension_rate",
            "redo_rate", "satisfaction", "solved_rate", "avg_close_days", "repeat_rate"}


def test_the_dictionary_defines_every_indicator_the_issue_lists():
    assert REQUIRED <= set(INDICATORS)
    for ind in INDICATORS.values():
        d = ind.to_dict()
        assert d["definition"] and d["clock"] and d["period_rule"] in ANCHORS.values()
        assert ind.numerator in MEASURE_COLUMNS and (ind.denominator is None or ind.denominator in MEASURE_COLUMNS)
    assert SCORE_PRESETS["three_rates"].weights == {"sign_on_time": 30, "solved_rate": 35, "satisfaction": 35}


def _close_one(api, item_id, satisfaction="satisfied"):
    api.ok("ja01g01-worker", item_id, "sign", note="已电话联系")
    api.ok("ja01g01-worker", item_id, "feedback", result="已处置")
    api.ok("ja01-operator", item_id, "review_pass")
    api.ok("ja01-operator", item_id, "visit", satisfaction=satisfaction)


def _table(client, api, userid="ja01-operator", **params):
    response = client.get("/api/v1/stats/indicators", query_string=params, headers=api.headers(userid))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _today():
    return utcnow().astimezone(TZ).date()


def _period():
    today = _today()
    return {"from": (today - timedelta(days=10)).isoformat(), "to": (today + timedelta(days=20)).isoformat()}


@pytest.fixture
def worked(app, api, new_item):
    """JA01G01: one closed satisfied, one closed unsatisfied after a rejection, one returned, one waiting."""
    closed = new_item("JA01G01", "grid_issue")
    _close_one(api, closed)
    redone = new_item("JA01G01", "grid_issue")
    api.ok("ja01g01-worker", redone, "sign")
    api.ok("ja01g01-worker", redone, "feedback", result="已处置")
    api.ok("ja01-operator", redone, "review_reject", reason="照片不清")
    api.ok("ja01g01-worker", redone, "contact", note="再次联系")
    api.ok("ja01g01-worker", redone, "feedback", result="再处置完成")
    api.ok("ja01-operator", redone, "review_pass")
    api.ok("ja01-operator", redone, "visit", satisfaction="unsatisfied")
    returned = new_item("JA01G01", "grid_issue")
    api.ok("ja01g01-worker", returned, "return", reason="不属于本网格")
    waiting = new_item("JA01G02", "grid_issue")
    return {"closed": closed, "redone": redone, "returned": returned, "waiting": waiting}


def test_a_street_sees_its_grids_with_numerators_and_denominators(client, api, worked):
    table = _table(client, api, group="grid", **_period())
    codes = [r["unit"]["code"] for r in table["rows"]]
    assert codes == [f"JA01G{n:02d}" for n in range(1, 7)]  # its six grids, nobody else's
    g1 = table["rows"][0]["values"]
    assert g1["closed_on_time"] == {"value": 100.0, "numerator": 2, "denominator": 2}
    assert g1["satisfaction"] == {"value": 50.0, "numerator": 1, "denominator": 2}
    assert g1["solved_rate"]["numerator"] == 2
    assert g1["redo_rate"] == {"value": 50.0, "numerator": 1, "denominator": 2}
    assert g1["return_rate"] == {"value": 33.33, "numerator": 1, "denominator": 3}
    assert g1["first_contact"]["numerator"] == 2 and g1["first_contact"]["denominator"] == 2
    assert g1["sign_on_time"] == {"value": 100.0, "numerator": 2, "denominator": 2}
    assert table["rows"][0]["sample"] == 3 and table["rows"][1]["sample"] == 1
    assert {i["code"] for i in table["indicators"]} >= REQUIRED | {"score"}


def test_units_below_the_minimum_sample_are_shown_not_ranked(app, client, api, worked):
    table = _table(client, api, group="grid", **_period())
    assert all(not r["ranked"] and r["rank"] is None for r in table["rows"])  # default minimum: 20
    app.config["ASSESSMENT_MIN_SAMPLE"] = 3
    try:
        table = _table(client, api, group="grid", **_period())
    finally:
        app.config["ASSESSMENT_MIN_SAMPLE"] = 20
    ranked = [r for r in table["rows"] if r["ranked"]]
    assert [r["unit"]["code"] for r in ranked] == ["JA01G01"] and ranked[0]["rank"] == 1
    score = ranked[0]["values"]["score"]["value"]
    assert score is not None and 0 <= score <= 100


def test_custom_weights_change_the_score(client, api, worked):
    only_satisfaction = _table(client, api, group="grid", weights="satisfaction:1", **_period())
    assert only_satisfaction["rows"][0]["values"]["score"]["value"] == 50.0


def test_the_district_sees_fourteen_streets_and_the_departments(client, api, worked):
    streets = _table(client, api, "ja-operator", group="street", **_period())
    assert len(streets["rows"]) == 14
    assert streets["rows"][0]["unit"]["code"] == "JA01" and streets["rows"][0]["sample"] == 4
    departments = _table(client, api, "ja-operator", group="department", **_period())
    assert len(departments["rows"]) == 6


@pytest.mark.parametrize("params, code", [
    ({"group": "planet"}, "unknown_group"),
    ({"group": "grid", "unit": "NOPE"}, "unknown_unit"),
    ({"group": "grid", "from": "2026-05-02", "to": "2026-05-01"}, "invalid_period"),
    ({"group": "grid", "from": "2024-01-01", "to": "2026-01-01"}, "period_too_long"),
    ({"group": "grid", "from": "yesterday"}, "invalid_period"),
    ({"group": "grid", "preset": "nope"}, "unknown_weights"),
])
def test_bad_parameters_answer_422_naming_valid_values(client, api, district, params, code):
    response = client.get("/api/v1/stats/indicators", query_string=params, headers=api.headers("ja01-operator"))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    if code == "unknown_group":
        assert set(error["allowed"]) == {"street", "grid", "department", "tool", "category"}


@pytest.mark.parametrize("userid, params", [
    ("ja01-operator", {"group": "grid", "unit": "JA02"}),
    ("ja01-operator", {"group": "department"}),
    ("ja01g01-worker", {"group": "street"}),
    ("ja-admin", {"group": "street"}),  # 三员分立: the system admin has no business data
])
def test_outside_the_scope_answers_403(client, api, district, userid, params):
    response = client.get("/api/v1/stats/indicators", query_string=params, headers=api.headers(userid))
    assert response.status_code == 403, response.get_json()


def test_a_drill_down_returns_exactly_the_counted_items(client, api, worked):
    period = _period()
    table = _table(client, api, group="grid", **period)
    g1 = table["rows"][0]
    for code in INDICATORS:
        for part in ("numerator", "denominator"):
            expected = g1["values"][code][part]
            if expected is None or INDICATORS[code].kind == "average":
                continue
            response = client.get("/api/v1/work-items", headers=api.headers("ja01-operator"), query_string={
                "indicator": code, "part": part, "unit": "JA01G01", "per_page": 100, **period})
            assert response.status_code == 200, response.get_json()
            assert response.get_json()["total"] == expected, (code, part)
    returned = client.get("/api/v1/work-items", headers=api.headers("ja01-operator"), query_string={
        "indicator": "return_rate", "unit": "JA01G01", **period}).get_json()
    assert [i["id"] for i in returned["items"]] == [worked["returned"]]


def test_the_drill_down_keeps_the_same_rules(client, api, worked):
    headers = api.headers("ja01-operator")
    assert client.get("/api/v1/work-items", headers=headers, query_string={
        "indicator": "return_rate", "unit": "JA02"}).status_code == 403
    bad = client.get("/api/v1/work-items", headers=headers, query_string={"indicator": "luck"})
    assert bad.status_code == 422 and "return_rate" in bad.get_json()["error"]["allowed"]


def _daily(app):
    with app.app_context():
        rows = db.session.execute(select(StatsDaily)).scalars().all()
        return {(r.day, r.l1, r.l2, r.tool, r.category): tuple(getattr(r, m) for m in MEASURE_COLUMNS)
                for r in rows if any(getattr(r, m) for m in MEASURE_COLUMNS)}


def test_the_daily_table_kept_incrementally_equals_a_rebuild(app, runner, worked):
    incremental = _daily(app)
    assert incremental
    result = runner.invoke(args=["toolbox", "stats", "rebuild", "--inline"])
    assert result.exit_code == 0, result.output
    assert "4 work items" in result.output
    assert _daily(app) == incremental
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(StatsDaily)).scalar_one() >= 1
