"""The review of flagged items: each item's state and its thread; an index to find flagged stock draws

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('override', 'flagged_use', 'dip_variance', 'meter_anomaly', 'overdue_return', name='item_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('open', 'queried', 'answered', 'escalated', 'acknowledged', name='review_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    sa.UniqueConstraint('kind', 'source_id', name=op.f('uq_review_items_kind_source_id'))
    )
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.create_index('ix_review_items_state_kind', ['state', 'kind'], unique=False)

    op.create_table('review_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('comment', 'query', 'answer', 'escalate', 'acknowledge', 'reopen', name='review_action', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('from_state', sa.Enum('open', 'queried', 'answered', 'escalated', 'acknowledged', name='from_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('to_state', sa.Enum('open', 'queried', 'answered', 'escalated', 'acknowledged', name='to_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_review_notes_author_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['review_items.id'], name=op.f('fk_review_notes_item_id_review_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_notes'))
    )
    with op.batch_alter_table('review_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_notes_item_id'), ['item_id'], unique=False)

    with op.batch_alter_table('lot_draws', schema=None) as batch_op:
        batch_op.create_index('ix_lot_draws_flagged', ['flagged'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lot_draws", schema=None) as batch_op:
        batch_op.drop_index("ix_lot_draws_flagged")

    with op.batch_alter_table("review_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_notes_item_id"))

    op.drop_table("review_notes")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_state_kind")

    op.drop_table("review_items")
