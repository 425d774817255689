"""Staff view of citizen reports: masked phone numbers, the handler's audited call-back view, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs import PERIODIC_JOBS
from app.models.audit import AuditLog
from app.models.base import utcnow
from app.models.workitem import WorkItem
from toolbox.citizen_report.models import CitizenReport
from toolbox.citizen_report.services import anonymise_closed_reports, months_before
from toolbox.citizen_report.tests.helpers import close_item, form, make_place, photo, submit, tracking_code

BASE = "/api/v1/tools/citizen_report"


@pytest.fixture
def report(app, client, district):
    place = make_place(app, district)
    code = tracking_code(submit(client, place, form()))
    with app.app_context():
        row = db.session.execute(select(CitizenReport).where(CitizenReport.tracking_code == code)).scalar_one()
        return {"id": row.id, "item_id": row.work_item_id, "code": code}


def contact_audits(app):
    with app.app_context():
        return [(a.actor, a.outcome) for a in db.session.query(AuditLog).order_by(AuditLog.id)
                if a.action == "citizen_report.contact_view"]


def test_staff_see_reports_in_scope_with_the_phone_masked(client, auth, report):
    listing = client.get(f"{BASE}/reports", headers=auth.headers("ja01g01-worker")).get_json()
    assert listing["total"] == 1
    row = listing["items"][0]
    assert row["mobile"] == "138****5678" and row["has_mobile"] is True
    assert row["work_item"]["id"] == report["item_id"] and row["place"]["name"] == "延平路 123 号"
    assert "tracking_code" not in row  # the citizen's credential never reaches staff screens
    assert client.get(f"{BASE}/reports", headers=auth.headers("ja02-operator")).get_json()["total"] == 0
    assert client.get(f"{BASE}/reports/{report['id']}", headers=auth.headers("ja02-operator")).status_code == 404


def test_only_the_assigned_handler_sees_the_number_and_every_view_is_audited(app, client, auth, report):
    url = f"{BASE}/reports/{report['id']}/contact"
    denied = client.post(url, headers=auth.headers("ja01-operator"))
    assert denied.status_code == 403  # nobody has signed for the item yet
    sign = client.post(f"/api/v1/work-items/{report['item_id']}/sign", json={}, headers=auth.headers("ja01-operator"))
    assert sign.status_code == 200, sign.get_json()
    assert client.post(url, headers=auth.headers("ja01-manager")).status_code == 403  # in scope, not the handler
    shown = client.post(url, headers=auth.headers("ja01-operator"))
    assert shown.status_code == 200 and shown.get_json()["mobile"] == "13812345678"
    assert contact_audits(app) == [("ja01-operator", "denied"), ("ja01-manager", "denied"), ("ja01-operator", "ok")]


def test_contacts_are_anonymised_months_after_closure_and_the_case_stays(app, client, auth, report):
    close_item(client, auth, report["item_id"])
    with app.app_context():
        assert anonymise_closed_reports() == 0  # closed just now: kept
        item = db.session.get(WorkItem, report["item_id"])
        item.closed_at = months_before(utcnow(), 6) - timedelta(days=1)
        db.session.commit()
        assert anonymise_closed_reports() == 1
        row = db.session.get(CitizenReport, report["id"])
        assert row.mobile is None and row.client_hash is None and row.anonymised_at is not None
        assert row.description and row.work_item_id == report["item_id"]  # the case itself stays
        assert anonymise_closed_reports() == 0
        assert db.session.query(AuditLog).filter_by(action="citizen_report.anonymise").count() == 1
    shown = client.get(f"{BASE}/reports/{report['id']}", headers=auth.headers("ja01-operator")).get_json()
    assert shown["mobile"] is None and shown["anonymised"] is True


def test_open_reports_are_never_anonymised(app, report):
    with app.app_context():
        item = db.session.get(WorkItem, report["item_id"])
        item.created_at = utcnow() - timedelta(days=400)
        db.session.commit()
        assert anonymise_closed_reports() == 0


def test_anonymisation_is_a_scheduled_job(app, runner, report):
    assert "citizen_report.anonymise" in PERIODIC_JOBS
    result = runner.invoke(args=["toolbox", "citizen-report", "anonymise"])
    assert result.exit_code == 0 and "anonymised 0" in result.output


def test_months_before_handles_month_ends():
    from datetime import datetime
    assert months_before(datetime(2026, 8, 31), 6) == datetime(2026, 2, 28)
    assert months_before(datetime(2026, 3, 15), 6) == datetime(2025, 9, 15)


def test_tool_access_is_required(client, auth, report):
    assert client.get(f"{BASE}/reports").status_code == 401
    refused = client.get(f"{BASE}/reports", headers=auth.headers("ja-auditor"))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "tool_not_available"


def test_open311_keys_are_issued_by_admins_and_can_be_revoked(client, auth, district, runner):
    assert client.post(f"{BASE}/open311-keys", json={"name": "x-lab"},
                       headers=auth.headers("ja01-operator")).status_code == 403
    created = client.post(f"{BASE}/open311-keys", json={"name": "x-lab"}, headers=auth.headers("ja-admin"))
    key = created.get_json()
    assert key["api_key"].startswith("o311_")
    listed = client.get(f"{BASE}/open311-keys", headers=auth.headers("ja-admin")).get_json()["items"]
    assert listed[0]["key_prefix"] == key["api_key"][:8] and "api_key" not in listed[0]
    revoke = client.delete(f"{BASE}/open311-keys/{key['id']}", headers=auth.headers("ja-admin"))
    assert revoke.status_code == 200 and revoke.get_json()["active"] is False
    result = runner.invoke(args=["toolbox", "citizen-report", "open311-key", "cli-client"])
    assert result.exit_code == 0 and "o311_" in result.output


def test_photos_follow_the_work_item_when_it_is_reassigned(app, client, auth, district):
    place = make_place(app, district)
    code = tracking_code(submit(client, place, form(photos=[photo()])))
    with app.app_context():
        row = db.session.execute(select(CitizenReport).where(CitizenReport.tracking_code == code)).scalar_one()
        att_id, item_id = row.photo_ids[0], row.work_item_id
    department = auth.headers("ja-d-cg-operator")
    assert client.get(f"/api/v1/attachments/{att_id}", headers=department).status_code == 404
    moved = client.post(f"/api/v1/work-items/{item_id}/reassign", json={"unit": "JA-D-CG", "reason": "占道经营"},
                        headers=auth.headers("ja-operator"))
    assert moved.status_code == 200, moved.get_json()
    assert client.get(f"/api/v1/attachments/{att_id}", headers=department).status_code == 200
