"""Small construction sites (小型工地), their inspections and checklist results."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import toolkit as tk

CODE = "construction_sites"

# The checklist every inspection covers, in the order the mini-app shows it.
CHECKLIST: dict[str, str] = {
    "enclosure": "围挡设置", "dust": "扬尘防控", "waste": "渣土及建筑垃圾清运",
    "noise": "噪声与夜间施工", "signs": "安全警示标志", "road": "占道施工",
}

WORK_KINDS: dict[str, str] = {
    "renovation": "房屋装修", "repair": "房屋修缮", "demolition": "拆除工程", "pipeline": "管线施工",
    "road": "道路施工", "greening": "绿化工程", "other": "其他",
}


class SiteStatus:
    ACTIVE = "active"   # 在建
    CLOSED = "closed"   # 已关闭（竣工或撤场）


class Site(tk.RegisterRecord, tk.db.Model):
    """A registered small construction site at its Jing'an code, scoped by the org unit it lies in."""

    __tablename__ = "construction_sites_site"
    record_of = (CODE, "site")
    place_kind = "construction_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_name: Mapped[str] = mapped_column(String(100))          # 建设单位/业主
    owner_contact: Mapped[str] = mapped_column(String(50))
    owner_phone: Mapped[str] = mapped_column(tk.EncryptedString())
    contractor_name: Mapped[str] = mapped_column(String(100))     # 施工单位
    contractor_contact: Mapped[str] = mapped_column(String(50))
    contractor_phone: Mapped[str] = mapped_column(tk.EncryptedString())
    permit_number: Mapped[str | None] = mapped_column(String(64))
    work_kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date, index=True)
    night_work_permitted: Mapped[bool] = mapped_column(Boolean, default=False)
    night_work_permit_number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SiteStatus.ACTIVE, index=True)
    last_inspected_at: Mapped[datetime | None] = mapped_column(tk.UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(tk.UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    inspections: Mapped[list[Inspection]] = relationship(
        back_populates="site", order_by="Inspection.inspected_at.desc()", cascade="all, delete-orphan")

    def search_record(self, has_open_problems: bool | None = None) -> tk.SearchableRecord:
        if has_open_problems is None:
            has_open_problems = tk.db.session.execute(select(open_problems_at(self.id).exists())).scalar()
        return tk.SearchableRecord(
            tool=CODE, type="site", id=str(self.id), org_path=self.org_path, title=self.name, address=self.address,
            text=" ".join(filter(None, [self.permit_number, self.owner_name, self.contractor_name,
                                        WORK_KINDS.get(self.work_kind, ""), self.place_code, self.description,
                                        "有未整改问题" if has_open_problems else ""])),
            status="ended" if self.status == SiteStatus.CLOSED else self.status,  # one vocabulary: 已结束
            updated_at=self.updated_at or tk.utcnow())


class Inspection(tk.db.Model):
    """One visit to a site: the whole checklist, photos and the overall result."""

    __tablename__ = "construction_sites_inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("construction_sites_site.id", ondelete="CASCADE"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    inspected_at: Mapped[datetime] = mapped_column(tk.UTCDateTime(), default=tk.utcnow)
    result: Mapped[str] = mapped_column(String(8))   # pass / fail
    remarks: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    site: Mapped[Site] = relationship(back_populates="inspections")
    inspector: Mapped[tk.User] = relationship(lazy="joined")
    items: Mapped[list[InspectionItem]] = relationship(
        back_populates="inspection", order_by="InspectionItem.id", cascade="all, delete-orphan", lazy="selectin")

    def search_record(self) -> tk.SearchableRecord:
        site = self.site
        failed = [CHECKLIST[i.item] for i in self.items if not i.passed]
        return tk.SearchableRecord(
            tool=CODE, type="inspection", id=str(self.id), org_path=site.org_path,
            title=f"{site.name} {self.inspected_at:%Y-%m-%d} 检查", address=site.address,
            text=" ".join([("不合格：" + "、".join(failed)) if failed else "全部合格", self.remarks]),
            status=self.result, updated_at=self.inspected_at)


class InspectionItem(tk.db.Model):
    """One checklist line; a failed line is a problem handed to the workflow as a work item, and stays an
    open problem while that work item is open (the workflow's state: never copied here)."""

    __tablename__ = "construction_sites_inspection_item"
    record_of = (CODE, "inspection_item")

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("construction_sites_inspection.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("construction_sites_site.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The work item the failed line raised (written once, when it is raised).
    work_item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    work_item_number: Mapped[str | None] = mapped_column(String(32))

    inspection: Mapped[Inspection] = relationship(back_populates="items")

    @property
    def problem_open(self) -> bool:
        return not self.passed and tk.open_work_item_for(self) is not None


def open_problems_at(site_id):
    """The failed lines of a site (an id or an id column) whose work item is still open."""
    return select(InspectionItem).where(InspectionItem.site_id == site_id, tk.has_open_work_item(InspectionItem))
