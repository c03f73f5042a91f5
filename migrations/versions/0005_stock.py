"""On-site stock: stores (tanks, the materials store), lots drawn first in, first out,
movements, and each draw with the waiver coverage of its lot at the time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('stores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.Enum('tank', 'warehouse', name='store_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('location', sa.String(length=120), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('capacity', sa.BigInteger(), nullable=True),
    sa.Column('tolerance', sa.BigInteger(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_stores_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores')),
    sa.UniqueConstraint('name', name=op.f('uq_stores_name'))
    )
    op.create_table('stock_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('source', sa.Enum('opening', 'fuel_receipt', 'delivery', name='lot_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('source_ref', sa.String(length=80), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('used', sa.BigInteger(), nullable=False),
    sa.Column('returned', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('waiver_line_id', sa.Integer(), nullable=True),
    sa.Column('drawdown_entry_id', sa.Integer(), nullable=True),
    sa.Column('must_return_by', sa.Date(), nullable=True),
    sa.CheckConstraint('remaining >= 0', name=op.f('ck_stock_lots_remaining_not_negative')),
    sa.ForeignKeyConstraint(['drawdown_entry_id'], ['drawdown_entries.id'], name=op.f('fk_stock_lots_drawdown_entry_id_drawdown_entries')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_stock_lots_resource_id_resources')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_lots_store_id_stores')),
    sa.ForeignKeyConstraint(['waiver_line_id'], ['waiver_lines.id'], name=op.f('fk_stock_lots_waiver_line_id_waiver_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_lots'))
    )
    with op.batch_alter_table('stock_lots', schema=None) as batch_op:
        batch_op.create_index('ix_stock_lots_resource_id_id', ['resource_id', 'id'], unique=False)
        batch_op.create_index('ix_stock_lots_store_id_received_on_id', ['store_id', 'received_on', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_lots_waiver_line_id'), ['waiver_line_id'], unique=False)
    op.create_table('stock_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('receipt', 'issue', 'return', name='movement_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('use', sa.String(length=40), nullable=True),
    sa.Column('use_ref', sa.String(length=80), nullable=True),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('parties', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_stock_movements_quantity_positive')),
    sa.ForeignKeyConstraint(['lot_id'], ['stock_lots.id'], name=op.f('fk_stock_movements_lot_id_stock_lots')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_stock_movements_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_stock_movements_resource_id_resources')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_movements_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_occurred_on_id', ['occurred_on', 'id'], unique=False)
        batch_op.create_index('ix_stock_movements_store_id_occurred_on_id', ['store_id', 'occurred_on', 'id'], unique=False)
    op.create_table('lot_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('movement_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('waiver_line_id', sa.Integer(), nullable=True),
    sa.Column('waiver_status', sa.Enum('draft', 'requested', 'granted', 'partially_granted', 'denied', 'revoked', 'expired', 'withdrawn', name='waiver_status', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('classification', sa.Enum('not_required', 'uncovered', 'denied', 'pending', 'outside_validity', 'over_cap', 'covered', name='classification', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_lot_draws_quantity_positive')),
    sa.ForeignKeyConstraint(['lot_id'], ['stock_lots.id'], name=op.f('fk_lot_draws_lot_id_stock_lots')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_lot_draws_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['waiver_line_id'], ['waiver_lines.id'], name=op.f('fk_lot_draws_waiver_line_id_waiver_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_draws'))
    )
    with op.batch_alter_table('lot_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_draws_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_draws_movement_id'), ['movement_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lot_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_draws_movement_id'))
        batch_op.drop_index(batch_op.f('ix_lot_draws_lot_id'))
    op.drop_table('lot_draws')
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_movements_store_id_occurred_on_id')
        batch_op.drop_index('ix_stock_movements_occurred_on_id')
    op.drop_table('stock_movements')
    with op.batch_alter_table('stock_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_lots_waiver_line_id'))
        batch_op.drop_index('ix_stock_lots_store_id_received_on_id')
        batch_op.drop_index('ix_stock_lots_resource_id_id')
    op.drop_table('stock_lots')
    op.drop_table('stores')
