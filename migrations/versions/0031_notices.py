"""Notices: what the daily alerts find (a line passing 75 % or 90 % of its cap, a line running
out before its waiver ends, a waiver ending within 30 days, equipment overdue to go back, a
day not signed off after two days), each raised once, and who has put each away.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "line_75",
    "line_90",
    "runs_out",
    "waiver_expiring",
    "return_overdue",
    "day_not_signed_off",
)


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *KINDS,
                name="notice_kind",
                native_enum=False,
                create_constraint=True,
                length=max(len(kind) for kind in KINDS),
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("audience", sa.String(length=60), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("endpoint_args", sa.JSON(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("key", name=op.f("uq_notices_key")),
    )
    op.create_index("ix_notices_raised", "notices", ["raised_on", "id"])
    op.create_table(
        "notice_dismissals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_dismissals_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_dismissals_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_dismissals")),
        sa.UniqueConstraint(
            "notice_id", "user_id", name=op.f("uq_notice_dismissals_notice_id_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("notice_dismissals")
    op.drop_index("ix_notices_raised", table_name="notices")
    op.drop_table("notices")
