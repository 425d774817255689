"""What happened, announced to whoever cares: areas meet here instead of importing each other.

Handlers run in the sender's transaction unless the signal says it is sent after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blinker import Namespace

_signals = Namespace()


@dataclass(frozen=True)
class SearchableRecord:
    """One record as one-click query sees it; org_path is the record's org unit path (its scope)."""

    tool: str          # tool code, or "work_items" for the core workflow
    type: str          # record type within the tool, e.g. "site", "inspection"
    id: str
    org_path: str
    title: str
    address: str = ""
    text: str = ""
    status: str = ""
    updated_at: datetime | None = None


#: A searchable record was created or changed. sender: tool code; kwargs: record=SearchableRecord.
#: Sent inside the writer's transaction so the index commits (or rolls back) with the record.
searchable_saved = _signals.signal("searchable-saved")

#: A searchable record was deleted. sender: tool code; kwargs: type=str, id=str. Same transaction.
searchable_deleted = _signals.signal("searchable-deleted")

#: A work item changed, after commit. sender: the code of the tool that raised it (source_tool), so a
#: tool listens to its own items only (Tool.on_work_item_changed is connected with sender=its code);
#: kwargs: item_id, action, state, source_tool, source_type, source_id.
work_item_changed = _signals.signal("work-item-changed")

#: A work item changed, inside the writer's transaction (before commit): what must commit with the change
#: (webhook deliveries, other systems' outbox rows) listens here. sender: source_tool; kwargs: item (the
#: WorkItem), action. A handler adds to the session and never commits.
work_item_recorded = _signals.signal("work-item-recorded")
