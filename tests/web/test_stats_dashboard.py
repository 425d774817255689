"""The workbench's assessment dashboard: the same figures as the API, charts from the local ECharts,
seen in a real headless Chromium at a phone's width (390 px), with screenshots."""

from __future__ import annotations

import pytest

from tests.web.test_browser_walk import Walk


def test_the_dashboard_shows_the_units_below_mine_with_local_charts(app, staff, demo):
    html = staff("ja01-operator").get("/h5/staff/stats").get_data(as_text=True)
    assert "考核统计" in html and html.count('<tr data-unit="JA01G') == 6
    assert "vendor/echarts-5.5.1.min.js" in html and "cdn" not in html.lower()
    district = staff("ja-operator").get("/h5/staff/stats").get_data(as_text=True)
    assert district.count('<tr data-unit="JA') == 14
    assert 'id="stats-link"' in staff("ja01g01-worker").get("/h5/staff/").get_data(as_text=True)


def test_a_committee_worker_is_told_there_is_no_assessment_scope(app, staff, district, make_user):
    make_user("c-worker", ("JA01G01C01", "worker"))
    response = staff("c-worker").get("/h5/staff/stats")
    assert response.status_code == 403 and "考核" in response.get_data(as_text=True)


@pytest.mark.browser
def test_dashboard_in_a_phone_browser(live_app, district, wecom_sim, demo, live_server, chromium, screenshots):
    walk = Walk(chromium(390, 844), live_server.url, screenshots)
    walk.login("ja-operator")
    walk.click("#stats-link")
    walk.wait.until(lambda d: d.find_element("css selector", "body").get_attribute("data-charts") == "3")
    for chart in ("chart-indicators", "chart-trend", "chart-hotspots"):
        assert walk.find(f"#{chart} canvas").size["width"] > 300
    assert walk.driver.execute_script("return document.documentElement.scrollWidth") <= 390  # no sideways page
    errors = [e for e in walk.driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == [], errors
    walk.shot("district-dashboard")
    walk.login("ja01-operator")
    walk.driver.get(f"{live_server.url}/h5/staff/stats")
    walk.wait.until(lambda d: d.find_element("css selector", "body").get_attribute("data-charts") == "3")
    walk.shot("street-dashboard")
