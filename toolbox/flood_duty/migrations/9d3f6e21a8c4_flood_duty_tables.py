"""flood_duty: rosters, warnings and duty calls, waterlogging points, reports, resources (own Alembic branch)"""

from app.migration_helpers import REGISTER_RECORD, TIMESTAMPS, create_table, drop_tables

revision = "9d3f6e21a8c4"
down_revision = None
branch_labels = ("flood_duty",)
depends_on = "42204f6516e9"  # the core: org units, users

IN_UNIT = ("org_unit_id int -> org_unit.id index", "org_path str255 path")


def upgrade():
    create_table("flood_duty_point", "id int pk", *REGISTER_RECORD, "threshold_cm int", "last_depth_cm int?",
                 "last_reported_at time?")
    create_table("flood_duty_roster", "id int pk", *IN_UNIT, *TIMESTAMPS, "name str100", "shift_start time",
                 "shift_end time", "activate_from str8", "note text", "created_by_id int? -> app_user.id")
    create_table("flood_duty_roster_member", "id int pk", "roster_id int -> flood_duty_roster.id cascade index",
                 "user_id int -> app_user.id index", "duty str16", "unique(roster_id, user_id)")
    create_table("flood_duty_warning", "id int pk", *IN_UNIT, "level str8", "previous_level str8",
                 "previous_warning_id int? -> flood_duty_warning.id", "calls_warning_id int?", "hazard str16",
                 "message text", "active bool index", "set_by_id int -> app_user.id", "set_at time", "ended_at time?",
                 "calls_count int", "recipients_count int", "batches_total int", "batches_sent int",
                 "messages_done_at time?")
    create_table("flood_duty_call", "id int pk", *IN_UNIT, "warning_id int -> flood_duty_warning.id cascade index",
                 "user_id int -> app_user.id index", "roster_id int -> flood_duty_roster.id", "duty str16",
                 "notified_at time?", "confirmed_at time?", "confirm_lat float?", "confirm_lng float?",
                 "confirm_note str200?", "unique(warning_id, user_id)")
    create_table("flood_duty_report", "id int pk", "point_id int -> flood_duty_point.id cascade index",
                 "depth_cm int", "note text", "photo_ids json", "reporter_id int -> app_user.id", "reported_at time",
                 "escalated bool", "work_item_id int?", "work_item_number str32?")
    create_table("flood_duty_resource", "id int pk", *TIMESTAMPS, "point_id int -> flood_duty_point.id cascade index",
                 "kind str16", "quantity int", "unit str16", "note str200")


def downgrade():
    drop_tables("flood_duty_resource", "flood_duty_report", "flood_duty_call", "flood_duty_warning",
                "flood_duty_roster_member", "flood_duty_roster", "flood_duty_point")
