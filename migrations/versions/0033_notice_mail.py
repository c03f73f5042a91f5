"""Notices raised by events (a query, an answer, an escalation, a drawdown recorded anyway, a
crossing list amended after it was sent) and by a staffing rule broken in the coming week;
each user's choice per kind (in the app only, by email, or in a daily digest) and the mails
owed for each notice, one per notice, user and channel

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | Sequence[str] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "line_75",
    "line_90",
    "runs_out",
    "waiver_expiring",
    "return_overdue",
    "day_not_signed_off",
)
KINDS = (
    *OLD_KINDS,
    "query_asked",
    "query_answered",
    "item_escalated",
    "recorded_anyway",
    "list_amended",
    "rule_broken",
)
CHANNELS = ("app", "email", "digest")
STATES = ("pending", "sending", "sent", "failed")


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(
        *values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(value) for value in values),
    )


def _kinds_allowed(kinds: Sequence[str]) -> None:
    # The new kinds are no longer than the old (the column keeps its length): only the
    # CHECK constraint that lists them changes.
    with op.batch_alter_table("notices") as batch:
        batch.drop_constraint(op.f("ck_notices_notice_kind"), type_="check")
        batch.create_check_constraint("notice_kind", sa.column("kind").in_(kinds))


def upgrade() -> None:
    _kinds_allowed(KINDS)
    op.create_table(
        "notice_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum(KINDS, "notice_kind"), nullable=False),
        sa.Column("channel", _enum(CHANNELS, "notice_channel"), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_preferences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_preferences")),
        sa.UniqueConstraint("user_id", "kind", name=op.f("uq_notice_preferences_user_id_kind")),
    )
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum(CHANNELS, "notice_channel"), nullable=False),
        sa.Column("state", _enum(STATES, "delivery_state"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_deliveries_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_deliveries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint(
            "notice_id",
            "user_id",
            "channel",
            name=op.f("uq_notice_deliveries_notice_id_user_id_channel"),
        ),
    )
    op.create_index(
        "ix_notice_deliveries_due", "notice_deliveries", ["state", "channel", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_due", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
    op.drop_table("notice_preferences")
    # The notices of the new kinds go, with who had read them: the old CHECK refuses them.
    notices = sa.table("notices", sa.column("id", sa.Integer), sa.column("kind", sa.String))
    dismissals = sa.table("notice_dismissals", sa.column("notice_id", sa.Integer))
    new = sa.select(notices.c.id).where(notices.c.kind.not_in(OLD_KINDS))
    op.execute(dismissals.delete().where(dismissals.c.notice_id.in_(new)))
    op.execute(notices.delete().where(notices.c.kind.not_in(OLD_KINDS)))
    _kinds_allowed(OLD_KINDS)
