"""The state machine through the API: allowed actions, 409/403 with allowed_actions, clocks, scope."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.services import workdays
from tests.workflow.conftest import item_row


def test_full_loop_sign_feedback_reject_rehandle_pass_visit_close(app, api, new_item):
    item_id = new_item("JA01G01", "waterlogging")
    assert api.detail("ja01-operator", item_id)["allowed_actions"] == ["sign", "return", "forward", "extend"]
    assert api.detail("ja-manager", item_id)["allowed_actions"] == ["reassign", "supervise"]  # 派单, not 承办
    signed = api.ok("ja01-operator", item_id, "sign", note="已电话联系报告人")["item"]
    assert signed["state"] == "handling" and signed["assignee"]["userid"] == "ja01-operator"
    assert signed["first_contact_at"] is not None and signed["stage"] == "handle"
    assert api.ok("ja01-operator", item_id, "feedback", result="已疏通雨水口")["item"]["state"] == "reviewing"
    rejected = api.ok("ja-operator", item_id, "review_reject", reason="现场仍有积水")["item"]
    assert rejected["state"] == "rehandling" and rejected["stage"] == "rehandle"
    with app.app_context():
        item = item_row(item_id)
        reject_at = item.events[-1].at
        assert item.due_at == workdays.add_working_days(reject_at, 3)
    api.ok("ja01-operator", item_id, "feedback", result="已彻底清淤")
    assert api.ok("ja-operator", item_id, "review_pass")["item"]["state"] == "visiting"
    closed = api.ok("ja-operator", item_id, "visit", satisfaction="satisfied")["item"]
    assert closed["state"] == "closed" and closed["satisfaction"] == "satisfied" and closed["closed_at"]
    assert [e["action"] for e in closed["timeline"]] == [
        "create", "dispatch", "sign", "feedback", "review_reject", "feedback", "review_pass", "visit"]
    assert closed["timeline"][4]["reason"] == "现场仍有积水"
    assert closed["timeline"][4]["actor"]["userid"] == "ja-operator"
    assert closed["allowed_actions"] == []


def test_action_not_allowed_in_state_is_409_listing_allowed_actions(api, new_item):
    item_id = new_item()
    response = api.act("ja01-operator", item_id, "feedback", result="x")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "action_not_allowed" and error["state"] == "dispatched"
    assert error["allowed_actions"] == ["sign", "return", "forward", "extend"]


def test_action_by_the_wrong_side_is_403_listing_allowed_actions(api, new_item):
    item_id = new_item()
    api.ok("ja01-operator", item_id, "sign")
    api.ok("ja01-operator", item_id, "feedback", result="done")
    response = api.act("ja01-operator", item_id, "review_pass")  # the handler may not review its own work
    assert response.status_code == 403
    assert response.get_json()["error"]["allowed_actions"] == []
    assert api.act("ja01g01-worker", item_id, "review_pass").status_code == 403


def test_unknown_action_is_404(api, new_item):
    assert api.act("ja01-operator", new_item(), "teleport").status_code == 404


def test_required_fields_are_422(api, new_item):
    item_id = new_item()
    response = api.act("ja01-operator", item_id, "return")
    assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]
    api.ok("ja01-operator", item_id, "sign")
    assert api.act("ja01-operator", item_id, "feedback").status_code == 422


def test_return_goes_back_to_the_dispatcher_and_keeps_the_close_clock(app, api, new_item):
    item_id = new_item("JA01G01")
    with app.app_context():
        close_due = item_row(item_id).close_due_at
    returned = api.ok("ja01-operator", item_id, "return", reason="不属于本街道职责")["item"]
    assert returned["state"] == "returned" and returned["unit"]["code"] == "JA"
    assert "JA-" in api.numbers("ja-operator", box="todo")[0]
    redispatched = api.ok("ja-operator", item_id, "dispatch", unit="JA02")["item"]
    assert redispatched["state"] == "dispatched" and redispatched["unit"]["code"] == "JA02"
    with app.app_context():
        item = item_row(item_id)
        assert item.close_due_at == close_due  # a return does not restart the clock
        assert item.due_at == min(workdays.add_working_days(item.events[-1].at, 1), close_due)
        assert item.events[-2].action == "return" and item.events[-2].reason == "不属于本街道职责"


def test_dispatch_outside_the_dispatchers_subtree_is_refused(api, new_item):
    item_id = new_item("JA01G01", "grid_issue")  # at grid JA01G01, dispatched by street JA01
    api.ok("ja01g01-worker", item_id, "return", reason="非本网格")
    assert api.act("ja01-operator", item_id, "dispatch", unit="JA02G01").status_code == 422
    assert api.ok("ja01-operator", item_id, "dispatch", unit="JA01G02")["item"]["unit"]["code"] == "JA01G02"


def test_forward_within_own_subtree_is_immediate(api, new_item):
    item_id = new_item("JA01G01")
    moved = api.ok("ja01-operator", item_id, "forward", unit="JA01G03", reason="属网格事项")["item"]
    assert moved["state"] == "dispatched" and moved["unit"]["code"] == "JA01G03"
    assert moved["approvals"] == [] and moved["timeline"][-1]["detail"]["immediate"] is True
    assert api.ok("ja01g03-worker", item_id, "sign")["item"]["state"] == "handling"


def test_forward_to_another_street_waits_for_approval_then_moves(api, new_item):
    item_id = new_item("JA01G01")
    response = api.act("ja01-operator", item_id, "forward", unit="JA02", reason="位于石门二路辖区")
    assert response.status_code == 202
    body = response.get_json()
    approval = body["approval"]
    assert approval["status"] == "pending" and approval["approver_unit"]["code"] == "JA01"
    assert body["item"]["unit"]["code"] == "JA01" and body["item"]["timeline"][-1]["action"] == "forward_requested"
    # a second request while one is pending
    assert api.act("ja01-operator", item_id, "forward", unit="JA03").status_code == 409
    # the requester cannot approve; another street's manager cannot either
    assert api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/approve", json={},
                           headers=api.headers("ja01-operator")).status_code == 403
    assert api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/approve", json={},
                           headers=api.headers("ja02-manager")).status_code == 403
    pending = api.client.get("/api/v1/work-item-approvals", headers=api.headers("ja01-manager")).get_json()
    assert [a["id"] for a in pending["items"]] == [approval["id"]]
    decided = api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/approve", json={"note": "同意"},
                              headers=api.headers("ja01-manager"))
    assert decided.status_code == 200 and decided.get_json()["decided_via"] == "api"
    item = api.detail("ja02-operator", item_id)
    assert item["unit"]["code"] == "JA02" and item["state"] == "dispatched"
    assert item["timeline"][-1]["action"] == "forward" and item["timeline"][-1]["actor"]["userid"] == "ja01-manager"
    again = api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/reject", json={},
                            headers=api.headers("ja01-manager"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_decided"
    assert api.detail("ja02-operator", item_id)["unit"]["code"] == "JA02"


def test_forward_upward_and_to_a_department_need_approval(api, new_item):
    grid_item = new_item("JA01G01", "grid_issue")
    up = api.act("ja01g01-worker", grid_item, "forward", unit="JA01", reason="需街道协调")
    assert up.status_code == 202 and up.get_json()["approval"]["approver_unit"]["code"] == "JA01"
    street_item = new_item("JA01G01")
    dept = api.act("ja01-operator", street_item, "forward", unit="JA-D-JG", reason="工地问题")
    assert dept.status_code == 202


def test_rejected_forward_leaves_the_item_where_it_was(api, new_item):
    item_id = new_item("JA01G01")
    approval = api.ok("ja01-operator", item_id, "forward", unit="JA02", reason="x")["approval"]
    api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/reject", json={"note": "本街道处理"},
                    headers=api.headers("ja01-manager"))
    item = api.detail("ja01-operator", item_id)
    assert item["unit"]["code"] == "JA01" and item["approvals"][0]["status"] == "rejected"
    assert item["timeline"][-1]["action"] == "forward_rejected"


def test_extension_is_approved_and_moves_the_close_deadline(app, api, new_item):
    item_id = new_item("JA01G01")
    api.ok("ja01-operator", item_id, "sign")
    with app.app_context():
        before = item_row(item_id).close_due_at
    too_long = api.act("ja01-operator", item_id, "extend", days=11, reason="施工周期长")
    assert too_long.status_code == 422  # 5 + 11 > 15
    approval = api.ok("ja01-operator", item_id, "extend", days=10, reason="需协调产权单位")["approval"]
    api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/approve", json={},
                    headers=api.headers("ja01-manager"))
    with app.app_context():
        item = item_row(item_id)
        assert item.extension_days == 10
        assert item.close_due_at == workdays.add_working_days(before, 10)
        assert item.due_at == item.close_due_at
    assert api.act("ja01-operator", item_id, "extend", days=1, reason="再延").status_code == 422


def test_stale_version_is_409(api, new_item):
    item_id = new_item()
    version = api.detail("ja01-operator", item_id)["version"]
    api.ok("ja01-operator", item_id, "sign", version=version)
    response = api.act("ja01-operator", item_id, "contact", note="x", version=version)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "stale_version"
    assert "contact" in response.get_json()["error"]["allowed_actions"]


def test_direct_close_of_a_returned_item(api, new_item):
    item_id = new_item()
    api.ok("ja01-operator", item_id, "return", reason="重复上报")
    closed = api.ok("ja-operator", item_id, "close", reason="与 JA-2026-000001 重复")["item"]
    assert closed["state"] == "closed"


def test_manual_supervision_by_a_manager(api, new_item):
    item_id = new_item()
    assert api.act("ja01-operator", item_id, "supervise").status_code == 403
    body = api.ok("ja-manager", item_id, "supervise", note="请今日办结")["item"]
    assert body["supervised"] is True and body["timeline"][-1]["action"] == "supervise"


def test_sign_deadline_is_recomputed_on_each_entry(app, api, new_item):
    item_id = new_item("JA01G01")
    with app.app_context():
        item = item_row(item_id)
        first_seq = item.stage_seq
        item.stage_started_at = item.stage_started_at - timedelta(days=3)
        db.session.commit()
    api.ok("ja01-operator", item_id, "forward", unit="JA01G02")
    with app.app_context():
        item = item_row(item_id)
        assert item.stage == "sign" and item.stage_seq == first_seq + 1
        assert item.due_at == min(workdays.add_working_days(item.stage_started_at, 1), item.close_due_at)


def test_unsatisfied_follow_up_reopens_for_rehandling_with_a_fresh_clock(app, api, new_item):
    item_id = new_item()
    api.ok("ja01-operator", item_id, "sign")
    api.ok("ja01-operator", item_id, "feedback", result="已处理")
    api.ok("ja-operator", item_id, "review_pass")
    assert api.act("ja-operator", item_id, "reopen").status_code == 422
    reopened = api.ok("ja-operator", item_id, "reopen", reason="群众反映仍未解决")["item"]
    assert reopened["state"] == "rehandling" and reopened["satisfaction"] == "unsatisfied"
    with app.app_context():
        item = item_row(item_id)
        assert item.due_at == workdays.add_working_days(item.events[-1].at, 3)
    api.ok("ja01-operator", item_id, "feedback", result="再次处理")
    api.ok("ja-operator", item_id, "review_pass")
    assert api.ok("ja-operator", item_id, "visit", satisfaction="satisfied")["item"]["state"] == "closed"
