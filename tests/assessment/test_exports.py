"""Excel exports: a job per export, Chinese headers and labels, Beijing time, masking, sheets, audit, expiry."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.base import utcnow
from app.models.export import ExportJob
from tests.citizen_support import run_jobs


@pytest.fixture
def items(app, new_item, media_root):
    return [new_item("JA01G01", "grid_issue", reporter_mobile="13912345678", reporter_name="张三丰",
                     title=f"楼道堆物{n}") for n in range(5)]


def _export(client, api, userid, source, status=202, **body):
    response = client.post("/api/v1/exports", json={"source": source, **body}, headers=api.headers(userid))
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _finished(app, client, api, userid, export_id):
    run_jobs(app, "default")
    body = client.get(f"/api/v1/exports/{export_id}", headers=api.headers(userid)).get_json()
    assert body["status"] == "finished", body
    assert body["progress"] == 1.0 and body["file_url"]
    response = client.get(body["file_url"], headers=api.headers(userid))
    assert response.status_code == 200
    data = response.data
    response.close()  # send_file's file handle
    return body, load_workbook(io.BytesIO(data))


def _rows(book, sheet=0):
    return [list(r) for r in book.worksheets[sheet].iter_rows(values_only=True)]


def test_work_items_export_with_chinese_headers_labels_and_masked_phones(app, client, api, items):
    created = _export(client, api, "ja01-operator", "work_items")
    assert created["status"] in ("queued", "finished") and created["id"]
    body, book = _finished(app, client, api, "ja01-operator", created["id"])
    rows = _rows(book)
    header = rows[0]
    assert header[:5] == ["工单编号", "标题", "来源工具", "问题类别", "状态"]
    assert "报告人电话" in header and "受理时间" in header
    assert len(rows) == 6 and body["done"] == 5
    phone, name = header.index("报告人电话"), header.index("报告人")
    assert {r[phone] for r in rows[1:]} == {"139****5678"}
    assert {r[name] for r in rows[1:]} == {"张*丰"}
    assert {r[header.index("状态")] for r in rows[1:]} == {"已派单"}
    received = rows[1][header.index("受理时间")]
    assert len(received) == 19 and received[:10] == utcnow().astimezone(__import__("app.services.workdays",
                                                                                   fromlist=["TZ"]).TZ).strftime(
        "%Y-%m-%d")


def test_unmasked_exports_are_for_those_who_may_and_are_audited(app, client, api, items):
    _export(client, api, "ja01g01-worker", "work_items", status=403, unmask=True)
    created = _export(client, api, "ja01-operator", "work_items", unmask=True)
    _, book = _finished(app, client, api, "ja01-operator", created["id"])
    rows = _rows(book)
    assert rows[1][rows[0].index("报告人电话")] == "13912345678"
    with app.app_context():
        actions = [a.action for a in db.session.execute(
            select(AuditLog).where(AuditLog.target_id == created["id"])).scalars()]
    assert actions == ["export.request", "export.finished", "export.unmask"]


def test_a_long_list_is_split_into_sheets(app, client, api, items):
    app.config["EXPORT_SHEET_ROWS"] = 2
    try:
        created = _export(client, api, "ja01-operator", "work_items")
        body, book = _finished(app, client, api, "ja01-operator", created["id"])
    finally:
        app.config["EXPORT_SHEET_ROWS"] = 1_048_575
    assert body["sheets"] == 3 and len(book.worksheets) == 3
    assert [len(_rows(book, n)) for n in range(3)] == [3, 3, 2]  # each with its header
    assert _rows(book, 2)[0][0] == "工单编号"


@pytest.mark.parametrize("userid, source, status", [
    ("ja-secadmin", "staff", 202), ("ja01-operator", "staff", 403),
    ("ja-auditor", "audit_log", 202), ("ja-operator", "audit_log", 403), ("ja-secadmin", "audit_log", 403),
    ("ja-admin", "work_items", 403),  # 三员分立: the system admin exports no business data
])
def test_who_may_export_what(app, client, api, district, media_root, userid, source, status):
    _export(client, api, userid, source, status=status)


def test_staff_export_masks_phones_unless_the_security_admin_unmasks(app, client, api, district, media_root):
    created = _export(client, api, "ja-secadmin", "staff")
    _, book = _finished(app, client, api, "ja-secadmin", created["id"])
    rows = _rows(book)
    assert rows[0][:3] == ["企业微信账号", "姓名", "手机号"]
    assert all("****" in (r[2] or "****") for r in rows[1:]) and len(rows) > 100


def test_an_unknown_source_answers_422_naming_mine(client, api, district):
    body = _export(client, api, "ja01-operator", "everything", status=422)
    allowed = body["error"]["allowed"]
    assert "work_items" in allowed and "indicators" in allowed and "audit_log" not in allowed


def test_the_indicator_table_exports(app, client, api, items):
    created = _export(client, api, "ja-operator", "indicators", filters={"group": "street"})
    _, book = _finished(app, client, api, "ja-operator", created["id"])
    rows = _rows(book)
    assert rows[0][:3] == ["单位代码", "单位", "样本量（受理量）"] and "按时签收率（%）" in rows[0]
    assert len(rows) == 15 and rows[1][0] == "JA01" and rows[1][2] == 5
    _export(client, api, "ja-operator", "indicators", status=422, filters={"group": "planet"})


def test_my_exports_are_mine_and_expire(app, client, api, items):
    created = _export(client, api, "ja01-operator", "work_items")
    run_jobs(app, "default")
    mine = client.get("/api/v1/exports", headers=api.headers("ja01-operator")).get_json()["items"]
    assert [e["id"] for e in mine] == [created["id"]]
    assert client.get(f"/api/v1/exports/{created['id']}", headers=api.headers("ja02-operator")).status_code == 404
    assert client.get("/api/v1/exports", headers=api.headers("ja02-operator")).get_json()["items"] == []
    from app.services.exports.jobs import expire_exports, file_path
    with app.app_context():
        export = db.session.get(ExportJob, created["id"])
        path = file_path(export)
        export.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        assert expire_exports() == 1
    import os
    assert not os.path.exists(path)
    assert client.get(f"/api/v1/exports/{created['id']}", headers=api.headers("ja01-operator")).status_code == 404


def test_every_built_in_tool_table_has_chinese_headers(app):
    from app.services.exports import export_sources
    with app.app_context():
        sources = export_sources()
    assert {"citizen_report.reports", "construction_sites.site", "flood_duty.point"} <= set(sources)
    for source in sources.values():
        for column in source.columns:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in column.label), (source.code, column.key)
