"""Trends beside the year before, and hot spots by volume and overdue share."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models.base import utcnow
from app.models.workitem import WorkItem
from app.services.workdays import TZ


def _get(client, api, path, userid="ja01-operator", status=200, **params):
    response = client.get(f"/api/v1/stats/{path}", query_string=params, headers=api.headers(userid))
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_monthly_series_with_the_same_month_a_year_before(app, client, api, new_item):
    now_item = new_item("JA01G01", "grid_issue", title="今年的问题")
    old_item = new_item("JA01G01", "grid_issue", title="去年的问题", address="别处")
    with app.app_context():
        item = db.session.get(WorkItem, old_item)
        item.created_at = item.created_at - timedelta(days=365)
        db.session.commit()
    assert now_item
    today = utcnow().astimezone(TZ).date()
    first = today.replace(day=1)
    body = _get(client, api, "trends", **{"from": first.isoformat(), "to": today.isoformat()})
    [point] = body["points"]
    assert point["period"] == f"{today.year}-{today.month:02d}"
    assert point["received"] == 1 and point["year_before"]["received"] == 1
    weekly = _get(client, api, "trends", interval="week", **{"from": (today - timedelta(days=20)).isoformat(),
                                                              "to": today.isoformat()})
    assert len(weekly["points"]) >= 3 and sum(p["received"] for p in weekly["points"]) == 1
    _get(client, api, "trends", status=422, interval="day")


def test_hot_spots_by_volume_and_overdue_share(app, client, api, new_item):
    for n in range(3):
        new_item("JA01G01", "grid_issue", title=f"堆物{n}", address=f"江宁路{n}号")
    late = new_item("JA01G02", "grid_issue", title="井盖", address="昌平路1号")
    with app.app_context():
        item = db.session.get(WorkItem, late)
        item.overdue = True
        db.session.commit()
    body = _get(client, api, "hotspots", by="grid")
    assert [r["key"] for r in body["by_volume"]][:2] == ["JA01G01", "JA01G02"]
    assert body["by_volume"][0]["volume"] == 3 and body["by_volume"][0]["name"] == "江宁路第一网格"
    assert body["by_overdue_share"][0] == {"key": "JA01G02", "name": body["by_overdue_share"][0]["name"],
                                           "volume": 1, "overdue": 1, "overdue_share": 100.0}
    places = _get(client, api, "hotspots", by="place", limit=2)
    assert len(places["by_volume"]) == 2
    categories = _get(client, api, "hotspots", by="category")
    assert categories["by_volume"][0] == {"key": "grid_issue", "name": "网格事项", "volume": 4, "overdue": 1,
                                          "overdue_share": 25.0}
    _get(client, api, "hotspots", status=422, by="planet")
    _get(client, api, "hotspots", status=403, unit="JA02")
