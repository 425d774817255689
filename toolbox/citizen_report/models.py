"""Citizen snapshot reports (随手拍) and Open311 API keys. Tables carry the tool's code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.toolkit import EncryptedString, Place, TimestampMixin, UTCDateTime, db, mask_mobile


class ReportStatus:
    DRAFT = "draft"          # waiting for the citizen's answer to "join the open report?"
    FILED = "filed"          # became a work item of its own
    JOINED = "joined"        # follows another report's open work item
    DISCARDED = "discarded"  # a draft never confirmed (kept for idempotency)


class CitizenReport(TimestampMixin, db.Model):
    __tablename__ = "citizen_report_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The citizen's credential for the tracking page: unguessable, shown once, never listed.
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.FILED, index=True)
    source: Mapped[str] = mapped_column(String(16), default="h5")  # h5 | open311
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255), index=True)  # the place's unit
    category: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(255))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    media_url: Mapped[str | None] = mapped_column(String(500))  # Open311 clients' own media link (not fetched)
    # Personal data: encrypted at rest, masked everywhere except to the assigned handler (audited).
    mobile: Mapped[str | None] = mapped_column(EncryptedString())
    reporter_name: Mapped[str | None] = mapped_column(EncryptedString())
    email: Mapped[str | None] = mapped_column(EncryptedString())
    client_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the client address
    privacy_version: Mapped[str] = mapped_column(String(32))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"), index=True)
    joined_report_id: Mapped[int | None] = mapped_column(ForeignKey("citizen_report_reports.id"))
    previous_work_item_ids: Mapped[list] = mapped_column(JSON, default=list)  # before each reopening
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[str | None] = mapped_column(String(16))  # satisfied | basic | unsatisfied
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    open311_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("citizen_report_api_keys.id"))
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    place: Mapped[Place | None] = relationship(lazy="joined")
    joined_report: Mapped[CitizenReport | None] = relationship(remote_side=[id])

    @property
    def masked_mobile(self) -> str | None:
        return mask_mobile(self.mobile)


class Open311ApiKey(TimestampMixin, db.Model):
    """A civic-tech client allowed to POST service requests; only the key's hash is stored."""

    __tablename__ = "citizen_report_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "key_prefix": self.key_prefix, "active": self.active,
                "created_by": self.created_by,
                "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None}
