"""Writing the index: the handlers of ``searchable_saved`` / ``searchable_deleted`` upsert or delete a
record's SearchDoc in the writer's own transaction, so the index commits or rolls back with it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models.base import utcnow
from app.models.search import SearchDoc
from app.services.search.backends import FIELDS, current_backend
from app.services.search.tokens import scope_tokens, tokenise
from app.signals import SearchableRecord, searchable_deleted, searchable_saved

TITLE_CHARS, ADDRESS_CHARS, TEXT_CHARS = 200, 200, 4000  # what is stored and indexed per record


def aware(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _row(record: SearchableRecord, backend, now: datetime) -> dict:
    values = {
        "title": (record.title or "")[:TITLE_CHARS],
        "address": (record.address or "")[:ADDRESS_CHARS],
        "text": (record.text or "")[:TEXT_CHARS],
    }
    if not record.org_path or not record.org_path.startswith("/"):
        raise ValueError(f"searchable record {record.tool}/{record.type}/{record.id} has no org path")
    streams = {field: tokenise(values[field]) for field in FIELDS}
    streams["scope"] = scope_tokens(record.org_path)
    return {
        "p_tool": record.tool, "p_type": record.type, "p_record_id": str(record.id),
        "p_org_path": record.org_path, "p_title": values["title"], "p_address": values["address"],
        "p_text": values["text"], "p_status": record.status or "", "p_updated_at": aware(record.updated_at),
        "p_indexed_at": now, "p_tokens": backend.tokens_value(streams),
    }


def _upsert_statement(backend):
    insert = postgresql.insert if backend.name == "postgresql" else sqlite.insert
    columns = ("tool", "type", "record_id", "org_path", "title", "address", "text", "status",
               "updated_at", "indexed_at")
    values = {c: bindparam(f"p_{c}") for c in columns}
    values["tokens"] = backend.bind_tokens(bindparam("p_tokens"))
    stmt = insert(SearchDoc.__table__).values(**values)
    changed = {c: stmt.excluded[c] for c in (*columns[3:], "tokens")}
    return stmt.on_conflict_do_update(index_elements=["tool", "type", "record_id"], set_=changed)


def index_records(records: Iterable[SearchableRecord], *, now: datetime | None = None) -> int:
    """Upsert records into the index in the current session (the caller commits)."""
    backend = current_backend()
    now = now or utcnow()
    rows = [_row(r, backend, now) for r in records]
    if rows:
        db.session.execute(_upsert_statement(backend), rows)
    return len(rows)


def unindex(tool: str, type_: str, record_id) -> None:
    """Remove one record from the index (current session; the caller commits)."""
    db.session.execute(delete(SearchDoc).where(
        SearchDoc.tool == tool, SearchDoc.type == type_, SearchDoc.record_id == str(record_id)))


def _on_searchable_saved(sender, record: SearchableRecord | None = None, **kwargs) -> None:
    if record is None:
        raise TypeError("searchable_saved needs record=SearchableRecord(...)")
    index_records([record])


def _on_searchable_deleted(sender, type: str | None = None, id=None,  # noqa: A002 - the signal's contract
                           record: SearchableRecord | None = None, **kwargs) -> None:
    if record is not None:
        unindex(record.tool, record.type, record.id)
    elif type is not None and id is not None:
        unindex(sender, type, id)
    else:
        raise TypeError("searchable_deleted needs type= and id= (or record=)")


searchable_saved.connect(_on_searchable_saved, weak=False)
searchable_deleted.connect(_on_searchable_deleted, weak=False)
