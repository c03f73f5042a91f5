"""One stock lot per ledger entry: a received manifest line or fuel receipt lands on site once

Two requests receiving one delivery at once each turned its lines into lots. The service now
locks the delivery first; this index refuses a second lot whatever the code above it does.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_stock_lots_drawdown_entry_id", "stock_lots", ["drawdown_entry_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_stock_lots_drawdown_entry_id", table_name="stock_lots")
