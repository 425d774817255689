"""Photos (and other images) uploaded by staff or citizens.

The original is kept privately by content hash; an RQ job on the `media` queue makes the
display copy (EXIF stripped, oriented, ≤ PHOTO_MAX_SIDE px) and a thumbnail. A photo is shown
to the public only after staff release it, optionally with areas blacked out first.

Who may read a photo is not stored on it: an AttachmentLink names each record that holds it (a
work item, a tool's inspection or report), and app.services.attachments asks that record's own
read rule (see there).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin


class AttachmentStatus:
    PENDING = "pending"      # stored, waiting for the media job
    PROCESSING = "processing"  # a media job is at work on it (or its worker died: the sweeper re-queues it)
    READY = "ready"          # display copy and thumbnail exist
    FAILED = "failed"        # the media job could not process it (error says why)


def _public_token() -> str:
    return secrets.token_urlsafe(18)


class Attachment(TimestampMixin, db.Model):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)       # of the original bytes
    original_key: Mapped[str] = mapped_column(String(255))            # private, never served publicly
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))                   # Pillow format: JPEG, PNG, WEBP
    size: Mapped[int] = mapped_column(Integer)                        # bytes of the original
    width: Mapped[int] = mapped_column(Integer)                       # of the original
    height: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=AttachmentStatus.PENDING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    display_key: Mapped[str | None] = mapped_column(String(255))
    thumb_key: Mapped[str | None] = mapped_column(String(255))
    display_width: Mapped[int | None] = mapped_column(Integer)
    display_height: Mapped[int | None] = mapped_column(Integer)
    # Black-out rectangles as fractions of the image: [{"x":0.1,"y":0.2,"w":0.3,"h":0.1}, ...]
    redactions: Mapped[list] = mapped_column(JSON, default=list)
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Unguessable handle for the public URL of a released photo.
    public_token: Mapped[str] = mapped_column(String(32), unique=True, default=_public_token)
    # Until a record holds the photo, only its uploader may see it.
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)

    @property
    def is_ready(self) -> bool:
        return self.status == AttachmentStatus.READY

    def to_dict(self) -> dict:
        return {
            "id": self.id, "sha256": self.sha256, "status": self.status, "error": self.error,
            "content_type": self.content_type, "size": self.size, "width": self.width, "height": self.height,
            "display_width": self.display_width, "display_height": self.display_height,
            "redactions": list(self.redactions or []), "released": self.released,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "url": f"/api/v1/attachments/{self.id}/image.jpg",
            "thumbnail_url": f"/api/v1/attachments/{self.id}/thumb.jpg",
            "public_url": f"/h5/photos/{self.public_token}.jpg" if self.released else None,
        }


class AttachmentLink(db.Model):
    """One record holding one photo: the record's table and primary key (kept by app.services.attachments)."""

    __tablename__ = "attachment_link"
    __table_args__ = (
        UniqueConstraint("attachment_id", "holder_kind", "holder_id"),
        Index("ix_attachment_link_holder", "holder_kind", "holder_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"), index=True)
    holder_kind: Mapped[str] = mapped_column(String(64))  # the holding record's table name
    holder_id: Mapped[str] = mapped_column(String(64))
