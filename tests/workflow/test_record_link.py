"""The workflow owns the link between a tool's record and its work items: tools ask, they keep no copy."""

from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import User
from app.services import search
from app.services import workflow as wf
from app.signals import work_item_changed


@dataclass
class Report:
    """A stand-in record of the wf_demo tool: what raise_work_item and open_work_item_for need."""

    id: int
    org_unit: OrgUnit
    record_of = ("wf_demo", "report")


def test_a_records_open_work_item_comes_from_the_workflow(ctx, district, wf_tool):
    record, other = Report(7, district.unit("JA01G01")), Report(8, district.unit("JA02G01"))
    assert wf.open_work_item_for(record) is None
    item = wf.raise_work_item(record, category="waterlogging", title="南京西路积水")
    db.session.commit()
    assert (item.source_tool, item.source_type, item.source_id, item.org_unit.code) == ("wf_demo", "report", "7",
                                                                                         "JA01")
    assert wf.open_work_item_for(record) is item and wf.open_work_item_for(other) is None
    assert wf.open_work_items_for([record, other]) == {7: item}
    wf.close_verified(item.id, tool="wf_demo", actor="wf_demo", reason="复查已整改")
    db.session.commit()
    assert wf.open_work_item_for(record) is None and wf.work_items_for(record) == [item]


def test_work_item_changed_is_sent_with_the_source_tool_as_sender(ctx, district, wf_tool):
    heard = {"wf_demo": [], "someone_else": []}

    def listener(code):
        return lambda sender, **change: heard[code].append((sender, change["action"], change["source_id"]))

    mine, theirs = listener("wf_demo"), listener("someone_else")
    work_item_changed.connect(mine, sender="wf_demo")
    work_item_changed.connect(theirs, sender="someone_else")
    try:
        wf.raise_work_item(Report(9, district.unit("JA01G01")), category="waterlogging", title="积水")
        assert heard["wf_demo"] == []  # not before the commit
        db.session.commit()
    finally:
        work_item_changed.disconnect(mine, sender="wf_demo")
        work_item_changed.disconnect(theirs, sender="someone_else")
    assert heard == {"wf_demo": [("wf_demo", "create", "9")], "someone_else": []}


def test_reindex_rebuilds_the_work_items_too(ctx, new_item):
    item_id = new_item("JA01G01", "waterlogging", title="延平路积水")
    assert "work_items" in search.sources()
    state = search.rebuild(["work_items"])
    assert state["indexed"]["work_items"] == 1
    operator = db.session.execute(db.select(User).where(User.wecom_userid == "ja-operator")).scalar_one()
    assert [r["id"] for r in search.search(operator, "延平路")["items"]] == [str(item_id)]
