"""construction_sites: sites, inspections, checklist lines (the tool's own Alembic branch)"""

from app.migration_helpers import REGISTER_RECORD, create_table, drop_tables

revision = "1b8e5c07d3a2"
down_revision = None
branch_labels = ("construction_sites",)
depends_on = "42204f6516e9"  # the core: org units, users


def upgrade():
    create_table("construction_sites_site", "id int pk", *REGISTER_RECORD,
                 "owner_name str100", "owner_contact str50", "owner_phone text",
                 "contractor_name str100", "contractor_contact str50", "contractor_phone text",
                 "permit_number str64?", "work_kind str32", "description text",
                 "start_date date", "end_date date index",
                 "night_work_permitted bool", "night_work_permit_number str64?", "status str16 index",
                 "last_inspected_at time?", "closed_at time?", "close_reason str200?",
                 "created_by_id int? -> app_user.id", "closed_by_id int? -> app_user.id")
    create_table("construction_sites_inspection", "id int pk",
                 "site_id int -> construction_sites_site.id cascade index", "inspector_id int -> app_user.id",
                 "inspected_at time", "result str8", "remarks text", "photo_ids json")
    create_table("construction_sites_inspection_item", "id int pk",
                 "inspection_id int -> construction_sites_inspection.id cascade index",
                 "site_id int -> construction_sites_site.id cascade index", "item str32", "passed bool", "note text",
                 "photo_ids json", "work_item_id int? index", "work_item_number str32?")


def downgrade():
    drop_tables("construction_sites_inspection_item", "construction_sites_inspection", "construction_sites_site")
