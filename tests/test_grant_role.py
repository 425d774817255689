"""The first administrator: `flask toolbox grant-role` / `revoke-role` on a database without demo staff."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.users import User


def _user(userid):
    return db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()


def _audits(app, action):
    with app.app_context():
        return [(r.outcome, r.detail) for r in db.session.execute(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).scalars()]


def test_a_fresh_database_gets_its_first_security_admin(app, runner, client, auth):
    assert runner.invoke(args=["toolbox", "seed", "--no-demo-users"]).exit_code == 0
    missing = runner.invoke(args=["toolbox", "grant-role", "zhang-sec", "security_admin", "--unit", "JA"])
    assert missing.exit_code == 1 and "sync-directory" in missing.output and "--name" in missing.output
    result = runner.invoke(args=["toolbox", "grant-role", "zhang-sec", "security_admin", "--unit", "JA",
                                 "--name", "张安全"])
    assert result.exit_code == 0, result.output
    assert "zhang-sec now holds security_admin at JA" in result.output
    with app.app_context():
        user = _user("zhang-sec")
        assert user.roles == {"security_admin"} and user.origin == "cli" and user.active
    ((outcome, detail),) = _audits(app, "directory.role.grant")
    assert outcome == "ok" and detail == {"userid": "zhang-sec", "role": "security_admin", "unit": "JA",
                                          "created_user": True}
    # the new security admin manages people over the API from here on
    assert client.get("/api/v1/users", headers=auth.headers("zhang-sec")).status_code == 200
    again = runner.invoke(args=["toolbox", "grant-role", "zhang-sec", "security_admin", "--unit", "JA"])
    assert again.exit_code == 0 and "already holds" in again.output


def test_grant_role_enforces_separation_of_duties_and_audits_the_refusal(app, runner, district):
    result = runner.invoke(args=["toolbox", "grant-role", "ja-secadmin", "audit_admin", "--unit", "JA"])
    assert result.exit_code == 1 and "三员分立" in result.output
    with app.app_context():
        assert _user("ja-secadmin").roles == {"security_admin"}
    ((outcome, detail),) = _audits(app, "directory.role.grant")
    assert outcome == "denied" and detail["roles"] == ["audit_admin", "security_admin"]
    ok = runner.invoke(args=["toolbox", "grant-role", "ja-secadmin", "operator", "--unit", "JA01"])
    assert ok.exit_code == 0  # a business role besides: allowed, as in real life
    unknown = runner.invoke(args=["toolbox", "grant-role", "ja-secadmin", "operator", "--unit", "NOPE"])
    assert unknown.exit_code == 1 and "no org unit" in unknown.output


def test_revoke_role_is_audited_and_warns_when_nobody_is_left(app, runner, district):
    result = runner.invoke(args=["toolbox", "revoke-role", "ja-auditor", "audit_admin"])
    assert result.exit_code == 0, result.output
    assert "no longer holds audit_admin at JA" in result.output and "nobody holds audit_admin" in result.output
    with app.app_context():
        assert _user("ja-auditor").roles == set()
    ((outcome, detail),) = _audits(app, "directory.role.revoke")
    assert outcome == "ok" and detail == {"userid": "ja-auditor", "role": "audit_admin", "units": ["JA"]}
    none_left = runner.invoke(args=["toolbox", "revoke-role", "ja-auditor", "audit_admin"])
    assert none_left.exit_code == 1 and "holds no audit_admin" in none_left.output
