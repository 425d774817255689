"""Repeat complaints: same place or within 50 m and category within N working days, or near-identical text."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models.stats import WorkItemRepeat
from app.models.workitem import WorkItem
from app.services.assessment.repeats import distance_m, similarity

LAT, LNG = 31.2290, 121.4480  # 南京西路


def _link(app, item_id):
    with app.app_context():
        return db.session.get(WorkItemRepeat, item_id)


def test_bigram_similarity_and_distance():
    assert similarity("南京西路100号门口积水严重", "南京西路100号门口积水严重！") > 0.9
    assert similarity("南京西路积水", "共和新路占道经营") < 0.2
    assert 40 < distance_m(LAT, LNG, LAT + 0.0004, LNG) < 50


def test_the_same_place_and_category_is_a_repeat_linked_to_the_earlier_item(app, api, new_item):
    first = new_item("JA01G01", "grid_issue", address="江宁路100号", title="楼道堆物")
    again = new_item("JA01G01", "grid_issue", address="江宁路100号", title="楼道里又堆满杂物")
    link = _link(app, again)
    assert link.earlier_id == first and link.reason == "place"
    assert _link(app, first) is None
    detail = api.detail("ja01-operator", again)
    assert detail["repeat_of"]["id"] == first and detail["repeat_of"]["reason_label"] == "同一地点同类诉求"
    assert api.detail("ja01-operator", first)["repeated_by"] == 1


def test_within_fifty_metres_counts_and_a_hundred_does_not(app, new_item):
    first = new_item("JA01G01", "grid_issue", lat=LAT, lng=LNG, title="井盖缺失")
    near = new_item("JA01G02", "grid_issue", lat=LAT + 0.0003, lng=LNG, title="路面破损")
    far = new_item("JA01G03", "grid_issue", lat=LAT + 0.0010, lng=LNG, title="路灯不亮")
    assert _link(app, near).earlier_id == first and _link(app, near).reason == "nearby"
    assert 30 <= _link(app, near).distance_m <= 35
    assert _link(app, far) is None


def test_another_category_at_the_same_place_is_not_a_repeat_unless_the_text_is_the_same(app, new_item):
    first = new_item("JA01G01", "grid_issue", address="江宁路200号", title="门口共享单车乱停放堵住通道")
    other = new_item("JA01G01", "waterlogging", address="江宁路200号", title="门口积水")
    same_text = new_item("JA01G01", "waterlogging", address="江宁路200号", title="门口共享单车乱停放堵住通道了")
    assert _link(app, other) is None
    assert _link(app, same_text).earlier_id == first and _link(app, same_text).reason == "text"


def test_outside_the_window_of_working_days_is_not_a_repeat(app, new_item):
    first = new_item("JA01G01", "grid_issue", address="江宁路300号", title="楼道堆物")
    with app.app_context():
        item = db.session.get(WorkItem, first)
        item.created_at = item.created_at - timedelta(days=30)
        db.session.commit()
    later = new_item("JA01G01", "grid_issue", address="江宁路300号", title="楼道堆物")
    assert _link(app, later) is None


def test_repeats_are_counted_per_unit(app, client, api, new_item):
    new_item("JA01G01", "grid_issue", address="江宁路400号", title="楼道堆物")
    again = new_item("JA01G01", "grid_issue", address="江宁路400号", title="楼道堆物")
    table = client.get("/api/v1/stats/indicators", query_string={"group": "grid"},
                       headers=api.headers("ja01-operator")).get_json()
    assert table["rows"][0]["values"]["repeat_rate"] == {"value": 50.0, "numerator": 1, "denominator": 2}
    drilled = client.get("/api/v1/work-items", query_string={"indicator": "repeat_rate", "unit": "JA01G01"},
                         headers=api.headers("ja01-operator")).get_json()
    assert [i["id"] for i in drilled["items"]] == [again]
    with app.app_context():
        assert len(db.session.execute(select(WorkItemRepeat)).scalars().all()) == 1
