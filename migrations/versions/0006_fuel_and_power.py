"""Fuel and power: generators and their run hours, electricity meters and readings, dip
readings, and the daily operations log with its history

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('generators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('rated_lph', sa.BigInteger(), nullable=False),
    sa.Column('tank_id', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['tank_id'], ['stores.id'], name=op.f('fk_generators_tank_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generators')),
    sa.UniqueConstraint('name', name=op.f('uq_generators_name'))
    )
    op.create_table('generator_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generator_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.BigInteger(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['generator_id'], ['generators.id'], name=op.f('fk_generator_readings_generator_id_generators')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_generator_readings_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generator_readings'))
    )
    with op.batch_alter_table('generator_readings', schema=None) as batch_op:
        batch_op.create_index('ix_generator_readings_generator_id_read_at', ['generator_id', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_generator_readings_read_on'), ['read_on'], unique=False)
    op.create_table('meters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('source', sa.Enum('grid_south', 'generator', name='meter_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('waiver_line_id', sa.Integer(), nullable=True),
    sa.Column('digits', sa.Integer(), nullable=False),
    sa.Column('multiplier', sa.BigInteger(), nullable=False),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('digits BETWEEN 1 AND 12', name=op.f('ck_meters_digits')),
    sa.ForeignKeyConstraint(['replaces_id'], ['meters.id'], name=op.f('fk_meters_replaces_id_meters')),
    sa.ForeignKeyConstraint(['waiver_line_id'], ['waiver_lines.id'], name=op.f('fk_meters_waiver_line_id_waiver_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meters'))
    )
    op.create_table('meter_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_on', sa.Date(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Enum('regular', 'first', 'final', name='reading_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('rolled_over', sa.Boolean(), nullable=False),
    sa.Column('consumption', sa.BigInteger(), nullable=True),
    sa.Column('previous_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('flag_reason', sa.String(length=200), nullable=True),
    sa.Column('drawdown_entry_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['drawdown_entry_id'], ['drawdown_entries.id'], name=op.f('fk_meter_readings_drawdown_entry_id_drawdown_entries')),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_meter_readings_meter_id_meters')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_meter_readings_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_readings'))
    )
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.create_index('ix_meter_readings_meter_id_read_at', ['meter_id', 'read_at'], unique=False)
        batch_op.create_index('ix_meter_readings_read_on', ['read_on'], unique=False)
    op.create_table('dip_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_on', sa.Date(), nullable=False),
    sa.Column('measured', sa.BigInteger(), nullable=False),
    sa.Column('book', sa.BigInteger(), nullable=False),
    sa.Column('variance', sa.BigInteger(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_dip_readings_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_dip_readings_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dip_readings'))
    )
    with op.batch_alter_table('dip_readings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dip_readings_read_on'), ['read_on'], unique=False)
        batch_op.create_index('ix_dip_readings_store_id_read_at', ['store_id', 'read_at'], unique=False)
    op.create_table('daily_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('log_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'signed_off', name='log_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('incidents', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_off_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['signed_off_by_id'], ['users.id'], name=op.f('fk_daily_logs_signed_off_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_logs')),
    sa.UniqueConstraint('log_on', name=op.f('uq_daily_logs_log_on'))
    )
    op.create_table('daily_log_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('log_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_daily_log_events_by_id_users')),
    sa.ForeignKeyConstraint(['log_id'], ['daily_logs.id'], name=op.f('fk_daily_log_events_log_id_daily_logs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_log_events')),
    sa.UniqueConstraint('log_id', 'id', name=op.f('uq_daily_log_events_log_id_id'))
    )
    with op.batch_alter_table('daily_log_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_log_events_log_id'), ['log_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('daily_log_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_log_events_log_id'))
    op.drop_table('daily_log_events')
    op.drop_table('daily_logs')
    with op.batch_alter_table('dip_readings', schema=None) as batch_op:
        batch_op.drop_index('ix_dip_readings_store_id_read_at')
        batch_op.drop_index(batch_op.f('ix_dip_readings_read_on'))
    op.drop_table('dip_readings')
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_index('ix_meter_readings_read_on')
        batch_op.drop_index('ix_meter_readings_meter_id_read_at')
    op.drop_table('meter_readings')
    op.drop_table('meters')
    with op.batch_alter_table('generator_readings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_generator_readings_read_on'))
        batch_op.drop_index('ix_generator_readings_generator_id_read_at')
    op.drop_table('generator_readings')
    op.drop_table('generators')
