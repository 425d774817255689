"""initial schema: platform core, WeCom, work items, search, places and photos (each tool has its own branch)

Revision ID: 42204f6516e9
Revises:
Create Date: 2026-11-25 02:18:12.665414
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.migration_helpers import TIMESTAMPS, create_table, drop_tables
from app.services.search import create_backend_ddl, drop_backend_ddl

# revision identifiers, used by Alembic.
revision = '42204f6516e9'
down_revision = None
branch_labels = ('core',)  # the core chain; each tool's branch has its code as label
depends_on = None


def upgrade():
    create_table("app_user", "id int pk", *TIMESTAMPS, "wecom_userid str64 unique", "name str64", "mobile text?",
                             "position str64?", "active bool")
    create_table("audit_head", "id int pk", "last_id int", "last_hash str64")
    create_table("audit_log", "id int pk", "at time index", "actor_id int? index", "actor str64?",
                              "action str64 index", "target_type str64?", "target_id str64?", "ip str64?",
                              "outcome str16", "detail json", "prev_hash str64", "hash str64 unique")
    create_table("calendar_day", "day date pk", "kind str16", "name str64", "source str128?", "changed_by str64?")
    create_table("org_unit", "id int pk", *TIMESTAMPS, "code str32 unique", "name str100", "level str16 index",
                             "parent_id int? -> org_unit.id", "path str255 unique", "wecom_department_id int? unique",
                             "sort_order int", "path(path) as ix_org_unit_path_prefix")
    create_table("search_doc", sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
                               sa.PrimaryKeyConstraint("id", name=op.f("pk_search_doc")), "tool str40", "type str40",
                               "record_id str64", "org_path str255 path", "title str200", "address str200",
                               "text text", "status str32", "updated_at time index", "indexed_at time",
                               sa.Column("tokens", postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite"), nullable=True),
                               "unique(tool, type, record_id) as uq_search_doc_record")
    create_table("wecom_callback_event", "id int pk", "nonce str64", "msg_timestamp int", "received_at time index",
                                         "msg_type str32", "event str64? index", "from_user str64?", "payload json",
                                         "status str16 index", "attempts int", "handled_at time?", "error text?",
                                         "unique(nonce, msg_timestamp)")
    create_table("work_item_counter", "year int pk", "last int")
    create_table("work_item_limit", "id int pk", *TIMESTAMPS, "tool_code str64", "category str64", "sign_days int?",
                                    "close_days int?", "rehandle_days int?", "max_days int?", "changed_by str64?",
                                    "unique(tool_code, category)")
    create_table("api_token", "id int pk", "token_hash str64 unique", "user_id int -> app_user.id cascade index",
                              "created_at time", "expires_at time", "last_seen_at time", "revoked_at time?",
                              "client str64?")
    create_table("attachment", "id int pk", *TIMESTAMPS, "sha256 str64 index", "original_key str255",
                               "filename str255?", "content_type str64", "format str16", "size int", "width int",
                               "height int", "status str16 index", "error text?", "display_key str255?",
                               "thumb_key str255?", "display_width int?", "display_height int?", "redactions json",
                               "released bool", "released_at time?", "released_by_id int? -> app_user.id",
                               "public_token str32 unique", "uploader_id int? -> app_user.id index",
                               "org_path str255? index")
    create_table("membership", "id int pk", "user_id int -> app_user.id cascade index",
                               "org_unit_id int -> org_unit.id index", "role str32",
                               "unique(user_id, org_unit_id, role)")
    create_table("place", "id int pk", *TIMESTAMPS, "code str16 unique", "name str120", "kind str32 index",
                          "org_unit_id int -> org_unit.id index", "org_path str255 index", "address str255?",
                          "lat float?", "lng float?", "active bool", "ref_tool str40?", "ref_type str40?",
                          "ref_id str64?", "created_by_id int? -> app_user.id")
    create_table("place_poster_batch", "id int pk", *TIMESTAMPS, "org_unit_id int -> org_unit.id", "format str8",
                                       "status str16", "total int", "done int", "file_key str255?", "error text?",
                                       "requested_by_id int? -> app_user.id", "finished_at time?")
    create_table("tool_setting", "id int pk", *TIMESTAMPS, "tool_code str64 index", "org_unit_id int -> org_unit.id",
                                 "enabled bool", "changed_by str64?", "unique(tool_code, org_unit_id)")
    create_table("work_item", "id int pk", *TIMESTAMPS, "number str32 unique", "source_tool str64 index",
                              "source_type str64", "source_id str64", "category str64", "category_name str100",
                              "limit_kind str32", "title str200", "description text", "address str255?", "lat float?",
                              "lng float?", "photo_ids json", "reporter_name text?", "reporter_mobile text?",
                              "reporter_user_id int? -> app_user.id", "priority str16", "state str32 index",
                              "org_unit_id int -> org_unit.id", "org_path str255 path",
                              "dispatch_unit_id int -> org_unit.id", "dispatch_path str255 path",
                              "assignee_id int? -> app_user.id", "created_by_id int? -> app_user.id", "stage str32?",
                              "stage_seq int", "stage_started_at time?", "due_at time?", "close_days int",
                              "extension_days int", "close_due_at time", "overdue bool", "supervised bool",
                              "first_contact_at time?", "result text?", "satisfaction str16?", "closed_at time?",
                              "last_action_at time", "version int",
                              "index(source_tool, source_type, source_id) as ix_work_item_source")
    create_table("work_item_alert", "id int pk", "work_item_id int -> work_item.id cascade index", "stage_key str48",
                                    "level str16", "at time", "userids json",
                                    "unique(work_item_id, stage_key, level)")
    create_table("work_item_approval", "id int pk", *TIMESTAMPS, "work_item_id int -> work_item.id cascade index",
                                       "kind str16", "status str16 index", "requested_by_id int? -> app_user.id",
                                       "from_unit_id int -> org_unit.id", "approver_unit_id int -> org_unit.id",
                                       "target_unit_id int? -> org_unit.id", "days int?", "reason text",
                                       "task_id str128 unique", "card_userids json", "response_code str255?",
                                       "response_code_at time?", "card_sent_at time?",
                                       "decided_by_id int? -> app_user.id", "decided_at time?", "decided_via str16?",
                                       "decision_note text?", "card_updated_at time?", "card_update_mode str16?")
    create_table("work_item_event", "id int pk", "work_item_id int -> work_item.id cascade index", "at time",
                                    "action str32", "from_state str32?", "to_state str32?",
                                    "actor_id int? -> app_user.id index", "actor_label str64?",
                                    "from_unit_id int? -> org_unit.id", "to_unit_id int? -> org_unit.id",
                                    "reason text?", "detail json")
    # One-click query's backend DDL: FTS5 table and triggers (SQLite) or the GIN index (PostgreSQL).
    create_backend_ddl(op.get_bind())


def downgrade():
    drop_backend_ddl(op.get_bind())
    drop_tables('work_item_event', 'work_item_approval', 'work_item_alert', 'work_item', 'tool_setting',
                'place_poster_batch', 'place', 'membership', 'attachment', 'api_token',
                'work_item_limit', 'work_item_counter', 'wecom_callback_event', 'search_doc', 'org_unit',
                'calendar_day', 'audit_log', 'audit_head', 'app_user')
