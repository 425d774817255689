"""Submissions already applied, by the idempotency key the submitting page generated.

A phone on a weak network retries: the second POST with the same key must not file the same
inspection twice. The row is written in the same transaction as the change it records, so it
exists exactly when the change does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import UTCDateTime, db
from app.models.base import utcnow


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"), Index("ix_idempotency_key_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(255))        # the path the key was submitted to
    result_url: Mapped[str | None] = mapped_column(Text)    # where the first submission led
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
