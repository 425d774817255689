"""Inbox and workbench badges: one statement each, the same numbers as counting box by box."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.base import utcnow
from app.models.workitem import WorkItem, WorkItemApproval
from app.services import workflow as wf
from tests.fixtures import statements

USERS = ("ja-operator", "ja01-operator", "ja01-manager", "ja01g01-worker", "ja02-operator", "ja-d-jg-operator")


@pytest.fixture
def items(new_item, api):
    ids = [new_item("JA01G01", "waterlogging", title="江宁路积水"), new_item("JA01G01C01", "grid_issue"),
           new_item("JA02G01", "waterlogging"), new_item("JA03G01", "site_hazard")]
    api.ok("ja01-operator", ids[0], "sign")
    api.ok("ja01-operator", ids[0], "feedback", result="已处理")
    return ids


def one_by_one(user):
    """The badge counts as the boxes define them, one COUNT per box."""
    now = utcnow()
    result = {box: db.session.execute(select(func.count(WorkItem.id)).where(
        wf.visible_to(user), wf.box_clause(box, user, now))).scalar_one() for box in ("todo", "done", "overdue")}
    pending = wf.approvals_for(user).where(WorkItemApproval.status == "pending")
    result["approvals"] = db.session.execute(select(func.count()).select_from(pending.subquery())).scalar_one()
    return result


def test_counts_match_the_boxes_for_every_level(app, district, items):
    with app.app_context():
        for userid in USERS:
            user = district.user(userid)
            assert wf.counts_for(user) == one_by_one(user), userid
            expected = {box: db.session.execute(select(func.count(WorkItem.id)).where(
                wf.visible_to(user), wf.workbench_box_clause(box, user))).scalar_one() for box in wf.WORKBENCH_BOXES}
            assert wf.workbench_counts(user) == expected, userid


def test_the_inbox_is_two_statements(app, api, items):
    headers = api.headers("ja01-operator")
    api.client.get("/api/v1/me", headers=headers)
    with statements(app) as seen:
        body = api.client.get("/api/v1/work-items?box=all", headers=headers).get_json()
    assert body["counts"]["done"] == 1 and body["total"] == 2
    assert len([s for s in seen if "work_item" in s]) == 2  # the page and the badges; no COUNT for a short page
