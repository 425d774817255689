"""Work items in one-click query: each change is announced with `searchable_saved` in its transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.workitem import WorkItem
from app.signals import SearchableRecord, searchable_saved

SEARCH_SOURCE = "work_items"


def searchable_record(item: WorkItem) -> SearchableRecord:
    return SearchableRecord(
        tool=SEARCH_SOURCE, type="work_item", id=str(item.id), org_path=item.org_path,
        title=f"{item.number} {item.title}", address=item.address or "",
        text=" ".join(filter(None, [item.category_name, item.description, item.result])),
        status=item.state, updated_at=item.updated_at or utcnow())


def index_item(item: WorkItem) -> None:
    searchable_saved.send(SEARCH_SOURCE, record=searchable_record(item))


def search_documents() -> Iterable[SearchableRecord]:
    """Every work item as one-click query sees it, for a full reindex."""
    last_id = 0
    while True:
        batch = db.session.execute(select(WorkItem).where(WorkItem.id > last_id).order_by(WorkItem.id)
                                   .limit(500)).scalars().all()
        if not batch:
            return
        for item in batch:
            yield searchable_record(item)
        last_id = batch[-1].id
