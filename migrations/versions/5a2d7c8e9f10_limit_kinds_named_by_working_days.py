"""work items: limit kinds named by what they are ("5 working days", not "ordinary")

Revision ID: 5a2d7c8e9f10
Revises: 5c3e8a1f4b27
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "5a2d7c8e9f10"
down_revision = "5c3e8a1f4b27"
branch_labels = None
depends_on = None

# Frozen here (not imported from app.terms): what this revision renames never changes.
RENAMED = {"consultation": "1 working day", "supervised": "3 working days", "ordinary": "5 working days"}
work_item = sa.table("work_item", sa.column("limit_kind", sa.String))


def _rename(pairs) -> None:
    for old, new in pairs:
        op.execute(work_item.update().where(work_item.c.limit_kind == old).values(limit_kind=new))


def upgrade():
    _rename(RENAMED.items())


def downgrade():
    _rename((new, old) for old, new in RENAMED.items())
