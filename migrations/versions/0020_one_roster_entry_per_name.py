"""Nobody twice on a side's roster: one person per side, Korean name and Latin name

The same roster file imported twice at once added everyone twice. The service now locks the
sides first; this index refuses a second entry whatever the code above it does. It replaces
the plain index on side and Korean name, whose lookups it serves as well.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_staff_members_side_name_ko_name_latin",
        "staff_members",
        ["side", "name_ko", "name_latin"],
        unique=True,
    )
    op.drop_index("ix_staff_members_side_name_ko", table_name="staff_members")


def downgrade() -> None:
    op.create_index("ix_staff_members_side_name_ko", "staff_members", ["side", "name_ko"])
    op.drop_index("uq_staff_members_side_name_ko_name_latin", table_name="staff_members")
