"""A void is final: the database refuses to void a movement or a reading twice

Ten requests voiding one fuel issue at once each put its litres back into the lots: the tank
ended with 1,100 L after a 100 L issue from 1,000 L. The services now lock the record and
read it again first; these triggers refuse a second void whatever the code above them does.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("stock_movements", "meter_readings", "generator_readings", "dip_readings")
MESSAGE = "already voided: a void is final"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION void_is_final() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '% % {MESSAGE}', TG_TABLE_NAME, OLD.id; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_void_is_final BEFORE UPDATE OF voided_at "
                f"ON {table} FOR EACH ROW WHEN (OLD.voided_at IS NOT NULL) "
                "EXECUTE FUNCTION void_is_final()"
            )
    else:
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_void_is_final BEFORE UPDATE OF voided_at ON {table} "
                f"WHEN OLD.voided_at IS NOT NULL "
                f"BEGIN SELECT RAISE(ABORT, '{table} {MESSAGE}'); END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_void_is_final" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION void_is_final()")
