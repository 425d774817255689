"""Facade fall-risk inspection (房屋外墙高坠隐患排查): buildings, inspections, graded items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.models.org import OrgUnit
from app.models.users import User
from app.services.crypto import EncryptedString

ITEMS: dict[str, str] = {
    "ac_brackets": "空调外机支架",
    "finish_tiles": "外墙饰面及面砖",
    "windows": "门窗",
    "billboards": "广告牌及店招",
    "awnings": "雨篷及遮阳篷",
    "balcony_objects": "阳台及窗台堆放物",
}

# Grades in rising order: a building's risk is the highest grade among its latest inspection's items.
GRADES: dict[str, str] = {"none": "无隐患", "low": "低风险", "medium": "中风险", "high": "高风险"}
GRADE_ORDER = {g: i for i, g in enumerate(GRADES)}

STRUCTURES: dict[str, str] = {
    "brick_wood": "砖木结构", "brick_concrete": "砖混结构", "frame": "框架结构",
    "shear_wall": "剪力墙结构", "steel": "钢结构", "other": "其他",
}


def highest(grades) -> str:
    return max(grades, key=GRADE_ORDER.__getitem__, default="none")


class Building(TimestampMixin, db.Model):
    __tablename__ = "facade_inspection_building"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255))
    built_year: Mapped[int | None] = mapped_column(Integer)
    floors: Mapped[int] = mapped_column(Integer)
    structure: Mapped[str] = mapped_column(String(32))
    managing_party: Mapped[str] = mapped_column(String(100))      # 物业/管理单位
    managing_contact: Mapped[str | None] = mapped_column(String(50))
    managing_phone: Mapped[str | None] = mapped_column(EncryptedString())
    place_code: Mapped[str | None] = mapped_column(String(32))
    # Derived from the latest inspection; None until first inspected.
    risk_level: Mapped[str | None] = mapped_column(String(8), index=True)
    last_inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The open rectification (整改) work item raised by a high-risk finding, closed by a re-inspection.
    rectification_work_item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    rectification_number: Mapped[str | None] = mapped_column(String(32))
    rectification_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rectification_open: Mapped[bool] = mapped_column(Boolean, default=False)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_facade_inspection_building_path", "org_path", postgresql_ops={"org_path": "text_pattern_ops"}),
    )


class FacadeInspection(db.Model):
    __tablename__ = "facade_inspection_inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("facade_inspection_building.id", ondelete="CASCADE"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    risk_level: Mapped[str] = mapped_column(String(8))
    remarks: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # A re-inspection of a building with an open rectification; outcome: raised / still_high / closed.
    is_reinspection: Mapped[bool] = mapped_column(Boolean, default=False)
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    work_item_outcome: Mapped[str | None] = mapped_column(String(16))

    building: Mapped[Building] = relationship()
    inspector: Mapped[User] = relationship(lazy="joined")
    items: Mapped[list[FacadeInspectionItem]] = relationship(
        back_populates="inspection", order_by="FacadeInspectionItem.id", cascade="all, delete-orphan",
        lazy="selectin")


class FacadeInspectionItem(db.Model):
    __tablename__ = "facade_inspection_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("facade_inspection_inspection.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    inspection: Mapped[FacadeInspection] = relationship(back_populates="items")
