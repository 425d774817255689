"""create_work_item(): routing by manifest category, numbers, deadlines, first events, signals after commit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.errors import ApiError
from app.extensions import db
from app.models.workitem import WorkItem
from app.services import workdays
from app.services.workflow import create_work_item, public_view
from app.signals import searchable_saved, work_item_changed
from tests.workflow.conftest import item_row


def test_grid_record_in_street_category_is_routed_to_its_street(ctx, new_item):
    item = item_row(new_item("JA03G02", "waterlogging"))
    assert item.org_unit.code == "JA03"
    assert item.dispatch_unit.code == "JA"  # the district centre dispatched it, reviews it
    assert item.state == "dispatched"
    assert re.fullmatch(r"JA-\d{4}-000001", item.number)
    assert [(e.action, e.from_state, e.to_state) for e in item.events] == [
        ("create", None, "accepted"), ("dispatch", "accepted", "dispatched")]
    assert item.events[1].to_unit.code == "JA03"


def test_department_and_grid_routes(ctx, new_item):
    assert item_row(new_item("JA05G01C01", "site_hazard")).org_unit.code == "JA-D-JG"
    grid_item = item_row(new_item("JA05G01C01", "grid_issue"))
    assert grid_item.org_unit.code == "JA05G01"
    assert grid_item.dispatch_unit.code == "JA05"
    # a street-level record in a grid category is the street's
    assert item_row(new_item("JA05", "grid_issue")).org_unit.code == "JA05"


def test_numbers_are_sequential_and_unique(ctx, new_item):
    numbers = [item_row(new_item()).number for _ in range(3)]
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]


def test_unknown_category_is_refused(ctx, district, wf_tool):
    with pytest.raises(ApiError) as err:
        create_work_item(tool="wf_demo", category="nope", title="x", org_unit=district.unit("JA01"),
                         source_type="report", source_id=1)
    assert err.value.status == 422 and err.value.code == "unknown_category"


def test_deadlines_are_working_days(ctx, new_item):
    item = item_row(new_item("JA01G01", "consult"))
    start = workdays.local_date(item.created_at)
    assert item.close_days == 1 and item.stage == "sign"
    expected = workdays.add_working_days(item.created_at, 1)
    assert item.close_due_at == expected
    assert item.due_at == expected  # signing can't be later than closing
    assert workdays.working_days_between(start, workdays.local_date(item.close_due_at)) in (1, 2)
    ordinary = item_row(new_item("JA01G01", "waterlogging"))
    assert ordinary.close_due_at == workdays.add_working_days(ordinary.created_at, 5)
    supervised = item_row(new_item("JA01G01", "site_hazard"))
    assert supervised.close_days == 3


def test_caller_commits_and_rollback_leaves_nothing(ctx, district, wf_tool):
    received = []

    def listener(sender, **kw):
        received.append(kw)

    work_item_changed.connect(listener)
    try:
        create_work_item(tool="wf_demo", category="waterlogging", title="积水", org_unit=district.unit("JA01G01"),
                         source_type="report", source_id=7)
        assert received == []  # nothing is announced before the caller commits
        db.session.rollback()
        assert db.session.execute(select(func.count(WorkItem.id))).scalar_one() == 0
        assert received == []
        item = create_work_item(tool="wf_demo", category="waterlogging", title="积水",
                                org_unit=district.unit("JA01G01"), source_type="report", source_id=8)
        db.session.commit()
    finally:
        work_item_changed.disconnect(listener)
    assert received == [{"item_id": item.id, "action": "create", "state": "dispatched", "source_tool": "wf_demo",
                         "source_type": "report", "source_id": "8"}]


def test_searchable_record_is_sent_inside_the_transaction(ctx, district, wf_tool):
    records = []

    def listener(sender, record):
        records.append((sender, record, db.session.get(WorkItem, int(record.id)) is not None))

    searchable_saved.connect(listener)
    try:
        item = create_work_item(tool="wf_demo", category="waterlogging", title="延平路积水",
                                org_unit=district.unit("JA01G01"), source_type="report", source_id=9,
                                address="延平路 1 号", description="积水 20 厘米")
    finally:
        searchable_saved.disconnect(listener)
    (sender, record, visible), = records
    assert sender == "work_items" and visible
    assert (record.tool, record.type, record.id) == ("work_items", "work_item", str(item.id))
    assert record.org_path == "/JA/JA01/" and "延平路积水" in record.title and "积水 20 厘米" in record.text
    assert record.status == "dispatched"  # a code of the one status vocabulary (its label: 已派单)


def test_public_view_hides_staff_and_phone_numbers(ctx, new_item, district):
    worker = district.user("ja01g01-worker")
    item = item_row(new_item("JA01G01", reporter_name="张三", reporter_mobile="13912345678", reporter_user=worker,
                             actor=worker))
    view = public_view(item)
    text = repr(view)
    assert view["number"] == item.number and view["state_label"] == "已派单"
    assert [e["label"] for e in view["timeline"]] == ["受理", "派单"]
    assert view["timeline"][1]["unit"] == "江宁路街道"
    for secret in ("张三", "13912345678", worker.name, "ja01g01-worker"):
        assert secret not in text


def test_created_at_shanghai_new_year_uses_shanghai_year(ctx):
    # 2026-12-31 17:00 UTC is already 2027-01-01 in Shanghai
    assert workdays.local_date(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)).year == 2027


def test_search_documents_yield_every_work_item_for_a_reindex(ctx, new_item):
    from app.services.workflow import search_documents

    ids = [new_item("JA01G01"), new_item("JA02G01")]
    records = list(search_documents())
    assert [r.id for r in records] == [str(i) for i in ids]
    assert [r.org_path for r in records] == ["/JA/JA01/", "/JA/JA02/"]


def test_openapi_documents_the_work_item_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    sign = paths["/api/v1/work-items/{item_id}/sign"]["post"]  # each action its own operation and typed body
    assert sign["operationId"] == "signWorkItem" and sign["requestBody"]["content"]["application/json"]["schema"]
    assert "/api/v1/work-items/{item_id}/{action}" not in paths
    assert "get" in paths["/api/v1/work-items"] and "post" in paths["/api/v1/work-item-approvals/{approval_id}/approve"]
