"""Repeat complaints (重复诉求): which work items repeat an earlier one."""

from __future__ import annotations

from sqlalchemy import select

from app.models.stats import WorkItemRepeat


def repeat_ids(session, item_ids: list[int]) -> set[int]:
    """The ids among item_ids that are linked to an earlier item as repeats."""
    if not item_ids:
        return set()
    rows = session.execute(select(WorkItemRepeat.work_item_id).where(WorkItemRepeat.work_item_id.in_(item_ids)))
    return set(rows.scalars())
