"""Places (静安码): a site, building, flood point, committee office … with a short unguessable code.

The code's QR opens the citizen H5 report page for that place (/h5/c/<code>). The kinds of place
are declared by the tools (Manifest.place_kinds): a tool that registers buildings owns "building".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin
from app.models.org import OrgUnit
from app.registry import current_registry


class Place(TimestampMixin, db.Model):
    __tablename__ = "place"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # The org unit's path, denormalised so scope checks are one LIKE on this table.
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    address: Mapped[str | None] = mapped_column(String(255))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The record of a tool this place stands for (e.g. a construction site), if any.
    ref_tool: Mapped[str | None] = mapped_column(String(40))
    ref_type: Mapped[str | None] = mapped_column(String(40))
    ref_id: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    @property
    def kind_name(self) -> str:
        kind = current_registry().place_kinds.get(self.kind)
        return kind.name if kind is not None else self.kind

    @property
    def street(self) -> OrgUnit | None:
        return self.org_unit.street

    def to_dict(self) -> dict:
        street = self.street
        return {
            "id": self.id, "code": self.code, "name": self.name, "kind": self.kind, "kind_name": self.kind_name,
            "org_unit": self.org_unit.to_summary(), "street": street.to_summary() if street else None,
            "address": self.address, "lat": self.lat, "lng": self.lng, "active": self.active,
            "ref_tool": self.ref_tool, "ref_type": self.ref_type, "ref_id": self.ref_id,
            "report_url": f"/h5/c/{self.code}",
            "qrcode_png": f"/api/v1/places/{self.code}/qrcode.png",
            "qrcode_svg": f"/api/v1/places/{self.code}/qrcode.svg",
            "poster_png": f"/api/v1/places/{self.code}/poster.png",
            "poster_pdf": f"/api/v1/places/{self.code}/poster.pdf",
        }


class PlacePosterBatch(TimestampMixin, db.Model):
    """A street's posters as one ZIP, built by an RQ job that reports its progress here."""

    __tablename__ = "place_poster_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    format: Mapped[str] = mapped_column(String(8))               # png | pdf
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued running finished failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    file_key: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    @property
    def progress(self) -> float:
        if self.status == "finished":
            return 1.0
        return round(self.done / self.total, 3) if self.total else 0.0

    def to_dict(self) -> dict:
        return {
            "id": self.id, "org_unit": self.org_unit.to_summary(), "format": self.format, "status": self.status,
            "total": self.total, "done": self.done, "progress": self.progress, "error": self.error,
            "download_url": f"/api/v1/places/poster-batches/{self.id}/download" if self.status == "finished"
            else None,
        }
