"""facade_inspection: buildings, inspections, graded items (the tool's own Alembic branch)"""

from app.migration_helpers import REGISTER_RECORD, create_table, drop_tables

revision = "6f0c2a9d41b7"
down_revision = None
branch_labels = ("facade_inspection",)
depends_on = "42204f6516e9"  # the core: org units, users


def upgrade():
    create_table("facade_inspection_building", "id int pk", *REGISTER_RECORD, "built_year int?", "floors int",
                 "structure str32", "managing_party str100", "managing_contact str50?", "managing_phone text?",
                 "risk_level str8? index", "last_inspected_at time?")
    create_table("facade_inspection_inspection", "id int pk",
                 "building_id int -> facade_inspection_building.id cascade index", "inspector_id int -> app_user.id",
                 "inspected_at time", "risk_level str8", "remarks text", "photo_ids json", "is_reinspection bool",
                 "work_item_id int?", "work_item_outcome str16?")
    create_table("facade_inspection_item", "id int pk",
                 "inspection_id int -> facade_inspection_inspection.id cascade index", "item str32", "grade str8",
                 "note text", "photo_ids json")


def downgrade():
    drop_tables("facade_inspection_item", "facade_inspection_inspection", "facade_inspection_building")
