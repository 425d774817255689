"""Who to tell about a change, and telling them: after commit, `work_item_changed` and WeCom messages.

Each message is a WeCom text card whose link opens the item in the staff workbench
(/h5/staff/items/<id>; the page signs the person in through WeCom OAuth when needed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import escape
from sqlalchemy import select

from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import Membership, Role, User
from app.models.workitem import WorkItem
from app.services.after_commit import after_commit
from app.services.notify import send_card_message, send_text_message
from app.services.workdays import TZ
from app.services.workflow.states import OPEN_STATES
from app.signals import work_item_changed, work_item_recorded

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


@dataclass(frozen=True)
class ItemMessage:
    """A text card about one work item: what happened (title), which item (description), its page."""

    title: str
    description: str
    path: str
    text: str  # the same as plain text, for a channel without cards

    def __str__(self) -> str:
        return self.text


def item_path(item: WorkItem) -> str:
    return f"/h5/staff/items/{item.id}"


def message(item: WorkItem, text: str) -> ItemMessage:
    """The card telling someone `text` about item (WeCom's card markup: gray / normal / highlight)."""
    lines = [f'<div class="gray">{escape(item.number)} · {escape(item.category_name)}</div>',
             f'<div class="normal">{escape(item.title)}</div>']
    if len(text.encode()) > 120:  # the title is cut at 128 bytes: the whole text goes below
        lines.append(f'<div class="normal">{escape(text)}</div>')
    if item.state in OPEN_STATES and item.close_due_at is not None:
        lines.append(f'<div class="highlight">办结时限 {item.close_due_at.astimezone(TZ):%m-%d %H:%M}</div>')
    return ItemMessage(title=text, description="".join(lines), path=item_path(item),
                       text=f"【工单 {item.number}】{item.title}\n{text}")


def send_message(userids: list[str], msg) -> None:
    """Queue one message: a card for an ItemMessage, plain text otherwise."""
    if isinstance(msg, ItemMessage):
        send_card_message.delay(userids, msg.title, msg.description, msg.path)
    else:
        send_text_message.delay(userids, str(msg))


def handlers(item: WorkItem) -> list[str]:
    if item.assignee is not None and item.assignee.active:
        return [item.assignee.wecom_userid]
    return unit_staff(item.org_unit)


def dispatchers(item: WorkItem) -> list[str]:
    return unit_staff(item.dispatch_unit, (Role.OPERATOR,))


def announce_change(item: WorkItem, action: str, *, notify: Iterable[tuple[list[str], str]] = (),
                    exclude: str | None = None) -> None:
    """Record the change for other systems now (work_item_recorded, in the transaction); after commit announce
    it and tell the people it concerns (WeCom, notify queue)."""
    payload = {"item_id": item.id, "action": action, "state": item.state, "source_tool": item.source_tool,
               "source_type": item.source_type, "source_id": item.source_id}
    messages = []
    for userids, content in notify:
        ids = sorted({u for u in userids if u and u != exclude})
        if ids:
            messages.append((ids, content))

    work_item_recorded.send(item.source_tool, item=item, action=action)  # in the transaction: commits with it

    def fire():
        work_item_changed.send(item.source_tool, **payload)
        for ids, content in messages:
            try:
                send_message(ids, content)
            except Exception:  # noqa: BLE001 - a notification failure never undoes the change
                log.exception("queueing a work item notification failed")

    after_commit(fire)
