"""Tools defined without code (issue 15): definitions as versioned rows, and the records of every such tool.

- ToolDefinition: one per defined tool code; holds the draft an admin edits and the number of the
  published version in force.
- ToolDefinitionVersion: a published version, never changed after publishing.
- DefinedRecord: one record of any defined tool; its values are one JSON document (JSONB on PostgreSQL),
  written under `version`. Filterable fields get expression indexes made at publish time (named
  `ixd_<tool>_<field>`, outside the models: tests/test_migrations.py leaves them alone).
- DefinedRecordMatch: a rule a record matched, and the work item it raised or attached to.
- DefinedSerial: the last serial number given per tool, field and year.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.models.org import OrgUnit
from app.models.register import path_index

# JSONB on PostgreSQL (indexable, compared by value), JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class ToolDefinition(TimestampMixin, db.Model):
    __tablename__ = "tool_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    draft: Mapped[dict] = mapped_column(JSON, default=dict)            # the whole definition, as edited
    published_version: Mapped[int | None] = mapped_column(Integer)     # the version in force, if any
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ToolDefinitionVersion(db.Model):
    __tablename__ = "tool_definition_version"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("tool_definition.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)                           # never changed once written
    change_report: Mapped[dict] = mapped_column(JSON, default=dict)    # what publishing it did to old records
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(64))


class DefinedRecord(TimestampMixin, db.Model):
    __tablename__ = "defined_record"
    __table_args__ = (
        path_index("defined_record"),
        Index("ix_defined_record_tool_code", "tool_code", "id"),
        UniqueConstraint("tool_code", "serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)                      # the version it was written (or converted) under
    data: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    # Values a new version could not take, kept readable under the version they were written in.
    legacy: Mapped[dict] = mapped_column(JSON, default=dict)
    serial: Mapped[str | None] = mapped_column(String(40))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255))
    place_code: Mapped[str | None] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    @property
    def record_of(self) -> tuple[str, str]:
        """Tool and record type, for the workflow's link (source_tool/type/id) and photo reads."""
        return (self.tool_code, "record")


class DefinedRecordMatch(db.Model):
    __tablename__ = "defined_record_match"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("defined_record.id", ondelete="CASCADE"), index=True)
    tool_code: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(40))
    match_key: Mapped[str] = mapped_column(String(80))                # the place (or unit) a match is about
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))                  # raised / attached
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_defined_record_match_key", "tool_code", "rule", "match_key"),)


class DefinedSerial(db.Model):
    __tablename__ = "defined_serial"

    tool_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
