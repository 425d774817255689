"""Issue 17's "Done when", walked on the seeded demo district (`flask toolbox seed --demo`)."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from app.services.assessment.indicators import INDICATORS
from tests.citizen_support import run_jobs


def test_done_when_on_the_demo_district(app, client, auth, demo, media_root):
    headers = auth.headers("ja-operator")
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    # The 14 streets with every indicator, its numerator and its denominator.
    table = client.get("/api/v1/stats/indicators", query_string={"group": "street", **period},
                       headers=headers).get_json()
    assert [r["unit"]["code"] for r in table["rows"]] == [f"JA{n:02d}" for n in range(1, 15)]
    for row in table["rows"]:
        assert set(INDICATORS) <= set(row["values"])
        for code, figure in row["values"].items():
            assert {"value", "numerator", "denominator"} <= set(figure), code
    assert sum(r["sample"] for r in table["rows"]) > 0
    # A drill-down returns exactly the counted items, for every figure of a busy street.
    busiest = max(table["rows"], key=lambda r: r["sample"])
    for code, indicator in INDICATORS.items():
        for part in ("numerator", "denominator"):
            expected = busiest["values"][code][part]
            if expected is None or indicator.kind == "average":
                continue
            page = client.get("/api/v1/work-items", headers=headers, query_string={
                "indicator": code, "part": part, "unit": busiest["unit"]["code"], "per_page": 100,
                **period}).get_json()
            assert page["total"] == expected, (code, part)
    # An export of the work items opens in openpyxl, with Chinese headers and masked phone numbers.
    rows, done = _export(app, client, headers, "work_items")
    assert rows[0][0] == "工单编号" and "报告人电话" in rows[0] and len(rows) - 1 == done > 0
    assert all(_masked(r[rows[0].index("报告人电话")]) for r in rows[1:])
    # The demo's citizens left their phones on their reports (the work item keeps none): masked there too.
    rows, _ = _export(app, client, headers, "citizen_report.reports")
    phones = [r[rows[0].index("手机号")] for r in rows[1:]]
    assert rows[0][0] == "所属单位" and phones and all(p and _masked(p) for p in phones)


def _masked(phone) -> bool:
    return phone is None or re.fullmatch(r"\d{3}\*+\d{4}", phone) is not None


def _export(app, client, headers, source):
    created = client.post("/api/v1/exports", json={"source": source}, headers=headers)
    assert created.status_code == 202, created.get_json()
    run_jobs(app, "default")
    status = client.get(f"/api/v1/exports/{created.get_json()['id']}", headers=headers).get_json()
    assert status["status"] == "finished", status
    response = client.get(status["file_url"], headers=headers)
    data = response.data
    response.close()
    return list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)), status["done"]
