"""The district's organisation tree: 1 centre + 14 streets + 85 grids + 266 committees."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin


class OrgLevel(enum.StrEnum):
    DISTRICT = "district"      # 区城运中心
    DEPARTMENT = "department"  # 区职能部门 (under the district)
    STREET = "street"          # 街镇城运中心
    GRID = "grid"              # 城运网格
    COMMITTEE = "committee"    # 居村


class OrgUnit(TimestampMixin, db.Model):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # Materialised path of codes, "/JA/JA01/JA01G01/": a subtree is a prefix match.
    path: Mapped[str] = mapped_column(String(255), unique=True)
    wecom_department_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent", order_by="OrgUnit.sort_order")

    __table_args__ = (
        Index("ix_org_unit_path_prefix", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    @staticmethod
    def child_path(parent: OrgUnit | None, code: str) -> str:
        return f"{parent.path if parent else '/'}{code}/"

    def contains(self, other: OrgUnit) -> bool:
        return other.path.startswith(self.path)

    @property
    def street(self) -> OrgUnit | None:
        """The street (街镇) this unit belongs to, if any."""
        unit: OrgUnit | None = self
        while unit is not None and unit.level != OrgLevel.STREET:
            unit = unit.parent
        return unit

    def to_summary(self) -> dict:
        return {"id": self.id, "code": self.code, "name": self.name, "level": self.level}
