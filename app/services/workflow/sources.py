"""The work items tools raise: accept and dispatch one for a tool's record, close one a tool verified,
and the link between a record and its work items (open_work_item_for, has_open_work_item).

Creating and closing add to the caller's session and leave the commit to the caller, so a tool's record and the
work item it raises land in one transaction; the announcement goes out only after that commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, cast, exists, select

from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.org import OrgUnit
from app.models.users import User
from app.models.workitem import WorkItem
from app.services import audit
from app.services.workdays import add_working_days
from app.services.workflow.indexing import index_item
from app.services.workflow.limits import enter_stage, limits_for
from app.services.workflow.notices import announce_change, handlers, message, unit_staff
from app.services.workflow.numbering import next_number
from app.services.workflow.routing import route
from app.services.workflow.states import OPEN_STATES, PRIORITIES
from app.services.workflow.timeline import add_event


def create_work_item(*, tool: str, category: str, title: str, org_unit: OrgUnit, source_type: str, source_id,
                     description: str = "", address: str | None = None, lat: float | None = None,
                     lng: float | None = None, photo_ids: Iterable[int] = (), reporter_name: str | None = None,
                     reporter_mobile: str | None = None, reporter_user: User | None = None,
                     priority: str = "normal", actor=None, close_due_at=None) -> WorkItem:
    """Accept (受理) and dispatch (派单) a problem to the unit its category routes to. THE CALLER COMMITS.

    close_due_at: a deadline the source set itself (12345 sets its own limits), instead of the category's.
    """
    if priority not in PRIORITIES:
        raise ApiError(422, "invalid_priority", "优先级无效", "Unknown priority", allowed=list(PRIORITIES))
    if not title or not title.strip():
        raise ApiError(422, "title_required", "工单标题不能为空", "A work item needs a title")
    cat, target = route(tool, category, org_unit)
    dispatcher = target.parent or target
    now = utcnow()
    limits = limits_for(tool, cat.code, cat.limit)
    item = WorkItem(
        number=next_number(now), source_tool=tool, source_type=source_type, source_id=str(source_id),
        category=cat.code, category_name=cat.name, limit_kind=cat.limit, title=title.strip()[:200],
        description=description or "", address=address, lat=lat, lng=lng, photo_ids=[int(p) for p in photo_ids],
        reporter_name=reporter_name, reporter_mobile=reporter_mobile,
        reporter_user_id=getattr(reporter_user, "id", None), priority=priority, state="dispatched",
        org_unit=target, org_path=target.path, dispatch_unit=dispatcher, dispatch_path=dispatcher.path,
        created_by_id=getattr(actor, "id", None), close_days=limits.close_days,
        close_due_at=close_due_at or add_working_days(now, limits.close_days), last_action_at=now,
    )
    add_event(item, "create", actor, to_state="accepted", to_unit=dispatcher, at=now,
              source={"tool": tool, "type": source_type, "id": str(source_id)}, origin_unit=org_unit.code)
    add_event(item, "dispatch", actor, from_state="accepted", to_state="dispatched", from_unit=dispatcher,
              to_unit=target, at=now, auto=True, route_to=cat.route_to)
    enter_stage(item, now)
    db.session.add(item)
    db.session.flush()
    index_item(item)
    audit.record("work_item.create", target_type="work_item", target_id=item.id, actor=actor,
                 detail={"number": item.number, "tool": tool, "category": cat.code, "unit": target.code})
    announce_change(item, "create",
                    notify=[(unit_staff(target), message(item, f"新工单已派至{target.name}，请及时签收"))])
    return item


def close_verified(item_id: int, *, tool: str, actor, reason: str, **detail) -> WorkItem | None:
    """Close an open item because the tool that raised it verified the fix on site (a re-inspection).

    The item is closed (办结) by that finding, with a timeline entry naming the tool, the same
    index update and after-commit announcement as any other action, and a message to the handlers.
    Returns None for an item already closed. Adds to the session; THE CALLER COMMITS.
    """
    item = db.session.get(WorkItem, item_id, with_for_update={"of": WorkItem}, populate_existing=True)
    if item is None or item.state == "closed":
        return None
    if item.source_tool != tool:
        raise ValueError(f"work item {item.number} was not raised by {tool}")
    now = utcnow()
    before = item.state
    told = handlers(item)
    item.state = "closed"
    item.closed_at = now
    item.result = item.result or reason
    add_event(item, "close", actor, from_state=before, to_state="closed", from_unit=item.org_unit,
              to_unit=item.org_unit, reason=reason, at=now, verified_by=tool, **detail)
    enter_stage(item, now)
    item.last_action_at = now
    index_item(item)
    audit.record("work_item.close_verified", target_type="work_item", target_id=item.id, actor=actor,
                 detail={"number": item.number, "from": before, "to": "closed", "tool": tool, **detail})
    announce_change(item, "close", notify=[(told, message(item, f"经复查已办结：{reason}"))],
                    exclude=getattr(actor, "wecom_userid", None))
    return item


def note_work_item(item_id: int, *, tool: str, actor, reason: str, **detail) -> WorkItem | None:
    """A timeline entry (情况说明) the tool that raised the item adds without changing its state, e.g. "the
    waterlogging the sensor reported has ended". Audited; None for an unknown item. THE CALLER COMMITS."""
    item = db.session.get(WorkItem, item_id)
    if item is None:
        return None
    if item.source_tool != tool:
        raise ValueError(f"work item {item.number} was not raised by {tool}")
    add_event(item, "note", actor, from_state=item.state, to_state=item.state, reason=reason, **detail)
    audit.record("work_item.note", target_type="work_item", target_id=item.id, actor=actor,
                 detail={"number": item.number, "tool": tool, **detail})
    return item


# --- the link between a tool's record and its work items -----------------------------------------
#
# A work item carries source_tool/source_type/source_id; a record class that raises work items
# says which tool and type it is with `record_of = ("facade_inspection", "building")`. The
# workflow owns the link: tools keep no copy of an item's state, they ask.

def source_of(record) -> tuple[str, str, str]:
    """(tool, type, id) of a record class declaring `record_of = (tool, type)`."""
    try:
        tool, source_type = record.record_of  # a class attribute, or per row (records of defined tools)
    except AttributeError:
        raise TypeError(f"{type(record).__name__} declares no record_of = (tool, type)") from None
    return tool, source_type, str(record.id)


def raise_work_item(record, *, category: str, title: str, org_unit: OrgUnit | None = None, **fields) -> WorkItem:
    """create_work_item() for a record: its tool, type and id, and (by default) its org unit. THE CALLER COMMITS."""
    tool, source_type, source_id = source_of(record)
    return create_work_item(tool=tool, category=category, title=title, org_unit=org_unit or record.org_unit,
                            source_type=source_type, source_id=source_id, **fields)


def _raised_for(tool: str, source_type: str, source_ids):
    return (select(WorkItem).where(WorkItem.source_tool == tool, WorkItem.source_type == source_type,
                                   WorkItem.source_id.in_([str(i) for i in source_ids]))
            .order_by(WorkItem.id.desc()))


def open_work_item_for(record) -> WorkItem | None:
    """The newest open work item raised for this record, or None."""
    tool, source_type, source_id = source_of(record)
    stmt = _raised_for(tool, source_type, [source_id]).where(WorkItem.state.in_(OPEN_STATES)).limit(1)
    return db.session.execute(stmt).scalar_one_or_none()


def open_work_items_for(records) -> dict[int, WorkItem]:
    """Record id → its newest open work item, for a page of records at once."""
    records = list(records)
    if not records:
        return {}
    tool, source_type, _ = source_of(records[0])
    stmt = _raised_for(tool, source_type, [r.id for r in records]).where(WorkItem.state.in_(OPEN_STATES))
    found: dict[int, WorkItem] = {}
    for item in db.session.execute(stmt).scalars():
        found.setdefault(int(item.source_id), item)
    return found


def work_items_for(record) -> list[WorkItem]:
    """Every work item raised for this record, newest first."""
    tool, source_type, source_id = source_of(record)
    return list(db.session.execute(_raised_for(tool, source_type, [source_id])).scalars())


def has_open_work_item(model, id_column=None):
    """SQL: the row of `model` (a class with record_of) has an open work item."""
    tool, source_type = model.record_of
    column = id_column if id_column is not None else model.id
    return exists().where(WorkItem.source_tool == tool, WorkItem.source_type == source_type,
                          WorkItem.source_id == cast(column, String), WorkItem.state.in_(OPEN_STATES))
