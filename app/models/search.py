"""SearchDoc: one row per searchable record of any tool, the index behind one-click query (一键查询).

`tokens` holds the record's tokenised text (see app.services.search.tokens). Its storage depends
on the database, behind one interface in app.services.search.backends:

* PostgreSQL: a weighted, positional ``tsvector`` (title A, address B, text C) with a GIN index.
* SQLite: a JSON list of the three token streams; triggers copy it into the contentless FTS5 table
  ``search_doc_fts`` (rowid = search_doc.id). That table and its triggers are not expressible as
  SQLAlchemy metadata, so ``create_backend_ddl()`` makes them: after ``create_all`` via the DDL
  events that app.services.search.backends attaches to this table, and from the Alembic migration
  (which must call it; see docs/search.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import UTCDateTime, db
from app.models.base import utcnow

FTS_TABLE = "search_doc_fts"


class SearchDoc(db.Model):
    __tablename__ = "search_doc"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    tool: Mapped[str] = mapped_column(String(40))         # tool code, or "work_items"
    type: Mapped[str] = mapped_column(String(40))         # record type within the tool
    record_id: Mapped[str] = mapped_column(String(64))    # the record's id in its tool
    org_path: Mapped[str] = mapped_column(String(255))    # the record's org unit path: its data scope
    title: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When this row was last written by the index (a reindex removes rows it did not rewrite).
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    tokens: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"), deferred=True)

    __table_args__ = (
        UniqueConstraint("tool", "type", "record_id", name="uq_search_doc_record"),
        Index("ix_search_doc_org_path", "org_path", postgresql_ops={"org_path": "text_pattern_ops"}),
        Index("ix_search_doc_updated_at", "updated_at"),
        Index("ix_search_doc_tokens", "tokens", postgresql_using="gin").ddl_if(dialect="postgresql"),
    )


def is_backend_table(name: str | None) -> bool:
    """Tables the search backend makes itself (SQLite FTS5 and its shadow tables): not models,
    so schema comparison (autogenerate, the migration test) leaves them alone."""
    return bool(name) and name.startswith(FTS_TABLE)
