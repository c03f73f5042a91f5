"""Waivers and the append-only drawdown ledger

Resources and the HS rules that give their control class (seeded with the UN bans on
chapters 72-89 and the cap on 2710), waivers with lines and status history, the ledger whose
rows the database itself refuses to update or delete, and the single row holding the head of
its hash chain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
APPEND_ONLY = "drawdown entries are append-only: record a reversal instead"

DEFAULT_RULES = [
    *({"prefix": str(chapter), "control": "prohibited", "note": "UNSCR 2397 op. 7"}
      for chapter in range(72, 90)),
    {"prefix": "2710", "control": "capped", "note": "UNSCR 2397 op. 5: refined petroleum"},
]


def upgrade() -> None:
    op.create_table('hs_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=10), nullable=False),
    sa.Column('control', sa.Enum('prohibited', 'capped', 'none', name='control', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hs_rules')),
    sa.UniqueConstraint('prefix', name=op.f('uq_hs_rules_prefix'))
    )
    op.create_table('ledger_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_ledger_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_head'))
    )
    op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_ko', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('hs_code', sa.String(length=10), nullable=False),
    sa.Column('unit', sa.Enum('L', 'bbl', 't', 'kg', 'g', 'kWh', 'MWh', 'piece', name='unit', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('control', sa.Enum('prohibited', 'capped', 'none', name='control', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('barrels_per_tonne', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources')),
    sa.UniqueConstraint('code', name=op.f('uq_resources_code'))
    )
    op.create_table('waivers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('authority', sa.Enum('un_1718_committee', 'us_government', 'rok_mou_individual', 'rok_mou_blanket', name='authority', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'requested', 'granted', 'partially_granted', 'denied', 'revoked', 'expired', 'withdrawn', name='waiver_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_waivers_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waivers')),
    sa.UniqueConstraint('reference', name=op.f('uq_waivers_reference'))
    )
    op.create_table('waiver_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('waiver_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.Enum('L', 'bbl', 't', 'kg', 'g', 'kWh', 'MWh', 'piece', name='unit', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('requested_quantity', sa.BigInteger(), nullable=False),
    sa.Column('granted_quantity', sa.BigInteger(), nullable=True),
    sa.Column('value_cap_usd_cents', sa.BigInteger(), nullable=True),
    sa.Column('granted_base', sa.BigInteger(), nullable=True),
    sa.Column('used_base', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('granted_quantity >= 0', name=op.f('ck_waiver_lines_granted_not_negative')),
    sa.CheckConstraint('requested_quantity > 0', name=op.f('ck_waiver_lines_requested_positive')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_waiver_lines_resource_id_resources')),
    sa.ForeignKeyConstraint(['waiver_id'], ['waivers.id'], name=op.f('fk_waiver_lines_waiver_id_waivers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiver_lines')),
    sa.UniqueConstraint('waiver_id', 'line_no', name=op.f('uq_waiver_lines_waiver_id_line_no'))
    )
    with op.batch_alter_table('waiver_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waiver_lines_resource_id'), ['resource_id'], unique=False)

    op.create_table('waiver_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('waiver_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.Enum('draft', 'requested', 'granted', 'partially_granted', 'denied', 'revoked', 'expired', 'withdrawn', name='from_status', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('to_status', sa.Enum('draft', 'requested', 'granted', 'partially_granted', 'denied', 'revoked', 'expired', 'withdrawn', name='to_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_waiver_status_changes_changed_by_id_users')),
    sa.ForeignKeyConstraint(['waiver_id'], ['waivers.id'], name=op.f('fk_waiver_status_changes_waiver_id_waivers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiver_status_changes'))
    )
    with op.batch_alter_table('waiver_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waiver_status_changes_waiver_id'), ['waiver_id'], unique=False)

    op.create_table('drawdown_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.Enum('L', 'bbl', 't', 'kg', 'g', 'kWh', 'MWh', 'piece', name='unit', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('base_quantity', sa.BigInteger(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.Enum('operation', 'repair', 'fuel', 'supplies', name='purpose', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('source', sa.Enum('manual', 'delivery', 'fuel_receipt', 'fuel_issue', 'meter', 'work_order', name='source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('source_ref', sa.String(length=80), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('waiver_id', sa.Integer(), nullable=True),
    sa.Column('waiver_line_id', sa.Integer(), nullable=True),
    sa.Column('waiver_status', sa.Enum('draft', 'requested', 'granted', 'partially_granted', 'denied', 'revoked', 'expired', 'withdrawn', name='waiver_status', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('classification', sa.Enum('not_required', 'uncovered', 'denied', 'pending', 'outside_validity', 'over_cap', 'covered', name='classification', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('reversal_reason', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_drawdown_entries_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_drawdown_entries_resource_id_resources')),
    sa.ForeignKeyConstraint(['reverses_id'], ['drawdown_entries.id'], name=op.f('fk_drawdown_entries_reverses_id_drawdown_entries')),
    sa.ForeignKeyConstraint(['waiver_id'], ['waivers.id'], name=op.f('fk_drawdown_entries_waiver_id_waivers')),
    sa.ForeignKeyConstraint(['waiver_line_id'], ['waiver_lines.id'], name=op.f('fk_drawdown_entries_waiver_line_id_waiver_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drawdown_entries')),
    sa.UniqueConstraint('hash', name=op.f('uq_drawdown_entries_hash')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_drawdown_entries_reverses_id')),
    sa.UniqueConstraint('seq', name=op.f('uq_drawdown_entries_seq'))
    )
    with op.batch_alter_table('drawdown_entries', schema=None) as batch_op:
        batch_op.create_index('ix_drawdown_entries_classification_seq', ['classification', 'seq'], unique=False)
        batch_op.create_index('ix_drawdown_entries_flagged_seq', ['flagged', 'seq'], unique=False)
        batch_op.create_index('ix_drawdown_entries_occurred_on_seq', ['occurred_on', 'seq'], unique=False)
        batch_op.create_index('ix_drawdown_entries_resource_id_seq', ['resource_id', 'seq'], unique=False)
        batch_op.create_index('ix_drawdown_entries_waiver_id_seq', ['waiver_id', 'seq'], unique=False)
        batch_op.create_index('ix_drawdown_entries_waiver_line_id_seq', ['waiver_line_id', 'seq'], unique=False)

    hs_rules = sa.table(
        "hs_rules", sa.column("prefix", sa.String), sa.column("control", sa.String),
        sa.column("note", sa.String),
    )
    op.bulk_insert(hs_rules, DEFAULT_RULES)
    ledger_head = sa.table(
        "ledger_head", sa.column("id", sa.Integer), sa.column("last_seq", sa.BigInteger),
        sa.column("last_hash", sa.String),
    )
    op.bulk_insert(ledger_head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION drawdown_entries_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER drawdown_entries_append_only BEFORE UPDATE OR DELETE "
            "ON drawdown_entries FOR EACH ROW EXECUTE FUNCTION drawdown_entries_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER drawdown_entries_no_{event.lower()} BEFORE {event} "
                f"ON drawdown_entries BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER drawdown_entries_append_only ON drawdown_entries")
        op.execute("DROP FUNCTION drawdown_entries_append_only()")
    else:
        op.execute("DROP TRIGGER drawdown_entries_no_update")
        op.execute("DROP TRIGGER drawdown_entries_no_delete")
    with op.batch_alter_table("drawdown_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_drawdown_entries_waiver_line_id_seq")
        batch_op.drop_index("ix_drawdown_entries_waiver_id_seq")
        batch_op.drop_index("ix_drawdown_entries_resource_id_seq")
        batch_op.drop_index("ix_drawdown_entries_occurred_on_seq")
        batch_op.drop_index("ix_drawdown_entries_flagged_seq")
        batch_op.drop_index("ix_drawdown_entries_classification_seq")
    op.drop_table("drawdown_entries")
    with op.batch_alter_table("waiver_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiver_status_changes_waiver_id"))
    op.drop_table("waiver_status_changes")
    with op.batch_alter_table("waiver_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiver_lines_resource_id"))
    op.drop_table("waiver_lines")
    op.drop_table("waivers")
    op.drop_table("resources")
    op.drop_table("ledger_head")
    op.drop_table("hs_rules")
