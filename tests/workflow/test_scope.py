"""Users see and act on work items only within their data scope, from every level of the tree."""

from __future__ import annotations

import pytest


@pytest.fixture
def items(new_item):
    return {
        "street": new_item("JA01G01", "waterlogging", title="江宁路积水"),     # at JA01, dispatched by JA
        "grid": new_item("JA01G01C01", "grid_issue", title="网格垃圾"),        # at JA01G01, dispatched by JA01
        "other": new_item("JA02G01", "waterlogging", title="石门二路积水"),    # at JA02
        "dept": new_item("JA03G01", "site_hazard", title="工地围挡破损"),      # at JA-D-JG
    }


def titles(api, userid, **params):
    return sorted(i["title"] for i in api.inbox(userid, **params)["items"])


def test_inbox_todo_by_level(api, items):
    assert titles(api, "ja01-operator") == ["江宁路积水"]            # to sign at my street
    assert titles(api, "ja01g01-worker") == ["网格垃圾"]              # to sign at my grid
    assert titles(api, "ja02-operator") == ["石门二路积水"]
    assert titles(api, "ja-d-jg-operator") == ["工地围挡破损"]
    assert titles(api, "ja-operator") == []                           # nothing to review yet
    assert titles(api, "ja01g01c01-worker") == []


def test_all_box_is_limited_to_scope_at_every_level(api, items):
    assert titles(api, "ja-operator", box="all") == sorted(["江宁路积水", "网格垃圾", "石门二路积水", "工地围挡破损"])
    assert titles(api, "ja01-operator", box="all") == ["江宁路积水", "网格垃圾"]
    assert titles(api, "ja01g01-worker", box="all") == ["网格垃圾"]
    assert titles(api, "ja02-manager", box="all") == ["石门二路积水"]
    assert titles(api, "ja-d-jg-manager", box="all") == ["工地围挡破损"]
    assert titles(api, "ja-d-fg-manager", box="all") == []


def test_detail_and_actions_outside_scope_are_403(api, items):
    assert api.get("ja02-operator", items["street"]).status_code == 403
    assert api.act("ja02-operator", items["street"], "sign").status_code == 403
    assert api.get("ja01g02-worker", items["grid"]).status_code == 403
    assert api.get("ja-d-jg-operator", items["street"]).status_code == 403
    assert api.get("ja-operator", items["grid"]).status_code == 200
    assert api.get("ja01-operator", items["grid"]).status_code == 200
    assert api.client.get("/api/v1/work-items/999999", headers=api.headers("ja-operator")).status_code == 404


def test_done_box_and_counts(api, items):
    api.ok("ja01-operator", items["street"], "sign")
    api.ok("ja01-operator", items["street"], "feedback", result="已处理")
    inbox = api.inbox("ja01-operator", box="done")
    assert [i["title"] for i in inbox["items"]] == ["江宁路积水"]
    assert inbox["counts"]["todo"] == 0 and inbox["counts"]["done"] == 1
    assert titles(api, "ja-operator") == ["江宁路积水"]  # now waiting for the district's review
    counts = api.client.get("/api/v1/work-items/counts", headers=api.headers("ja-operator")).get_json()
    assert counts == {"todo": 1, "done": 0, "overdue": 0, "approvals": 0}


def test_filters_and_paging(api, items, new_item):
    for n in range(3):
        new_item("JA01G02", "waterlogging", title=f"积水{n}")
    page = api.inbox("ja01-operator", box="all", per_page=2, page=2, category="waterlogging")
    assert page["total"] == 4 and page["pages"] == 2 and len(page["items"]) == 2
    assert titles(api, "ja-operator", box="all", unit="JA-D-JG") == ["工地围挡破损"]
    assert titles(api, "ja-operator", box="all", q="石门") == ["石门二路积水"]
    assert titles(api, "ja-operator", box="all", state="dispatched", tool="nope") == []
    assert api.client.get("/api/v1/work-items?box=weird", headers=api.headers("ja-operator")).status_code == 400


def test_approver_can_read_the_item_outside_their_scope(api, new_item, make_user):
    item_id = new_item("JA01G01")
    make_user("ja01g01-lead", ("JA01G01", "manager"), name="网格长")
    grid_item = new_item("JA01G01C01", "grid_issue")
    approval = api.ok("ja01g01-worker", grid_item, "forward", unit="JA02G01", reason="相邻网格")["approval"]
    assert approval["approver_unit"]["code"] == "JA01G01"
    api.client.post(f"/api/v1/work-item-approvals/{approval['id']}/approve", json={},
                    headers=api.headers("ja01g01-lead"))
    # the item now lives in JA02, outside the approver's scope: they can still read what they decided
    assert api.detail("ja02g01-worker", grid_item)["unit"]["code"] == "JA02G01"
    assert api.get("ja01g01-lead", grid_item).status_code == 200
    assert api.get("ja01g01-worker", grid_item).status_code == 200      # took part in it
    assert api.get("ja01g02-worker", grid_item).status_code == 403
    assert api.get("ja03-manager", grid_item).status_code == 403
    assert api.get("ja01g01-lead", item_id).status_code == 403          # not theirs at all


def test_reporter_contact_is_masked_unless_revealed_and_audited(api, new_item, app):
    item_id = new_item("JA01G01", reporter_name="张小明", reporter_mobile="13912345678")
    reporter = api.detail("ja01-operator", item_id)["reporter"]
    assert reporter == {"name": "张*明", "mobile": "139****5678", "user": None}
    revealed = api.get("ja01-operator", item_id, reveal="reporter").get_json()["reporter"]
    assert revealed["mobile"] == "13912345678"
    from sqlalchemy import select

    from app.extensions import db
    from app.models.audit import AuditLog
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(AuditLog.action == "work_item.reporter_view")).scalars()
        assert [r.actor for r in rows] == ["ja01-operator"]
