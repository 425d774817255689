"""Flood and typhoon duty (防汛防台): rosters, warning levels, duty calls, waterlogging points."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import toolkit as tk
from app.toolkit import OrgUnit, TimestampMixin, User, UTCDateTime, db, utcnow

CODE = "flood_duty"

# Warning levels in rising order; "none" means no warning in force (lifted).
LEVELS: dict[str, str] = {"none": "无预警", "blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
LEVEL_ORDER = {lvl: i for i, lvl in enumerate(LEVELS)}
HAZARDS: dict[str, str] = {"rainstorm": "暴雨", "typhoon": "台风", "flood": "汛情", "tide": "风暴潮"}
DUTIES: dict[str, str] = {"leader": "带班领导", "on_duty": "值班人员", "rescue": "抢险队员"}
RESOURCE_KINDS: dict[str, str] = {"pump": "水泵", "sandbag": "沙袋", "barrier": "挡水板", "drainage_truck": "排水车",
                                  "other": "其他"}


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

    __table_args__ = (tk.path_index("flood_duty_roster"),)


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
        inside = any(m.org_unit.path.startswith(self.roster.org_path) for m in tk.business_memberships(self.user))
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

    __table_args__ = (tk.path_index("flood_duty_warning"),)

    @property
    def raised(self) -> bool:
        return LEVEL_ORDER[self.level] > LEVEL_ORDER[self.previous_level]

    def search_record(self) -> tk.SearchableRecord:
        where, hazard = self.org_unit.name, HAZARDS[self.hazard]
        title = f"{where}{hazard}预警解除" if self.level == "none" else f"{where}{hazard}{LEVELS[self.level]}预警"
        return tk.SearchableRecord(tool=CODE, type="warning", id=str(self.id), org_path=self.org_path, title=title,
                                   text=self.message, status="active" if self.active else "ended",
                                   updated_at=self.set_at)


class DutyCall(db.Model):
    """One person called to duty by one warning, and whether they confirmed arrival (签到)."""

    __tablename__ = "flood_duty_call"
    __table_args__ = (UniqueConstraint("warning_id", "user_id"), tk.path_index("flood_duty_call"))

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


class WaterPoint(tk.RegisterRecord, db.Model):
    """A waterlogging point (积水点) watched in heavy rain, at its Jing'an code."""

    __tablename__ = "flood_duty_point"
    record_of = (CODE, "point")
    place_kind = "flood_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    threshold_cm: Mapped[int] = mapped_column(Integer)
    last_depth_cm: Mapped[int | None] = mapped_column(Integer)
    last_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    resources: Mapped[list[PointResource]] = relationship(
        back_populates="point", cascade="all, delete-orphan", order_by="PointResource.id", lazy="selectin")

    @property
    def waterlogged(self) -> bool:
        return self.last_depth_cm is not None and self.last_depth_cm >= self.threshold_cm

    def search_record(self) -> tk.SearchableRecord:
        resources = "、".join(f"{RESOURCE_KINDS.get(r.kind, r.kind)}{r.quantity}{r.unit}" for r in self.resources)
        open_item = tk.open_work_item_for(self)
        depth = f"最近水深{self.last_depth_cm}厘米" if self.last_depth_cm is not None else ""
        return tk.SearchableRecord(
            tool=CODE, type="point", id=str(self.id), org_path=self.org_path, title=f"积水点 {self.name}",
            address=self.address, text=" ".join(filter(None, ["积水" if self.waterlogged else "", depth, resources,
                                                              self.place_code, open_item and open_item.number])),
            status="waterlogged" if self.waterlogged else "normal", updated_at=self.updated_at or utcnow())


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
