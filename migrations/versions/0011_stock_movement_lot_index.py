"""Index a receipt's lot on its movement: the as-of stock pages and the monthly report look up,
for every lot, whether its receipt was voided

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_stock_movements_lot_id", "stock_movements", ["lot_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_stock_movements_lot_id", table_name="stock_movements")
