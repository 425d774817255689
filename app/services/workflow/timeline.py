"""The timeline: every step of a work item is an event row (who, when, from which unit to which, why)."""

from __future__ import annotations

from app.models.base import utcnow
from app.models.workitem import WorkItem, WorkItemEvent


def actor_label(actor, default: str = "system") -> str:
    return getattr(actor, "wecom_userid", None) or (actor if isinstance(actor, str) else default)


def add_event(item: WorkItem, action: str, actor, *, from_state=None, to_state=None, from_unit=None,
              to_unit=None, reason=None, at=None, **detail) -> WorkItemEvent:
    ev = WorkItemEvent(
        action=action, from_state=from_state, to_state=to_state, reason=reason, detail=detail,
        actor_id=getattr(actor, "id", None), actor_label=actor_label(actor, item.source_tool),
        from_unit_id=getattr(from_unit, "id", None), to_unit_id=getattr(to_unit, "id", None), at=at or utcnow(),
    )
    item.events.append(ev)
    return ev
