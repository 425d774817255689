"""Assessment facts (issue 17): one row of facts per work item, and their sums per day and unit.

stats_item is what the drill-down reads; stats_daily is what the indicators read. stats_daily is
always the sum of stats_item rows, grouped by each measure's anchor day (see
app/services/assessment/indicators.py): kept so incrementally, rebuilt from scratch by
`flask toolbox stats rebuild`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

#: The counting columns of stats_daily (and the 0/1 flags or numbers of stats_item behind them).
MEASURE_COLUMNS = (
    "received", "returned", "repeat", "sign_due", "sign_on_time", "signed", "contacted", "closed",
    "closed_on_time", "solved", "rated", "satisfied", "extended", "redone", "close_days_sum", "overdue_open",
)
#: Anchor-day columns of stats_item.
ANCHOR_COLUMNS = ("received_day", "sign_due_day", "signed_day", "closed_day", "close_due_day")


class StatsItem(db.Model):
    """The facts of one work item that the indicators count (recomputed whenever the item changes)."""

    __tablename__ = "stats_item"

    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"), primary_key=True)
    # The handling unit, by level: l1 a street or a department, l2 a grid ("" when above grids).
    l1: Mapped[str] = mapped_column(String(32), default="")
    l2: Mapped[str] = mapped_column(String(32), default="")
    tool: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    received_day: Mapped[date] = mapped_column(Date)
    sign_due_day: Mapped[date | None] = mapped_column(Date)
    signed_day: Mapped[date | None] = mapped_column(Date)
    closed_day: Mapped[date | None] = mapped_column(Date)
    close_due_day: Mapped[date | None] = mapped_column(Date)
    received: Mapped[int] = mapped_column(Integer, default=1)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    sign_due: Mapped[int] = mapped_column(Integer, default=0)
    sign_on_time: Mapped[int] = mapped_column(Integer, default=0)
    signed: Mapped[int] = mapped_column(Integer, default=0)
    contacted: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    extended: Mapped[int] = mapped_column(Integer, default=0)
    redone: Mapped[int] = mapped_column(Integer, default=0)
    close_days_sum: Mapped[int] = mapped_column(Integer, default=0)
    overdue_open: Mapped[int] = mapped_column(Integer, default=0)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        Index("ix_stats_item_units", "l1", "l2"),
        Index("ix_stats_item_received_day", "received_day"),
        Index("ix_stats_item_closed_day", "closed_day"),
    )


class StatsDaily(db.Model):
    """The sums of stats_item per anchor day, unit, tool and category: what every indicator reads."""

    __tablename__ = "stats_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    l1: Mapped[str] = mapped_column(String(32), primary_key=True)
    l2: Mapped[str] = mapped_column(String(32), primary_key=True)
    tool: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    sign_due: Mapped[int] = mapped_column(Integer, default=0)
    sign_on_time: Mapped[int] = mapped_column(Integer, default=0)
    signed: Mapped[int] = mapped_column(Integer, default=0)
    contacted: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    extended: Mapped[int] = mapped_column(Integer, default=0)
    redone: Mapped[int] = mapped_column(Integer, default=0)
    close_days_sum: Mapped[int] = mapped_column(Integer, default=0)
    overdue_open: Mapped[int] = mapped_column(Integer, default=0)


class WorkItemRepeat(db.Model):
    """A work item found to repeat an earlier one (重复诉求): same place or near, same category, soon after."""

    __tablename__ = "work_item_repeat"

    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"), primary_key=True)
    earlier_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # place / nearby / text
    distance_m: Mapped[int | None] = mapped_column(Integer)
    similarity: Mapped[int | None] = mapped_column(Integer)  # bigram similarity, percent
