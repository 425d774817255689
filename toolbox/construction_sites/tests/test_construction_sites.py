"""Small construction sites: registration, checklist inspections, work items, working lists, closing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.base import utcnow
from app.models.place import Place
from app.models.workitem import WorkItem
from app.signals import searchable_saved
from toolbox.construction_sites.models import CHECKLIST, Site

URL = "/api/v1/tools/construction_sites"


def site_payload(**overrides) -> dict:
    today = date.today()
    body = {
        "name": "延平路 123 号装修工地", "address": "静安区延平路 123 号", "org_unit": "JA01G01",
        "owner_name": "上海某某置业有限公司", "owner_contact": "张经理", "owner_phone": "13812345678",
        "contractor_name": "上海某某建筑装饰工程有限公司", "contractor_contact": "李工",
        "contractor_phone": "13987654321",
        "permit_number": "JA-2026-0456", "work_kind": "renovation",
        "start_date": (today - timedelta(days=30)).isoformat(), "end_date": (today + timedelta(days=60)).isoformat(),
    }
    body.update(overrides)
    return body


def checklist(failed: dict[str, str] | None = None) -> list[dict]:
    failed = failed or {}
    return [{"item": code, "passed": code not in failed, "note": failed.get(code, "")} for code in CHECKLIST]


@pytest.fixture
def site(client, district, auth):
    """A site registered by the street operator of 江宁路街道, in grid JA01G01."""
    res = client.post(f"{URL}/sites", json=site_payload(), headers=auth.headers("ja01-operator"))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def test_registered_site_gets_a_jingan_code_and_masked_phones(client, site, app):
    assert site["status"] == "active"
    assert site["org_unit"]["code"] == "JA01G01"
    assert site["owner_phone"] == "138****5678" and site["contractor_phone"] == "139****4321"
    with app.app_context():
        place = db.session.execute(select(Place).where(Place.code == site["place_code"])).scalar_one()
        assert (place.kind, place.ref_tool, place.ref_type, place.ref_id) == (
            "construction_site", "construction_sites", "site", str(site["id"]))
        assert place.org_unit.code == "JA01G01"


def test_phone_numbers_are_encrypted_at_rest_and_unmasked_views_are_audited(client, site, auth, app):
    with app.app_context():
        raw = db.session.execute(db.text("SELECT owner_phone FROM construction_sites_site")).scalar_one()
        assert "13812345678" not in raw
    res = client.get(f"{URL}/sites/{site['id']}/contacts", headers=auth.headers("ja01g01-worker"))
    assert res.status_code == 200
    assert res.get_json()["owner_phone"] == "13812345678"
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(
            AuditLog.action == "construction_sites.site.view_contacts")).scalars().all()
        assert [r.actor for r in rows] == ["ja01g01-worker"]


def test_registration_is_validated_with_chinese_messages(client, district, auth):
    headers = auth.headers("ja01-operator")
    body = site_payload(end_date="2020-01-01", owner_phone="12345", work_kind="palace")
    del body["name"]
    res = client.post(f"{URL}/sites", json=body, headers=headers)
    assert res.status_code == 422
    fields = res.get_json()["error"]["fields"]
    assert fields["name"] == ["请填写工地名称"]
    assert fields["owner_phone"] == ["请填写有效的手机号或座机号"]
    assert "施工类型须为" in fields["work_kind"][0]
    res = client.post(f"{URL}/sites", json=site_payload(end_date="2020-01-01"), headers=headers)
    assert res.get_json()["error"]["fields"]["end_date"] == ["竣工日期不能早于开工日期"]
    res = client.post(f"{URL}/sites", json=site_payload(night_work_permitted=True), headers=headers)
    assert res.status_code == 422
    assert "night_work_permit_number" in res.get_json()["error"]["fields"]


def test_only_operators_and_managers_of_the_unit_register_sites(client, district, auth):
    assert client.post(f"{URL}/sites", json=site_payload(), headers=auth.headers("ja01g01-worker")).status_code == 403
    other_street = client.post(f"{URL}/sites", json=site_payload(), headers=auth.headers("ja02-operator"))
    assert other_street.status_code == 403
    assert other_street.get_json()["error"]["code"] == "out_of_scope"
    district_level = client.post(f"{URL}/sites", json=site_payload(org_unit="JA"), headers=auth.headers("ja-operator"))
    assert district_level.status_code == 422


def test_sites_are_seen_only_within_data_scope(client, site, auth):
    assert client.get(f"{URL}/sites/{site['id']}", headers=auth.headers("ja01g01-worker")).status_code == 200
    assert client.get(f"{URL}/sites/{site['id']}", headers=auth.headers("ja01g02-worker")).status_code == 403
    assert client.get(f"{URL}/sites/{site['id']}", headers=auth.headers("ja02-operator")).status_code == 403
    assert client.get(f"{URL}/sites", headers=auth.headers("ja01g02-worker")).get_json()["total"] == 0
    assert client.get(f"{URL}/sites", headers=auth.headers("ja-operator")).get_json()["total"] == 1


def test_an_inspection_must_answer_every_checklist_item_once(client, site, auth):
    headers = auth.headers("ja01g01-worker")
    lines = checklist()[:-1] + [checklist()[0]]
    res = client.post(f"{URL}/sites/{site['id']}/inspections", json={"items": lines}, headers=headers)
    assert res.status_code == 422
    problems = res.get_json()["error"]["fields"]["items"]
    assert problems["missing"] == ["缺少检查项：占道施工"]
    assert problems["repeated"] == ["检查项重复：围挡设置"]
    res = client.post(f"{URL}/sites/{site['id']}/inspections",
                      json={"items": checklist({"dust": "  "})}, headers=headers)
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"]["items"]["dust"] == ["不合格项须填写问题说明"]


def test_a_clean_inspection_passes_and_raises_no_work_item(client, site, auth, app):
    res = client.post(f"{URL}/sites/{site['id']}/inspections", json={"items": checklist(), "remarks": "现场整洁"},
                      headers=auth.headers("ja01g01-worker"))
    assert res.status_code == 201
    body = res.get_json()
    assert body["result"] == "pass"
    assert [i["item"] for i in body["items"]] == list(CHECKLIST)
    with app.app_context():
        assert db.session.execute(select(WorkItem)).first() is None
        assert db.session.get(Site, site["id"]).last_inspected_at is not None


def test_every_failed_item_raises_a_work_item_for_the_construction_commission(client, site, auth, app):
    res = client.post(f"{URL}/sites/{site['id']}/inspections",
                      json={"items": checklist({"dust": "裸土未覆盖", "noise": "22 点后仍在切割"})},
                      headers=auth.headers("ja01g01-worker"))
    assert res.status_code == 201
    body = res.get_json()
    assert body["result"] == "fail"
    failed = {i["item"]: i for i in body["items"] if not i["passed"]}
    assert set(failed) == {"dust", "noise"}
    assert all(i["work_item_number"].startswith("JA-") and i["problem_open"] for i in failed.values())
    with app.app_context():
        items = db.session.execute(select(WorkItem).order_by(WorkItem.id)).scalars().all()
        assert [(w.category, w.org_unit.code, w.source_tool, w.source_type) for w in items] == [
            ("site_dust", "JA-D-JG", "construction_sites", "inspection_item"),
            ("site_noise", "JA-D-JG", "construction_sites", "inspection_item")]
        assert items[0].id == failed["dust"]["work_item_id"]
        assert "裸土未覆盖" in items[0].description and items[0].address == "静安区延平路 123 号"
    detail = client.get(f"{URL}/sites/{site['id']}", headers=auth.headers("ja01g01-worker")).get_json()
    assert [p["item"] for p in detail["open_problems"]] == ["dust", "noise"]


def close_through_workflow(app, district, item_id: int) -> None:
    """Walk a department's work item through the real workflow: sign, report back, review, follow-up."""
    from app.services.workflow import perform

    with app.app_context():
        handler, dispatcher = district.user("ja-d-jg-operator"), district.user("ja-operator")
        perform(item_id, "sign", handler)
        perform(item_id, "feedback", handler, {"result": "已整改"})
        perform(item_id, "review_pass", dispatcher)
        item, _ = perform(item_id, "visit", dispatcher, {"satisfaction": "satisfied"})
        assert item.state == "closed"


def test_a_problem_stops_being_open_when_its_work_item_is_closed(client, site, auth, app, district):
    client.post(f"{URL}/sites/{site['id']}/inspections", json={"items": checklist({"signs": "缺少警示牌"})},
                headers=auth.headers("ja01g01-worker"))
    listed = client.get(f"{URL}/sites?view=open_problems", headers=auth.headers("ja01-operator")).get_json()
    assert [s["id"] for s in listed["items"]] == [site["id"]]
    with app.app_context():
        item_id = db.session.execute(select(WorkItem.id)).scalar_one()
    close_through_workflow(app, district, item_id)
    listed = client.get(f"{URL}/sites?view=open_problems", headers=auth.headers("ja01-operator")).get_json()
    assert listed["total"] == 0
    detail = client.get(f"{URL}/sites/{site['id']}", headers=auth.headers("ja01-operator")).get_json()
    assert detail["open_problems"] == []


def test_working_lists_ending_soon_and_overdue_for_inspection(client, district, auth, app):
    headers = auth.headers("ja01-operator")
    today = date.today()
    ending = client.post(f"{URL}/sites", json=site_payload(name="即将完工", end_date=(today + timedelta(days=3))
                                                           .isoformat()), headers=headers).get_json()
    later = client.post(f"{URL}/sites", json=site_payload(name="远期完工"), headers=headers).get_json()
    fresh = client.post(f"{URL}/sites", json=site_payload(name="新开工", start_date=today.isoformat()),
                        headers=headers).get_json()
    client.post(f"{URL}/sites/{later['id']}/inspections", json={"items": checklist()}, headers=headers)
    with app.app_context():  # the ending site was last inspected three weeks ago
        db.session.get(Site, ending["id"]).last_inspected_at = utcnow() - timedelta(days=21)
        db.session.commit()

    soon = client.get(f"{URL}/sites?view=ending_soon", headers=headers).get_json()
    assert [s["name"] for s in soon["items"]] == ["即将完工"]
    assert client.get(f"{URL}/sites?view=ending_soon&days=90", headers=headers).get_json()["total"] == 3
    overdue = client.get(f"{URL}/sites?view=overdue_inspection", headers=headers).get_json()
    assert [s["id"] for s in overdue["items"]] == [ending["id"]]  # fresh started today: not yet due
    assert fresh["id"] not in [s["id"] for s in overdue["items"]]
    paged = client.get(f"{URL}/sites?per_page=2&page=2", headers=headers).get_json()
    assert (paged["total"], paged["pages"], len(paged["items"])) == (3, 2, 1)


def test_a_closed_site_leaves_the_lists_and_cannot_be_inspected(client, site, auth):
    headers = auth.headers("ja01-operator")
    assert client.post(f"{URL}/sites/{site['id']}/close", json={"reason": "已竣工"},
                       headers=auth.headers("ja01g01-worker")).status_code == 403
    res = client.post(f"{URL}/sites/{site['id']}/close", json={"reason": "已竣工"}, headers=headers)
    assert res.status_code == 200 and res.get_json()["status"] == "closed"
    assert client.post(f"{URL}/sites/{site['id']}/close", json={"reason": "again"}, headers=headers).status_code == 409
    res = client.post(f"{URL}/sites/{site['id']}/inspections", json={"items": checklist()}, headers=headers)
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "site_closed"
    assert client.get(f"{URL}/sites?view=ending_soon&days=365", headers=headers).get_json()["total"] == 0
    assert client.get(f"{URL}/sites?status=closed", headers=headers).get_json()["total"] == 1
    assert client.patch(f"{URL}/sites/{site['id']}", json={"name": "x"}, headers=headers).status_code == 409


def test_sites_and_inspections_feed_one_click_query(client, district, auth, app):
    seen = []

    def receiver(sender, record):
        seen.append((sender, record.type, record.title, record.org_path))

    searchable_saved.connect(receiver)
    try:
        site = client.post(f"{URL}/sites", json=site_payload(), headers=auth.headers("ja01-operator")).get_json()
        client.post(f"{URL}/sites/{site['id']}/inspections", json={"items": checklist({"waste": "渣土未清运"})},
                    headers=auth.headers("ja01g01-worker"))
    finally:
        searchable_saved.disconnect(receiver)
    mine = [s for s in seen if s[0] == "construction_sites"]
    assert ("construction_sites", "site", "延平路 123 号装修工地", "/JA/JA01/JA01G01/") in mine
    assert any(kind == "inspection" for _, kind, _, _ in mine)
    with app.app_context():
        from toolbox.registry import current_registry
        docs = list(current_registry().get("construction_sites").search_documents())
        assert {(d.type, d.id) for d in docs} == {("site", str(site["id"])), ("inspection", "1")}
        assert "有未整改问题" in next(d for d in docs if d.type == "site").text


def test_inspection_photos_must_come_from_the_photo_pipeline(client, site, auth, app):
    import io

    from tests.citizen_support import png_bytes, temporary_media_root

    headers = auth.headers("ja01g01-worker")
    res = client.post(f"{URL}/sites/{site['id']}/inspections", json={"items": checklist(), "photo_ids": [999]},
                      headers=headers)
    assert res.status_code == 422 and res.get_json()["error"]["code"] == "photo_not_found"
    with temporary_media_root(app, app.instance_path + "/test-media-cs"):
        up = client.post("/api/v1/attachments", data={"file": (io.BytesIO(png_bytes()), "a.png")}, headers=headers)
        assert up.status_code == 201, up.get_json()
        photo = up.get_json()["id"]
        res = client.post(f"{URL}/sites/{site['id']}/inspections",
                          json={"items": checklist(), "photo_ids": [photo]}, headers=headers)
    assert res.status_code == 201 and res.get_json()["photo_ids"] == [photo]
    # bound to the site's scope: another worker of the grid's street can now see it, one elsewhere cannot
    assert client.get(f"/api/v1/attachments/{photo}", headers=auth.headers("ja01-operator")).status_code == 200
    assert client.get(f"/api/v1/attachments/{photo}", headers=auth.headers("ja02-operator")).status_code == 404


def test_street_operators_are_reminded_daily_of_sites_overdue_for_inspection(client, district, auth, app, wecom_sim):
    from app.jobs import PERIODIC_JOBS
    from tests.citizen_support import run_jobs
    from toolbox.construction_sites.jobs import remind_overdue_inspections

    assert PERIODIC_JOBS["construction_sites.inspection_reminders"].interval_seconds == 24 * 3600
    headers = auth.headers("ja01-operator")
    client.post(f"{URL}/sites", json=site_payload(name="久未检查工地"), headers=headers)
    checked = client.post(f"{URL}/sites", json=site_payload(name="刚检查工地"), headers=headers).get_json()
    client.post(f"{URL}/sites/{checked['id']}/inspections", json={"items": checklist()}, headers=headers)
    with app.app_context():
        assert remind_overdue_inspections() == 1
    run_jobs(app, "notify")
    texts = [m for m in wecom_sim.messages() if m["msgtype"] == "text" and "小型工地" in m["text"]["content"]]
    assert [m["touser"] for m in texts] == ["ja01-operator"]
    assert "久未检查工地" in texts[0]["text"]["content"] and "刚检查工地" not in texts[0]["text"]["content"]
