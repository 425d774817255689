"""Rebuilding the index from its sources (``flask toolbox reindex``), in batches, as a job with progress.

The sources are every registered tool's ``search_documents`` and every source given to
``register_source`` (e.g. the workflow's work items).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from rq import get_current_job
from sqlalchemy import delete, func, select

from app.extensions import db
from app.jobs import job
from app.models.base import utcnow
from app.models.search import SearchDoc
from app.registry import current_registry
from app.services.search.indexing import index_records
from app.signals import SearchableRecord

log = logging.getLogger(__name__)

_SOURCES: dict[str, Callable[[], Iterable[SearchableRecord]]] = {}


def register_source(name: str, records: Callable[[], Iterable[SearchableRecord]]) -> None:
    """Add a non-tool source of searchable records for reindex (e.g. the workflow's work items).

    name is the tool code its records carry ("work_items"); records() yields SearchableRecords.
    """
    _SOURCES[name] = records


def sources() -> dict[str, Callable[[], Iterable[SearchableRecord]]]:
    """Every source reindex reads: registered tools with search_documents, then registered sources."""
    found: dict[str, Callable[[], Iterable[SearchableRecord]]] = {}
    for tool in current_registry():
        if tool.search_documents is not None:
            found[tool.code] = tool.search_documents
    for name, factory in _SOURCES.items():
        found.setdefault(name, factory)
    return found


REINDEX_BATCH = 1000


def rebuild(only: Iterable[str] | None = None, *, prune: bool = False,
            progress: Callable[[dict], None] | None = None) -> dict:
    """Rebuild the index from its sources; commits per batch so the index stays usable meanwhile.

    Each source's records are upserted; then that source's documents that were not rewritten
    (records deleted while nobody announced it) are removed. prune also removes documents of
    tools that no source provides. progress(dict) is called after each batch.
    """
    available = sources()
    names = list(only) if only else list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"no search source named {', '.join(unknown)}; known: {', '.join(sorted(available))}")
    started = utcnow()
    # Sources are generators of unknown length: the current index size is the estimate of the total.
    estimate = db.session.execute(
        select(func.count()).select_from(SearchDoc).where(SearchDoc.tool.in_(names))).scalar_one()
    state = {"source": None, "done": 0, "total": estimate, "sources": names,
             "indexed": {}, "removed": 0}

    def report():
        if progress is not None:
            progress(dict(state))

    report()
    for name in names:
        state["source"] = name
        count = 0
        batch: list[SearchableRecord] = []
        for record in available[name]():
            batch.append(record)
            if len(batch) >= REINDEX_BATCH:
                count += index_records(batch, now=started)
                db.session.commit()
                state["done"] += len(batch)
                state["total"] = max(state["total"], state["done"])
                batch = []
                report()
        if batch:
            count += index_records(batch, now=started)
            state["done"] += len(batch)
        removed = db.session.execute(delete(SearchDoc).where(
            SearchDoc.tool == name, SearchDoc.indexed_at < started)).rowcount
        db.session.commit()
        state["indexed"][name] = count
        state["removed"] += removed
        log.info("reindex %s: %d documents written, %d stale removed", name, count, removed)
        state["total"] = max(state["total"], state["done"])
        report()
    if prune:
        removed = db.session.execute(delete(SearchDoc).where(SearchDoc.tool.not_in(list(available)))).rowcount
        db.session.commit()
        state["removed"] += removed
    state["source"] = None
    state["finished"] = True
    report()
    return state


@job("default", timeout=6 * 3600)
def reindex_job(only: list[str] | None = None, prune: bool = False) -> dict:
    """rebuild() as an RQ job; progress in job.meta["progress"]."""
    current = get_current_job()

    def progress(state: dict) -> None:
        if current is not None:
            current.meta["progress"] = state
            current.save_meta()

    return rebuild(only, prune=prune, progress=progress)
