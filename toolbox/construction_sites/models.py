"""Small construction sites (小型工地), their inspections and checklist results."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.models.org import OrgUnit
from app.models.users import User
from app.services.crypto import EncryptedString

# The checklist every inspection covers, in the order the mini-app shows it.
CHECKLIST: dict[str, str] = {
    "enclosure": "围挡设置",
    "dust": "扬尘防控",
    "waste": "渣土及建筑垃圾清运",
    "noise": "噪声与夜间施工",
    "signs": "安全警示标志",
    "road": "占道施工",
}

WORK_KINDS: dict[str, str] = {
    "renovation": "房屋装修",
    "repair": "房屋修缮",
    "demolition": "拆除工程",
    "pipeline": "管线施工",
    "road": "道路施工",
    "greening": "绿化工程",
    "other": "其他",
}


class SiteStatus:
    ACTIVE = "active"   # 在建
    CLOSED = "closed"   # 已关闭（竣工或撤场）


class Site(TimestampMixin, db.Model):
    """A registered small construction site, scoped by the org unit it lies in."""

    __tablename__ = "construction_sites_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255))
    owner_name: Mapped[str] = mapped_column(String(100))          # 建设单位/业主
    owner_contact: Mapped[str] = mapped_column(String(50))
    owner_phone: Mapped[str] = mapped_column(EncryptedString())
    contractor_name: Mapped[str] = mapped_column(String(100))     # 施工单位
    contractor_contact: Mapped[str] = mapped_column(String(50))
    contractor_phone: Mapped[str] = mapped_column(EncryptedString())
    permit_number: Mapped[str | None] = mapped_column(String(64))
    work_kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date, index=True)
    night_work_permitted: Mapped[bool] = mapped_column(Boolean, default=False)
    night_work_permit_number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SiteStatus.ACTIVE, index=True)
    place_code: Mapped[str | None] = mapped_column(String(32))    # 静安码
    last_inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    inspections: Mapped[list[Inspection]] = relationship(
        back_populates="site", order_by="Inspection.inspected_at.desc()", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_construction_sites_site_path", "org_path", postgresql_ops={"org_path": "text_pattern_ops"}),
    )


class Inspection(db.Model):
    """One visit to a site: the whole checklist, photos and the overall result."""

    __tablename__ = "construction_sites_inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("construction_sites_site.id", ondelete="CASCADE"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    result: Mapped[str] = mapped_column(String(8))   # pass / fail
    remarks: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    site: Mapped[Site] = relationship(back_populates="inspections")
    inspector: Mapped[User] = relationship(lazy="joined")
    items: Mapped[list[InspectionItem]] = relationship(
        back_populates="inspection", order_by="InspectionItem.id", cascade="all, delete-orphan", lazy="selectin")


class InspectionItem(db.Model):
    """One checklist line; a failed line is a problem handed to the workflow as a work item."""

    __tablename__ = "construction_sites_inspection_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("construction_sites_inspection.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("construction_sites_site.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    work_item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    work_item_number: Mapped[str | None] = mapped_column(String(32))
    # A failed item stays an open problem until its work item is closed.
    problem_open: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    inspection: Mapped[Inspection] = relationship(back_populates="items")
