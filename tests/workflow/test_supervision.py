"""Supervision: remind at 80 %, overdue at 100 % and escalation (督办) — once per item and stage, across restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.jobs import PERIODIC_JOBS
from app.models.base import utcnow
from app.models.workitem import WorkItem, WorkItemAlert
from app.services import workflow as wf
from tests.fixtures import USE_POSTGRES, USE_REDIS, config_for_tests
from tests.workflow.conftest import item_row


def run_supervision(app):
    """Queue the periodic job and run it on a real RQ worker (inline when there is no Redis)."""
    with app.app_context():
        wf.supervise_work_items.delay()
        if USE_REDIS:
            from rq import SimpleWorker

            from app.jobs import get_queue
            queue = get_queue("default")
            SimpleWorker([queue], connection=queue.connection).work(burst=True)


def set_clock(app, item_id, *, started_ago: timedelta, due_in: timedelta):
    with app.app_context():
        item = item_row(item_id)
        now = utcnow()
        item.stage_started_at, item.due_at = now - started_ago, now + due_in
        db.session.commit()


def alerts(app, item_id):
    with app.app_context():
        rows = db.session.execute(select(WorkItemAlert).where(WorkItemAlert.work_item_id == item_id)
                                  .order_by(WorkItemAlert.id)).scalars()
        return [(a.stage_key, a.level) for a in rows]


def timeline(app, item_id):
    with app.app_context():
        return [e.action for e in item_row(item_id).events]


def test_supervision_is_a_registered_periodic_job():
    assert PERIODIC_JOBS["workflow.supervise"].func is wf.supervise_work_items


def test_nothing_happens_before_80_percent(app, new_item):
    item_id = new_item()
    set_clock(app, item_id, started_ago=timedelta(hours=7), due_in=timedelta(hours=3))
    run_supervision(app)
    assert alerts(app, item_id) == []


def test_reminds_once_at_80_percent(app, new_item):
    item_id = new_item()
    set_clock(app, item_id, started_ago=timedelta(hours=9), due_in=timedelta(hours=1))
    run_supervision(app)
    run_supervision(app)
    with app.app_context():
        seq = item_row(item_id).stage_seq
    assert alerts(app, item_id) == [(f"sign:{seq}", "remind")]
    assert timeline(app, item_id).count("remind") == 1
    with app.app_context():
        assert item_row(item_id).overdue is False


def test_overdue_is_marked_and_escalated_once_even_across_a_restart(app, new_item, tmp_path):
    item_id = new_item()
    set_clock(app, item_id, started_ago=timedelta(days=2), due_in=-timedelta(minutes=5))
    run_supervision(app)
    with app.app_context():
        item = item_row(item_id)
        assert item.overdue and item.supervised
        key = f"sign:{item.stage_seq}"
        escalation = item.events[-1]
        assert escalation.action == "supervise" and escalation.detail["auto"] is True
        assert escalation.detail["manager_unit"] == "JA01"
    assert alerts(app, item_id) == [(key, "remind"), (key, "overdue"), (key, "escalate")]
    restarted = create_app(config_for_tests(tmp_path))  # a new process: nothing kept in memory
    run_supervision(restarted)
    with restarted.app_context():
        db.session.remove()
        db.engine.dispose()
    assert alerts(app, item_id) == [(key, "remind"), (key, "overdue"), (key, "escalate")]
    assert timeline(app, item_id).count("supervise") == 1


def test_a_new_stage_gets_its_own_reminders(app, api, new_item):
    item_id = new_item()
    set_clock(app, item_id, started_ago=timedelta(days=2), due_in=-timedelta(minutes=5))
    run_supervision(app)
    api.ok("ja01-operator", item_id, "sign")
    with app.app_context():
        item = item_row(item_id)
        assert item.stage == "handle" and item.overdue is False
    set_clock(app, item_id, started_ago=timedelta(days=5), due_in=-timedelta(minutes=1))
    run_supervision(app)
    levels = [level for key, level in alerts(app, item_id) if key.startswith("handle:")]
    assert levels == ["remind", "overdue", "escalate"]
    overdue = api.inbox("ja01-operator", box="overdue")
    assert [i["id"] for i in overdue["items"]] == [item_id] and overdue["counts"]["overdue"] == 1


def test_closed_items_are_left_alone(app, api, new_item):
    item_id = new_item()
    api.ok("ja01-operator", item_id, "return", reason="重复")
    api.ok("ja-operator", item_id, "close", reason="重复")
    with app.app_context():
        item = item_row(item_id)
        assert item.due_at is None
    run_supervision(app)
    assert alerts(app, item_id) == []


@pytest.mark.skipif(not USE_POSTGRES, reason="concurrent transactions need PostgreSQL")
def test_two_supervisors_at_once_take_each_step_once(app, new_item):
    import threading

    item_id = new_item()
    set_clock(app, item_id, started_ago=timedelta(days=2), due_in=-timedelta(minutes=5))

    def run():
        with app.app_context():
            wf.supervise_work_items()
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [level for _, level in alerts(app, item_id)] == ["remind", "overdue", "escalate"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(WorkItem)).scalar_one() == 1
        assert timeline(app, item_id).count("overdue") == 1


def test_reminder_and_escalation_messages_go_out_once_across_a_restart(app, new_item, wecom_sim, tmp_path):
    from tests.workflow.test_loop_wecom import run_jobs, texts_to

    item_id = new_item("JA01G01")
    run_jobs(app)
    set_clock(app, item_id, started_ago=timedelta(hours=9), due_in=timedelta(hours=1))
    run_supervision(app)
    run_jobs(app)
    reminders = [t for t in texts_to(wecom_sim, "ja01-operator") if "时限将于" in t]
    assert len(reminders) == 1 and "签收及先行联系" in reminders[0]
    set_clock(app, item_id, started_ago=timedelta(days=2), due_in=-timedelta(minutes=1))
    run_supervision(app)
    run_jobs(app)
    restarted = create_app(config_for_tests(tmp_path))
    restarted.config["WECOM_API_BASE"] = app.config["WECOM_API_BASE"]
    run_supervision(restarted)
    run_jobs(restarted)
    with restarted.app_context():
        db.session.remove()
        db.engine.dispose()
    assert len([t for t in texts_to(wecom_sim, "ja01-operator") if "时限将于" in t]) == 1
    assert len([t for t in texts_to(wecom_sim, "ja01-operator") if "已超期" in t]) == 1
    escalations = [t for t in texts_to(wecom_sim, "ja01-manager") if "请督办" in t]
    assert len(escalations) == 1 and "江宁路街道" in escalations[0]


def test_signing_after_the_close_deadline_is_overdue_at_once(app, api, new_item):
    item_id = new_item()
    with app.app_context():
        item = item_row(item_id)
        item.close_due_at = utcnow() - timedelta(hours=2)
        db.session.commit()
    api.ok("ja01-operator", item_id, "sign")
    with app.app_context():
        item = item_row(item_id)
        assert item.stage == "handle" and item.due_at == item.close_due_at  # the real deadline, not reset
    run_supervision(app)
    assert [level for key, level in alerts(app, item_id) if key.startswith("handle:")] == [
        "remind", "overdue", "escalate"]


def test_an_approved_extension_starts_a_new_clock_for_an_overdue_item(app, api, new_item):
    item_id = new_item()
    api.ok("ja01-operator", item_id, "sign")
    set_clock(app, item_id, started_ago=timedelta(days=6), due_in=-timedelta(minutes=1))
    run_supervision(app)
    approval = api.ok("ja01-operator", item_id, "extend", days=5, reason="材料未到")["approval"]
    api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/approve", json={},
                    headers=api.headers("ja01-manager"))
    with app.app_context():
        item = item_row(item_id)
        assert item.overdue is False and item.due_at > utcnow() and item.due_at == item.close_due_at
    assert api.inbox("ja01-operator", box="overdue")["items"] == []
    run_supervision(app)
    assert [lvl for _, lvl in alerts(app, item_id)] == ["remind", "overdue", "escalate"]
    set_clock(app, item_id, started_ago=timedelta(days=5), due_in=-timedelta(minutes=1))
    run_supervision(app)
    keys = {key for key, _ in alerts(app, item_id)}
    assert len(keys) == 2 and [lvl for _, lvl in alerts(app, item_id)].count("escalate") == 2
