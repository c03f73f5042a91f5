"""Deliveries across the border and their manifest lines

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('direction', sa.Enum('north', 'south', name='direction', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('crossing_point', sa.String(length=80), nullable=False),
    sa.Column('carrier', sa.String(length=120), nullable=False),
    sa.Column('vehicles', sa.String(length=200), nullable=False),
    sa.Column('approval_number', sa.String(length=60), nullable=False),
    sa.Column('approval_type', sa.Enum('individual', 'blanket', name='approval_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('customs_declaration', sa.String(length=60), nullable=False),
    sa.Column('status', sa.Enum('draft', 'approved', 'crossed', 'received', 'rejected', name='delivery_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('crossed_on', sa.Date(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('rejected_reason', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('reference', name=op.f('uq_deliveries_reference'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_planned_on_id', ['planned_on', 'id'], unique=False)
    op.create_table('delivery_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('hs_code', sa.String(length=10), nullable=False),
    sa.Column('hs_code_reason', sa.Text(), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.Enum('L', 'bbl', 't', 'kg', 'g', 'kWh', 'MWh', 'piece', name='unit', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('gross_weight_kg', sa.BigInteger(), nullable=True),
    sa.Column('unit_value_krw', sa.BigInteger(), nullable=False),
    sa.Column('unit_value_usd_cents', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.Enum('operation', 'repair', 'fuel', 'supplies', name='purpose', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('waiver_line_id', sa.Integer(), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('must_return', sa.Boolean(), nullable=False),
    sa.Column('return_due_on', sa.Date(), nullable=True),
    sa.Column('drawdown_entry_id', sa.Integer(), nullable=True),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('return_lot_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_delivery_lines_quantity_positive')),
    sa.CheckConstraint('unit_value_krw >= 0 AND unit_value_usd_cents >= 0', name=op.f('ck_delivery_lines_values_not_negative')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_lines_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['drawdown_entry_id'], ['drawdown_entries.id'], name=op.f('fk_delivery_lines_drawdown_entry_id_drawdown_entries')),
    sa.ForeignKeyConstraint(['lot_id'], ['stock_lots.id'], name=op.f('fk_delivery_lines_lot_id_stock_lots')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_delivery_lines_resource_id_resources')),
    sa.ForeignKeyConstraint(['return_lot_id'], ['stock_lots.id'], name=op.f('fk_delivery_lines_return_lot_id_stock_lots')),
    sa.ForeignKeyConstraint(['waiver_line_id'], ['waiver_lines.id'], name=op.f('fk_delivery_lines_waiver_line_id_waiver_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_lines')),
    sa.UniqueConstraint('delivery_id', 'line_no', name=op.f('uq_delivery_lines_delivery_id_line_no'))
    )
    with op.batch_alter_table('delivery_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_lines_delivery_id'), ['delivery_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_lines_delivery_id'))
    op.drop_table('delivery_lines')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_planned_on_id')
    op.drop_table('deliveries')
