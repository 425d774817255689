"""Who to tell about a change, and telling them: after commit, `work_item_changed` and WeCom messages."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select

from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import Membership, Role, User
from app.models.workitem import WorkItem
from app.services.after_commit import after_commit
from app.services.notify import send_text_message
from app.signals import work_item_changed

log = logging.getLogger(__name__)


def unit_members(unit_id: int, *roles: str) -> list[str]:
    """WeCom userids of the unit's own active staff holding one of these roles."""
    rows = db.session.execute(select(User.wecom_userid).join(Membership).where(
        Membership.org_unit_id == unit_id, Membership.role.in_(roles), User.active.is_(True)))
    return sorted(set(rows.scalars()))


def unit_staff(unit: OrgUnit, roles: tuple[str, ...] = (Role.WORKER, Role.OPERATOR)) -> list[str]:
    """WeCom userids of the unit's own staff with these roles (its managers when it has none)."""
    return unit_members(unit.id, *roles) or unit_members(unit.id, Role.MANAGER)


def unit_managers(unit: OrgUnit) -> tuple[OrgUnit, list[str]]:
    """The nearest unit at or above `unit` that has an active manager, and those managers."""
    current: OrgUnit | None = unit
    while current is not None:
        found = unit_members(current.id, Role.MANAGER)
        if found:
            return current, found
        current = current.parent
    return unit, []


def message(item: WorkItem, text: str) -> str:
    return f"【工单 {item.number}】{item.title}\n{text}"


def handlers(item: WorkItem) -> list[str]:
    if item.assignee is not None and item.assignee.active:
        return [item.assignee.wecom_userid]
    return unit_staff(item.org_unit)


def dispatchers(item: WorkItem) -> list[str]:
    return unit_staff(item.dispatch_unit, (Role.OPERATOR,))


def announce_change(item: WorkItem, action: str, *, notify: Iterable[tuple[list[str], str]] = (),
                    exclude: str | None = None) -> None:
    """After commit: announce the change and tell the people it concerns (WeCom, notify queue)."""
    payload = {"item_id": item.id, "action": action, "state": item.state, "source_tool": item.source_tool,
               "source_type": item.source_type, "source_id": item.source_id}
    messages = []
    for userids, content in notify:
        ids = sorted({u for u in userids if u and u != exclude})
        if ids:
            messages.append((ids, content))

    def fire():
        work_item_changed.send(item.source_tool, **payload)
        for ids, content in messages:
            try:
                send_text_message.delay(ids, content)
            except Exception:  # noqa: BLE001 - a notification failure never undoes the change
                log.exception("queueing a work item notification failed")

    after_commit(fire)
