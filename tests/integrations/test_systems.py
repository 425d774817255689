"""Registered systems: the key and secret shown once and kept hashed/encrypted, rotation with a grace period,
disabling at once, grants checked, everything audited; the CLI does the same."""

from __future__ import annotations

from sqlalchemy import select, text

from app.extensions import db
from app.models.audit import AuditLog
from app.models.integration import IntegrationCredential
from tests.integrations.conftest import order


def audit_actions(app) -> list[str]:
    with app.app_context():
        return [r.action for r in db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars()]


def test_registering_answers_the_key_and_secret_once_and_stores_neither_in_clear(app, client, admin, register):
    body = register(webhook_url="http://127.0.0.1:9/hook", events=["work_item.*"])
    assert body["api_key"].startswith("tbk_") and body["webhook_secret"].startswith("whsec_")
    again = client.get("/api/v1/admin/integrations/hotline12345", headers=admin).get_json()
    assert "api_key" not in again and "webhook_secret" not in again
    assert again["keys"][0]["prefix"] == body["api_key"][:10]
    listed = client.get("/api/v1/admin/integrations", headers=admin).get_data(as_text=True)
    assert body["api_key"] not in listed and body["webhook_secret"] not in listed
    with app.app_context():
        raw = db.session.execute(text("SELECT key_hash, webhook_secret FROM integration_credential")).one()
        assert body["api_key"] not in raw.key_hash and body["webhook_secret"] not in raw.webhook_secret
        cred = db.session.execute(select(IntegrationCredential)).scalar_one()
        assert cred.webhook_secret == body["webhook_secret"]  # encrypted at rest, readable for signing
    assert "integration.register" in audit_actions(app)


def test_registration_needs_the_system_admin_and_names_every_bad_field(client, auth, district):
    bad = {"code": "X", "name": "坏", "categories": ["no_such"], "units": ["NOPE"], "events": ["bad event"],
           "webhook_url": "ftp://x"}
    assert client.post("/api/v1/admin/integrations", json=bad,
                       headers=auth.headers("ja01-manager")).status_code == 403
    response = client.post("/api/v1/admin/integrations", json=bad, headers=auth.headers("ja-admin"))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"code", "categories", "units", "events", "webhook_url"}


def test_rotation_keeps_the_old_key_valid_for_the_grace_period_only(app, client, admin, register, place_code):
    first = register()
    rotated = client.post("/api/v1/admin/integrations/hotline12345/rotate", json={"grace_hours": 1},
                          headers=admin).get_json()
    assert rotated["api_key"] != first["api_key"] and rotated["old_valid_until"]
    for key, external_id in ((first["api_key"], "A-1"), (rotated["api_key"], "A-2")):
        response = client.post("/api/v1/integrations/work-orders", json=order(external_id, place_code=place_code),
                               headers={"X-Api-Key": key})
        assert response.status_code == 201, response.get_json()
    client.post("/api/v1/admin/integrations/hotline12345/rotate", json={"grace_hours": 0}, headers=admin)
    refused = client.post("/api/v1/integrations/work-orders", json=order("A-3", place_code=place_code),
                          headers={"X-Api-Key": rotated["api_key"]})
    assert refused.status_code == 401
    assert audit_actions(app).count("integration.rotate") == 2


def test_disabling_refuses_the_key_at_once_and_enabling_restores_it(app, client, admin, register, place_code):
    key = register()["api_key"]
    client.post("/api/v1/admin/integrations/hotline12345/disable", headers=admin)
    refused = client.post("/api/v1/integrations/work-orders", json=order(place_code=place_code),
                          headers={"X-Api-Key": key})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "integration_disabled"
    client.post("/api/v1/admin/integrations/hotline12345/enable", headers=admin)
    assert client.post("/api/v1/integrations/work-orders", json=order(place_code=place_code),
                       headers={"X-Api-Key": key}).status_code == 201
    assert {"integration.disable", "integration.enable"} <= set(audit_actions(app))


def test_changing_grants_is_audited_with_before_and_after(app, client, admin, register):
    register()
    response = client.patch("/api/v1/admin/integrations/hotline12345", json={"units": ["JA02"]}, headers=admin)
    assert response.status_code == 200 and response.get_json()["units"] == ["JA02"]
    with app.app_context():
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "integration.update")).scalar_one()
        assert row.detail["before"]["units"] == ["JA01"] and row.detail["after"]["units"] == ["JA02"]


def test_the_cli_registers_rotates_and_disables(app, runner, district):
    created = runner.invoke(args=["toolbox", "integrations", "create", "cg", "--name", "城管执法",
                                  "--category", "occupation", "--unit", "JA01"])
    assert created.exit_code == 0, created.output
    assert "api key:        tbk_" in created.output and "whsec_" in created.output
    rotated = runner.invoke(args=["toolbox", "integrations", "rotate", "cg", "--grace-hours", "2"])
    assert rotated.exit_code == 0 and "valid until" in rotated.output
    assert runner.invoke(args=["toolbox", "integrations", "disable", "cg"]).exit_code == 0
    listed = runner.invoke(args=["toolbox", "integrations", "list"])
    assert "cg" in listed.output and "DISABLED" in listed.output
    bad = runner.invoke(args=["toolbox", "integrations", "create", "cg2", "--name", "x", "--unit", "NOPE"])
    assert bad.exit_code != 0 and "NOPE" in bad.output
    assert {"integration.register", "integration.rotate", "integration.disable"} <= set(audit_actions(app))
