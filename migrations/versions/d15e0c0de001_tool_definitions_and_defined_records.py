"""tool definitions and the records of defined tools (issue 15)

Revision ID: d15e0c0de001
Revises: b16a1d3e7f20
Create Date: 2026-12-04 18:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'd15e0c0de001'
down_revision = 'b16a1d3e7f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tool_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tool_definition')),
    sa.UniqueConstraint('code', name=op.f('uq_tool_definition_code'))
    )
    op.create_table('tool_definition_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('change_report', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['tool_definition.id'],
                            name=op.f('fk_tool_definition_version_definition_id_tool_definition'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tool_definition_version')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_tool_definition_version_code'))
    )
    with op.batch_alter_table('tool_definition_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tool_definition_version_definition_id'), ['definition_id'], unique=False)

    op.create_table('defined_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tool_code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('legacy', sa.JSON(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('org_path', sa.String(length=255), nullable=False),
    sa.Column('place_code', sa.String(length=32), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_defined_record_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_defined_record_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_defined_record')),
    sa.UniqueConstraint('tool_code', 'serial', name=op.f('uq_defined_record_tool_code'))
    )
    with op.batch_alter_table('defined_record', schema=None) as batch_op:
        batch_op.create_index('ix_defined_record_org_path', ['org_path'], unique=False,
                              postgresql_ops={'org_path': 'text_pattern_ops'})
        batch_op.create_index(batch_op.f('ix_defined_record_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_defined_record_place_code'), ['place_code'], unique=False)
        batch_op.create_index('ix_defined_record_tool_code', ['tool_code', 'id'], unique=False)

    op.create_table('defined_record_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('tool_code', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('match_key', sa.String(length=80), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['defined_record.id'],
                            name=op.f('fk_defined_record_match_record_id_defined_record'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_item.id'],
                            name=op.f('fk_defined_record_match_work_item_id_work_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_defined_record_match'))
    )
    with op.batch_alter_table('defined_record_match', schema=None) as batch_op:
        batch_op.create_index('ix_defined_record_match_key', ['tool_code', 'rule', 'match_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_defined_record_match_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_defined_record_match_work_item_id'), ['work_item_id'], unique=False)

    op.create_table('defined_serial',
    sa.Column('tool_code', sa.String(length=40), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tool_code', 'field', 'year', name=op.f('pk_defined_serial'))
    )


def downgrade():
    op.drop_table('defined_serial')
    op.drop_table('defined_record_match')
    op.drop_table('defined_record')
    op.drop_table('tool_definition_version')
    op.drop_table('tool_definition')
