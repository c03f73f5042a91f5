"""A ledger entry names the record it was drawn for (a manifest line, a fuel receipt, a meter
reading), and the database holds one entry per such record

Two requests crossing one delivery at once each drew its lines on the ledger: the shipment
counted twice against its cap. The services now lock the record first; this index refuses a
second entry whatever the code above it does. A reversal is an entry of its own and is left
out. Entries written before have no source id and keep their hashes: the id is hashed only
when set.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONDITION = sa.text("reverses_id IS NULL AND source_id IS NOT NULL")


# Plain statements, never a batch: a batch may copy the table on SQLite, and the copy would
# lose the triggers that keep the ledger append-only. SQLite adds a nullable column in place.
def upgrade() -> None:
    op.add_column("drawdown_entries", sa.Column("source_id", sa.Integer(), nullable=True))
    op.create_index(
        "uq_drawdown_entries_source_source_id",
        "drawdown_entries",
        ["source", "source_id"],
        unique=True,
        sqlite_where=CONDITION,
        postgresql_where=CONDITION,
    )


def downgrade() -> None:
    op.drop_index("uq_drawdown_entries_source_source_id", table_name="drawdown_entries")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column in place (3.35 and later) as long as nothing indexes it.
        op.execute("ALTER TABLE drawdown_entries DROP COLUMN source_id")
    else:
        op.drop_column("drawdown_entries", "source_id")
