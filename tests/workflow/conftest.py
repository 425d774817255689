"""Fixtures for the work-item workflow tests: a tool that raises work items, and an item factory."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from toolbox.registry import Category, Manifest, Tool

WF_TOOL = Tool(manifest=Manifest(
    code="wf_demo", name="工单测试工具", icon="flag", version="1.0",
    categories=(
        Category("waterlogging", "道路积水", route_to="street", limit="5 working days"),
        Category("consult", "政策咨询", route_to="street", limit="1 working day"),
        Category("site_hazard", "工地隐患", route_to="JA-D-JG", limit="3 working days"),
        Category("grid_issue", "网格事项", route_to="grid", limit="5 working days"),
    ),
))


@pytest.fixture
def wf_tool(app):
    """Registers a tool whose manifest routes four categories; removed again after the test."""
    registry = app.extensions["toolbox"]
    registry.tools[WF_TOOL.code] = WF_TOOL
    yield WF_TOOL
    registry.tools.pop(WF_TOOL.code, None)


@pytest.fixture
def new_item(app, district, wf_tool):
    """Factory: new_item(unit_code, category, **fields) creates and commits a work item, returns its id."""
    from app.models.org import OrgUnit
    from app.services.workflow import create_work_item

    counter = iter(range(1, 10_000))

    def create(unit_code: str = "JA01G01", category: str = "waterlogging", **fields) -> int:
        with app.app_context():
            unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == unit_code)).scalar_one()
            fields.setdefault("title", "南京西路积水")
            item = create_work_item(tool="wf_demo", category=category, org_unit=unit, source_type="report",
                                    source_id=fields.pop("source_id", next(counter)), **fields)
            db.session.commit()
            return item.id
    return create


def item_row(item_id: int):
    from app.models.workitem import WorkItem
    return db.session.get(WorkItem, item_id, populate_existing=True)


@pytest.fixture
def api(client, auth):
    from tests.workflow.helpers import Actor
    return Actor(client, auth)
