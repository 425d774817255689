"""Nobody closes an item alone (12345's 承办/派单 split).

The handling unit signs, handles and feeds back; a unit above it supervises and reassigns but never
signs or feeds back for it; the dispatching side reviews, follows up and closes, and never the
person who fed back the same round. The full loop, with the wrong person tried at each step.
"""

from __future__ import annotations

import pytest

from app.services.workflow import SIDES, TRANSITIONS


@pytest.fixture
def dual(make_user, district):
    """Someone holding a role on both sides: the street (承办) and the district centre (派单)."""
    make_user("dual-operator", ("JA01", "operator"), ("JA", "operator"))
    return "dual-operator"


def refused(api, userid, item_id, action, why, **body):
    response = api.act(userid, item_id, action, **body)
    assert response.status_code == 403, (userid, action, response.get_json())
    assert response.get_json()["error"]["code"] in ("action_forbidden", "out_of_scope")
    if response.get_json()["error"]["code"] == "action_forbidden":
        options = {o["action"]: o for o in api.detail(userid, item_id)["actions"]}
        assert options[action]["allowed"] is False and options[action]["reason"] == why, options[action]


def test_the_rule_is_data_beside_the_transitions():
    assert {t.side for t in TRANSITIONS.values()} <= set(SIDES)
    assert SIDES["handler"].reach == "at" and SIDES["manager"].reach == "above"
    assert all("feedback" in TRANSITIONS[a].not_by for a in ("review_pass", "review_reject", "visit", "close"))


def test_the_district_operator_cannot_handle_a_streets_item_alone(api, new_item):
    item_id = new_item("JA01G01", "waterlogging")  # handled by 江宁路街道 JA01, dispatched by JA
    detail = api.detail("ja-operator", item_id)
    assert detail["allowed_actions"] == ["reassign"]
    options = {o["action"]: o for o in detail["actions"]}
    assert options["sign"] == {"action": "sign", "label": "签收", "side": "handler", "side_label": "承办单位",
                               "allowed": False, "reason": "not_your_side", "reason_label": "须由承办单位办理"}
    refused(api, "ja-operator", item_id, "sign", "not_your_side")
    api.ok("ja01-operator", item_id, "sign")
    refused(api, "ja-operator", item_id, "feedback", "not_your_side", result="已处理")


def test_the_full_loop_with_the_wrong_person_at_each_step(api, new_item, dual):
    item_id = new_item("JA01G01", "waterlogging")
    # 签收: not the units above, not a unit below, not another street
    for wrong in ("ja-operator", "ja-manager", "ja01g01-worker", "ja02-operator"):
        refused(api, wrong, item_id, "sign", "not_your_side")
    api.ok("ja01-operator", item_id, "sign")
    # 先行联系 and 督办: the handling unit contacts; only a manager above it supervises
    refused(api, "ja-manager", item_id, "contact", "not_your_side", note="已联系")
    api.ok("ja01-operator", item_id, "contact", note="已电话联系")
    refused(api, "ja01-manager", item_id, "supervise", "not_your_side")
    api.ok("ja-manager", item_id, "supervise", note="请加快")
    # 反馈 (round 1) by someone who also sits at the dispatching centre
    refused(api, "ja-operator", item_id, "feedback", "not_your_side", result="已疏通")
    api.ok(dual, item_id, "feedback", result="已疏通雨水口")
    # 审核: not the handling unit, and not whoever fed back this round — even from the dispatching side
    refused(api, "ja01-operator", item_id, "review_pass", "not_your_side")
    refused(api, dual, item_id, "review_pass", "acted_this_round")
    refused(api, dual, item_id, "review_reject", "acted_this_round", reason="自己驳回自己")
    assert api.detail(dual, item_id)["allowed_actions"] == []
    api.ok("ja-operator", item_id, "review_reject", reason="现场仍有积水")
    # round 2: a new feedback by someone else frees the dual-role person to review
    refused(api, "ja-operator", item_id, "feedback", "not_your_side", result="已清淤")
    api.ok("ja01-manager", item_id, "feedback", result="已彻底清淤")
    refused(api, "ja01-manager", item_id, "review_pass", "not_your_side")
    assert "review_pass" in api.detail(dual, item_id)["allowed_actions"]
    api.ok(dual, item_id, "review_pass")
    # 回访 and 办结: the dispatching side, never the handling unit
    refused(api, "ja01-operator", item_id, "visit", "not_your_side", satisfaction="satisfied")
    refused(api, "ja01g01-worker", item_id, "visit", "not_your_side", satisfaction="satisfied")
    closed = api.ok("ja-manager", item_id, "visit", satisfaction="satisfied")["item"]
    assert closed["state"] == "closed"
    actors = {(e["action"], e["actor"]["userid"]) for e in closed["timeline"] if e["actor"]}
    assert {("sign", "ja01-operator"), ("feedback", "dual-operator"), ("review_reject", "ja-operator"),
            ("feedback", "ja01-manager"), ("review_pass", "dual-operator"), ("visit", "ja-manager")} <= actors


def test_whoever_fed_back_may_not_follow_up_that_round(api, new_item, dual):
    item_id = new_item("JA01G01", "waterlogging")
    api.ok(dual, item_id, "sign")
    api.ok(dual, item_id, "feedback", result="已处理")
    api.ok("ja-operator", item_id, "review_pass")
    refused(api, dual, item_id, "visit", "acted_this_round", satisfaction="satisfied")
    refused(api, dual, item_id, "reopen", "acted_this_round", reason="不满意")
    assert api.ok("ja-operator", item_id, "visit", satisfaction="satisfied")["item"]["state"] == "closed"


def test_a_unit_above_a_forwarded_item_supervises_but_does_not_sign(api, new_item):
    item_id = new_item("JA01G01", "waterlogging")
    api.ok("ja01-operator", item_id, "forward", unit="JA01G01", reason="网格处置")
    refused(api, "ja01-operator", item_id, "sign", "not_your_side")   # the street above the grid now
    refused(api, "ja01-manager", item_id, "return", "not_your_side", reason="不属网格")
    api.ok("ja01-manager", item_id, "supervise", note="请网格尽快处置")
    api.ok("ja01g01-worker", item_id, "sign")
    api.ok("ja01g01-worker", item_id, "feedback", result="已处置")
    refused(api, "ja01g01-worker", item_id, "review_pass", "not_your_side")
    api.ok("ja-operator", item_id, "review_pass")
