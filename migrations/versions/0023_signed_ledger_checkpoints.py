"""Signed checkpoints of the ledger's head, so that a rewritten chain or a head moved back shows

The hash chain alone proves only that the ledger agrees with itself: whoever owns the database
can rewrite an entry and every later hash, or delete the last entries and move the head back.
A checkpoint holds the head (its entry count and last hash) at a moment, signed with an Ed25519
key kept outside the database; `flask ledger verify` checks the chain against every one. One
per month's sign-off (`month`), one a day from cron. Append-only, like the ledger.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "ledger checkpoints are append-only"


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "daily",
                "sign_off",
                name="checkpoint_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("month", sa.Date(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["month"],
            ["signed_off_months.month"],
            name=op.f("fk_ledger_checkpoints_month_signed_off_months"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
        sa.UniqueConstraint("month", name=op.f("uq_ledger_checkpoints_month")),
    )
    with op.batch_alter_table("ledger_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_checkpoints_seq"), ["seq"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_checkpoints_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE "
            "ON ledger_checkpoints FOR EACH ROW EXECUTE FUNCTION ledger_checkpoints_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_checkpoints_no_{event.lower()} BEFORE {event} "
                f"ON ledger_checkpoints BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_checkpoints_append_only ON ledger_checkpoints")
        op.execute("DROP FUNCTION ledger_checkpoints_append_only()")
    else:
        op.execute("DROP TRIGGER ledger_checkpoints_no_update")
        op.execute("DROP TRIGGER ledger_checkpoints_no_delete")
    with op.batch_alter_table("ledger_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_checkpoints_seq"))
    op.drop_table("ledger_checkpoints")
