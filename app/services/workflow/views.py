"""What a work item looks like from outside: the citizen-safe status and timeline."""

from __future__ import annotations

from app.models.workitem import WorkItem
from app.services.workdays import TZ
from app.services.workflow.states import EVENT_LABELS, STATES

PUBLIC_ACTIONS = frozenset({"create", "dispatch", "sign", "feedback", "review_pass", "review_reject", "visit",
                            "return", "forward", "reassign", "extend", "close"})


def _local(at):
    return at.astimezone(TZ).isoformat() if at is not None else None


def public_view(item: WorkItem) -> dict:
    """Citizen-safe status and timeline: units and times, never staff names or phone numbers."""
    timeline = []
    for ev in item.events:
        if ev.action not in PUBLIC_ACTIONS:
            continue
        unit = ev.to_unit or ev.from_unit
        timeline.append({"at": _local(ev.at), "action": ev.action, "label": EVENT_LABELS.get(ev.action, ev.action),
                         "state": ev.to_state, "state_label": STATES.get(ev.to_state or "", ""),
                         "unit": unit.name if unit else None})
    return {
        "number": item.number, "title": item.title, "category": item.category_name,
        "state": item.state, "state_label": STATES[item.state], "unit": item.org_unit.name,
        "created_at": _local(item.created_at), "updated_at": _local(item.updated_at),
        "closed_at": _local(item.closed_at), "result": item.result if item.state in ("visiting", "closed") else None,
        "satisfaction": item.satisfaction, "timeline": timeline,
    }
