"""Resources record the kind of petroleum product they are, so a product without its own
barrels-per-tonne factor converts by its kind's UN Statistics Division factor

A petroleum product created without a factor (the API never asked for one) could not be
converted between litres and tonnes, and the UN petroleum report of its period answered 422
for everyone. Each resource now records its kind (gas/diesel oil, motor gasoline, kerosene,
LPG, residual fuel oil, crude oil) or none; existing resources take the kind their HS code
names, as new ones do when none is chosen. Their own factors are kept and still win.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "gas_diesel_oil",
    "motor_gasoline",
    "kerosene",
    "lpg",
    "residual_fuel_oil",
    "crude_oil",
)
# The HS prefixes that name a kind (`office.waivers.petroleum`), as they were at this revision.
KIND_BY_HS = (
    ("271112", "lpg"),
    ("271113", "lpg"),
    ("271119", "lpg"),
    ("271012", "motor_gasoline"),
    ("271019", "gas_diesel_oil"),
    ("2709", "crude_oil"),
)


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(
            sa.Column(
                "petroleum_kind",
                sa.Enum(
                    *KINDS,
                    name="petroleum_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=max(len(kind) for kind in KINDS),
                ),
                nullable=True,
            )
        )
    resources = sa.table(
        "resources", sa.column("hs_code", sa.String), sa.column("petroleum_kind", sa.String)
    )
    for prefix, kind in KIND_BY_HS:
        op.execute(
            resources.update()
            .where(resources.c.hs_code.startswith(prefix, autoescape=True))
            .values(petroleum_kind=kind)
        )


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.drop_constraint(op.f("ck_resources_petroleum_kind"), type_="check")
        batch.drop_column("petroleum_kind")
