"""Per-org-unit enablement of registered tools."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin
from app.models.org import OrgUnit


class ToolSetting(TimestampMixin, db.Model):
    """Whether a tool is enabled for an org unit's subtree; the nearest ancestor's setting wins."""

    __tablename__ = "tool_setting"
    __table_args__ = (UniqueConstraint("tool_code", "org_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_code: Mapped[str] = mapped_column(String(64), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str | None] = mapped_column(String(64))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
