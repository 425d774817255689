"""Closing a work item because the tool that raised it verified the fix on site (e.g. a re-inspection).

The workflow's own actions are performed by the people of the handling and dispatching units. A tool
that raised an item for a condition it can observe (a facade graded high risk) may find on a later
visit that the condition is gone; then the item is closed (办结) by that finding, with a timeline entry
naming the tool record, the same after-commit announcement (`work_item_changed`) and index update as
any other action, and a message to the handlers. Adds to the session; THE CALLER COMMITS, so the
tool's record and the closing land together.

Candidate for a public function of app/services/workflow.py at integration.
"""

from __future__ import annotations

from app.extensions import db
from app.models.base import utcnow
from app.models.workitem import WorkItem
from app.services import audit, workflow


def close_verified(item_id: int, *, tool: str, actor, reason: str, **detail) -> WorkItem | None:
    """Close an open work item raised by `tool`; an item already closed is left as it is (returns None)."""
    item = db.session.get(WorkItem, item_id, with_for_update={"of": WorkItem}, populate_existing=True)
    if item is None or item.state == "closed":
        return None
    if item.source_tool != tool:
        raise ValueError(f"work item {item.number} was not raised by {tool}")
    now = utcnow()
    before = item.state
    handlers = workflow._handlers(item)
    item.state = "closed"
    item.closed_at = now
    item.result = item.result or reason
    workflow._event(item, "close", actor, from_state=before, to_state="closed", from_unit=item.org_unit,
                    to_unit=item.org_unit, reason=reason, at=now, verified_by=tool, **detail)
    workflow._enter_stage(item, now)
    item.last_action_at = now
    workflow._index(item)
    audit.record("work_item.close_verified", target_type="work_item", target_id=item.id, actor=actor,
                 detail={"number": item.number, "from": before, "to": "closed", "tool": tool, **detail})
    workflow._after_change(item, "close", notify=[(handlers, workflow._msg(item, f"经复查已办结：{reason}"))],
                           exclude=getattr(actor, "wecom_userid", None))
    return item
