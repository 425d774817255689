"""WeCom callback events as received: stored first, handled in a job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import utcnow


class WeComCallbackEvent(db.Model):
    """One verified, decrypted callback. The signature covers nonce and timestamp, so a replay repeats
    both: (nonce, timestamp) is unique, and a second callback with the pair is refused."""

    __tablename__ = "wecom_callback_event"
    __table_args__ = (UniqueConstraint("nonce", "msg_timestamp", name="uq_wecom_callback_event_nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    msg_timestamp: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64), index=True)
    from_user: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # received → handled | ignored (no handler) | failed (a handler raised; RQ retries)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def kind(self) -> str:
        """The handler key: the Event for event messages, else the MsgType."""
        return self.event if self.msg_type == "event" and self.event else self.msg_type
