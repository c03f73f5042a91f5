"""Index ledger entries by waiver line and day: a line's use as of a day, and the dashboard's
30-day pace, read a range of that index instead of the line's whole history

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain CREATE INDEX, never a batch: a batch may copy the table on SQLite, and the copy would
# lose the triggers that keep the ledger append-only.
def upgrade() -> None:
    op.create_index(
        "ix_drawdown_entries_waiver_line_id_occurred_on",
        "drawdown_entries",
        ["waiver_line_id", "occurred_on", "base_quantity"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_drawdown_entries_waiver_line_id_occurred_on", table_name="drawdown_entries")
