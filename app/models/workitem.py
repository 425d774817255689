"""Work items (工单): the forwarding workflow's records, its timeline, approvals, alerts and calendar.

The rules (which action is allowed when, by whom, with which time limit) live in the
app/services/workflow/ package; these are only the rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.models.org import OrgUnit
from app.models.users import User
from app.services.crypto import EncryptedString


class WorkItem(TimestampMixin, db.Model):
    """One problem moving between units until it is closed (办结)."""

    __tablename__ = "work_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # JA-2026-000123
    # Where it came from: the tool and the tool's record.
    source_tool: Mapped[str] = mapped_column(String(64), index=True)
    source_type: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    category_name: Mapped[str] = mapped_column(String(100))
    limit_kind: Mapped[str] = mapped_column(String(32))  # a TIME_LIMIT_KINDS key, e.g. "5 working days"
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(255))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    reporter_name: Mapped[str | None] = mapped_column(EncryptedString())
    reporter_mobile: Mapped[str | None] = mapped_column(EncryptedString())
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    priority: Mapped[str] = mapped_column(String(16), default="normal")

    state: Mapped[str] = mapped_column(String(32), index=True)
    # The unit that handles it now, and the unit that dispatched it (reviews and follows up).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255))
    dispatch_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    dispatch_path: Mapped[str] = mapped_column(String(255))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    # Time limits: the current stage's deadline and the overall close deadline.
    stage: Mapped[str | None] = mapped_column(String(32))      # sign / handle / rehandle / None
    stage_seq: Mapped[int] = mapped_column(Integer, default=0)  # bumps every time a stage starts
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_days: Mapped[int] = mapped_column(Integer)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    close_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)  # 督办
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(Text)              # the last 反馈
    satisfaction: Mapped[str | None] = mapped_column(String(16))  # 回访
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_action_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Optimistic locking: two concurrent writers, exactly one wins.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id], lazy="joined")
    dispatch_unit: Mapped[OrgUnit] = relationship(foreign_keys=[dispatch_unit_id], lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    reporter_user: Mapped[User | None] = relationship(foreign_keys=[reporter_user_id])
    events: Mapped[list[WorkItemEvent]] = relationship(
        back_populates="work_item", order_by="WorkItemEvent.id", cascade="all, delete-orphan")
    approvals: Mapped[list[WorkItemApproval]] = relationship(
        back_populates="work_item", order_by="WorkItemApproval.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_work_item_org_path", "org_path", postgresql_ops={"org_path": "text_pattern_ops"}),
        Index("ix_work_item_dispatch_path", "dispatch_path", postgresql_ops={"dispatch_path": "text_pattern_ops"}),
        Index("ix_work_item_source", "source_tool", "source_type", "source_id"),
    )


class WorkItemEvent(db.Model):
    """One step of the timeline: who did what, when, from which unit to which, and why."""

    __tablename__ = "work_item_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    actor_label: Mapped[str | None] = mapped_column(String(64))  # userid, "system" or a tool
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    work_item: Mapped[WorkItem] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    from_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[from_unit_id], lazy="joined")
    to_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[to_unit_id], lazy="joined")


class WorkItemApproval(TimestampMixin, db.Model):
    """A forward or an extension waiting for a manager's decision (card tap or API)."""

    __tablename__ = "work_item_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # forward / extend
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    approver_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    target_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    days: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    task_id: Mapped[str] = mapped_column(String(128), unique=True)
    card_userids: Mapped[list] = mapped_column(JSON, default=list)
    # The code that may update the card once: from sending it, or from the tap's callback event.
    response_code: Mapped[str | None] = mapped_column(String(255))
    response_code_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    card_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_via: Mapped[str | None] = mapped_column(String(16))  # card / api
    decision_note: Mapped[str | None] = mapped_column(Text)
    card_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    card_update_mode: Mapped[str | None] = mapped_column(String(16))  # updated / message

    work_item: Mapped[WorkItem] = relationship(back_populates="approvals")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    from_unit: Mapped[OrgUnit] = relationship(foreign_keys=[from_unit_id], lazy="joined")
    approver_unit: Mapped[OrgUnit] = relationship(foreign_keys=[approver_unit_id], lazy="joined")
    target_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[target_unit_id], lazy="joined")


class WorkItemAlert(db.Model):
    """A supervision step taken for one item and stage (80 % reminder, overdue, 督办): never twice."""

    __tablename__ = "work_item_alert"
    __table_args__ = (UniqueConstraint("work_item_id", "stage_key", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"), index=True)
    stage_key: Mapped[str] = mapped_column(String(48))  # e.g. "sign:1"
    level: Mapped[str] = mapped_column(String(16))      # remind / overdue / escalate
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    userids: Mapped[list] = mapped_column(JSON, default=list)


class WorkItemCounter(db.Model):
    """The last number issued per year, for JA-2026-000123."""

    __tablename__ = "work_item_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class WorkItemLimit(TimestampMixin, db.Model):
    """Per-tool (optionally per-category) time limits in working days, overriding the defaults."""

    __tablename__ = "work_item_limit"
    __table_args__ = (UniqueConstraint("tool_code", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_code: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64), default="")  # "" = every category of the tool
    sign_days: Mapped[int | None] = mapped_column(Integer)
    close_days: Mapped[int | None] = mapped_column(Integer)
    rehandle_days: Mapped[int | None] = mapped_column(Integer)
    max_days: Mapped[int | None] = mapped_column(Integer)
    changed_by: Mapped[str | None] = mapped_column(String(64))


class CalendarDay(db.Model):
    """An exception to Monday–Friday: a public holiday on a weekday, or an adjusted working day (调休)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # holiday / workday
    name: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str | None] = mapped_column(String(128))
    changed_by: Mapped[str | None] = mapped_column(String(64))
