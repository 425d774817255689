"""Facade fall-risk inspection: register, graded items, derived risk, rectification work item, progress."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.workitem import WorkItem
from toolbox.facade_inspection.models import ITEMS

URL = "/api/v1/tools/facade_inspection"


def building(**overrides) -> dict:
    body = {"name": "昌平路 100 弄 3 号楼", "address": "静安区昌平路 100 弄 3 号", "org_unit": "JA01G01",
            "built_year": 1988, "floors": 6, "structure": "brick_concrete", "managing_party": "某某物业"}
    body.update(overrides)
    return body


def grades(**found: str) -> list[dict]:
    """Every item graded none unless given, e.g. grades(ac_brackets="high")."""
    return [{"item": code, "grade": found.get(code, "none"), "note": "锈蚀松动" if code in found else ""}
            for code in ITEMS]


@pytest.fixture
def b(client, district, auth):
    res = client.post(f"{URL}/buildings", json=building(), headers=auth.headers("ja01-operator"))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def inspect(client, auth, building_id, items, who="ja01g01-worker"):
    return client.post(f"{URL}/buildings/{building_id}/inspections", json={"items": items},
                       headers=auth.headers(who))


def test_a_building_is_uninspected_until_graded_and_gets_a_jingan_code(b):
    assert b["risk_level"] is None and b["place_code"] and not b["rectification_open"]


def test_risk_is_the_highest_grade_among_the_items(client, b, auth):
    res = inspect(client, auth, b["id"], grades(windows="low", awnings="medium"))
    assert res.status_code == 201 and res.get_json()["risk_level"] == "medium"
    assert client.get(f"{URL}/buildings/{b['id']}", headers=auth.headers("ja01g01-worker")).get_json()[
        "risk_level"] == "medium"
    res = inspect(client, auth, b["id"], grades())
    assert res.get_json()["risk_level"] == "none"


def test_every_item_must_be_graded_and_medium_or_high_needs_a_description(client, b, auth):
    res = inspect(client, auth, b["id"], grades()[1:])
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"]["items"]["missing"] == ["缺少排查项：空调外机支架"]
    lines = grades()
    lines[0] = {"item": "ac_brackets", "grade": "high", "note": ""}
    res = inspect(client, auth, b["id"], lines)
    assert res.get_json()["error"]["fields"]["items"]["ac_brackets"] == ["中、高风险项须填写隐患描述"]
    lines[0] = {"item": "ac_brackets", "grade": "severe", "note": "x"}
    res = inspect(client, auth, b["id"], lines)
    assert res.status_code == 422 and "风险等级须为" in str(res.get_json()["error"]["fields"])


def test_high_risk_raises_one_rectification_work_item_with_a_deadline(client, b, auth, app):
    res = inspect(client, auth, b["id"], grades(ac_brackets="high", finish_tiles="medium"))
    body = res.get_json()
    assert body["risk_level"] == "high" and body["work_item_outcome"] == "raised"
    detail = client.get(f"{URL}/buildings/{b['id']}", headers=auth.headers("ja01g01-worker")).get_json()
    assert detail["rectification_open"] and detail["rectification_number"].startswith("JA-")
    assert detail["rectification_due_at"] is not None
    with app.app_context():
        item = db.session.execute(select(WorkItem)).scalar_one()
        assert (item.org_unit.code, item.category, item.priority, item.state) == (
            "JA-D-FG", "facade_high_risk", "urgent", "dispatched")
        assert item.close_due_at.isoformat().startswith(detail["rectification_due_at"][:16])
        assert "空调外机支架" in item.description
    # still high on the next visit: no second work item
    again = inspect(client, auth, b["id"], grades(ac_brackets="high")).get_json()
    assert again["is_reinspection"] and again["work_item_outcome"] == "still_high"
    with app.app_context():
        assert len(db.session.execute(select(WorkItem)).scalars().all()) == 1


def test_a_reinspection_below_high_closes_the_rectification_work_item(client, b, auth, app):
    inspect(client, auth, b["id"], grades(billboards="high"))
    res = inspect(client, auth, b["id"], grades(billboards="low"))
    body = res.get_json()
    assert body["is_reinspection"] and body["work_item_outcome"] == "closed" and body["risk_level"] == "low"
    with app.app_context():
        item = db.session.execute(select(WorkItem)).scalar_one()
        assert item.state == "closed" and item.closed_at is not None
        last = item.events[-1]
        assert (last.action, last.to_state, last.actor.wecom_userid) == ("close", "closed", "ja01g01-worker")
        assert last.detail["verified_by"] == "facade_inspection"
    detail = client.get(f"{URL}/buildings/{b['id']}", headers=auth.headers("ja01g01-worker")).get_json()
    assert not detail["rectification_open"]
    # a new high finding later raises a new rectification
    assert inspect(client, auth, b["id"], grades(awnings="high")).get_json()["work_item_outcome"] == "raised"
    with app.app_context():
        assert len(db.session.execute(select(WorkItem)).scalars().all()) == 2


def test_campaign_progress_per_street_counts_inspected_of_total_by_risk(client, district, auth):
    op1, op2 = auth.headers("ja01-operator"), auth.headers("ja02-operator")
    ids = [client.post(f"{URL}/buildings", json=building(name=f"楼{i}"), headers=op1).get_json()["id"]
           for i in range(3)]
    other = client.post(f"{URL}/buildings", json=building(name="石门楼", org_unit="JA02G01"), headers=op2).get_json()
    inspect(client, auth, ids[0], grades(windows="high"), who="ja01-operator")
    inspect(client, auth, ids[1], grades(), who="ja01-operator")
    inspect(client, auth, other["id"], grades(windows="low"), who="ja02-operator")

    everything = client.get(f"{URL}/progress", headers=auth.headers("ja-operator")).get_json()
    rows = {r["street"]["code"]: r for r in everything["streets"]}
    assert set(rows) == {"JA01", "JA02"}
    assert (rows["JA01"]["total"], rows["JA01"]["inspected"], rows["JA01"]["uninspected"]) == (3, 2, 1)
    assert rows["JA01"]["by_risk"] == {"none": 1, "low": 0, "medium": 0, "high": 1}
    assert rows["JA01"]["percent"] == 66.7
    assert everything["totals"]["total"] == 4 and everything["totals"]["by_risk"]["low"] == 1
    mine = client.get(f"{URL}/progress", headers=op2).get_json()
    assert [r["street"]["code"] for r in mine["streets"]] == ["JA02"]
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    later = client.get(f"{URL}/progress?since={tomorrow}", headers=auth.headers("ja-operator")).get_json()
    assert later["totals"]["inspected"] == 0 and later["totals"]["uninspected"] == 4


def test_buildings_list_filters_by_risk_and_pages_within_scope(client, district, auth):
    op = auth.headers("ja01-operator")
    for i in range(3):
        client.post(f"{URL}/buildings", json=building(name=f"楼{i}", org_unit=f"JA01G0{i + 1}"), headers=op)
    first = client.get(f"{URL}/buildings?per_page=2", headers=op).get_json()
    assert (first["total"], first["pages"], len(first["items"])) == (3, 2, 2)
    inspect(client, auth, first["items"][0]["id"], grades(awnings="high"), who="ja01-operator")
    high = client.get(f"{URL}/buildings?risk_level=high", headers=op).get_json()
    assert [x["id"] for x in high["items"]] == [first["items"][0]["id"]]
    assert client.get(f"{URL}/buildings?risk_level=uninspected", headers=op).get_json()["total"] == 2
    assert client.get(f"{URL}/buildings?rectification_open=true", headers=op).get_json()["total"] == 1
    assert client.get(f"{URL}/buildings", headers=auth.headers("ja01g02-worker")).get_json()["total"] == 1
    assert client.post(f"{URL}/buildings", json=building(), headers=auth.headers("ja01g01-worker")).status_code == 403


def test_buildings_feed_one_click_query(client, b, auth, app):
    inspect(client, auth, b["id"], grades(windows="high"))
    with app.app_context():
        from toolbox.registry import current_registry
        docs = {(d.type, d.id): d for d in current_registry().get("facade_inspection").search_documents()}
        assert docs[("building", str(b["id"]))].status == "high"
        assert "整改中" in docs[("building", str(b["id"]))].text
        assert ("inspection", "1") in docs


def test_operators_are_reminded_when_a_rectification_deadline_is_near(client, b, auth, app, wecom_sim):
    from app.models.base import utcnow
    from tests.citizen_support import run_jobs
    from toolbox.facade_inspection.jobs import remind_reinspections

    inspect(client, auth, b["id"], grades(awnings="high"))
    with app.app_context():
        assert remind_reinspections() == 0  # the deadline is days away
        db.session.execute(select(WorkItem)).scalar_one().close_due_at = utcnow() + timedelta(hours=12)
        db.session.commit()
        assert remind_reinspections() == 1
    run_jobs(app, "notify")
    texts = [m for m in wecom_sim.messages() if m["msgtype"] == "text" and "外墙隐患" in m["text"]["content"]]
    assert [m["touser"] for m in texts] == ["ja01-operator"]
    assert "昌平路 100 弄 3 号楼" in texts[0]["text"]["content"]


def test_a_rectification_closed_in_the_workflow_is_no_longer_open_on_the_building(client, b, auth, app, district):
    from app.services.workflow import perform

    inspect(client, auth, b["id"], grades(windows="high"))
    with app.app_context():
        item_id = db.session.execute(select(WorkItem.id)).scalar_one()
        handler, dispatcher = district.user("ja-d-fg-operator"), district.user("ja-operator")
        perform(item_id, "sign", handler)
        perform(item_id, "feedback", handler, {"result": "窗框已加固"})
        perform(item_id, "review_pass", dispatcher)
        perform(item_id, "visit", dispatcher, {"satisfaction": "satisfied"})
    detail = client.get(f"{URL}/buildings/{b['id']}", headers=auth.headers("ja01g01-worker")).get_json()
    assert detail["rectification_open"] is False and detail["risk_level"] == "high"
    # the next high finding is a new problem, with a new work item
    assert inspect(client, auth, b["id"], grades(windows="high")).get_json()["work_item_outcome"] == "raised"


def test_editing_a_building_moves_its_jingan_code_and_search_text_is_literal(client, b, auth):
    op = auth.headers("ja01-operator")
    moved = {"name": "昌平路 100 弄 5 号楼", "address": "昌平路 100 弄 5 号"}
    assert client.patch(f"{URL}/buildings/{b['id']}", json=moved, headers=op).status_code == 200
    place = client.get(f"/api/v1/places/{b['place_code']}", headers=auth.headers("ja-admin")).get_json()
    assert (place["name"], place["address"], place["kind_name"]) == (moved["name"], moved["address"], "楼宇")
    assert client.get(f"{URL}/buildings?q=5 号楼", headers=op).get_json()["total"] == 1
    assert client.get(f"{URL}/buildings?q=%25", headers=op).get_json()["total"] == 0  # % is a character, not "any"
