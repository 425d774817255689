"""Flood and typhoon duty: rosters, warning levels, WeCom call-out in batches, 签到, overview, waterlogging."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.users import User
from app.models.workitem import WorkItem
from tests.fixtures import USE_REDIS
from toolbox.flood_duty.models import DutyCall, FloodWarning, Roster, RosterMember

URL = "/api/v1/tools/flood_duty"


def run_notify_jobs(app) -> None:
    """Run the queued notify jobs with a real RQ worker (without Redis they already ran inline)."""
    if not USE_REDIS:
        return
    from rq import SimpleWorker

    from app.jobs import get_queue

    with app.app_context():
        queue = get_queue("notify")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)


def shift(hours_from_now: float = -1, length_hours: float = 24) -> dict:
    start = utcnow() + timedelta(hours=hours_from_now)
    return {"shift_start": start.isoformat(), "shift_end": (start + timedelta(hours=length_hours)).isoformat()}


def roster(client, auth, unit: str, members: list[str], activate_from: str = "blue", who: str = "ja-operator",
           **extra) -> dict:
    body = {"org_unit": unit, "name": f"{unit} 防汛值班", "activate_from": activate_from,
            "members": [{"userid": u, "duty": "on_duty"} for u in members], **shift(), **extra}
    res = client.post(f"{URL}/rosters", json=body, headers=auth.headers(who))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def set_level(client, auth, level: str, unit: str = "JA", who: str = "ja-operator", **extra):
    return client.post(f"{URL}/warnings", json={"org_unit": unit, "level": level, **extra},
                       headers=auth.headers(who))


def sent_texts(wecom_sim) -> list[dict]:
    """Warning messages (text cards that open 防汛防台 in the workbench), with the card's text as "text"."""
    cards = [m for m in wecom_sim.messages() if m.get("msgtype") == "textcard" and "防汛防台" in m["textcard"]["title"]]
    for m in cards:
        assert m["textcard"]["url"].endswith("/h5/staff/t/flood_duty/home")
        m["text"] = {"content": m["textcard"]["description"]}
    return cards


def test_a_roster_is_validated(client, district, auth):
    headers = auth.headers("ja01-operator")
    body = {"org_unit": "JA01", "name": "夜班", "members": [{"userid": "nobody"}, {"userid": "ja01g01-worker"}],
            **shift(length_hours=-2)}
    res = client.post(f"{URL}/rosters", json=body, headers=headers)
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"]["shift_end"] == ["班次结束时间须晚于开始时间"]
    body.update(shift())
    res = client.post(f"{URL}/rosters", json=body, headers=headers)
    assert res.get_json()["error"]["fields"]["members"] == ["人员不存在或已停用：nobody"]
    body["shift_start"] = "yesterday"
    res = client.post(f"{URL}/rosters", json=body, headers=headers)
    assert res.get_json()["error"]["fields"]["shift_start"] == ["班次开始时间格式不正确"]
    naive = {**body, "members": [{"userid": "ja01g01-worker"}], "shift_start": "2026-07-01T08:00:00",
             "shift_end": "2026-07-01T20:00:00"}
    res = client.post(f"{URL}/rosters", json=naive, headers=headers)
    assert res.status_code == 201 and res.get_json()["shift_start"].startswith("2026-07-01T00:00:00")  # Beijing
    body = {**body, **shift(), "members": [{"userid": "ja01g01-worker"}], "org_unit": "JA02"}
    assert client.post(f"{URL}/rosters", json=body, headers=headers).status_code == 403
    assert client.post(f"{URL}/rosters", json={**body, "org_unit": "JA01"},
                       headers=auth.headers("ja01g01-worker")).status_code == 403


def test_raising_a_level_calls_the_rosters_it_requires_and_messages_them(client, district, auth, app, wecom_sim):
    roster(client, auth, "JA01", ["ja01g01-worker", "ja01g02-worker"], activate_from="blue")
    roster(client, auth, "JA02", ["ja02g01-worker"], activate_from="orange")
    roster(client, auth, "JA03", ["ja03g01-worker"], activate_from="blue", **shift(hours_from_now=5))  # later
    res = set_level(client, auth, "yellow", hazard="rainstorm", message="预计雨量 80 毫米")
    assert res.status_code == 201, res.get_json()
    warning = res.get_json()
    assert (warning["level"], warning["previous_level"], warning["calls_count"]) == ("yellow", "none", 2)
    run_notify_jobs(app)
    texts = sent_texts(wecom_sim)
    assert len(texts) == 1
    assert sorted(texts[0]["touser"].split("|")) == ["ja01g01-worker", "ja01g02-worker"]
    assert "黄色预警" in texts[0]["text"]["content"] and "签到" in texts[0]["text"]["content"]
    detail = client.get(f"{URL}/warnings/{warning['id']}", headers=auth.headers("ja-operator")).get_json()
    assert (detail["batches_total"], detail["batches_sent"]) == (1, 1) and detail["messages_done_at"]

    red = set_level(client, auth, "red").get_json()  # raising again calls everyone the new level requires
    assert red["calls_count"] == 3
    run_notify_jobs(app)
    assert sorted(sent_texts(wecom_sim)[-1]["touser"].split("|")) == [
        "ja01g01-worker", "ja01g02-worker", "ja02g01-worker"]
    with app.app_context():
        assert not db.session.get(FloodWarning, warning["id"]).active
        calls = db.session.execute(select(DutyCall).where(DutyCall.warning_id == red["id"])).scalars().all()
        assert all(c.notified_at is not None for c in calls)


def test_a_street_warning_calls_only_that_streets_rosters(client, district, auth, app, wecom_sim):
    roster(client, auth, "JA01", ["ja01g01-worker"])
    roster(client, auth, "JA02", ["ja02g01-worker"])
    assert set_level(client, auth, "red", unit="JA02", who="ja01-operator").status_code == 403
    assert set_level(client, auth, "red", unit="JA02G01", who="ja02-operator").status_code == 422
    res = set_level(client, auth, "orange", unit="JA02", who="ja02-operator")
    assert res.status_code == 201 and res.get_json()["calls_count"] == 1
    run_notify_jobs(app)
    assert [m["touser"] for m in sent_texts(wecom_sim)] == ["ja02g01-worker"]
    assert set_level(client, auth, "red", who="ja01g01-worker").status_code == 403


def test_setting_the_same_level_again_is_a_conflict(client, district, auth):
    assert set_level(client, auth, "blue").status_code == 201
    res = set_level(client, auth, "blue")
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "level_unchanged"


def test_lowering_or_lifting_calls_no_one_and_tells_the_people_on_duty(client, district, auth, app, wecom_sim):
    roster(client, auth, "JA01", ["ja01g01-worker"])
    set_level(client, auth, "orange")
    lowered = set_level(client, auth, "blue").get_json()
    lifted = set_level(client, auth, "none").get_json()
    assert lowered["calls_count"] == 0 and lifted["calls_count"] == 0 and not lifted["active"]
    run_notify_jobs(app)
    contents = [m["text"]["content"] for m in sent_texts(wecom_sim)]
    assert len(contents) == 3
    assert "由橙色调整为蓝色" in contents[1] and "解除" in contents[2]
    assert all(m["touser"] == "ja01g01-worker" for m in sent_texts(wecom_sim))
    active = client.get(f"{URL}/warnings?active=true", headers=auth.headers("ja01g01-worker")).get_json()
    assert active["total"] == 0


def test_lifting_a_typhoon_warning_names_the_typhoon(client, district, auth, app, wecom_sim):
    roster(client, auth, "JA01", ["ja01g01-worker"])
    set_level(client, auth, "yellow", hazard="typhoon", message="台风「梅花」将于今夜影响本区")
    lowered = set_level(client, auth, "blue").get_json()           # no hazard given: it stays the typhoon's
    lifted = set_level(client, auth, "none", hazard="rainstorm").get_json()  # a form default cannot rename it
    assert lowered["hazard"] == "typhoon" and lifted["hazard"] == "typhoon"
    run_notify_jobs(app)
    cards = sent_texts(wecom_sim)
    assert "台风预警解除" in cards[-1]["textcard"]["title"]
    assert "台风预警已于" in cards[-1]["text"]["content"] and "暴雨" not in cards[-1]["text"]["content"]


def test_people_on_duty_confirm_arrival_once_and_only_for_the_warning_in_force(client, district, auth, app,
                                                                                  wecom_sim):
    roster(client, auth, "JA01", ["ja01g01-worker", "ja01g02-worker"])
    yellow = set_level(client, auth, "yellow").get_json()
    mine = client.get(f"{URL}/my-duty", headers=auth.headers("ja01g01-worker")).get_json()
    assert [c["warning"]["id"] for c in mine["items"]] == [yellow["id"]]
    url = f"{URL}/warnings/{yellow['id']}/confirm"
    first = client.post(url, json={"lat": 31.23, "lng": 121.45}, headers=auth.headers("ja01g01-worker"))
    assert first.status_code == 200 and first.get_json()["confirmed_at"]
    again = client.post(url, json={}, headers=auth.headers("ja01g01-worker"))
    assert again.get_json()["confirmed_at"] == first.get_json()["confirmed_at"]
    stranger = client.post(url, json={}, headers=auth.headers("ja02g01-worker"))
    assert stranger.status_code == 404 and stranger.get_json()["error"]["message"] == "您不在本次预警的值班名单中"
    set_level(client, auth, "red")
    late = client.post(url, json={}, headers=auth.headers("ja01g02-worker"))
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "warning_ended"


def test_the_overview_shows_who_confirmed_per_unit_within_scope(client, district, auth, app, wecom_sim):
    roster(client, auth, "JA01", ["ja01g01-worker", "ja01g02-worker"])
    roster(client, auth, "JA01G03", ["ja01g03-worker"])
    roster(client, auth, "JA02", ["ja02g01-worker"])
    warning = set_level(client, auth, "blue").get_json()
    client.post(f"{URL}/warnings/{warning['id']}/confirm", json={}, headers=auth.headers("ja01g01-worker"))

    overview = client.get(f"{URL}/warnings/{warning['id']}/overview", headers=auth.headers("ja-operator")).get_json()
    assert overview["totals"] == {"called": 4, "confirmed": 1, "unconfirmed": 3}
    rows = {r["org_unit"]["code"]: r for r in overview["items"]}
    assert (rows["JA01"]["called"], rows["JA01"]["confirmed"]) == (2, 1)
    assert [p["user"]["userid"] for p in rows["JA01"]["people"]] == ["ja01g02-worker"]
    assert [p["user"]["userid"] for p in rows["JA02"]["people"]] == ["ja02g01-worker"]
    street = client.get(f"{URL}/warnings/{warning['id']}/overview?people=all",
                        headers=auth.headers("ja01-operator")).get_json()
    assert [r["org_unit"]["code"] for r in street["items"]] == ["JA01", "JA01G03"]
    assert street["totals"]["called"] == 3
    paged = client.get(f"{URL}/warnings/{warning['id']}/overview?per_page=1&page=3",
                       headers=auth.headers("ja-operator")).get_json()
    assert (paged["total"], paged["pages"], [r["org_unit"]["code"] for r in paged["items"]]) == (3, 3, ["JA02"])


def test_a_district_red_warning_reaches_2500_people_in_batches_of_1000(client, district, auth, app, wecom_sim):
    with app.app_context():
        db.session.execute(User.__table__.insert(), [
            {"wecom_userid": f"duty{i:05d}", "name": f"值班{i}", "active": True, "created_at": utcnow(),
             "updated_at": utcnow()} for i in range(2500)])
        ids = db.session.execute(select(User.id).where(User.wecom_userid.like("duty%"))).scalars().all()
        units = [district.unit(f"JA{s:02d}") for s in range(1, 6)]
        rosters = [Roster(org_unit=u, org_unit_id=u.id, org_path=u.path, name="汛期值班", activate_from="red",
                          shift_start=utcnow() - timedelta(hours=1), shift_end=utcnow() + timedelta(hours=12))
                   for u in units]
        db.session.add_all(rosters)
        db.session.flush()
        db.session.execute(RosterMember.__table__.insert(), [
            {"roster_id": rosters[n % 5].id, "user_id": uid, "duty": "on_duty"} for n, uid in enumerate(ids)])
        db.session.commit()
    assert set_level(client, auth, "orange").get_json()["calls_count"] == 0  # these rosters start at red
    warning = set_level(client, auth, "red").get_json()
    assert warning["calls_count"] == 2500
    run_notify_jobs(app)
    sends = [m for m in sent_texts(wecom_sim) if "红色" in m["text"]["content"]]
    sizes = sorted(len(m["touser"].split("|")) for m in sends)
    assert sizes == [500, 1000, 1000]
    everyone = [u for m in sends for u in m["touser"].split("|")]
    assert len(everyone) == len(set(everyone)) == 2500
    assert wecom_sim.stats()["message/send"] == 3  # raising to orange called no one: no message
    with app.app_context():
        done = db.session.get(FloodWarning, warning["id"])
        assert (done.recipients_count, done.batches_total, done.batches_sent) == (2500, 3, 3)
        assert done.messages_done_at is not None


@pytest.fixture
def point(client, district, auth):
    res = client.post(f"{URL}/points", json={"org_unit": "JA01G01", "name": "延平路武定路口",
                                             "address": "静安区延平路武定路口", "threshold_cm": 15},
                      headers=auth.headers("ja01-operator"))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def test_waterlogging_above_the_threshold_is_escalated_once_as_a_work_item(client, point, auth, app):
    headers = auth.headers("ja01g01-worker")
    shallow = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": 8}, headers=headers).get_json()
    assert not shallow["escalated"] and shallow["work_item_id"] is None
    deep = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": 35, "note": "车辆无法通行"},
                       headers=headers).get_json()
    assert deep["escalated"] and deep["work_item_number"].startswith("JA-")
    deeper = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": 40}, headers=headers).get_json()
    assert deeper["work_item_id"] == deep["work_item_id"]
    with app.app_context():
        item = db.session.execute(select(WorkItem)).scalar_one()
        assert (item.org_unit.code, item.category, item.priority) == ("JA-D-FX", "waterlogging", "urgent")
        assert "35 厘米" in item.title and item.source_type == "point"
    now = client.get(f"{URL}/points?waterlogged=true", headers=headers).get_json()
    assert [p["id"] for p in now["items"]] == [point["id"]] and now["items"][0]["last_depth_cm"] == 40
    history = client.get(f"{URL}/points/{point['id']}/reports?per_page=2", headers=headers).get_json()
    assert (history["total"], [r["depth_cm"] for r in history["items"]]) == (3, [40, 35])
    bad = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": -3}, headers=headers)
    assert bad.status_code == 422 and "积水深度须在" in bad.get_json()["error"]["fields"]["depth_cm"][0]


def test_a_point_gets_a_jingan_code_and_keeps_its_resources(client, point, auth):
    assert point["place_code"]
    op = auth.headers("ja01-operator")
    url = f"{URL}/points/{point['id']}/resources"
    assert client.post(url, json={"kind": "pump", "quantity": 2, "unit": "台"},
                       headers=auth.headers("ja01g01-worker")).status_code == 403
    pump = client.post(url, json={"kind": "pump", "quantity": 2, "unit": "台"}, headers=op).get_json()
    client.post(url, json={"kind": "sandbag", "quantity": 200, "unit": "袋"}, headers=op)
    assert client.patch(f"{URL}/resources/{pump['id']}", json={"quantity": 3}, headers=op).get_json()["quantity"] == 3
    got = client.get(f"{URL}/points/{point['id']}", headers=auth.headers("ja01g01-worker")).get_json()
    assert [(r["kind_name"], r["quantity"]) for r in got["resources"]] == [("水泵", 3), ("沙袋", 200)]
    assert client.delete(f"{URL}/resources/{pump['id']}", headers=op).status_code == 204
    got = client.get(f"{URL}/points/{point['id']}", headers=op).get_json()
    assert [r["kind"] for r in got["resources"]] == ["sandbag"]
    assert client.get(f"{URL}/points/{point['id']}", headers=auth.headers("ja02g01-worker")).status_code == 403


def test_points_and_warnings_feed_one_click_query(client, point, auth, app):
    set_level(client, auth, "yellow", hazard="typhoon")
    with app.app_context():
        from toolbox.registry import current_registry
        docs = {(d.type, d.id): d for d in current_registry().get("flood_duty").search_documents()}
    assert docs[("point", str(point["id"]))].title == "积水点 延平路武定路口"
    assert docs[("warning", "1")].title == "静安区城市运行管理中心台风黄色预警"


def test_after_the_workflow_closes_a_points_work_item_the_next_deep_reading_raises_a_new_one(
        client, point, auth, app, district):
    from app.services.workflow import perform

    headers = auth.headers("ja01g01-worker")
    first = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": 20}, headers=headers).get_json()
    with app.app_context():
        handler, dispatcher = district.user("ja-d-fx-operator"), district.user("ja-operator")
        perform(first["work_item_id"], "sign", handler)
        perform(first["work_item_id"], "feedback", handler, {"result": "已排水"})
        perform(first["work_item_id"], "review_pass", dispatcher)
        perform(first["work_item_id"], "visit", dispatcher, {"satisfaction": "basic"})
    assert client.get(f"{URL}/points/{point['id']}", headers=headers).get_json()["open_work_item_id"] is None
    second = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": 18}, headers=headers).get_json()
    assert second["escalated"] and second["work_item_id"] not in (None, first["work_item_id"])


def test_rosters_are_edited_and_only_uncalled_rosters_deleted(client, district, auth):
    op = auth.headers("ja01-operator")
    r = roster(client, auth, "JA01", ["ja01g01-worker"], who="ja01-operator")
    res = client.patch(f"{URL}/rosters/{r['id']}", json={"members": [
        {"userid": "ja01g02-worker", "duty": "leader"}, {"userid": "ja01g01-worker"}]}, headers=op)
    assert {m["user"]["userid"]: m["duty"] for m in res.get_json()["members"]} == {
        "ja01g02-worker": "leader", "ja01g01-worker": "on_duty"}
    spare = roster(client, auth, "JA01", ["ja01g03-worker"], who="ja01-operator", activate_from="red")
    set_level(client, auth, "blue", unit="JA01", who="ja01-operator")
    called = client.delete(f"{URL}/rosters/{r['id']}", headers=op)
    assert called.status_code == 409 and called.get_json()["error"]["code"] == "roster_called"
    assert client.delete(f"{URL}/rosters/{spare['id']}", headers=op).status_code == 204
    assert client.get(f"{URL}/rosters?on_shift=true", headers=op).get_json()["total"] == 1


def test_a_depth_report_carries_its_photo_into_the_work_item(client, point, auth, app):
    import io

    from tests.citizen_support import png_bytes, temporary_media_root

    headers = auth.headers("ja01g01-worker")
    with temporary_media_root(app, app.instance_path + "/test-media-flood"):
        photo = client.post("/api/v1/attachments", data={"file": (io.BytesIO(png_bytes()), "w.png")},
                            headers=headers).get_json()["id"]
        report = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": 25, "photo_ids": [photo]},
                             headers=headers).get_json()
    assert report["photo_ids"] == [photo]
    with app.app_context():
        assert db.session.get(WorkItem, report["work_item_id"]).photo_ids == [photo]
    too_many = client.post(f"{URL}/points/{point['id']}/reports", json={"depth_cm": 5, "photo_ids": [1, 2, 3, 4]},
                           headers=headers)
    assert too_many.get_json()["error"]["fields"]["photo_ids"] == ["每次上报最多 3 张照片"]


def test_a_street_operator_rosters_only_people_within_their_scope(client, district, auth):
    headers = auth.headers("ja01-operator")
    body = {"org_unit": "JA01", "name": "夜班", **shift()}

    def save(*members):
        return client.post(f"{URL}/rosters", json={**body, "members": list(members)}, headers=headers)

    for outsider in ("ja02g01-worker", "ja02-operator", "ja-admin", "ja-d-fx-operator"):
        res = save({"userid": "ja01g01-worker"}, {"userid": outsider})
        assert res.status_code == 422, outsider
        assert res.get_json()["error"]["code"] == "members_out_of_scope"
        assert res.get_json()["error"]["fields"]["members"] == [f"不在您的管辖范围内：{outsider}"]
    # the district pool only when asked for, and only people of the district centre and its departments
    for street_person in ("ja02-operator", "ja-secadmin"):
        assert save({"userid": street_person, "pool": "district"}).status_code == 422
    res = save({"userid": "ja01g01-worker"}, {"userid": "ja-d-fx-operator", "duty": "rescue", "pool": "district"})
    assert res.status_code == 201, res.get_json()
    members = {m["user"]["userid"]: m["pool"] for m in res.get_json()["members"]}
    assert members == {"ja01g01-worker": None, "ja-d-fx-operator": "district"}
    patched = client.patch(f"{URL}/rosters/{res.get_json()['id']}", headers=headers,
                           json={"members": [{"userid": "ja-d-fx-operator"}]})
    assert patched.status_code == 422  # a replaced list must say pool again
