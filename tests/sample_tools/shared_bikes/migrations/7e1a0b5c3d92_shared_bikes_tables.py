"""shared_bikes: parking points and their checks (a third-party tool's own Alembic branch)"""

from app.migration_helpers import REGISTER_RECORD, create_table, drop_tables

revision, down_revision, branch_labels, depends_on = "7e1a0b5c3d92", None, ("shared_bikes",), "42204f6516e9"


def upgrade():
    create_table("shared_bikes_point", "id int pk", *REGISTER_RECORD, "capacity int", "last_count int?")
    create_table("shared_bikes_check", "id int pk", "point_id int -> shared_bikes_point.id cascade index",
                 "bikes int", "checked_at time", "work_item_id int?")


def downgrade():
    drop_tables("shared_bikes_check", "shared_bikes_point")
