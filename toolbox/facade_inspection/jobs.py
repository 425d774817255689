"""Background jobs of facade inspection."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import String, cast, select

from app import toolkit as tk
from toolbox.facade_inspection.models import CODE, Building

DUE_SOON = timedelta(days=1)


@tk.job("default")
def remind_reinspections() -> int:
    """Once a day, tell street operators which high-risk buildings' rectification deadline is a day away
    or past, so a re-inspection is arranged in time."""
    horizon = tk.utcnow() + DUE_SOON
    due = tk.db.session.execute(
        select(Building, tk.WorkItem).join(tk.WorkItem, tk.WorkItem.source_id == cast(Building.id, String))
        .where(tk.WorkItem.source_tool == CODE, tk.WorkItem.source_type == "building",
               tk.WorkItem.state.in_(tk.OPEN_STATES), tk.WorkItem.close_due_at <= horizon)
        .order_by(tk.WorkItem.close_due_at)).unique().all()
    by_street: dict[int, list[str]] = {}
    for building, item in due:
        street = building.org_unit.street
        if street is not None:
            by_street.setdefault(street.id, []).append(f"{building.name}（{item.number}）")
    for street_id, names in by_street.items():
        userids = tk.unit_members(street_id, tk.Role.OPERATOR)
        if userids:
            names_listed = "、".join(names[:10])
            tk.send_text_message.delay(userids, f"【外墙隐患】以下楼宇整改即将到期或已逾期，请安排复查：{names_listed}")
    return len(due)
