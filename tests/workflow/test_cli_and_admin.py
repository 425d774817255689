"""The calendar and time limits are admin-updatable through the CLI and the API."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.workitem import CalendarDay
from app.services import workdays
from tests.workflow.conftest import item_row


def test_cli_loads_sets_lists_and_clears_calendar_days(app, runner):
    result = runner.invoke(args=["toolbox", "calendar", "load-official"])
    assert result.exit_code == 0, result.output
    assert "days loaded" in result.output
    assert runner.invoke(args=["toolbox", "calendar", "set", "2027-02-08", "holiday", "--name", "春节"]).exit_code == 0
    listing = runner.invoke(args=["toolbox", "calendar", "list", "--year", "2027"]).output
    assert listing.strip() == "2027-02-08 holiday  春节"
    assert "2026-10-10 workday" in runner.invoke(args=["toolbox", "calendar", "list", "--year", "2026"]).output
    assert runner.invoke(args=["toolbox", "calendar", "clear", "2027-02-08"]).exit_code == 0
    assert runner.invoke(args=["toolbox", "calendar", "clear", "2027-02-08"]).exit_code != 0
    assert runner.invoke(args=["toolbox", "calendar", "set", "tomorrow", "holiday"]).exit_code != 0
    with app.app_context():
        assert db.session.get(CalendarDay, date(2027, 2, 8)) is None
        actions = db.session.execute(select(AuditLog.action)).scalars().all()
        assert actions.count("calendar.set") == 1 and actions.count("calendar.clear") == 1


def test_cli_supervise_runs_the_pass(runner, new_item):
    new_item()
    result = runner.invoke(args=["toolbox", "work-items", "supervise"])
    assert result.exit_code == 0 and result.output.strip() == "remind=0 overdue=0 escalate=0"


def test_only_the_system_admin_edits_the_calendar(app, client, auth, district):
    body = {"kind": "holiday", "name": "台风停工"}
    assert client.put("/api/v1/admin/calendar/2026-12-01", json=body,
                      headers=auth.headers("ja-operator")).status_code == 403
    response = client.put("/api/v1/admin/calendar/2026-12-01", json=body, headers=auth.headers("ja-admin"))
    assert response.status_code == 200 and response.get_json()["kind"] == "holiday"
    assert client.put("/api/v1/admin/calendar/2026-12-01", json={"kind": "party"},
                      headers=auth.headers("ja-admin")).status_code == 422
    listed = client.get("/api/v1/calendar?year=2026", headers=auth.headers("ja01g01-worker")).get_json()
    assert [d["date"] for d in listed["items"]] == ["2026-12-01"]
    with app.app_context():
        assert not workdays.is_working_day(date(2026, 12, 1))
    assert client.delete("/api/v1/admin/calendar/2026-12-01", headers=auth.headers("ja-admin")).status_code == 204
    assert client.delete("/api/v1/admin/calendar/2026-12-01", headers=auth.headers("ja-admin")).status_code == 404
    loaded = client.post("/api/v1/admin/calendar/official", headers=auth.headers("ja-admin")).get_json()
    assert len(loaded["items"]) == len(workdays.OFFICIAL_CALENDAR)


def test_time_limits_are_configurable_per_tool_and_category(app, client, auth, new_item):
    admin = auth.headers("ja-admin")
    assert client.put("/api/v1/admin/work-item-limits", json={"tool": "wf_demo", "close_days": 4},
                      headers=auth.headers("ja-operator")).status_code == 403
    assert client.put("/api/v1/admin/work-item-limits", json={"tool": "nope", "close_days": 4},
                      headers=admin).status_code == 404
    assert client.put("/api/v1/admin/work-item-limits", json={"tool": "wf_demo", "close_days": 4, "sign_days": 2},
                      headers=admin).status_code == 200
    consult = {"tool": "wf_demo", "category": "consult", "close_days": 2}
    assert client.put("/api/v1/admin/work-item-limits", json=consult, headers=admin).status_code == 200
    listing = client.get("/api/v1/admin/work-item-limits", headers=admin).get_json()
    assert {(r["category"], r["close_days"]) for r in listing["items"]} == {("", 4), ("consult", 2)}
    assert listing["defaults"]["close_days_by_kind"] == {"1 working day": 1, "3 working days": 3, "5 working days": 5}
    with app.app_context():
        ordinary = item_row(new_item("JA01G01", "waterlogging"))
        assert ordinary.close_days == 4
        assert ordinary.due_at == workdays.add_working_days(ordinary.created_at, 2)
        consult = item_row(new_item("JA01G01", "consult"))
        assert consult.close_days == 2
        hazard = item_row(new_item("JA01G01", "site_hazard"))  # tool-wide row beats the kind's default
        assert hazard.close_days == 4
