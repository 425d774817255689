"""The audit trail: append-only, hash-chained, verified by `flask toolbox audit-verify`."""

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import AuditLog
from app.services import audit


@pytest.fixture
def five_rows(ctx):
    for i in range(1, 6):
        audit.record("test.event", target_type="thing", target_id=i, detail={"n": i, "名称": "测试"})
    db.session.commit()
    return [row.id for row in db.session.query(AuditLog).order_by(AuditLog.id)]


def verify(runner):
    return runner.invoke(args=["toolbox", "audit-verify"])


def test_an_untouched_chain_verifies(runner, five_rows):
    result = verify(runner)
    assert result.exit_code == 0
    assert "intact: 5 rows" in result.output


def test_each_row_carries_the_hash_of_the_one_before(five_rows):
    rows = db.session.query(AuditLog).order_by(AuditLog.id).all()
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


def test_a_modified_row_is_found_and_named(runner, five_rows):
    db.session.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": five_rows[2]})
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"row {five_rows[2]}: content was modified" in result.output


def test_a_deleted_row_is_found_and_its_successor_named(runner, five_rows):
    db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": five_rows[1]})
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"row {five_rows[2]}: does not follow row {five_rows[0]}" in result.output


def test_deleting_the_newest_rows_is_found_too(runner, five_rows):
    db.session.execute(text("DELETE FROM audit_log WHERE id >= :id"), {"id": five_rows[3]})
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"the newest row {five_rows[4]} is missing" in result.output


def test_the_orm_refuses_to_change_or_delete_audit_rows(five_rows):
    row = db.session.get(AuditLog, five_rows[0])
    row.action = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.delete(db.session.get(AuditLog, five_rows[0]))
        db.session.flush()


def test_an_audit_row_rolls_back_with_its_transaction(ctx):
    audit.record("test.rolled_back")
    db.session.rollback()
    assert db.session.query(AuditLog).count() == 0
    audit.record("test.kept")
    db.session.commit()
    assert [r.action for r in db.session.query(AuditLog)] == ["test.kept"]


def test_only_the_audit_admin_reads_the_audit_log(client, district, auth):
    for userid in ("ja-admin", "ja-secadmin", "ja-manager", "ja01g01-worker"):
        assert client.get("/api/v1/admin/audit-log", headers=auth.headers(userid)).status_code == 403
    response = client.get("/api/v1/admin/audit-log", headers=auth.headers("ja-auditor"))
    assert response.status_code == 200
    again = client.get("/api/v1/admin/audit-log?action=audit.read", headers=auth.headers("ja-auditor")).get_json()
    assert again["total"] == 1 and again["items"][0]["actor"] == "ja-auditor"  # reading is audited


def test_concurrent_appends_keep_one_chain(app, runner):
    import threading

    def append(n):
        with app.app_context():
            for i in range(10):
                audit.record("test.concurrent", detail={"thread": n, "i": i})
                db.session.commit()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "intact: 40 rows" in result.output
