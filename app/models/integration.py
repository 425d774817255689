"""Other systems (12345, enforcement, market supervision, sensor platforms): who they are, their keys,
the work orders they sent, the webhooks we send them, their devices and the readings they post.

The rules live in app/services/integrations/; these are only the rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.services.crypto import EncryptedString


class IntegrationSystem(TimestampMixin, db.Model):
    """A registered external system and what it was granted (categories, units) and subscribed to."""

    __tablename__ = "integration_system"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    categories: Mapped[list] = mapped_column(JSON, default=list)   # category codes it may send
    units: Mapped[list] = mapped_column(JSON, default=list)        # org unit codes (subtrees) it may send to
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[list] = mapped_column(JSON, default=list)       # event types (fnmatch patterns) it hears
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    credentials: Mapped[list[IntegrationCredential]] = relationship(
        back_populates="system", order_by="IntegrationCredential.id", cascade="all, delete-orphan")


class IntegrationCredential(db.Model):
    """One API key (kept as a hash) and webhook secret (kept encrypted: signing needs it).

    Rotation adds a new row and gives the older ones an expiry (the grace period): until then both keys
    are accepted and webhooks carry a signature under each secret.
    """

    __tablename__ = "integration_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("integration_system.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so a person can tell keys apart
    webhook_secret: Mapped[str] = mapped_column(EncryptedString())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: current

    system: Mapped[IntegrationSystem] = relationship(back_populates="credentials")


class ExternalWorkOrder(db.Model):
    """A work order another system sent: the unique (system, external_id) makes every retry the same item."""

    __tablename__ = "integration_work_order"
    __table_args__ = (UniqueConstraint("system_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("integration_system.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"), index=True)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    system: Mapped[IntegrationSystem] = relationship(lazy="joined")


class WebhookDelivery(db.Model):
    """One event for one system; attempted in order per chain (a work item, a record) until 2xx or given up."""

    __tablename__ = "integration_delivery"
    __table_args__ = (
        Index("ix_integration_delivery_chain", "system_id", "chain", "id"),
        Index("ix_integration_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("integration_system.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40), index=True)  # the same for a redelivery: receivers dedupe
    event_type: Mapped[str] = mapped_column(String(80))
    chain: Mapped[str] = mapped_column(String(120))  # "work_item:42": deliveries of a chain go out in order
    body: Mapped[str] = mapped_column(Text)          # the exact bytes signed and sent
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending / delivered / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redelivery_of: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    system: Mapped[IntegrationSystem] = relationship()


class WebhookAttempt(db.Model):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "integration_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("integration_delivery.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class SensorDevice(TimestampMixin, db.Model):
    """A sensor of a system, bound to a place (a flood point's Jing'an code), measuring one metric."""

    __tablename__ = "integration_device"
    __table_args__ = (UniqueConstraint("system_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("integration_system.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(64))
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    metric: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_value: Mapped[float | None] = mapped_column(Float)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    system: Mapped[IntegrationSystem] = relationship()


class SensorReading(db.Model):
    """One reading. On PostgreSQL the migration makes this table partitioned by month (see the revision)."""

    __tablename__ = "integration_reading"

    device_pk: Mapped[int] = mapped_column(Integer, primary_key=True)  # integration_device.id (no FK: partitions)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class SensorEpisode(db.Model):
    """A rule's condition held at a place: from the first reading over the threshold to the one back under it."""

    __tablename__ = "integration_episode"
    __table_args__ = (Index("ix_integration_episode_open", "device_pk", "rule", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_pk: Mapped[int] = mapped_column(ForeignKey("integration_device.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(80))
    above_since: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())   # the action ran (once per episode)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    peak: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
