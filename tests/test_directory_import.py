"""The security admin's staff import (CSV/XLSX): dry run, row-numbered errors, add/update/disable, 三员分立."""

import io

from openpyxl import Workbook
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.users import User

URL = "/api/v1/admin/directory/import"
HEADER = "userid,name,mobile,unit code,role\n"


def upload(client, auth, content, filename="staff.csv", query="", userid="ja-secadmin"):
    data = {"file": (io.BytesIO(content if isinstance(content, bytes) else content.encode()), filename)}
    return client.post(f"{URL}{query}", data=data, headers=auth.headers(userid), content_type="multipart/form-data")


def _user(userid):
    return db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()


CSV = HEADER + (
    "ja01g01-new,新网格员,13911112222,JA01G01,worker\n"
    "ja01g01-worker,江宁网格员01,13900000000,JA01G01,worker\n"  # changed mobile
    "ja01g01-worker,江宁网格员01,,JA01G01C01,worker\n"  # a second membership on another row
)


def test_dry_run_lists_changes_and_writes_nothing(app, client, district, auth):
    res = upload(client, auth, CSV, query="?dry_run=1&disable_missing=1&scope=JA01G01")
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["dry_run"] is True
    assert (body["created"], body["updated"], body["disabled"], body["errors"]) == (1, 1, 1, 0)
    assert {c["userid"]: c["action"] for c in body["changes"]} == {
        "ja01g01-new": "create", "ja01g01-worker": "update", "ja01g01c01-worker": "disable"}
    (update,) = [c for c in body["changes"] if c["action"] == "update"]
    assert update["changes"]["mobile"] == ["139****0046", "139****0000"]
    assert update["changes"]["memberships"] == {"added": ["JA01G01C01:worker"], "removed": []}
    with app.app_context():
        assert _user("ja01g01-new") is None
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "directory.import")).scalar_one()
        assert row.outcome == "dry_run" and row.actor == "ja-secadmin"


def test_import_adds_updates_and_disables_within_scope(app, client, district, auth):
    res = upload(client, auth, CSV, query="?disable_missing=1&scope=JA01G01")
    assert res.status_code == 200, res.get_json()
    with app.app_context():
        new = _user("ja01g01-new")
        assert new.active and new.mobile == "13911112222" and new.roles == {"worker"}
        worker = _user("ja01g01-worker")
        assert worker.mobile == "13900000000"
        assert sorted(m.org_unit.code for m in worker.memberships) == ["JA01G01", "JA01G01C01"]
        # Staff of JA01G01's subtree missing from the file are disabled, not deleted; others untouched.
        assert _user("ja01g01c01-worker").active is False
        assert _user("ja01g02-worker").active is True
        actions = sorted(db.session.execute(select(AuditLog.action).where(
            AuditLog.action.like("directory.%"))).scalars())
        assert actions == ["directory.import", "directory.user.create", "directory.user.disable",
                           "directory.user.update"]
    again = upload(client, auth, CSV, query="?disable_missing=1&scope=JA01G01").get_json()
    assert (again["created"], again["updated"], again["disabled"]) == (0, 0, 0)


def test_xlsx_import_with_chinese_headers_and_numeric_mobiles(app, client, district, auth):
    wb = Workbook()
    ws = wb.active
    ws.append(["账号", "姓名", "手机号", "单位编码", "角色"])
    ws.append(["ja05g01-new", "曹家渡新人", 13922223333, "JA05G01", "网格员"])
    buf = io.BytesIO()
    wb.save(buf)
    res = upload(client, auth, buf.getvalue(), filename="名单.xlsx", query="?disable_missing=0")
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["created"] == 1 and res.get_json()["disabled"] == 0
    with app.app_context():
        assert _user("ja05g01-new").mobile == "13922223333"


def test_gbk_csv_from_excel_is_read(app, client, district, auth):
    content = (HEADER + "ja06g01-new,天目新人,13933334444,JA06G01,worker\n").encode("gb18030")
    res = upload(client, auth, content, query="?disable_missing=0")
    assert res.status_code == 200 and res.get_json()["created"] == 1


def test_bad_rows_are_reported_by_row_number_and_nothing_changes(app, client, district, auth):
    bad = HEADER + (
        "ok-user,好人,13911110000,JA01G01,worker\n"
        "bad user,坏账号,13911110001,JA01G01,worker\n"
        ",,,,\n"
        "x2,无单位,12345,NOPE,worker\n"
        "x3,无角色,13911110003,JA01G01,boss\n"
    )
    dry = upload(client, auth, bad, query="?dry_run=1").get_json()
    assert [(e["row"], sorted(e["errors"])) for e in dry["row_errors"]] == [
        (3, ["userid"]), (5, ["mobile", "unit_code"]), (6, ["role"])]
    res = upload(client, auth, bad)
    assert res.status_code == 422
    assert res.get_json()["error"]["code"] == "import_rejected"
    assert [e["row"] for e in res.get_json()["error"]["row_errors"]] == [3, 5, 6]
    with app.app_context():
        assert _user("ok-user") is None
        assert _user("ja01g01-worker").active is True


def test_missing_columns_are_a_clear_422(client, district, auth):
    res = upload(client, auth, "userid,name\nx,y\n")
    assert res.status_code == 422
    error = res.get_json()["error"]
    assert error["code"] == "invalid_import_file"
    assert "unit_code" in error["message_en"] and "role" in error["message_en"]


def test_only_the_security_admin_imports(client, district, auth):
    assert upload(client, auth, CSV, userid="ja-admin").status_code == 403
    assert upload(client, auth, CSV, userid="ja-auditor").status_code == 403


def test_import_refuses_two_separated_admin_roles_for_one_person(app, client, district, auth):
    content = HEADER + "ja-new-admin,新管理员,13944445555,JA,admin\nja-new-admin,新管理员,,JA,audit_admin\n"
    res = upload(client, auth, content, query="?dry_run=1")
    (error,) = res.get_json()["row_errors"]
    assert error["row"] == 3 and "role" in error["errors"]


def test_import_refuses_granting_a_second_admin_role_to_an_existing_admin(app, client, district, auth):
    content = HEADER + "ja-admin,王系统,,JA,admin\nja-admin,王系统,,JA,security_admin\n"
    assert upload(client, auth, content, query="?disable_missing=0").status_code == 422


def test_an_import_keeps_everyone_missing_from_the_file_by_default(app, client, district, auth):
    res = upload(client, auth, HEADER + "ja01g01-worker,江宁网格员01,,JA01G01,worker\n")
    assert res.status_code == 200 and res.get_json()["disabled"] == 0
    with app.app_context():
        assert db.session.query(User).filter(User.active.is_(False)).count() == 0


def test_disabling_the_missing_needs_an_explicit_scope(client, district, auth):
    res = upload(client, auth, CSV, query="?disable_missing=1")
    assert res.status_code == 422 and res.get_json()["error"]["code"] == "scope_required"


def test_a_district_wide_disabling_import_spares_the_importer_and_the_three_admins(app, client, district, auth):
    res = upload(client, auth, HEADER + "ja01g01-worker,江宁网格员01,,JA01G01,worker\n",
                 query="?disable_missing=1&scope=JA&dry_run=1")
    body = res.get_json()
    assert body["disabled"] > 100
    disabled = {c["userid"] for c in body["changes"] if c["action"] == "disable"}
    assert not disabled & {"ja-secadmin", "ja-admin", "ja-auditor"}
    assert any("ja-admin" in note and "kept active" in note for note in body["notes"])
    upload(client, auth, HEADER + "ja01g01-worker,江宁网格员01,,JA01G01,worker\n", query="?disable_missing=1&scope=JA")
    with app.app_context():
        assert all(_user(u).active for u in ("ja-secadmin", "ja-admin", "ja-auditor", "ja01g01-worker"))
        assert _user("ja-operator").active is False


def test_cli_import_with_dry_run(app, runner, district, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text(CSV, encoding="utf-8")
    result = runner.invoke(args=["toolbox", "import-directory", str(path), "--dry-run", "--disable-missing",
                                 "--scope", "JA01G01"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("1 new, 1 changed, 1 disabled")  # the counts come first
    assert "[dry run: nothing written]" in result.output.splitlines()[0]
    with app.app_context():
        assert _user("ja01g01-new") is None
    refused = runner.invoke(args=["toolbox", "import-directory", str(path), "--disable-missing"])
    assert refused.exit_code == 2 and "--scope" in refused.output
    result = runner.invoke(args=["toolbox", "import-directory", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 new, 1 changed, 0 disabled")
    with app.app_context():
        assert _user("ja01g01-new").origin == "import"
        assert _user("ja01g01c01-worker").active is True

