"""The whole loop against the WeCom simulator: card to the manager, tap, item moves, card updated, …, close.

Jobs run on real RQ workers (notify for cards and messages, default for callback events).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.workitem import WorkItemApproval
from tests.fixtures import USE_REDIS
from tests.workflow.conftest import item_row


def run_jobs(app):
    """Drain the default and notify queues, as `flask toolbox worker` would."""
    if not USE_REDIS:
        return
    from rq import SimpleWorker

    from app.jobs import get_queue
    with app.app_context():
        queues = [get_queue("default"), get_queue("notify")]
        for _ in range(3):  # jobs queue further jobs (a tap queues the card update)
            SimpleWorker(queues, connection=queues[0].connection).work(burst=True)


def cards(sim, task_id=None):
    return [m for m in sim.messages() if m.get("msgtype") == "template_card"
            and (task_id is None or m["template_card"]["task_id"] == task_id)]


def updates(sim):
    return [m for m in sim.messages() if "response_code" in m and "touser" not in m]


def texts_to(sim, userid):
    """What userid was told: text messages, and text cards as their title and description."""
    def told(m):
        if m["msgtype"] == "text":
            return m["text"]["content"]
        return f"{m['textcard']['title']}\n{m['textcard']['description']}"
    return [told(m) for m in sim.messages()
            if m.get("msgtype") in ("text", "textcard") and userid in m["touser"].split("|")]


def approvals_audited(app, action):
    with app.app_context():
        return db.session.execute(select(func.count()).where(AuditLog.action == action)).scalar_one()


def test_done_when_loop_forward_card_tap_sign_feedback_reject_rehandle_close_visit(app, api, new_item, wecom_sim):
    item_id = new_item("JA01G01", "waterlogging", title="延安中路积水")
    run_jobs(app)
    assert any("新工单已派至江宁路街道" in t for t in texts_to(wecom_sim, "ja01-operator"))

    # forward to another street → approval card to JA01's manager
    response = api.act("ja01-operator", item_id, "forward", unit="JA02", reason="位置在石门二路辖区")
    assert response.status_code == 202
    run_jobs(app)
    (card_msg,) = cards(wecom_sim)
    card = card_msg["template_card"]
    assert card_msg["touser"] == "ja01-manager" and card["card_type"] == "button_interaction"
    assert [b["text"] for b in card["button_list"]] == ["同意", "驳回"]
    with app.app_context():
        approval = db.session.execute(select(WorkItemApproval)).scalar_one()
        assert approval.task_id == card["task_id"] and approval.response_code

    # the manager taps 同意 → callback → job → item moves → card updated
    assert wecom_sim.tap("ja01-manager", card["task_id"], "approve") == 200
    run_jobs(app)
    with app.app_context():
        item = item_row(item_id)
        assert (item.state, item.org_unit.code) == ("dispatched", "JA02")
        assert item.events[-1].action == "forward" and item.events[-1].detail["via"] == "card"
        approval = db.session.get(WorkItemApproval, approval.id)
        assert approval.status == "approved" and approval.decided_by.wecom_userid == "ja01-manager"
        assert approval.card_update_mode == "updated"
    (update,) = updates(wecom_sim)
    assert update["userids"] == ["ja01-manager"]
    assert update["template_card"]["replace_text"].startswith("已同意（")
    assert "已同意" in update["template_card"]["sub_title_text"]
    assert any("转派申请已同意" in t for t in texts_to(wecom_sim, "ja01-operator"))
    assert any("已转派至石门二路街道" in t for t in texts_to(wecom_sim, "ja02-operator"))

    # a replayed / repeated tap changes nothing
    assert wecom_sim.tap("ja01-manager", card["task_id"], "reject") == 200
    run_jobs(app)
    with app.app_context():
        assert [e.action for e in item_row(item_id).events].count("forward") == 1
        assert db.session.get(WorkItemApproval, approval.id).status == "approved"
    assert len(updates(wecom_sim)) == 1
    assert approvals_audited(app, "work_item.approval.approve") == 1
    assert approvals_audited(app, "work_item.approval.reject") == 0

    # sign → report back → review rejected → re-handle → pass → follow-up → closed
    api.ok("ja02-operator", item_id, "sign", note="已联系报告人")
    api.ok("ja02-operator", item_id, "feedback", result="已疏通")
    run_jobs(app)
    assert any("已反馈处置结果" in t for t in texts_to(wecom_sim, "ja-operator"))
    api.ok("ja-operator", item_id, "review_reject", reason="仍有积水")
    run_jobs(app)
    assert any("审核驳回" in t for t in texts_to(wecom_sim, "ja02-operator"))
    assert api.detail("ja02-operator", item_id)["state"] == "rehandling"
    api.ok("ja02-operator", item_id, "feedback", result="已清淤")
    api.ok("ja-operator", item_id, "review_pass")
    closed = api.ok("ja-operator", item_id, "visit", satisfaction="basic")["item"]
    assert closed["state"] == "closed" and closed["satisfaction"] == "basic"
    run_jobs(app)
    assert any("已办结" in t for t in texts_to(wecom_sim, "ja02-operator"))
    assert [e["action"] for e in closed["timeline"]] == [
        "create", "dispatch", "forward_requested", "forward", "sign", "feedback", "review_reject", "feedback",
        "review_pass", "visit"]


def test_rejected_extension_by_card_and_the_requester_is_told(app, api, new_item, wecom_sim):
    item_id = new_item("JA01G01")
    api.ok("ja01-operator", item_id, "sign")
    approval = api.ok("ja01-operator", item_id, "extend", days=3, reason="待产权方")["approval"]
    run_jobs(app)
    (card_msg,) = cards(wecom_sim)
    assert "延期 3 个工作日" in card_msg["template_card"]["sub_title_text"]
    assert wecom_sim.tap("ja01-manager", card_msg["template_card"]["task_id"], "reject") == 200
    run_jobs(app)
    with app.app_context():
        item = item_row(item_id)
        assert item.extension_days == 0 and item.events[-1].action == "extend_rejected"
        assert db.session.get(WorkItemApproval, approval["id"]).status == "rejected"
    assert updates(wecom_sim)[0]["template_card"]["replace_text"].startswith("已驳回")
    assert any("延期申请已驳回" in t for t in texts_to(wecom_sim, "ja01-operator"))


def test_decision_after_72_hours_sends_a_fresh_message_instead_of_updating(app, api, new_item, wecom_sim):
    item_id = new_item("JA01G01")
    approval = api.ok("ja01-operator", item_id, "forward", unit="JA03", reason="x")["approval"]
    run_jobs(app)
    with app.app_context():
        row = db.session.get(WorkItemApproval, approval["id"])
        row.card_sent_at = row.response_code_at = row.card_sent_at - timedelta(hours=73)
        db.session.commit()
    api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/approve", json={},
                    headers=api.headers("ja01-manager"))
    run_jobs(app)
    assert updates(wecom_sim) == []
    assert any("转派申请已同意" in t for t in texts_to(wecom_sim, "ja01-manager"))
    with app.app_context():
        assert db.session.get(WorkItemApproval, approval["id"]).card_update_mode == "message"


def test_api_decision_updates_the_card_with_the_send_response_code(app, api, new_item, wecom_sim):
    item_id = new_item("JA01G01")
    approval = api.ok("ja01-operator", item_id, "forward", unit="JA03", reason="x")["approval"]
    run_jobs(app)
    api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/reject", json={"note": "本街道办"},
                    headers=api.headers("ja01-manager"))
    run_jobs(app)
    (update,) = updates(wecom_sim)
    assert update["template_card"]["replace_text"].startswith("已驳回")


@pytest.mark.skipif(not USE_REDIS, reason="the card job is retried by RQ")
def test_card_is_retried_when_wecom_fails(app, api, new_item, wecom_sim):
    item_id = new_item("JA01G01")
    old = app.config["WECOM_API_BASE"]
    app.config["WECOM_API_BASE"] = "http://127.0.0.1:9/cgi-bin/"  # nothing listens there
    app.extensions.pop("wecom_clients", None)
    try:
        api.ok("ja01-operator", item_id, "forward", unit="JA03", reason="x")
        run_jobs(app)
    finally:
        app.config["WECOM_API_BASE"] = old
        app.extensions.pop("wecom_clients", None)
    assert cards(wecom_sim) == []
    from rq.registry import FailedJobRegistry

    from app.jobs import get_queue
    with app.app_context():
        failed = FailedJobRegistry(queue=get_queue("notify"))
        jobs = [failed.job_class.fetch(j, connection=failed.connection) for j in failed.get_job_ids()]
        card_jobs = [j for j in jobs if j.func_name.endswith("send_approval_card")]
        assert card_jobs and card_jobs[0].retries_left == 0
        card_jobs[0].requeue()
    run_jobs(app)
    assert len(cards(wecom_sim)) == 1


def test_tap_by_someone_no_longer_a_manager_is_refused_and_audited(app, api, new_item, wecom_sim):
    from app.models.users import Membership, User

    item_id = new_item("JA01G01")
    api.ok("ja01-operator", item_id, "forward", unit="JA02", reason="x")
    run_jobs(app)
    (card_msg,) = cards(wecom_sim)
    with app.app_context():  # the manager moves to another post before tapping
        manager = db.session.execute(select(User).where(User.wecom_userid == "ja01-manager")).scalar_one()
        for m in list(manager.memberships):
            db.session.delete(m)
        db.session.add(Membership(user_id=manager.id, org_unit_id=item_row(item_id).dispatch_unit_id,
                                  role="operator"))
        db.session.commit()
    assert wecom_sim.tap("ja01-manager", card_msg["template_card"]["task_id"], "approve") == 200
    run_jobs(app)
    with app.app_context():
        assert db.session.execute(select(WorkItemApproval)).scalar_one().status == "pending"
        assert item_row(item_id).org_unit.code == "JA01"
        denied = db.session.execute(select(AuditLog).where(AuditLog.action == "work_item.approval.denied")
                                    ).scalars().all()
        assert [d.actor for d in denied] == ["ja01-manager"] and denied[0].outcome == "denied"
    assert updates(wecom_sim) == []


def test_closing_tells_the_handler_and_the_reporting_worker(app, api, new_item, district, wecom_sim):
    with app.app_context():
        worker = district.user("ja01g01-worker")
        item_id = new_item("JA01G01", reporter_user=worker, actor=worker)
    api.ok("ja01-operator", item_id, "sign")
    api.ok("ja01-operator", item_id, "feedback", result="已处理")
    api.ok("ja-operator", item_id, "review_pass")
    api.ok("ja-operator", item_id, "visit", satisfaction="satisfied")
    run_jobs(app)
    assert any("已由江宁路街道签收" in t for t in texts_to(wecom_sim, "ja01g01-worker"))
    assert any("工单已办结（回访：满意）" in t for t in texts_to(wecom_sim, "ja01g01-worker"))
    assert any("工单已办结" in t for t in texts_to(wecom_sim, "ja01-operator"))
    assert not any("工单已办结" in t for t in texts_to(wecom_sim, "ja-operator"))  # not to the actor


def test_notifications_are_cards_that_open_the_item_in_the_workbench(app, api, new_item, wecom_sim):
    item_id = new_item()
    run_jobs(app)
    sent = [m for m in wecom_sim.messages() if m.get("msgtype") == "textcard" and "ja01-operator" in m["touser"]]
    assert sent, wecom_sim.messages()
    card = sent[-1]["textcard"]
    assert card["url"] == f"{app.config['PUBLIC_BASE_URL']}/h5/staff/items/{item_id}"
    assert "新工单已派至江宁路街道" in card["title"] and "JA-" in card["description"]
    # The approval card keeps its buttons and gains the link.
    api.act("ja01-operator", item_id, "forward", unit="JA02", reason="位置在石门二路辖区")
    run_jobs(app)
    approval_card = cards(wecom_sim)[-1]["template_card"]
    assert [b["key"] for b in approval_card["button_list"]] == ["approve", "reject"]
    assert approval_card["card_action"]["url"].endswith(f"/h5/staff/items/{item_id}")
