"""Two people act on one item at the same moment: exactly one wins, the other gets 409, nothing half-applied."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select

from app.errors import ApiError
from app.extensions import db
from app.models.audit import AuditLog
from app.models.users import User
from app.models.workitem import WorkItem, WorkItemEvent
from app.services import workflow as wf
from tests.fixtures import USE_POSTGRES

pytestmark = pytest.mark.skipif(not USE_POSTGRES, reason="row locking needs PostgreSQL")


def run_concurrently(app, item_id: int, moves: list[tuple[str, str, dict]]):
    """Each move runs in its own thread, app context and connection; all load the item before any writes."""
    barrier = threading.Barrier(len(moves), timeout=20)
    outcomes: dict[str, object] = {}

    def loaded(target, *context):
        if threading.current_thread().name.startswith("mover-"):
            barrier.wait()

    def run(userid, action, data):
        with app.app_context():
            user = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one()
            try:
                item, _ = wf.perform(item_id, action, user, data)
                outcomes[userid] = ("ok", item.state)
            except ApiError as err:
                db.session.rollback()
                outcomes[userid] = (err.status, err.code, err.details.get("allowed_actions"))
            finally:
                db.session.remove()

    event.listen(WorkItem, "load", loaded)
    event.listen(WorkItem, "refresh", loaded)
    try:
        threads = [threading.Thread(target=run, args=m, name=f"mover-{i}") for i, m in enumerate(moves)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        event.remove(WorkItem, "load", loaded)
        event.remove(WorkItem, "refresh", loaded)
    return outcomes


def test_two_people_signing_at_once_exactly_one_wins(app, make_user, new_item):
    item_id = new_item("JA01G01")
    make_user("ja01-operator-2", ("JA01", "operator"), name="第二派单员")
    outcomes = run_concurrently(app, item_id, [("ja01-operator", "sign", {}), ("ja01-operator-2", "sign", {})])
    winners = [u for u, o in outcomes.items() if o[0] == "ok"]
    losers = [o for o in outcomes.values() if o[0] != "ok"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    status, code, allowed = losers[0]
    assert status == 409 and code in ("concurrent_update", "action_not_allowed")
    assert "feedback" in allowed  # what can be done now that the other one signed
    with app.app_context():
        item = db.session.get(WorkItem, item_id)
        assert item.state == "handling" and item.assignee.wecom_userid == winners[0]
        signs = db.session.execute(select(func.count()).where(
            WorkItemEvent.work_item_id == item_id, WorkItemEvent.action == "sign")).scalar_one()
        audits = db.session.execute(select(func.count()).where(AuditLog.action == "work_item.sign")).scalar_one()
        assert (signs, audits) == (1, 1)


def test_return_and_forward_at_once_never_both_apply(app, new_item):
    item_id = new_item("JA01G01")
    outcomes = run_concurrently(app, item_id, [
        ("ja01-operator", "return", {"reason": "不属本街道"}),
        ("ja01-manager", "forward", {"unit": "JA01G02"}),
    ])
    assert sorted(o[0] == "ok" for o in outcomes.values()) == [False, True], outcomes
    loser = next(o for o in outcomes.values() if o[0] != "ok")
    assert loser[0] == 409
    with app.app_context():
        item = db.session.get(WorkItem, item_id)
        actions = [e.action for e in item.events]
        assert actions[:2] == ["create", "dispatch"] and len(actions) == 3
        assert (item.state, item.org_unit.code) in (("returned", "JA"), ("dispatched", "JA01G02"))


def test_two_decisions_on_one_approval_apply_once(app, new_item, auth, client):
    item_id = new_item("JA01G01")
    body = client.post(f"/api/v1/work-items/{item_id}/forward", json={"unit": "JA02", "reason": "x"},
                       headers=auth.headers("ja01-operator")).get_json()
    approval_id = body["approval"]["id"]
    results = {}
    barrier = threading.Barrier(2, timeout=20)

    def run(name, approve):
        with app.app_context():
            user = db.session.execute(select(User).where(User.wecom_userid == "ja01-manager")).scalar_one()
            barrier.wait()
            try:
                _, applied = wf.decide(approval_id, user, approve, via=name)
                results[name] = applied
            except ApiError as err:
                results[name] = err.status
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=("card", True)), threading.Thread(target=run, args=("api", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values(), key=str) == [False, True], results
    with app.app_context():
        item = db.session.get(WorkItem, item_id)
        decisions = [e.action for e in item.events if e.action in ("forward", "forward_rejected")]
        assert len(decisions) == 1
        assert (item.org_unit.code == "JA02") == (decisions == ["forward"])


def test_same_state_actions_at_once_are_decided_by_the_version_column(app, new_item, api):
    item_id = new_item("JA01G01")
    api.ok("ja01-operator", item_id, "sign")
    outcomes = run_concurrently(app, item_id, [("ja01-operator", "contact", {"note": "电话联系"}),
                                               ("ja-manager", "supervise", {"note": "请加快"})])
    losers = [o for o in outcomes.values() if o[0] != "ok"]
    assert len(losers) == 1, outcomes
    assert losers[0][:2] == (409, "concurrent_update")  # both were allowed: only the version decides
    with app.app_context():
        actions = [e.action for e in db.session.get(WorkItem, item_id).events]
        assert sum(a in ("contact", "supervise") for a in actions) == 1
