"""attachment links (photos follow the records that hold them) and the staff origin

Photos were readable through a copy of their record's org path taken when they were attached;
now attachment_link names each record holding a photo, and the access check asks that record.
The links are rebuilt here from every table that keeps a `photo_ids` list, so nothing held
before the upgrade becomes unreadable. app_user.origin says where a person was first added, so a
directory sync leaves people from a spreadsheet import alone.

Revision ID: 5c3e8a1f4b27
Revises: 42204f6516e9
Create Date: 2026-12-02 09:00:00

"""
import json

import sqlalchemy as sa
from alembic import op

revision = '5c3e8a1f4b27'
down_revision = '42204f6516e9'
branch_labels = None
depends_on = None


def _backfill_links() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = {row[0] for row in bind.execute(sa.text("SELECT id FROM attachment"))}
    links = sa.table("attachment_link", sa.column("attachment_id", sa.Integer), sa.column("holder_kind", sa.String),
                     sa.column("holder_id", sa.String))
    for table in sorted(inspector.get_table_names()):
        columns = {c["name"] for c in inspector.get_columns(table)}
        if table == "attachment_link" or not {"id", "photo_ids"} <= columns:
            continue
        rows = []
        for record_id, photo_ids in bind.execute(sa.text(f'SELECT id, photo_ids FROM "{table}"')):
            ids = json.loads(photo_ids) if isinstance(photo_ids, str) else (photo_ids or [])
            rows += [{"attachment_id": int(i), "holder_kind": table, "holder_id": str(record_id)}
                     for i in sorted({int(i) for i in ids}) if int(i) in existing]
        if rows:
            op.bulk_insert(links, rows)


def upgrade():
    op.create_table('attachment_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('holder_kind', sa.String(length=64), nullable=False),
    sa.Column('holder_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_attachment_link_attachment_id_attachment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_link')),
    sa.UniqueConstraint('attachment_id', 'holder_kind', 'holder_id', name=op.f('uq_attachment_link_attachment_id'))
    )
    with op.batch_alter_table('attachment_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_link_attachment_id'), ['attachment_id'], unique=False)
        batch_op.create_index('ix_attachment_link_holder', ['holder_kind', 'holder_id'], unique=False)
    _backfill_links()
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_org_path'))
        batch_op.drop_column('org_path')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('origin')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_path', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachment_org_path'), ['org_path'], unique=False)
    with op.batch_alter_table('attachment_link', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_link_holder')
        batch_op.drop_index(batch_op.f('ix_attachment_link_attachment_id'))
    op.drop_table('attachment_link')
