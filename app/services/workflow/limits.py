"""Time limits in working days: defaults by the category's limit kind, overridden per tool and category."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models.workitem import WorkItem, WorkItemLimit
from app.services.workdays import add_working_days
from app.services.workflow.states import STAGE_OF_STATE
from app.terms import TIME_LIMIT_KINDS


@dataclass(frozen=True)
class Limits:
    sign_days: int = 1
    close_days: int = 5
    rehandle_days: int = 3
    max_days: int = 15  # close + approved extensions

    def to_dict(self) -> dict:
        return {"sign_days": self.sign_days, "close_days": self.close_days,
                "rehandle_days": self.rehandle_days, "max_days": self.max_days}


def limits_for(tool: str, category: str, limit_kind: str) -> Limits:
    """Defaults by category kind, overridden by the tool's row, then by the tool+category row."""
    values = Limits(close_days=TIME_LIMIT_KINDS.get(limit_kind, 5)).to_dict()
    rows = db.session.execute(select(WorkItemLimit).where(
        WorkItemLimit.tool_code == tool, WorkItemLimit.category.in_(("", category)))).scalars().all()
    for row in sorted(rows, key=lambda r: r.category != ""):  # tool-wide first, category wins
        for key in values:
            if getattr(row, key) is not None:
                values[key] = getattr(row, key)
    return Limits(**values)


def enter_stage(item: WorkItem, now) -> None:
    """Recompute the deadline of the state the item just entered."""
    stage = STAGE_OF_STATE.get(item.state)
    item.stage, item.overdue = stage, False
    if stage is None:
        item.stage_started_at = item.due_at = None
        return
    limits = limits_for(item.source_tool, item.category, item.limit_kind)
    item.stage_seq = (item.stage_seq or 0) + 1
    item.stage_started_at = now
    if stage == "sign":
        item.due_at = min(add_working_days(now, limits.sign_days), item.close_due_at)
    elif stage == "handle":
        item.due_at = item.close_due_at  # the close clock keeps running through returns and forwards
    else:
        item.due_at = add_working_days(now, limits.rehandle_days)
    # A deadline already past (e.g. signed after the close deadline) stays as it is: supervision flags it.
