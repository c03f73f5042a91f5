"""Staffing: rosters of both sides, stays, duty, crossing lists, planner proposals

Each side gets its rules with the agreement's defaults: 15 to 20 officials on site every day,
one night duty officer, at most 12 days in a row, at least 2 rest days between stays.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('crossing_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crossing_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'sent', 'accepted', 'amended', name='crossing_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('sent_snapshot', sa.JSON(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crossing_lists')),
    sa.UniqueConstraint('crossing_on', name=op.f('uq_crossing_lists_crossing_on'))
    )
    op.create_table('staff_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_ko', sa.String(length=60), nullable=False),
    sa.Column('name_latin', sa.String(length=100), nullable=False),
    sa.Column('side', sa.Enum('south', 'north', name='side', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('category', sa.Enum('official', 'support', 'contractor_worker', name='category', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('agency', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Enum('co_head', 'deputy_head', 'secretary_general', 'duty_officer', 'liaison_officer', 'staff', 'technician', 'worker', name='position', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('is_duty_qualified', sa.Boolean(), nullable=False),
    sa.Column('active_from', sa.Date(), nullable=False),
    sa.Column('active_until', sa.Date(), nullable=True),
    sa.Column('feed_token', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_members')),
    sa.UniqueConstraint('feed_token', name=op.f('uq_staff_members_feed_token'))
    )
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.create_index('ix_staff_members_side_name_ko', ['side', 'name_ko'], unique=False)

    op.create_table('staffing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('side', sa.Enum('south', 'north', name='side', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('weekday_min', sa.Integer(), nullable=False),
    sa.Column('weekend_min', sa.Integer(), nullable=False),
    sa.Column('max_headcount', sa.Integer(), nullable=False),
    sa.Column('counted_categories', sa.JSON(), nullable=False),
    sa.Column('min_night_duty', sa.Integer(), nullable=False),
    sa.Column('max_consecutive_days', sa.Integer(), nullable=False),
    sa.Column('min_rest_days', sa.Integer(), nullable=False),
    sa.Column('applies_from', sa.Date(), nullable=False),
    sa.CheckConstraint('0 <= weekday_min AND weekday_min <= max_headcount AND 0 <= weekend_min AND weekend_min <= max_headcount', name=op.f('ck_staffing_rules_headcount_bounds')),
    sa.CheckConstraint('max_consecutive_days >= 1 AND min_rest_days >= 0', name=op.f('ck_staffing_rules_person_rules')),
    sa.CheckConstraint('min_night_duty >= 0', name=op.f('ck_staffing_rules_night_duty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staffing_rules')),
    sa.UniqueConstraint('side', name=op.f('uq_staffing_rules_side'))
    )
    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=False),
    sa.Column('duty_on', sa.Date(), nullable=False),
    sa.Column('shift', sa.Enum('day', 'night', name='shift', native_enum=False, create_constraint=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_duty_shifts_staff_member_id_staff_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts')),
    sa.UniqueConstraint('staff_member_id', 'duty_on', 'shift', name=op.f('uq_duty_shifts_staff_member_id_duty_on_shift'))
    )
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_duty_shifts_duty_on', ['duty_on'], unique=False)

    op.create_table('plan_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('side', sa.Enum('south', 'north', name='side', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'accepted', 'discarded', name='proposal_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('objective', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_plan_proposals_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_proposals'))
    )
    op.create_table('stays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('is_pinned', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('last_day >= first_day', name=op.f('ck_stays_ordered')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_stays_staff_member_id_staff_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stays'))
    )
    with op.batch_alter_table('stays', schema=None) as batch_op:
        batch_op.create_index('ix_stays_first_day_last_day', ['first_day', 'last_day'], unique=False)
        batch_op.create_index('ix_stays_staff_member_id_first_day', ['staff_member_id', 'first_day'], unique=False)

    rules = sa.table(
        "staffing_rules", sa.column("side", sa.String), sa.column("weekday_min", sa.Integer),
        sa.column("weekend_min", sa.Integer), sa.column("max_headcount", sa.Integer),
        sa.column("counted_categories", sa.JSON), sa.column("min_night_duty", sa.Integer),
        sa.column("max_consecutive_days", sa.Integer), sa.column("min_rest_days", sa.Integer),
        sa.column("applies_from", sa.Date),
    )
    op.bulk_insert(rules, [
        {"side": side, "weekday_min": 15, "weekend_min": 15, "max_headcount": 20,
         "counted_categories": ["official"], "min_night_duty": 1, "max_consecutive_days": 12,
         "min_rest_days": 2, "applies_from": date(2018, 9, 14)}
        for side in ("south", "north")
    ])


def downgrade() -> None:
    with op.batch_alter_table('stays', schema=None) as batch_op:
        batch_op.drop_index('ix_stays_staff_member_id_first_day')
        batch_op.drop_index('ix_stays_first_day_last_day')

    op.drop_table('stays')
    op.drop_table('plan_proposals')
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shifts_duty_on')

    op.drop_table('duty_shifts')
    op.drop_table('staffing_rules')
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_members_side_name_ko')

    op.drop_table('staff_members')
    op.drop_table('crossing_lists')
