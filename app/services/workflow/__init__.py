"""The work-item workflow (工单流转), after the district's 12345 practice. One concern per module:

    states.py       states, transitions (who may act, from where to where) and labels, as data
    limits.py       working-day limits per category kind, overrides, each stage's deadline
    routing.py      which unit a tool's category sends a new item to
    numbering.py    JA-2026-000123
    permissions.py  who may see an item and take which action
    timeline.py     the event rows every step writes
    notices.py      who to tell, and telling them after commit (`work_item_changed`, WeCom)
    indexing.py     work items in one-click query
    changes.py      moving an item between units; refusing conflicting writes (409)
    sources.py      the items tools raise (create_work_item, raise_work_item, close_verified) and the
                    record ↔ work-item link (open_work_item_for, has_open_work_item)
    actions.py      perform() and one registered handler per action
    approvals.py    forward/extension approvals, the WeCom card and its update
    callback.py     the card tap from WeCom's callback
    supervision.py  remind at 80 %, overdue and 督办 at 100 %, once each
    views.py        the citizen-safe view
    inbox.py        to do / done / overdue boxes and badge counts

Every action runs in perform(): check, apply, write events and audit, commit here, and only after
the commit send `work_item_changed` and queue notifications. create_work_item() is the exception
the tools need: it adds to the caller's session and the caller commits; its signal and
notifications still go out only after that commit (see `after_commit`).

This package's public names are re-exported here: import them from `app.services.workflow`.
"""

from __future__ import annotations

from flask import Flask

from app.services.search import register_source
from app.services.workflow.actions import HANDLERS, handles, perform
from app.services.workflow.approvals import (
    CARD_RESPONSE_CODE_TTL,
    INVALID_RESPONSE_CODE,
    approval_card,
    decide,
    request_approval,
    send_approval_card,
    update_approval_card,
)
from app.services.workflow.callback import on_template_card_event
from app.services.workflow.changes import conflict, move, write_conflicts
from app.services.workflow.inbox import (
    BOXES,
    WORKBENCH_BOXES,
    approvals_for,
    box_clause,
    counts_for,
    done_by,
    overdue_clause,
    pending_approval_count,
    pending_approvals_for,
    todo_for,
    visible_to,
    workbench_box_clause,
    workbench_counts,
)
from app.services.workflow.indexing import SEARCH_SOURCE, index_item, search_documents, searchable_record
from app.services.workflow.limits import TIME_LIMIT_KINDS, Limits, enter_stage, limits_for
from app.services.workflow.notices import (
    announce_change,
    dispatchers,
    handlers,
    message,
    unit_managers,
    unit_members,
    unit_staff,
)
from app.services.workflow.numbering import next_number
from app.services.workflow.permissions import (
    action_options,
    allowed_actions,
    approver_can_decide,
    can_view,
    ensure_can_view,
    may_act,
)
from app.services.workflow.routing import ancestor_at, route, unit_by_code
from app.services.workflow.sources import (
    close_verified,
    create_work_item,
    has_open_work_item,
    note_work_item,
    open_work_item_for,
    open_work_items_for,
    raise_work_item,
    source_of,
    work_items_for,
)
from app.services.workflow.states import (
    APPROVAL_KINDS,
    APPROVAL_STATUS,
    DISPATCHER,
    EVENT_LABELS,
    FINISHED_STATES,
    HANDLER,
    MANAGER,
    OPEN_STATES,
    PRIORITIES,
    RESOLVED_STATES,
    SATISFACTION,
    SIDE_ROLES,
    SIDES,
    STAGE_LABELS,
    STAGE_OF_STATE,
    STATES,
    TRANSITIONS,
    Side,
    Transition,
    is_open,
)
from app.services.workflow.supervision import REMIND_FRACTION, supervise_item, supervise_work_items
from app.services.workflow.views import public_view
from app.wecom.callback import register_handler

_unit_by_code = unit_by_code  # the name miniprogram_api used before the split

__all__ = [
    "APPROVAL_KINDS", "APPROVAL_STATUS", "BOXES", "CARD_RESPONSE_CODE_TTL", "DISPATCHER", "EVENT_LABELS",
    "FINISHED_STATES", "HANDLER", "HANDLERS", "INVALID_RESPONSE_CODE", "Limits", "MANAGER", "OPEN_STATES",
    "PRIORITIES", "REMIND_FRACTION", "RESOLVED_STATES", "SATISFACTION", "SEARCH_SOURCE", "SIDES", "SIDE_ROLES",
    "STAGE_LABELS", "STAGE_OF_STATE", "STATES", "Side", "TIME_LIMIT_KINDS", "TRANSITIONS", "Transition",
    "action_options", "allowed_actions", "ancestor_at", "announce_change", "approval_card", "approvals_for",
    "approver_can_decide", "box_clause", "can_view", "close_verified", "conflict", "counts_for", "create_work_item",
    "decide", "dispatchers", "done_by", "ensure_can_view", "enter_stage", "handlers", "handles", "has_open_work_item",
    "index_item", "init_app", "is_open", "limits_for", "may_act", "message", "move", "next_number", "note_work_item",
    "on_template_card_event", "open_work_item_for", "open_work_items_for", "overdue_clause", "perform", "public_view",
    "raise_work_item", "request_approval", "route", "search_documents", "searchable_record", "send_approval_card",
    "source_of", "supervise_item", "supervise_work_items", "todo_for", "unit_by_code", "unit_managers",
    "unit_members", "unit_staff", "update_approval_card", "visible_to", "work_items_for", "write_conflicts",
    "WORKBENCH_BOXES", "workbench_box_clause", "workbench_counts", "pending_approvals_for",
    "pending_approval_count",
]


def init_app(app: Flask) -> None:
    """Subscribe to WeCom card taps (approval decisions); give one-click query's reindex the work items."""
    register_handler("template_card_event", on_template_card_event)
    register_source(SEARCH_SOURCE, search_documents)
