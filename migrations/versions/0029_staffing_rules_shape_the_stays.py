"""Staffing rules shape the stays: the shortest stay, the days people may cross and the most
crossings per person a month

Each stay is two border crossings, two name lists for the North and a notification; the
planner gave people four or five stays a month, some of one day. Each side now sets the
shortest stay (the longest is `max_consecutive_days`), the days of the week on which people
may arrive or leave, and a monthly cap on each person's crossings. Existing rows take values
that change nothing in a plan already made: a shortest stay of 1 day, every day of the week,
no cap.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staffing_rules") as batch:
        batch.add_column(sa.Column("min_stay_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("crossing_weekdays", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("max_crossings_per_month", sa.Integer(), nullable=True))
    rules = sa.table(
        "staffing_rules",
        sa.column("min_stay_days", sa.Integer),
        sa.column("crossing_weekdays", sa.JSON),
    )
    op.execute(rules.update().values(min_stay_days=1, crossing_weekdays=[0, 1, 2, 3, 4, 5, 6]))
    with op.batch_alter_table("staffing_rules") as batch:
        batch.alter_column("min_stay_days", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("crossing_weekdays", existing_type=sa.JSON(), nullable=False)
        batch.create_check_constraint(
            "stay_lengths", "min_stay_days >= 1 AND min_stay_days <= max_consecutive_days"
        )
        batch.create_check_constraint(
            "monthly_crossings", "max_crossings_per_month IS NULL OR max_crossings_per_month >= 1"
        )


def downgrade() -> None:
    with op.batch_alter_table("staffing_rules") as batch:
        batch.drop_constraint(op.f("ck_staffing_rules_monthly_crossings"), type_="check")
        batch.drop_constraint(op.f("ck_staffing_rules_stay_lengths"), type_="check")
        batch.drop_column("max_crossings_per_month")
        batch.drop_column("crossing_weekdays")
        batch.drop_column("min_stay_days")
