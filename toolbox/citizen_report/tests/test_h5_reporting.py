"""The citizen's H5 flow: scan → form → report (work item) → tracking page → rate / reopen."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image
from sqlalchemy import select, text

from app.extensions import db
from app.models.attachment import Attachment, AttachmentLink
from app.models.base import utcnow
from app.models.workitem import WorkItem
from app.signals import searchable_saved
from tests.citizen_support import run_jobs
from toolbox.citizen_report.models import CitizenReport
from toolbox.citizen_report.tests.helpers import close_item, form, make_place, photo, submit, tracking_code


def the_report(app, code: str) -> CitizenReport:
    return db.session.execute(select(CitizenReport).where(CitizenReport.tracking_code == code)).scalar_one()


def test_scanning_a_code_shows_the_place_and_the_form(client, place):
    page = client.get(f"/h5/c/{place}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "延平路 123 号" in html and "市容环境卫生" in html and "个人信息保护告知（版本 2026-01）" in html
    assert re.search(r'name="idempotency_key" value="[A-Za-z0-9_-]{24,}"', html)
    assert 'name="website"' in html  # the honeypot
    # lower-case or spaced codes from a hand-typed URL still work
    assert client.get(f"/h5/c/{place.lower()}").status_code == 200


def test_unknown_or_disabled_code_gets_a_friendly_page(client, app, district, auth, place):
    unknown = client.get("/h5/c/NOSUCHCODE")
    assert unknown.status_code == 404 and "没有找到这个静安码" in unknown.get_data(as_text=True)
    client.patch(f"/api/v1/places/{place}", json={"active": False}, headers=auth.headers("ja01-operator"))
    disabled = client.get(f"/h5/c/{place}")
    assert disabled.status_code == 404 and "已停用" in disabled.get_data(as_text=True)
    assert submit(client, place, form()).status_code == 404


def test_report_with_a_photo_becomes_a_work_item_routed_by_place(app, client, place):
    response = submit(client, place, form(photos=[photo()]))
    assert response.status_code == 303
    code = tracking_code(response)
    run_jobs(app, "media")
    with app.app_context():
        report = the_report(app, code)
        item = db.session.get(WorkItem, report.work_item_id)
        assert (item.source_tool, item.source_type, item.source_id) == ("citizen_report", "report", str(report.id))
        assert item.org_unit.code == "JA01" and item.category == "facilities"  # routed to the place's street
        assert item.photo_ids == report.photo_ids and len(report.photo_ids) == 1
        att = db.session.get(Attachment, report.photo_ids[0])
        assert att.status == "ready" and not att.released
        holders = db.session.execute(select(AttachmentLink.holder_kind, AttachmentLink.holder_id)
                                     .where(AttachmentLink.attachment_id == att.id)).all()
        assert sorted(holders) == [("citizen_report_reports", str(report.id)), ("work_item", str(item.id))]
        assert report.privacy_version == "2026-01" and report.mobile == "13812345678"
        raw = db.session.execute(text("SELECT mobile FROM citizen_report_reports WHERE id = :i"),
                                 {"i": report.id}).scalar_one()
        assert "13812345678" not in raw  # encrypted at rest
    page = client.get(f"/h5/t/{code}?new=1").get_data(as_text=True)
    assert code in page and "提交成功" in page and "已派单" in page and "延平路 123 号" in page
    assert "13812345678" not in page and "138****5678" not in page
    assert "已上传 1 张照片，经工作人员审核后显示" in page


def test_a_retried_submission_with_the_same_key_creates_one_report(app, client, place):
    data = form(key="retry-key-0123456789abcdef")
    first = tracking_code(submit(client, place, data))
    second = tracking_code(submit(client, place, form(key="retry-key-0123456789abcdef")))
    assert first == second
    with app.app_context():
        assert db.session.query(CitizenReport).count() == 1 and db.session.query(WorkItem).count() == 1


def test_a_failed_submission_keeps_the_input(client, place):
    response = submit(client, place, form(category="", mobile="1381234", privacy=False, key="keep-key-0123456789abcd"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "人行道地砖松动，容易绊倒行人" in html and 'value="1381234"' in html
    assert 'value="keep-key-0123456789abcd"' in html  # the retry keeps the idempotency key
    assert "请选择问题类别" in html and "请填写 11 位手机号码" in html and "请阅读并同意" in html


def test_fetch_submissions_answer_json(client, place):
    headers = {"X-Requested-With": "fetch"}
    bad = submit(client, place, form(description="短"), **headers)
    assert bad.status_code == 422 and bad.get_json()["errors"] == {"description": "请描述问题（至少 5 个字）"}
    good = submit(client, place, form(), **headers)
    assert good.status_code == 200 and good.get_json()["redirect"].startswith("/h5/t/")


def test_non_image_photo_is_refused_and_nothing_is_filed(app, client, place):
    response = submit(client, place, form(photos=[b"not an image at all"]))
    assert response.status_code == 422 and "第 1 张照片" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(CitizenReport).count() == 0 and db.session.query(WorkItem).count() == 0


def test_honeypot_submissions_are_dropped(app, client, place):
    response = submit(client, place, form(website="http://spam.example"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/h5/received")
    with app.app_context():
        assert db.session.query(CitizenReport).count() == 0


def test_submissions_are_rate_limited_per_client(app, client, place):
    app.config["CITIZEN_RATE_LIMIT"] = "2/600"
    try:
        for i in range(2):
            assert submit(client, place, form(category=["facilities", "environment"][i])).status_code == 303
        limited = submit(client, place, form(category="other", description="第三次提交的内容"))
    finally:
        app.config["CITIZEN_RATE_LIMIT"] = "5/600"
    assert limited.status_code == 429
    html = limited.get_data(as_text=True)
    assert "提交过于频繁" in html and "第三次提交的内容" in html


def test_a_duplicate_is_offered_to_join_and_the_joiner_gets_their_own_code(app, client, place):
    first = tracking_code(submit(client, place, form()))
    second_response = submit(client, place, form(description="这里地砖松了好几块", mobile=""))
    second = tracking_code(second_response)
    assert second != first
    prompt = client.get(f"/h5/t/{second}").get_data(as_text=True)
    assert "该地点已有相同问题正在处理" in prompt and "加入关注该问题" in prompt
    joined = client.post(f"/h5/t/{second}/decide", data={"decision": "join"})
    assert joined.status_code == 303
    with app.app_context():
        a, b = the_report(app, first), the_report(app, second)
        assert b.status == "joined" and b.work_item_id == a.work_item_id
        assert db.session.query(WorkItem).count() == 1
    assert "您已加入关注" in client.get(f"/h5/t/{second}").get_data(as_text=True)
    # a different category at the same place is not a duplicate
    other = tracking_code(submit(client, place, form(category="environment")))
    with app.app_context():
        assert the_report(app, other).status == "filed"


def test_a_citizen_can_insist_the_similar_report_is_a_new_problem(app, client, place):
    tracking_code(submit(client, place, form()))
    second = tracking_code(submit(client, place, form(description="另一处井盖缺失")))
    client.post(f"/h5/t/{second}/decide", data={"decision": "new"})
    with app.app_context():
        assert the_report(app, second).status == "filed" and db.session.query(WorkItem).count() == 2


def test_photos_appear_publicly_only_after_release(app, client, auth, place):
    code = tracking_code(submit(client, place, form(photos=[photo(), photo()])))
    run_jobs(app, "media")
    with app.app_context():
        report = the_report(app, code)
        ids = list(report.photo_ids)
        tokens = [db.session.get(Attachment, i).public_token for i in ids]
    assert len(set(ids)) == 2
    page = client.get(f"/h5/t/{code}").get_data(as_text=True)
    assert "/h5/photos/" not in page
    assert client.get(f"/h5/photos/{tokens[0]}.jpg").status_code == 404
    staff = auth.headers("ja01-operator")
    assert client.post(f"/api/v1/attachments/{ids[0]}/redactions", headers=staff,
                       json={"areas": [{"x": 0, "y": 0, "w": 0.5, "h": 0.5}]}).status_code == 200
    assert client.post(f"/api/v1/attachments/{ids[0]}/release", headers=staff).status_code == 200
    page = client.get(f"/h5/t/{code}").get_data(as_text=True)
    assert f"/h5/photos/{tokens[0]}.jpg" in page and f"/h5/photos/{tokens[1]}.jpg" not in page
    public = client.get(f"/h5/photos/{tokens[0]}.jpg")
    img = Image.open(io.BytesIO(public.data))
    assert public.status_code == 200 and len(img.getexif()) == 0 and max(img.getpixel((10, 10))) < 20


def test_tracking_page_follows_the_work_item_to_closed_then_rating_and_reopen(app, client, auth, place):
    code = tracking_code(submit(client, place, form()))
    with app.app_context():
        item_id = the_report(app, code).work_item_id
    before = client.get(f"/h5/t/{code}").get_data(as_text=True)
    assert "评价处理结果" not in before and "申请重新办理" not in before
    close_item(client, auth, item_id)
    page = client.get(f"/h5/t/{code}").get_data(as_text=True)
    assert 'data-state="closed"' in page and "已办结" in page and "已更换松动地砖" in page
    assert "ja01-operator" not in page and "ja-operator" not in page  # no staff ids or names
    assert client.post(f"/h5/t/{code}/rate", data={"rating": "basic"}).status_code == 303
    again = client.post(f"/h5/t/{code}/rate", data={"rating": "satisfied"})
    assert again.status_code == 409
    assert "基本满意" in client.get(f"/h5/t/{code}").get_data(as_text=True)

    assert client.post(f"/h5/t/{code}/reopen", data={"reason": ""}).status_code == 422
    assert client.post(f"/h5/t/{code}/reopen", data={"reason": "地砖又松了"}).status_code == 303
    with app.app_context():
        report = the_report(app, code)
        assert report.previous_work_item_ids == [item_id] and report.work_item_id != item_id
        assert report.reopen_count == 1 and report.rating is None
        new_item = db.session.get(WorkItem, report.work_item_id)
        assert new_item.state == "dispatched" and "原工单" in new_item.description
    assert "重新派单中" in client.get(f"/h5/t/{code}").get_data(as_text=True) or \
        "已派单" in client.get(f"/h5/t/{code}").get_data(as_text=True)


def test_reopening_is_refused_after_the_window(app, client, auth, place):
    code = tracking_code(submit(client, place, form()))
    with app.app_context():
        item_id = the_report(app, code).work_item_id
    close_item(client, auth, item_id)
    with app.app_context():
        item = db.session.get(WorkItem, item_id)
        item.closed_at = item.last_action_at = utcnow() - timedelta(days=8)
        db.session.commit()
    assert "申请重新办理" not in client.get(f"/h5/t/{code}").get_data(as_text=True)
    assert client.post(f"/h5/t/{code}/reopen", data={"reason": "还是没修"}).status_code == 409


def test_rating_before_the_item_is_handled_is_refused(client, place):
    code = tracking_code(submit(client, place, form()))
    response = client.post(f"/h5/t/{code}/rate", data={"rating": "satisfied"})
    assert response.status_code == 409 and "办结后才能评价" in response.get_data(as_text=True)


def test_unknown_tracking_code_is_a_friendly_404(client):
    response = client.get("/h5/t/ZZZZZZZZZZZZ")
    assert response.status_code == 404 and "没有找到该追踪码" in response.get_data(as_text=True)
    assert client.get("/h5/t?code=ab cd").status_code == 303


def test_filing_feeds_one_click_query(app, client, place):
    seen = []

    def listener(sender, record):
        seen.append((sender, record))
    searchable_saved.connect(listener)
    try:
        submit(client, place, form())
    finally:
        searchable_saved.disconnect(listener)
    mine = [r for s, r in seen if s == "citizen_report"]
    assert mine and mine[0].type == "report" and mine[0].org_path == "/JA/JA01/"
    assert "地砖" in mine[0].text and mine[0].status == "dispatched"


def test_an_oversized_request_gets_the_form_back_not_an_error_page(app, client, place):
    app.config["MAX_CONTENT_LENGTH"] = 20_000
    try:
        response = submit(client, place, form(photos=[photo()]))
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    assert response.status_code == 413 and "照片总大小超出限制" in response.get_data(as_text=True)


def test_tracking_pages_are_not_cached_and_leak_no_referrer(client, place):
    code = tracking_code(submit(client, place, form()))
    response = client.get(f"/h5/t/{code}")
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_likeliest_category_is_preselected_for_a_flood_point(app, client, district):
    code = make_place(app, district, name="余姚路积水点", kind="flood_point")
    html = client.get(f"/h5/c/{code}").get_data(as_text=True)
    assert re.search(r'<option value="waterlogging"\s+selected>', html)


def test_a_place_offers_the_categories_its_kind_declares(app, client, district):
    """The flood_duty tool declares flood points and what a citizen may report there (its manifest)."""
    code = make_place(app, district, name="余姚路积水点", kind="flood_point")
    html = client.get(f"/h5/c/{code}").get_data(as_text=True)
    assert re.findall(r'<option value="(\w+)"', html) == ["waterlogging", "facilities", "environment", "other"]
    refused = submit(client, code, form(category="construction"), **{"X-Requested-With": "fetch"})
    assert refused.status_code == 422 and refused.get_json()["errors"]["category"] == "请选择问题类别"
    anywhere = make_place(app, district, name="居委会", kind="committee")  # no list: every citizen category
    assert len(re.findall(r'<option value="\w+"', client.get(f"/h5/c/{anywhere}").get_data(as_text=True))) == 7


def test_a_citizen_rating_reaches_the_follow_up_staff_on_wecom(app, client, auth, place, wecom_sim):
    code = tracking_code(submit(client, place, form()))
    with app.app_context():
        item_id = the_report(app, code).work_item_id
        number = db.session.get(WorkItem, item_id).number
    close_item(client, auth, item_id)
    run_jobs(app, "notify")
    before = len(wecom_sim.messages())
    assert client.post(f"/h5/t/{code}/rate", data={"rating": "unsatisfied", "comment": "还有积水"}).status_code == 303
    run_jobs(app, "notify")
    sent = wecom_sim.messages()[before:]
    texts = [m for m in sent if number in str(m) and "不满意" in str(m)]
    assert texts and "还有积水" in str(texts[0]) and "ja-operator" in str(texts[0])


def test_an_unanswered_duplicate_offer_joins_the_open_report_later(app, client, place):
    from app.jobs import PERIODIC_JOBS
    from toolbox.citizen_report.services import settle_stale_drafts

    assert "citizen_report.settle_drafts" in PERIODIC_JOBS
    first = tracking_code(submit(client, place, form()))
    second = tracking_code(submit(client, place, form(description="地砖松动，没人管")))
    with app.app_context():
        assert settle_stale_drafts() == 0  # the citizen still has time to answer
        assert settle_stale_drafts(now=utcnow() + timedelta(minutes=31)) == 1
        assert the_report(app, second).status == "joined"
        assert the_report(app, second).work_item_id == the_report(app, first).work_item_id


def test_the_duplicate_offer_shows_nothing_of_the_other_citizen(app, client, place):
    """Place, category, status and public timeline of the open report; never its description, photos or contact."""
    first = tracking_code(submit(client, place, form(description="我家楼下张阿姨门口地砖松动", mobile="13912345678",
                                                     photos=[photo()])))
    run_jobs(app, "media")
    with app.app_context():
        original = the_report(app, first)
        att = db.session.get(Attachment, original.photo_ids[0])
        from app.services.photos import release
        release(att, "ja01-operator")
        db.session.commit()
        token = att.public_token
    second = tracking_code(submit(client, place, form(description="这里地砖松了好几块", mobile="")))
    page = client.get(f"/h5/t/{second}").get_data(as_text=True)
    assert "该地点已有相同问题正在处理" in page
    assert "延平路 123 号" in page and "道路及公共设施损坏" in page   # the place and the category
    assert "已派单" in page and 'id="original-timeline"' in page and "受理" in page  # the status and timeline
    for secret in ("张阿姨", "门口地砖松动", "1391234", token, first, "/h5/photos/"):
        assert secret not in page
    client.post(f"/h5/t/{second}/decide", data={"decision": "join"})
    joined = client.get(f"/h5/t/{second}").get_data(as_text=True)
    for secret in ("张阿姨", "1391234", token, first):
        assert secret not in joined


def test_the_429_says_when_to_retry_and_refused_submissions_do_not_use_up_the_limit(app, client, place):
    app.config["CITIZEN_RATE_LIMIT"] = "2/600"
    try:
        for _ in range(3):  # refused: too short a description
            assert submit(client, place, form(description="短")).status_code == 422
        for i in range(2):
            assert submit(client, place, form(category=["facilities", "environment"][i])).status_code == 303
        limited = submit(client, place, form(category="other"))
    finally:
        app.config["CITIZEN_RATE_LIMIT"] = "5/600"
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 600


def test_the_tracking_page_says_awaiting_follow_up_not_closed_while_the_item_waits_for_it(app, client, auth, place):
    code = tracking_code(submit(client, place, form()))
    with app.app_context():
        item_id = the_report(app, code).work_item_id
    for userid, action, body in (("ja01-operator", "sign", {}), ("ja01-operator", "feedback", {"result": "已修复"}),
                                 ("ja-operator", "review_pass", {})):
        response = client.post(f"/api/v1/work-items/{item_id}/{action}", json=body, headers=auth.headers(userid))
        assert response.status_code == 200, response.get_json()
    page = client.get(f"/h5/t/{code}").get_data(as_text=True)
    assert 'data-state="visiting"' in page and "待回访" in page
    status = page.split('id="status"', 1)[1].split("</div>", 1)[0]
    assert "已办结" not in status
