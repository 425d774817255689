"""Which change becomes which event, and which systems hear it.

A system hears an event it subscribed to (`events`, fnmatch patterns) about items within its granted units;
the system a work order came from always hears that item's result — fed back, returned (退单), closed —
with the handling unit and the reason, subscribed or not (the 12345 back-channel).
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.integration import ExternalWorkOrder, IntegrationSystem
from app.models.workitem import WorkItem
from app.services.integrations.systems import granted_unit_paths, hears
from app.services.integrations.webhooks import emit
from app.services.workdays import TZ
from app.services.workflow.states import STATES

#: workflow action → event type
ACTION_EVENTS = {
    "create": "work_item.created", "dispatch": "work_item.dispatched", "sign": "work_item.accepted",
    "contact": "work_item.contacted", "feedback": "work_item.fed_back", "review_pass": "work_item.reviewed",
    "review_reject": "work_item.rejected", "visit": "work_item.closed", "close": "work_item.closed",
    "reopen": "work_item.reopened", "return": "work_item.returned", "forward": "work_item.forwarded",
    "reassign": "work_item.forwarded", "extend": "work_item.extended", "supervise": "work_item.supervised",
}
BACK_CHANNEL = frozenset({"work_item.fed_back", "work_item.returned", "work_item.closed"})
ORDER_SOURCE = "integration_order"  # WorkItem.source_type of an item another system sent


def _iso(at):
    return at.astimezone(TZ).isoformat() if at is not None else None


def _unit(unit):
    return {"code": unit.code, "name": unit.name} if unit is not None else None


def _this_event(item: WorkItem, action: str):
    """The timeline row this change wrote; None when nothing happened yet (a forward waiting for approval)."""
    wanted = "create" if action == "create" else action
    event = next((e for e in reversed(item.events) if e.action == wanted), None)
    if event is None or (item.last_action_at is not None and event.at is not None
                         and abs((event.at - item.last_action_at).total_seconds()) > 1):
        return None
    return event


def order_of(item: WorkItem) -> ExternalWorkOrder | None:
    if item.source_type != ORDER_SOURCE:
        return None
    return db.session.get(ExternalWorkOrder, int(item.source_id))


def work_item_data(item: WorkItem, action: str, event, order: ExternalWorkOrder | None) -> dict:
    handling = item.org_unit
    if action == "return" and event is not None and event.from_unit is not None:
        handling = event.from_unit  # the unit that returned it
    return {
        "work_item": {"id": item.id, "number": item.number, "state": item.state, "state_label": STATES[item.state],
                      "category": item.category, "category_name": item.category_name, "title": item.title,
                      "unit": _unit(item.org_unit), "close_due_at": _iso(item.close_due_at),
                      "created_at": _iso(item.created_at), "closed_at": _iso(item.closed_at)},
        "action": action,
        "handling_unit": _unit(handling),
        "from_unit": _unit(event.from_unit) if event is not None else None,
        "to_unit": _unit(event.to_unit) if event is not None else None,
        "reason": event.reason if event is not None else None,
        "result": item.result,
        "satisfaction": item.satisfaction,
        "source": ({"system": order.system.code, "external_id": order.external_id} if order is not None else None),
    }


def _listeners(event_type: str, item_path: str, origin_id: int | None) -> list[IntegrationSystem]:
    systems = db.session.execute(select(IntegrationSystem).where(
        IntegrationSystem.enabled.is_(True), IntegrationSystem.webhook_url.is_not(None))).scalars().all()
    chosen = []
    for system in systems:
        if system.id == origin_id and (event_type in BACK_CHANNEL or hears(system, event_type)):
            chosen.append(system)
        elif hears(system, event_type) and any(item_path.startswith(p) for p in granted_unit_paths(system)):
            chosen.append(system)
    return chosen


def on_work_item_recorded(sender, *, item: WorkItem, action: str, **_ignored) -> None:
    """work_item_recorded (in the writer's transaction): a delivery per listening system, committed with the change."""
    event_type = ACTION_EVENTS.get(action)
    if event_type is None:
        return
    event = _this_event(item, action)
    if event is None:
        return
    order = order_of(item)
    systems = _listeners(event_type, item.org_path, order.system_id if order else None)
    if systems:
        emit(systems, event_type, f"work_item:{item.id}", work_item_data(item, action, event, order),
             occurred_at=event.at)


def on_record_saved(sender, *, record, **_ignored) -> None:
    """searchable_saved (in the writer's transaction): a tool's record event, "<tool>.<type>.saved"."""
    if record.tool == "work_items":
        return  # work items have their own events
    event_type = f"{record.tool}.{record.type}.saved"
    systems = _listeners(event_type, record.org_path, None)
    if systems:
        emit(systems, event_type, f"{record.tool}:{record.type}:{record.id}",
             {"tool": record.tool, "type": record.type, "id": record.id, "title": record.title,
              "status": record.status, "updated_at": _iso(record.updated_at)})
