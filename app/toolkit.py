"""The tool kit: the one module of the platform a tool imports (tests/test_layering.py checks it).

    from app import toolkit as tk

    class Point(tk.RegisterRecord, tk.db.Model): ...
    bp = Blueprint("shared_bikes", __name__)

    @bp.post("/points/<int:point_id>/checks")
    @tk.doc("Count the bikes at a point", tags=("shared_bikes",), body=CheckIn, response=CheckOut, status=201)
    def check(point_id):
        point = tk.load_in_scope(Point, point_id, missing=("point_not_found", "停放点不存在", "No such point"))
        ...

Everything here is a name from elsewhere in `app/`, grouped by what a tool needs; a tool that
needs something else asks for it to be added here, so the contract stays one page to read.
docs/tools.md walks through a tool built on it.
"""

# ruff: noqa: F401, I001 - this module re-exports, grouped by what a tool needs rather than alphabetically

from __future__ import annotations

# --- declaring a tool --------------------------------------------------------------------------------
from app.registry import Category, Manifest, Periodic, PlaceKind, Tool, current_registry

# --- tables -------------------------------------------------------------------------------------------
from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.models.register import RegisterRecord, path_index
from app.services.crypto import EncryptedString, blind_index, mask_mobile, mask_name

# --- people, units and data scope ------------------------------------------------------------------
from app.auth import current_user, roles_required
from app.models.org import OrgLevel, OrgUnit
from app.models.users import Membership, Role, User
from app.services.scope import business_memberships, ensure_in_scope, in_scope, scope_clause, scope_paths, scoped

# --- views: input, errors, paging, the OpenAPI document ----------------------------------------------
from app.api import PageArgs, PageOut, ZhSchema, paginate, parse_args, parse_json, zh_choice, zh_messages, zh_text
from app.errors import ApiError, register_error_area
from app.services.like import contains, starts_with
from app.input_guard import DB_INT_MAX, parse_moment
from app.schemas import (
    PersonRef, RecordIn, RecordOut, UnitRef, WithOpenWorkItem, latitude, longitude, page_of, photo_ids, several)
from app.views import (
    REGISTER_LEVELS, created, in_my_scope, load_in_scope, paged, register_from_request, register_unit, text_matches,
    under_unit)
from miniprogram_api.openapi import doc

# --- a register: records at places with a Jing'an code, audited, searchable ------------------------
from app.models.attachment import Attachment
from app.models.place import Place
from app.services import audit, ratelimit
from app.services.attachments import holds_photos
from app.services.photos import accept_upload, bind_photos
from app.services.places import create_place, get_place
from app.services.register import check_every_item_once, index_record, register_record, require_notes, update_record
from app.signals import SearchableRecord, searchable_deleted, searchable_saved

# --- work items: raise, ask about, close; hear about changes ------------------------------------------
from app.models.workitem import WorkItem
from app.services.workflow import (
    FINISHED_STATES,
    OPEN_STATES,
    RESOLVED_STATES,
    STATES,
    can_view,
    close_verified,
    create_work_item,
    has_open_work_item,
    is_open,
    note_work_item,
    open_work_item_for,
    open_work_items_for,
    public_view,
    raise_work_item,
    unit_members,
    unit_staff,
    work_items_for,
)
from app.signals import work_item_changed

# --- sensors: rules over readings other systems send (issue 19) ------------------------------------
from app.services.integrations.sensors import ThresholdRule, sensor_rule

# --- exports: a tool's lists in 一键导出 (app/services/exports/sources.py) ---------------------------
from app.services.exports import ExportColumn, ExportSource, QueryExportSource, register_export_source

# --- jobs and messages ------------------------------------------------------------------------------
from app.jobs import enqueue, job
from app.services.notify import send_text_message
from app.wecom.client import WeComError, get_client

# --- the staff workbench: a tool's screens as descriptions (its workbench.py; docs/workbench.md) ------
from app.services.notify import page_url, send_card_message
from app.services.workflow import message
from app.web.filters import deadline_text, local_dt
from app.web.screens import Action, Badge, DetailPage, DetailSection, Field, Form, ListPage, Row, Section, Tab, form
from app.web.toolscreens import FormScreen, ToolScreens, iso, load_with, page_rows, unit_choices, unit_in_scope
