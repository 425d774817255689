"""Directory sync pulls WeCom departments and members over HTTP (simulator) onto our org units."""

from rq import SimpleWorker
from sqlalchemy import select, update

from app.extensions import db
from app.jobs import get_queue
from app.models.audit import AuditLog
from app.models.org import OrgUnit
from app.models.users import User
from app.wecom.directory import sync_directory
from tests.fixtures import USE_REDIS


def _user(userid):
    return db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()


def test_simulator_directory_matches_the_seeded_district_so_a_first_sync_changes_nothing(app, district, wecom_sim):
    with app.app_context():
        report = sync_directory()
        assert report.plan.summary() == {"created": 0, "updated": 0, "disabled": 0, "unchanged": 157, "errors": 0}
        assert report.departments == 372
        assert report.unmapped == [] and report.mapped_now == [] and report.unplaced == []


def test_sync_adds_updates_and_disables_and_is_idempotent(app, district, wecom_sim):
    wecom_sim.put_user("ja01g01-new", name="新网格员", department=[1101], main_department=1101,
                       mobile="13900009999", position="网格员")
    wecom_sim.put_user("ja01-operator", name="江宁派单员（新）")
    wecom_sim.delete_user("ja02g01-worker")
    wecom_sim.put_user("ja03g01-worker", status=5)  # exited
    with app.app_context():
        report = sync_directory()
        assert report.plan.summary()["created"] == 1
        assert report.plan.summary()["updated"] == 1  # renamed
        assert report.plan.summary()["disabled"] == 2  # gone from WeCom, and exited (status 5)
        new = _user("ja01g01-new")
        assert new.active and new.mobile == "13900009999" and new.position == "网格员"
        assert [(m.org_unit.code, m.role) for m in new.memberships] == [("JA01G01", "worker")]
        assert _user("ja01-operator").name == "江宁派单员（新）"
        assert _user("ja01-operator").roles == {"operator"}  # roles are not the sync's business
        assert _user("ja02g01-worker").active is False  # disabled, never deleted
        assert _user("ja03g01-worker").active is False
        actions = db.session.execute(select(AuditLog.action).where(AuditLog.action.like("directory.%"))).scalars()
        assert sorted(actions) == ["directory.sync", "directory.user.create", "directory.user.disable",
                                   "directory.user.disable", "directory.user.update"]
        again = sync_directory()
        assert again.plan.changes == []


def test_dry_run_reports_without_writing(app, district, wecom_sim):
    wecom_sim.delete_user("ja02g01-worker")
    with app.app_context():
        report = sync_directory(dry_run=True)
        assert [c.to_dict()["action"] for c in report.plan.changes] == ["disable"]
        assert _user("ja02g01-worker").active is True
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "directory.sync")).scalar_one()
        assert row.outcome == "dry_run"


def test_unmapped_department_is_matched_by_name_under_its_parent_and_the_mapping_stored(app, district, wecom_sim):
    with app.app_context():
        db.session.execute(update(OrgUnit).where(OrgUnit.code == "JA01G02").values(wecom_department_id=None))
        db.session.commit()
        report = sync_directory()
        assert report.mapped_now == [{"department_id": 1102, "name": "江宁路第二网格", "unit": "JA01G02"}]
        assert db.session.execute(select(OrgUnit.wecom_department_id).where(OrgUnit.code == "JA01G02")).scalar() \
            == 1102
        assert sync_directory().mapped_now == []


def test_department_unknown_to_us_is_reported_and_its_new_members_not_created(app, district, wecom_sim):
    from app.wecom.simulator import SimState  # noqa: F401 - the directory lives in the simulator

    with app.app_context():
        db.session.execute(update(OrgUnit).where(OrgUnit.code == "JA01G03").values(name="改名的网格",
                                                                                  wecom_department_id=None))
        db.session.commit()
    wecom_sim.put_user("ja01g03-new", name="某人", department=[1103], main_department=1103)
    with app.app_context():
        report = sync_directory()
        assert [d["department_id"] for d in report.unmapped][:1] == [1103]
        assert "ja01g03-new" in report.unplaced
        assert _user("ja01g03-new") is None


def test_sync_job_and_cli(app, runner, district, wecom_sim):
    from app.wecom.directory import sync_directory_job

    wecom_sim.delete_user("ja02g01-worker")
    with app.app_context():
        sync_directory_job.delay(False)
        if USE_REDIS:
            queue = get_queue("default")
            SimpleWorker([queue], connection=queue.connection).work(burst=True)
        assert _user("ja02g01-worker").active is False
    result = runner.invoke(args=["toolbox", "sync-directory"])
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated, 0 disabled" in result.output


def test_sync_failure_is_audited_with_wecoms_errcode(app, runner, district, wecom_sim):
    app.config["WECOM_SECRET"] = "wrong-secret"
    try:
        result = runner.invoke(args=["toolbox", "sync-directory"])
    finally:
        app.config["WECOM_SECRET"] = "demo-secret"
    assert result.exit_code != 0
    assert "errcode=40001" in result.output
    with app.app_context():
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "directory.sync")).scalar_one()
        assert row.outcome == "failed"
        assert row.detail["wecom_errcode"] == 40001


def test_admin_endpoint_queues_the_sync_for_the_security_admin_only(app, client, district, auth, wecom_sim):
    assert client.post("/api/v1/admin/directory/sync", headers=auth.headers("ja-admin")).status_code == 403
    res = client.post("/api/v1/admin/directory/sync?dry_run=1", headers=auth.headers("ja-secadmin"))
    assert res.status_code == 202
    assert res.get_json()["job_id"]


def test_sync_keeps_people_from_an_import_unless_told_and_never_disables_an_admin_for_being_missing(
        app, client, district, auth, wecom_sim, runner):
    from tests.test_directory_import import HEADER, upload

    res = upload(client, auth, HEADER + "ja01g01-temp,临时网格员,13911118888,JA01G01,worker\n")
    assert res.status_code == 200 and res.get_json()["created"] == 1
    wecom_sim.delete_user("ja-auditor")
    with app.app_context():
        report = sync_directory()
        assert report.plan.summary()["disabled"] == 0
        assert _user("ja01g01-temp").active and _user("ja-auditor").active
        assert any("ja01g01-temp" in note for note in report.plan.notes)
        assert any("ja-auditor" in note and "kept active" in note for note in report.plan.notes)
    result = runner.invoke(args=["toolbox", "sync-directory", "--disable-imported"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.expire_all()
        assert _user("ja01g01-temp").active is False
        assert _user("ja-auditor").active is True
