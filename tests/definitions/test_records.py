"""Records of a defined tool: field types, Chinese validation, personal data, serials, groups, photos, query."""

import io

import pytest

from app.extensions import db
from app.services.audit import AuditLog
from tests.citizen_support import png_bytes
from tests.definitions.conftest import publish

RENTAL = {
    "code": "rental_check", "name": "租赁房屋检查", "roles": ["worker", "operator", "manager"],
    "fields": [
        {"name": "no", "label": "检查编号", "type": "serial", "prefix": "ZL"},
        {"name": "address", "label": "房屋地址", "type": "text", "required": True, "max_length": 50,
         "searchable": True},
        {"name": "landlord_phone", "label": "房东电话", "type": "phone", "required": True},
        {"name": "landlord_id", "label": "房东身份证号", "type": "id_number"},
        {"name": "checked_on", "label": "检查日期", "type": "date", "filterable": True},
        {"name": "area", "label": "面积", "type": "decimal", "min": 1, "max": 10000},
        {"name": "tags", "label": "标签", "type": "multi_choice", "options": ["群租", "消防", "治安"]},
        {"name": "rooms", "label": "房间", "type": "group", "fields": [
            {"name": "room", "label": "房间号", "type": "text", "required": True},
            {"name": "occupants", "label": "居住人数", "type": "integer", "min": 0},
            {"name": "safe", "label": "消防合格", "type": "boolean"},
        ]},
        {"name": "photos", "label": "照片", "type": "photos"},
    ],
    "categories": [{"code": "overcrowded", "name": "群租隐患", "route_to": "street", "limit": "3 working days"}],
    "rules": [{"code": "unsafe_room", "kind": "line_fails", "field": "rooms", "line_field": "safe",
               "values": [False], "category": "overcrowded"}],
}


@pytest.fixture
def rental(client, district, auth):
    admin = auth.headers("ja-admin")
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=RENTAL).status_code == 201
    assert publish(client, admin, "rental_check").status_code == 200
    return auth.headers("ja01g01-worker")


def post(client, headers, values, **extra):
    return client.post("/api/v1/tools/rental_check/records", headers=headers, json={"values": values, **extra})


GOOD = {"address": "南京西路100号", "landlord_phone": "13812345678", "landlord_id": "310101199001011234",
        "checked_on": "2026-12-01", "area": 56.5, "tags": ["群租"],
        "rooms": [{"room": "101", "occupants": 3, "safe": True}, {"room": "102", "occupants": 6, "safe": False}]}


def test_validation_messages_are_chinese(client, rental):
    r = post(client, rental, {"address": "x" * 60, "landlord_phone": "123", "area": 0, "tags": ["别的"],
                              "rooms": [{"occupants": -1}], "nope": 1})
    assert r.status_code == 422
    f = r.get_json()["error"]["fields"]
    assert f["address"] == ["房屋地址不能超过50个字"]
    assert f["landlord_phone"] == ["房东电话不是有效的电话号码"]
    assert f["area"] == ["面积不能小于1"]
    assert f["tags"] == ["标签的选项无效"]
    assert f["rooms"]["0"] == {"room": ["请填写房间号"], "occupants": ["居住人数不能小于0"]}
    assert f["nope"] == ["未知字段"]


def test_serial_personal_data_masked_and_unmask_audited(app, client, rental):
    r = post(client, rental, GOOD)
    assert r.status_code == 201, r.get_json()
    record = r.get_json()
    assert record["serial"].startswith("ZL-") and record["serial"].endswith("-000001")
    assert record["values"]["landlord_phone"] == "138****5678"
    assert "1234" in record["values"]["landlord_id"] and "19900101" not in record["values"]["landlord_id"]
    assert post(client, rental, GOOD).get_json()["serial"].endswith("-000002")
    with app.app_context():
        stored = db.session.execute(db.text("SELECT data::text FROM defined_record WHERE id = :i"),
                                    {"i": record["id"]}).scalar()
    assert "13812345678" not in stored and "310101199001011234" not in stored
    r = client.get(f"/api/v1/tools/rental_check/records/{record['id']}/personal", headers=rental)
    assert r.get_json()["values"] == {"landlord_phone": "13812345678", "landlord_id": "310101199001011234"}
    with app.app_context():
        row = db.session.execute(db.select(AuditLog).where(AuditLog.action == "pii.view")).scalar_one()
        assert row.detail["fields"] == ["landlord_id", "landlord_phone"]


def test_a_failing_line_raises_one_item_and_others_attach(client, rental):
    first = post(client, rental, GOOD).get_json()
    assert first["work_items"][0]["outcome"] == "raised"
    assert first["work_items"][0]["work_item"]["org_unit"] == "JA01"
    second = post(client, rental, GOOD).get_json()
    assert second["work_items"][0]["outcome"] == "attached"
    assert second["work_items"][0]["work_item"]["id"] == first["work_items"][0]["work_item"]["id"]
    ok = post(client, rental, {**GOOD, "rooms": [{"room": "1", "safe": True}]}).get_json()
    assert ok["work_items"] == []


def test_patch_and_out_of_scope(client, rental, auth):
    rid = post(client, rental, GOOD).get_json()["id"]
    r = client.patch(f"/api/v1/tools/rental_check/records/{rid}", headers=rental, json={"values": {"area": 80}})
    assert r.status_code == 200 and r.get_json()["values"]["area"] == 80
    r = client.patch(f"/api/v1/tools/rental_check/records/{rid}", headers=rental, json={"values": {"address": ""}})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["address"] == ["请填写房屋地址"]
    other = auth.headers("ja02g01-worker") if _exists(client, auth, "ja02g01-worker") else None
    if other:
        assert client.get(f"/api/v1/tools/rental_check/records/{rid}", headers=other).status_code == 403
        assert client.get("/api/v1/tools/rental_check/records", headers=other).get_json()["total"] == 0


def _exists(client, auth, userid):
    try:
        auth.token(userid)
        return True
    except Exception:  # noqa: BLE001
        return False


def test_photos_through_the_pipeline_and_one_click_query(client, rental, media_root):
    up = client.post("/api/v1/attachments", headers=rental, data={"file": (io.BytesIO(png_bytes()), "a.png")},
                     content_type="multipart/form-data")
    assert up.status_code == 201
    photo = up.get_json()["id"]
    r = post(client, rental, {**GOOD, "photos": [photo]})
    assert r.status_code == 201 and r.get_json()["photo_ids"] == [photo]
    assert post(client, rental, {**GOOD, "photos": [999999]}).status_code == 422
    found = client.get("/api/v1/query", headers=rental, query_string={"q": "南京西路100号"}).get_json()
    assert any(i["tool"] == "rental_check" for i in found["items"]), found


def test_filters_and_sort(client, rental):
    for day in ("2026-12-01", "2026-12-03", "2026-12-02"):
        post(client, rental, {**GOOD, "checked_on": day})
    r = client.get("/api/v1/tools/rental_check/records", headers=rental, query_string={"sort": "-checked_on"})
    assert [i["values"]["checked_on"] for i in r.get_json()["items"]] == ["2026-12-03", "2026-12-02", "2026-12-01"]
    r = client.get("/api/v1/tools/rental_check/records", headers=rental, query_string={"checked_on": "2026-12-02"})
    assert r.get_json()["total"] == 1
    r = client.get("/api/v1/tools/rental_check/records", headers=rental, query_string={"area": "5"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_filter"


def test_a_field_left_empty_past_its_deadline_raises_an_item_in_the_sweep(app, client, district, auth):
    from datetime import UTC, datetime, timedelta

    from app.services.definition_jobs import sweep_deadline_rules

    admin = auth.headers("ja-admin")
    tool = {"code": "fix_follow", "name": "整改跟踪", "fields": [
        {"name": "what", "label": "问题", "type": "text", "required": True},
        {"name": "fixed_on", "label": "整改完成日期", "type": "date"}],
        "categories": [{"code": "late", "name": "逾期未整改", "route_to": "street", "limit": "3 working days"}],
        "rules": [{"code": "late", "kind": "empty_past_deadline", "field": "fixed_on", "days": 3,
                   "category": "late"}]}
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=tool).status_code == 201
    publish(client, admin, "fix_follow")
    worker = auth.headers("ja01g01-worker")
    rid = client.post("/api/v1/tools/fix_follow/records", headers=worker,
                      json={"values": {"what": "围挡破损"}}).get_json()["id"]
    with app.app_context():
        assert sweep_deadline_rules() == 0
        from app.extensions import db
        from app.models.definitions import DefinedRecord
        db.session.get(DefinedRecord, rid).created_at = datetime.now(UTC) - timedelta(days=4)
        db.session.commit()
        assert sweep_deadline_rules() == 1
        assert sweep_deadline_rules() == 0                            # once per rule
    got = client.get(f"/api/v1/tools/fix_follow/records/{rid}", headers=worker).get_json()
    assert got["work_items"][0]["explanation"] == "整改完成日期创建3天后仍未填写"


def test_a_defined_tools_records_export_with_its_labels_and_masked_personal_data(app, client, rental, auth):
    """一键导出 covers tools defined without code: headers are the field labels, choices and 是/否 read as a
    person reads them, phone and ID numbers masked; someone outside the scope exports no rows of it."""
    from openpyxl import load_workbook

    from tests.citizen_support import run_jobs

    assert post(client, rental, GOOD).status_code == 201
    operator = auth.headers("ja01-operator")
    sources = client.get("/api/v1/exports/sources", headers=operator).get_json()
    assert "rental_check" in {s["code"] for s in sources["items"]}
    created = client.post("/api/v1/exports", json={"source": "rental_check"}, headers=operator)
    assert created.status_code == 202, created.get_json()
    run_jobs(app, "default")
    body = client.get(f"/api/v1/exports/{created.get_json()['id']}", headers=operator).get_json()
    assert body["status"] == "finished", body
    response = client.get(body["file_url"], headers=operator)
    rows = [list(r) for r in load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True)]
    response.close()
    header, row = rows[0], rows[1]
    assert len(rows) == 2
    assert {"所属单位", "房屋地址", "房东电话", "房东身份证号", "标签", "房间"} <= set(header)
    assert row[header.index("房屋地址")] == "南京西路100号"
    assert row[header.index("房东电话")] == "138****5678"
    assert "199001" not in str(row[header.index("房东身份证号")])
    assert row[header.index("标签")] == "群租"
    other = auth.headers("ja02-operator")
    created = client.post("/api/v1/exports", json={"source": "rental_check"}, headers=other)
    run_jobs(app, "default")
    assert client.get(f"/api/v1/exports/{created.get_json()['id']}", headers=other).get_json()["done"] == 0
