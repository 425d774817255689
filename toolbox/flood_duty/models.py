"""Flood and typhoon duty (防汛防台): rosters, warning levels, duty calls, waterlogging points."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.models.org import OrgUnit
from app.models.users import User

# Warning levels in rising order; "none" means no warning in force (lifted).
LEVELS: dict[str, str] = {"none": "无预警", "blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
LEVEL_ORDER = {lvl: i for i, lvl in enumerate(LEVELS)}
HAZARDS: dict[str, str] = {"rainstorm": "暴雨", "typhoon": "台风", "flood": "汛情", "tide": "风暴潮"}
DUTIES: dict[str, str] = {"leader": "带班领导", "on_duty": "值班人员", "rescue": "抢险队员"}
RESOURCE_KINDS: dict[str, str] = {"pump": "水泵", "sandbag": "沙袋", "barrier": "挡水板", "drainage_truck": "排水车",
                                  "other": "其他"}


def path_index(column_name: str, table: str) -> Index:
    return Index(f"ix_{table}_{column_name}", column_name, postgresql_ops={column_name: "text_pattern_ops"})


class Roster(TimestampMixin, db.Model):
    """Who is on duty for a unit during one shift, and from which warning level they are called."""

    __tablename__ = "flood_duty_roster"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100))
    shift_start: Mapped[datetime] = mapped_column(UTCDateTime())
    shift_end: Mapped[datetime] = mapped_column(UTCDateTime())
    activate_from: Mapped[str] = mapped_column(String(8))  # lowest level that calls this roster
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    members: Mapped[list[RosterMember]] = relationship(
        back_populates="roster", cascade="all, delete-orphan", order_by="RosterMember.id", lazy="selectin")

    __table_args__ = (path_index("org_path", "flood_duty_roster"),)


class RosterMember(db.Model):
    __tablename__ = "flood_duty_roster_member"
    __table_args__ = (UniqueConstraint("roster_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("flood_duty_roster.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    duty: Mapped[str] = mapped_column(String(16), default="on_duty")

    roster: Mapped[Roster] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")

    @property
    def pool(self) -> str | None:
        """"district" for someone taken from the district pool: no business role inside the roster's unit."""
        from app.services.scope import business_memberships

        inside = any(m.org_unit.path.startswith(self.roster.org_path) for m in business_memberships(self.user))
        return None if inside else "district"


class FloodWarning(db.Model):
    """A warning level set for the district or a street; the newest row per unit is the one in force."""

    __tablename__ = "flood_duty_warning"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(8))
    previous_level: Mapped[str] = mapped_column(String(8))
    previous_warning_id: Mapped[int | None] = mapped_column(ForeignKey("flood_duty_warning.id"))
    # The warning whose duty calls this one messages: itself when it raised the level, else inherited.
    calls_warning_id: Mapped[int | None] = mapped_column(Integer)
    hazard: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Delivery through WeCom: how many people are called and how many messages went out.
    calls_count: Mapped[int] = mapped_column(Integer, default=0)
    recipients_count: Mapped[int] = mapped_column(Integer, default=0)
    batches_total: Mapped[int] = mapped_column(Integer, default=0)
    batches_sent: Mapped[int] = mapped_column(Integer, default=0)
    messages_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    set_by: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (path_index("org_path", "flood_duty_warning"),)

    @property
    def raised(self) -> bool:
        return LEVEL_ORDER[self.level] > LEVEL_ORDER[self.previous_level]


class DutyCall(db.Model):
    """One person called to duty by one warning, and whether they confirmed arrival (签到)."""

    __tablename__ = "flood_duty_call"
    __table_args__ = (UniqueConstraint("warning_id", "user_id"), path_index("org_path", "flood_duty_call"))

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("flood_duty_warning.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("flood_duty_roster.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255))
    duty: Mapped[str] = mapped_column(String(16))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirm_lat: Mapped[float | None] = mapped_column(Float)
    confirm_lng: Mapped[float | None] = mapped_column(Float)
    confirm_note: Mapped[str | None] = mapped_column(String(200))

    warning: Mapped[FloodWarning] = relationship()
    user: Mapped[User] = relationship(lazy="joined")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class WaterPoint(TimestampMixin, db.Model):
    """A waterlogging point (积水点) watched in heavy rain."""

    __tablename__ = "flood_duty_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255))
    threshold_cm: Mapped[int] = mapped_column(Integer)
    place_code: Mapped[str | None] = mapped_column(String(32))
    last_depth_cm: Mapped[int | None] = mapped_column(Integer)
    last_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    open_work_item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    open_work_item_number: Mapped[str | None] = mapped_column(String(32))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    resources: Mapped[list[PointResource]] = relationship(
        back_populates="point", cascade="all, delete-orphan", order_by="PointResource.id", lazy="selectin")

    __table_args__ = (path_index("org_path", "flood_duty_point"),)

    @property
    def waterlogged(self) -> bool:
        return self.last_depth_cm is not None and self.last_depth_cm >= self.threshold_cm


class WaterReport(db.Model):
    """A depth reading at a point, with a photo; at or above the threshold it is escalated."""

    __tablename__ = "flood_duty_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("flood_duty_point.id", ondelete="CASCADE"), index=True)
    depth_cm: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    work_item_number: Mapped[str | None] = mapped_column(String(32))

    point: Mapped[WaterPoint] = relationship()
    reporter: Mapped[User] = relationship(lazy="joined")


class PointResource(TimestampMixin, db.Model):
    """Emergency resources kept at or for a point: pumps, sandbags, barriers."""

    __tablename__ = "flood_duty_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("flood_duty_point.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16), default="个")
    note: Mapped[str] = mapped_column(String(200), default="")

    point: Mapped[WaterPoint] = relationship(back_populates="resources")
