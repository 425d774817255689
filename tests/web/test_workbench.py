"""The staff workbench over HTTP: sign-in, badges, items and their actions, idempotent submissions,
tool screens behind the tool access rule, one-click query, the demo district, weak-network budgets."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.idempotency import IdempotencyKey
from app.models.workitem import WorkItem, WorkItemApproval
from app.services import workflow as wf
from tests.citizen_support import jpeg_with_gps


def _item_at(app, unit_code: str, state: str) -> int:
    with app.app_context():
        return db.session.execute(select(WorkItem.id).join(WorkItem.org_unit).where(
            WorkItem.org_unit.has(code=unit_code), WorkItem.state == state).order_by(WorkItem.id)).scalars().first()


def test_without_a_session_the_workbench_sends_the_browser_through_wecom_oauth(client, district):
    res = client.get("/h5/staff/items?box=overdue")
    assert res.status_code == 302
    assert res.headers["Location"] == "/api/v1/auth/wecom/oauth?next=/h5/staff/items?box%3Doverdue"
    assert client.get("/").headers["Location"] == "/h5/staff/"  # the OAuth default next lands here too
    fetched = client.post("/h5/staff/items/1/act/sign", headers={"X-Requested-With": "fetch"})
    assert fetched.status_code == 401 and fetched.get_json()["login"].startswith("/api/v1/auth/wecom/oauth")


def test_home_shows_the_toolbox_and_exactly_the_inbox_counts(app, staff, demo):
    worker = staff("ja01g01-worker")
    html = worker.get("/h5/staff/").get_data(as_text=True)
    with app.app_context():
        counts = wf.workbench_counts(district_user("ja01g01-worker"))
    for box in ("to_sign", "handling", "to_review", "due_soon", "overdue"):
        assert re.search(rf'data-box="{box}"><strong>{counts[box]}</strong>', html), box
    assert counts["to_sign"] >= 1 and counts["handling"] >= 1
    for tool in ("construction_sites", "facade_inspection", "flood_duty", "citizen_report"):
        assert f'/h5/staff/t/{tool}/' in html
    assert "approvals-link" not in html  # not a manager
    assert 'id="approvals-link"' in staff("ja-manager").get("/h5/staff/").get_data(as_text=True)


def district_user(userid):
    from app.models.users import User
    return db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one()


def test_the_item_page_offers_exactly_the_actions_the_workflow_allows(app, staff, demo):
    item_id = _item_at(app, "JA01G01", "dispatched")
    for userid in ("ja01g01-worker", "ja01-operator", "ja-operator", "ja01g02-worker"):
        res = staff(userid).get(f"/h5/staff/items/{item_id}")
        with app.app_context():
            item = db.session.get(WorkItem, item_id)
            user = district_user(userid)
            allowed = wf.allowed_actions(item, user) if wf.can_view(user, item) else None
        if allowed is None:
            assert res.status_code == 403
            continue
        shown = re.findall(r'/act/([a-z_]+)" data-action=', res.get_data(as_text=True))
        assert shown == allowed, userid
    html = staff("ja01g01-worker").get(f"/h5/staff/items/{item_id}").get_data(as_text=True)
    assert 'id="deadline"' in html and "工作日" in html and 'id="timeline"' in html


def test_an_action_submitted_twice_with_one_key_is_applied_once(app, staff, demo):
    item_id = _item_at(app, "JA01G01", "dispatched")
    worker = staff("ja01g01-worker")
    path = f"/h5/staff/items/{item_id}/act/sign"
    hidden = {k: v for k, v in worker.form(path).items() if k != "_csrf"}
    first = worker.post(path, {**hidden, "note": "已电话联系"})
    again = worker.post(path, {**hidden, "note": "已电话联系"})  # the phone retried: same key
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"] == f"/h5/staff/items/{item_id}"
    with app.app_context():
        item = db.session.get(WorkItem, item_id)
        assert item.state == "handling" and [e.action for e in item.events].count("sign") == 1
        assert db.session.execute(select(func.count(IdempotencyKey.id))).scalar_one() == 1
    # A new key for an action the item no longer allows: refused with the reason, nothing recorded.
    refused = worker.post(path, {**hidden, "idempotency_key": "another-key-0123456789", "note": "再签一次"})
    assert refused.status_code == 409 and "不能签收" in refused.get_data(as_text=True)


def test_a_refused_submission_keeps_the_input_and_the_key(app, staff, demo):
    item_id = _item_at(app, "JA01G01", "handling")
    worker = staff("ja01g01-worker")
    path = f"/h5/staff/items/{item_id}/act/feedback"
    hidden = {k: v for k, v in worker.form(path).items() if k != "_csrf"}
    res = worker.post(path, {**hidden, "result": ""})
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "请填写处置结果" in html
    assert f'name="idempotency_key" value="{hidden["idempotency_key"]}"' in html
    fetched = worker.post(path, {**hidden, "result": ""}, fetch=True)
    assert fetched.status_code == 422 and fetched.get_json()["errors"] == {"result": "请填写处置结果"}
    # A stale version (someone acted meanwhile) is refused with the workflow's message.
    stale = worker.post(path, {**hidden, "version": "1", "result": "已处理"})
    assert stale.status_code == 409 and "已被他人更新" in stale.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(WorkItem, item_id).state == "handling"
        assert db.session.execute(select(func.count(IdempotencyKey.id))).scalar_one() == 0


def test_feedback_takes_photos_after_handling(app, staff, demo, tmp_path):
    from tests.citizen_support import temporary_media_root

    item_id = _item_at(app, "JA01G01", "handling")
    with temporary_media_root(app, tmp_path / "media"):
        res = staff("ja01g01-worker").submit(f"/h5/staff/items/{item_id}/act/feedback", {
            "result": "已疏通下水道口", "photo_ids": (io.BytesIO(jpeg_with_gps()), "after.jpg")},
            content_type="multipart/form-data")
    assert res.status_code == 303
    with app.app_context():
        item = db.session.get(WorkItem, item_id)
        assert item.state == "reviewing" and len(item.events[-1].detail["photo_ids"]) == 1
        assert item.events[-1].detail["photo_ids"][0] in item.photo_ids


def test_a_post_without_the_csrf_value_is_refused(app, staff, demo):
    item_id = _item_at(app, "JA01G01", "dispatched")
    worker = staff("ja01g01-worker")
    hidden = {k: v for k, v in worker.form(f"/h5/staff/items/{item_id}/act/sign").items() if k != "_csrf"}
    res = worker.client.post(f"/h5/staff/items/{item_id}/act/sign", data={**hidden, "_csrf": "forged"})
    assert res.status_code == 403
    assert _item_at(app, "JA01G01", "dispatched") == item_id


def test_the_manager_decides_in_the_workbench_as_on_the_card(app, staff, demo):
    with app.app_context():
        approval = db.session.execute(select(WorkItemApproval).where(
            WorkItemApproval.status == "pending", WorkItemApproval.kind == "forward")).scalars().first()
        approval_id, approver_unit = approval.id, approval.approver_unit.code
    manager = staff(f"{approver_unit.lower()}-manager")
    assert "/h5/staff/items/" in manager.get("/h5/staff/approvals").get_data(as_text=True)
    res = manager.submit(f"/h5/staff/approvals/{approval_id}/approve", {"note": "同意"})
    assert res.status_code == 303
    again = manager.submit(f"/h5/staff/approvals/{approval_id}/approve", {"note": "同意"})
    assert again.status_code == 409 and "已处理" in again.get_data(as_text=True)
    with app.app_context():
        decided = db.session.get(WorkItemApproval, approval_id)
        assert decided.status == "approved" and decided.decided_via == "workbench"
    assert staff("ja01g01-worker").get(f"/h5/staff/approvals/{approval_id}/approve").status_code == 404


def test_tool_screens_follow_the_tool_access_rule(app, staff, demo, runner):
    worker = staff("ja01g01-worker")
    assert worker.get("/h5/staff/t/construction_sites/sites").status_code == 200
    assert runner.invoke(args=["toolbox", "tools", "disable", "construction_sites", "--unit", "JA01"]).exit_code == 0
    res = worker.get("/h5/staff/t/construction_sites/sites")
    assert res.status_code == 403 and "无权使用该工具" in res.get_data(as_text=True)
    assert "/h5/staff/t/construction_sites/" not in worker.get("/h5/staff/").get_data(as_text=True)
    assert staff("ja02g01-worker").get("/h5/staff/t/construction_sites/sites").status_code == 200


def test_a_site_inspection_with_a_failed_line_and_its_photo_raises_a_work_item(app, staff, demo, tmp_path):
    from tests.citizen_support import temporary_media_root
    from toolbox.construction_sites.models import CHECKLIST, Site

    with app.app_context():
        site_id = db.session.execute(select(Site.id).where(Site.org_unit.has(code="JA01G01"))).scalars().first()
    data = {f"items.{code}.result": "pass" for code in CHECKLIST}
    data.update({"items.noise.result": "fail", "items.noise.note": "夜间施工",
                 "items.noise.photos": (io.BytesIO(jpeg_with_gps()), "noise.jpg")})
    path = f"/h5/staff/t/construction_sites/f/inspect?id={site_id}"
    with temporary_media_root(app, tmp_path / "media"):
        missing = staff("ja01g01-worker").submit(path, {"items.dust.result": "fail"})
        assert missing.status_code == 422 and "请填写说明" in missing.get_data(as_text=True)
        res = staff("ja01g01-worker").submit(path, data, content_type="multipart/form-data")
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/sites/{site_id}")
    with app.app_context():
        item = db.session.execute(select(WorkItem).where(WorkItem.category == "site_noise")).scalars().one()
        assert item.org_unit.code == "JA-D-JG" and len(item.photo_ids) == 1


def test_one_click_query_shows_facets_highlights_and_opens_the_records(app, staff, demo):
    html = staff("ja-operator").get("/h5/staff/query?q=路").get_data(as_text=True)
    assert 'id="facet-tool"' in html and "<em>路</em>" in html
    links = re.findall(r'<a href="(/h5/staff/[^"]+)">\s*<div class="row-title">', html)
    assert links and all(staff("ja-operator").get(url).status_code == 200 for url in links[:8])
    worker_html = staff("ja01g01-worker").get("/h5/staff/query?q=路&tool=construction_sites").get_data(as_text=True)
    assert "石门二路" not in worker_html  # within the grid's scope only


def test_a_scanned_jingan_code_opens_its_place_and_record(app, staff, demo):
    from app.models.place import Place

    with app.app_context():
        place = db.session.execute(select(Place).where(Place.kind == "construction_site",
                                                       Place.org_unit.has(code="JA01G01"))).scalars().first()
        code = place.code
    html = staff("ja01g01-worker").get(f"/h5/staff/places/{code.lower()}").get_data(as_text=True)
    assert 'id="open-record"' in html and "/h5/staff/t/construction_sites/sites/" in html
    assert f"/api/v1/places/{code}/poster.pdf" in html
    assert staff("ja02g01-worker").get(f"/h5/staff/places/{code}").status_code == 404


@pytest.mark.parametrize("path", ["/h5/staff/", "/h5/staff/items?box=handling", "/h5/staff/query?q=路",
                                  "/h5/staff/t/construction_sites/sites", "/h5/staff/t/flood_duty/home",
                                  "/h5/staff/t/facade_inspection/progress", "/h5/staff/places"])
def test_pages_are_small_and_every_asset_is_local(app, staff, demo, path):
    worker = staff("ja-operator")
    res = worker.get(path)
    html = res.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # no CDN, no third party
    total = len(res.data)
    for asset in assets:
        with worker.get(asset) as answer:
            total += len(answer.data)
    assert total < 100 * 1024, (path, total)
    assert "script-src 'self'" in res.headers["Content-Security-Policy"]


def test_the_wecom_sdk_is_served_locally_only_inside_wecom(staff, demo):
    worker = staff("ja01g01-worker")
    outside = worker.get("/h5/staff/").get_data(as_text=True)
    inside = worker.get("/h5/staff/", headers={"User-Agent": "Mozilla/5.0 wxwork/4.1.30 MicroMessenger/7.0.1"})
    assert "wecom-jssdk" not in outside
    sdk = re.search(r'src="(/static/web/vendor/wecom-jssdk[^"]+)"', inside.get_data(as_text=True)).group(1)
    with worker.get(sdk) as answer:
        assert answer.status_code == 200


def test_the_demo_district_has_every_state_and_a_second_run_adds_nothing(app, runner, district, wecom_sim):
    from toolbox.flood_duty.models import FloodWarning

    first = runner.invoke(args=["toolbox", "seed", "--demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        states = dict(db.session.execute(select(WorkItem.state, func.count()).group_by(WorkItem.state)).all())
        total = db.session.execute(select(func.count(WorkItem.id))).scalar_one()
        overdue = db.session.execute(select(func.count()).where(WorkItem.overdue.is_(True))).scalar_one()
        pending = db.session.execute(select(func.count()).where(WorkItemApproval.status == "pending")).scalar_one()
        warnings = db.session.execute(select(func.count(FloodWarning.id))).scalar_one()
    assert {"dispatched", "handling", "reviewing", "rehandling", "visiting", "closed", "returned"} <= set(states)
    assert overdue >= 3 and pending >= 2 and warnings >= 2
    streets = {i[:4] for i in _units_with_items(app)}
    assert len(streets) == 14
    second = runner.invoke(args=["toolbox", "seed", "--demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert db.session.execute(select(func.count(WorkItem.id))).scalar_one() == total


def _units_with_items(app) -> set[str]:
    from app.models.org import OrgUnit
    with app.app_context():
        return {c for c in db.session.execute(select(OrgUnit.code).join(WorkItem, WorkItem.org_unit_id == OrgUnit.id)
                                              ).scalars() if c.startswith("JA") and c[2:4].isdigit()}


@pytest.mark.parametrize("admin", ["ja-admin", "ja-secadmin", "ja-auditor"])
def test_the_three_administrators_are_refused_the_workbench(staff, district, admin):
    res = staff(admin).get("/h5/staff/")
    assert res.status_code == 403 and "管理员请使用管理控制台" in res.get_data(as_text=True)
