"""other systems: registration, work orders, webhooks, sensors

Revision ID: 19a7c0de5e11
Revises: b16a1d3e7f20
Create Date: 2026-12-04 18:30:41.721151

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '19a7c0de5e11'
down_revision = 'b16a1d3e7f20'
branch_labels = None
depends_on = None


def _create_partitioned_readings():
    """Readings as a time series: partitioned by month on the reading's time (the partition key is in the
    primary key), a default partition for anything outside the months made so far; the periodic job
    `integrations.reading_partitions` makes months ahead and `integrations.reading_retention` drops old ones."""
    op.execute("""
        CREATE TABLE integration_reading (
            device_pk integer NOT NULL,
            at timestamp with time zone NOT NULL,
            value double precision NOT NULL,
            CONSTRAINT pk_integration_reading PRIMARY KEY (device_pk, at)
        ) PARTITION BY RANGE (at)""")
    op.execute("CREATE TABLE integration_reading_default PARTITION OF integration_reading DEFAULT")
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(3):
        upper = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
        op.execute(f"CREATE TABLE integration_reading_{start:%Y_%m} PARTITION OF integration_reading "
                   f"FOR VALUES FROM ('{start.isoformat()}') TO ('{upper.isoformat()}')")
        start = upper


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _create_partitioned_readings()
    else:
        op.create_table('integration_reading',
        sa.Column('device_pk', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('device_pk', 'at', name=op.f('pk_integration_reading'))
        )
    op.create_table('integration_system',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('units', sa.JSON(), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_system')),
    sa.UniqueConstraint('code', name=op.f('uq_integration_system_code'))
    )
    op.create_table('integration_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('webhook_secret', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['system_id'], ['integration_system.id'], name=op.f('fk_integration_credential_system_id_integration_system'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_credential')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_integration_credential_key_hash'))
    )
    with op.batch_alter_table('integration_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_credential_system_id'), ['system_id'], unique=False)

    op.create_table('integration_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=80), nullable=False),
    sa.Column('chain', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redelivery_of', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['system_id'], ['integration_system.id'], name=op.f('fk_integration_delivery_system_id_integration_system'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_delivery'))
    )
    with op.batch_alter_table('integration_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_integration_delivery_chain', ['system_id', 'chain', 'id'], unique=False)
        batch_op.create_index('ix_integration_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_delivery_event_id'), ['event_id'], unique=False)

    op.create_table('integration_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('response_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['integration_delivery.id'], name=op.f('fk_integration_attempt_delivery_id_integration_delivery'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_attempt'))
    )
    with op.batch_alter_table('integration_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_attempt_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('integration_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_integration_device_place_id_place')),
    sa.ForeignKeyConstraint(['system_id'], ['integration_system.id'], name=op.f('fk_integration_device_system_id_integration_system'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_device')),
    sa.UniqueConstraint('system_id', 'device_id', name=op.f('uq_integration_device_system_id'))
    )
    with op.batch_alter_table('integration_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_device_place_id'), ['place_id'], unique=False)

    op.create_table('integration_work_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['system_id'], ['integration_system.id'], name=op.f('fk_integration_work_order_system_id_integration_system')),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_item.id'], name=op.f('fk_integration_work_order_work_item_id_work_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_work_order')),
    sa.UniqueConstraint('system_id', 'external_id', name=op.f('uq_integration_work_order_system_id'))
    )
    with op.batch_alter_table('integration_work_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_work_order_work_item_id'), ['work_item_id'], unique=False)

    op.create_table('integration_episode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_pk', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=80), nullable=False),
    sa.Column('above_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('peak', sa.Float(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['device_pk'], ['integration_device.id'], name=op.f('fk_integration_episode_device_pk_integration_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_episode'))
    )
    with op.batch_alter_table('integration_episode', schema=None) as batch_op:
        batch_op.create_index('ix_integration_episode_open', ['device_pk', 'rule', 'ended_at'], unique=False)



def downgrade():
    with op.batch_alter_table('integration_episode', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_episode_open')

    op.drop_table('integration_episode')
    with op.batch_alter_table('integration_work_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_work_order_work_item_id'))

    op.drop_table('integration_work_order')
    with op.batch_alter_table('integration_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_device_place_id'))

    op.drop_table('integration_device')
    with op.batch_alter_table('integration_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_attempt_delivery_id'))

    op.drop_table('integration_attempt')
    with op.batch_alter_table('integration_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_delivery_event_id'))
        batch_op.drop_index('ix_integration_delivery_due')
        batch_op.drop_index('ix_integration_delivery_chain')

    op.drop_table('integration_delivery')
    with op.batch_alter_table('integration_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_credential_system_id'))

    op.drop_table('integration_credential')
    op.drop_table('integration_system')
    op.drop_table('integration_reading')  # its partitions go with it
