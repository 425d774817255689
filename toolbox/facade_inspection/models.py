"""Facade fall-risk inspection (房屋外墙高坠隐患排查): buildings, inspections, graded items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import toolkit as tk

CODE = "facade_inspection"

# What every inspection grades, in the order the mini-app shows it.
ITEMS: dict[str, str] = {
    "ac_brackets": "空调外机支架", "finish_tiles": "外墙饰面及面砖", "windows": "门窗",
    "billboards": "广告牌及店招", "awnings": "雨篷及遮阳篷", "balcony_objects": "阳台及窗台堆放物",
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


class Building(tk.RegisterRecord, tk.db.Model):
    """A building in the register, at its Jing'an code; its risk follows its latest inspection."""

    __tablename__ = "facade_inspection_building"
    record_of = (CODE, "building")
    place_kind = "building"

    id: Mapped[int] = mapped_column(primary_key=True)
    built_year: Mapped[int | None] = mapped_column(Integer)
    floors: Mapped[int] = mapped_column(Integer)
    structure: Mapped[str] = mapped_column(String(32))
    managing_party: Mapped[str] = mapped_column(String(100))      # 物业/管理单位
    managing_contact: Mapped[str | None] = mapped_column(String(50))
    managing_phone: Mapped[str | None] = mapped_column(tk.EncryptedString())
    # Derived from the latest inspection; None until first inspected.
    risk_level: Mapped[str | None] = mapped_column(String(8), index=True)
    last_inspected_at: Mapped[datetime | None] = mapped_column(tk.UTCDateTime())

    @property
    def rectification(self) -> tk.WorkItem | None:
        """The open rectification (整改) work item a high-risk finding raised; a re-inspection closes it."""
        return tk.open_work_item_for(self)

    def search_record(self) -> tk.SearchableRecord:
        risk = GRADES.get(self.risk_level, "未排查") if self.risk_level else "未排查"
        open_item = self.rectification
        return tk.SearchableRecord(
            tool=CODE, type="building", id=str(self.id), org_path=self.org_path, title=self.name,
            address=self.address,
            text=" ".join(filter(None, [self.managing_party, STRUCTURES.get(self.structure, ""), f"{self.floors}层",
                                        risk, self.place_code, f"整改中 {open_item.number}" if open_item else ""])),
            status=self.risk_level or "uninspected", updated_at=self.updated_at or tk.utcnow())


class FacadeInspection(tk.db.Model):
    __tablename__ = "facade_inspection_inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("facade_inspection_building.id", ondelete="CASCADE"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    inspected_at: Mapped[datetime] = mapped_column(tk.UTCDateTime(), default=tk.utcnow)
    risk_level: Mapped[str] = mapped_column(String(8))
    remarks: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # A re-inspection of a building with an open rectification; what it did to that work item:
    # raised / still_high / closed. (The work item's own state is the workflow's, never copied here.)
    is_reinspection: Mapped[bool] = mapped_column(Boolean, default=False)
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    work_item_outcome: Mapped[str | None] = mapped_column(String(16))

    building: Mapped[Building] = relationship()
    inspector: Mapped[tk.User] = relationship(lazy="joined")
    items: Mapped[list[FacadeInspectionItem]] = relationship(
        back_populates="inspection", order_by="FacadeInspectionItem.id", cascade="all, delete-orphan",
        lazy="selectin")

    def search_record(self) -> tk.SearchableRecord:
        b = self.building
        found = [f"{ITEMS[x.item]}{GRADES[x.grade]}" for x in self.items if x.grade != "none"]
        return tk.SearchableRecord(
            tool=CODE, type="inspection", id=str(self.id), org_path=b.org_path,
            title=f"{b.name} {self.inspected_at:%Y-%m-%d} 外墙排查", address=b.address,
            text=" ".join(["、".join(found) or "未发现隐患", self.remarks]), status=self.risk_level,
            updated_at=self.inspected_at)


class FacadeInspectionItem(tk.db.Model):
    __tablename__ = "facade_inspection_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("facade_inspection_inspection.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    inspection: Mapped[FacadeInspection] = relationship(back_populates="items")
