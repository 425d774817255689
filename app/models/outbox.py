"""The job outbox: every job a transaction asks for, written in that transaction.

A row is relayed to RQ after its transaction commits; the sweeper (app.services.outbox) relays
rows still unsent (Redis was down) and notices jobs a dead worker left behind. A rolled-back
transaction takes its jobs with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import UTCDateTime, db
from app.models.base import utcnow


class OutboxStatus:
    PENDING = "pending"    # committed, not yet in RQ
    QUEUED = "queued"      # handed to RQ
    RUNNING = "running"    # a worker started it (and may have died: the sweeper checks)
    DONE = "done"
    FAILED = "failed"      # every retry used up


class JobOutbox(db.Model):
    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)           # the RQ job id
    key: Mapped[str | None] = mapped_column(String(255), unique=True)      # idempotency key, optional
    func: Mapped[str] = mapped_column(String(255))                         # dotted path of the job function
    args: Mapped[list] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(32))
    timeout: Mapped[int] = mapped_column(Integer, default=600)
    retry_intervals: Mapped[list] = mapped_column(JSON, default=list)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    relays: Mapped[int] = mapped_column(Integer, default=0)                # times handed to RQ
    runs: Mapped[int] = mapped_column(Integer, default=0)                  # times a worker started it
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
