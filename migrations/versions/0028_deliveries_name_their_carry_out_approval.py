"""A north-bound delivery names its carry-out approval: one of the ministry's approvals, whose
lines its manifest draws on under the ministry's regime, not a number typed as text

The approval was a free-text number and a type (individual or blanket), so the ledger could
not tell which ministry authorisation a crossing drew on. `deliveries.approval_waiver_id`
now names it; its type is its authority's.

Carried over: a north-bound delivery whose number is exactly the reference of a ministry
approval (authority rok_mou_individual or rok_mou_blanket) names that approval, and its text
and type are cleared (they are the approval's). A number that matches no ministry approval
(a UN exemption's reference included: it is not a carry-out approval) stays as it was typed,
with its type; the page shows it as recorded as text before, and the delivery must name an
approval before it is approved, or crosses uncovered under the ministry's regime if it was
approved already. Nothing is guessed from a near match: a wrong approval would draw on
another approval's caps.

South-bound deliveries keep their text: the ministry approves carry-in too, but no regime
screens goods coming south and no authorisation is drawn on, so the carry-in approval stays
a number and a type, as typed. `approval_type` becomes NULL where there is no text (a
north-bound delivery names an approval, or nothing yet).

Downgrade writes each named approval's reference and type back as text.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The authorities of the ministry's carry-out approvals, and the type each one is.
APPROVAL_TYPES = {"rok_mou_individual": "individual", "rok_mou_blanket": "blanket"}


def _approval_type() -> sa.Enum:
    return sa.Enum(
        "individual",
        "blanket",
        name="approval_type",
        native_enum=False,
        create_constraint=True,
        length=10,
    )


deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.Integer()),
    sa.column("direction", sa.String()),
    sa.column("approval_number", sa.String()),
    sa.column("approval_type", sa.String()),
    sa.column("approval_waiver_id", sa.Integer()),
)
waivers = sa.table(
    "waivers",
    sa.column("id", sa.Integer()),
    sa.column("reference", sa.String()),
    sa.column("authority", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("approval_waiver_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_deliveries_approval_waiver_id_waivers", "waivers", ["approval_waiver_id"], ["id"]
        )
        batch.create_index("ix_deliveries_approval_waiver_id", ["approval_waiver_id"])
        batch.alter_column(
            "approval_type", existing_type=_approval_type(), existing_nullable=False, nullable=True
        )
    bind = op.get_bind()
    approvals = dict(
        bind.execute(
            sa.select(waivers.c.reference, waivers.c.id).where(
                waivers.c.authority.in_(list(APPROVAL_TYPES))
            )
        ).all()
    )
    typed = bind.execute(
        sa.select(deliveries.c.id, deliveries.c.approval_number).where(
            deliveries.c.direction == "north", deliveries.c.approval_number != ""
        )
    ).all()
    for delivery_id, number in typed:
        if number in approvals:  # exactly: the same characters, case and all
            bind.execute(
                sa.update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(approval_waiver_id=approvals[number], approval_number="", approval_type=None)
            )
    bind.execute(
        sa.update(deliveries)
        .where(deliveries.c.direction == "north", deliveries.c.approval_number == "")
        .values(approval_type=None)
    )


def downgrade() -> None:
    bind = op.get_bind()
    named = bind.execute(
        sa.select(deliveries.c.id, waivers.c.reference, waivers.c.authority).join(
            waivers, waivers.c.id == deliveries.c.approval_waiver_id
        )
    ).all()
    for delivery_id, reference, authority in named:
        bind.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                approval_number=reference[:60],
                approval_type=APPROVAL_TYPES.get(authority, "individual"),
            )
        )
    bind.execute(
        sa.update(deliveries)
        .where(deliveries.c.approval_type.is_(None))
        .values(approval_type="individual")
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column(
            "approval_type", existing_type=_approval_type(), existing_nullable=True, nullable=False
        )
        batch.drop_index("ix_deliveries_approval_waiver_id")
        batch.drop_constraint("fk_deliveries_approval_waiver_id_waivers", type_="foreignkey")
        batch.drop_column("approval_waiver_id")
