"""Each meter interval is counted once, and a generator's run-hour meter is read once a moment

Two readings of one meter recorded at the same moment both counted from the same last
reading, and the waiver line was charged for that interval twice. The services now lock the
meter first; these indexes refuse it whatever the code above them does. Voided readings are
left out: a voided reading's interval is counted again by the reading that replaces it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STANDING = {
    "sqlite_where": sa.text("voided_at IS NULL"),
    "postgresql_where": sa.text("voided_at IS NULL"),
}


def upgrade() -> None:
    op.create_index(
        "uq_meter_readings_meter_id_previous_at",
        "meter_readings",
        ["meter_id", "previous_at"],
        unique=True,
        **STANDING,
    )
    op.create_index(
        "uq_generator_readings_generator_id_read_at",
        "generator_readings",
        ["generator_id", "read_at"],
        unique=True,
        **STANDING,
    )


def downgrade() -> None:
    op.drop_index("uq_generator_readings_generator_id_read_at", table_name="generator_readings")
    op.drop_index("uq_meter_readings_meter_id_previous_at", table_name="meter_readings")
