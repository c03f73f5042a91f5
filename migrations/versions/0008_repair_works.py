"""Repair works: work orders, their costs and the equipment they use

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('area', sa.Enum('basement', 'floor_1', 'floor_2', 'floor_3', 'floor_4', 'living_quarters', 'plumbing', 'power', name='area', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('room', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('contractor', sa.String(length=120), nullable=False),
    sa.Column('budget_krw', sa.BigInteger(), nullable=False),
    sa.Column('funding_decision', sa.String(length=80), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=False),
    sa.Column('planned_end', sa.Date(), nullable=False),
    sa.Column('actual_start', sa.Date(), nullable=True),
    sa.Column('actual_end', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('planned', 'approved', 'in_progress', 'completed', 'cancelled', name='work_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('budget_krw >= 0', name=op.f('ck_work_orders_budget_not_negative')),
    sa.CheckConstraint('progress BETWEEN 0 AND 100', name=op.f('ck_work_orders_progress')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_work_orders_number'))
    )
    op.create_table('work_costs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('amount_krw', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_krw > 0', name=op.f('ck_work_costs_amount_positive')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_costs_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_costs'))
    )
    with op.batch_alter_table('work_costs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_costs_work_order_id'), ['work_order_id'], unique=False)
    op.create_table('work_equipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['stock_lots.id'], name=op.f('fk_work_equipment_lot_id_stock_lots')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_equipment_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_equipment')),
    sa.UniqueConstraint('work_order_id', 'lot_id', name=op.f('uq_work_equipment_work_order_id_lot_id'))
    )
    with op.batch_alter_table('work_equipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_equipment_work_order_id'), ['work_order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_equipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_equipment_work_order_id'))
    op.drop_table('work_equipment')
    with op.batch_alter_table('work_costs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_costs_work_order_id'))
    op.drop_table('work_costs')
    op.drop_table('work_orders')
