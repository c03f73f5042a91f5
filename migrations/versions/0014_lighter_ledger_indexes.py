"""Two fewer index entries per ledger entry: the index by waiver line and sequence served no
query (a line's entries are read by day, through the line/day index), and the flagged index
holds only flagged entries, which are few

Every drawdown writes one entry into each of the ledger's indexes, under the ledger's one
write lock: the fewer, the more drawdowns a second.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As `office.db.FLAGGED_ONLY`: SQLite uses a partial index only when the query's condition is
# written as the index's, and `flagged.is_(True)` renders as these on each database.
FLAGGED_ONLY = {"sqlite_where": sa.text("flagged IS 1"), "postgresql_where": sa.text("flagged IS true")}


# Plain index statements, never a batch: a batch may copy the table on SQLite, and the copy
# would lose the triggers that keep the ledger append-only.
def upgrade() -> None:
    op.drop_index("ix_drawdown_entries_waiver_line_id_seq", table_name="drawdown_entries")
    op.drop_index("ix_drawdown_entries_flagged_seq", table_name="drawdown_entries")
    op.create_index(
        "ix_drawdown_entries_flagged_seq", "drawdown_entries", ["seq"], unique=False, **FLAGGED_ONLY
    )


def downgrade() -> None:
    op.drop_index("ix_drawdown_entries_flagged_seq", table_name="drawdown_entries")
    op.create_index(
        "ix_drawdown_entries_flagged_seq", "drawdown_entries", ["flagged", "seq"], unique=False
    )
    op.create_index(
        "ix_drawdown_entries_waiver_line_id_seq",
        "drawdown_entries",
        ["waiver_line_id", "seq"],
        unique=False,
    )
