"""Index flagged meter readings and dips by day, and lots by their date to go back south: the
review queue and its counts find their items without reading every reading and lot

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partial indexes: SQLite uses one only when the query's condition is written as the index's,
# and the queue's `flagged.is_(True)` renders as these on each database.
FLAGGED_ONLY = {"sqlite_where": sa.text("flagged IS 1"), "postgresql_where": sa.text("flagged IS true")}


def upgrade() -> None:
    op.create_index(
        "ix_meter_readings_flagged_read_on", "meter_readings", ["read_on"], unique=False, **FLAGGED_ONLY
    )
    op.create_index(
        "ix_dip_readings_flagged_read_on", "dip_readings", ["read_on"], unique=False, **FLAGGED_ONLY
    )
    op.create_index("ix_stock_lots_must_return_by", "stock_lots", ["must_return_by"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_stock_lots_must_return_by", table_name="stock_lots")
    op.drop_index("ix_dip_readings_flagged_read_on", table_name="dip_readings")
    op.drop_index("ix_meter_readings_flagged_read_on", table_name="meter_readings")
