"""citizen_report: citizen reports and Open311 API keys (the tool's own Alembic branch)"""

from app.migration_helpers import TIMESTAMPS, create_table, drop_tables

revision = "c47a1e9b2f05"
down_revision = None
branch_labels = ("citizen_report",)
depends_on = "42204f6516e9"  # the core: org units, places, work items


def upgrade():
    create_table("citizen_report_api_keys", "id int pk", *TIMESTAMPS, "name str100", "key_hash str64 unique",
                 "key_prefix str8", "active bool", "created_by str64?", "last_used_at time?")
    create_table("citizen_report_reports", "id int pk", *TIMESTAMPS, "tracking_code str16 unique",
                 "idempotency_key str64? unique", "status str16 index", "source str16",
                 "place_id int? -> place.id index", "org_unit_id int -> org_unit.id", "org_path str255 index",
                 "category str40 index", "description text", "address str255?", "lat float?", "lng float?",
                 "photo_ids json", "media_url str500?", "mobile text?", "reporter_name text?", "email text?",
                 "client_hash str64?", "privacy_version str32", "work_item_id int? -> work_item.id index",
                 "joined_report_id int? -> citizen_report_reports.id", "previous_work_item_ids json",
                 "reopen_count int", "rating str16?", "rating_comment text?", "rated_at time?",
                 "open311_token str40? unique", "api_key_id int? -> citizen_report_api_keys.id", "anonymised_at time?")


def downgrade():
    drop_tables("citizen_report_reports", "citizen_report_api_keys")
