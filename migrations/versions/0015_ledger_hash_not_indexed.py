"""A ledger entry's hash is no longer unique-indexed: nothing looks an entry up by its hash,
and two entries cannot share one anyway (each hash covers the entry's unique sequence number)

Each hash falls at a random place in that index, so every drawdown wrote a page of it that
no other drawdown had touched, under the ledger's one write lock: about half of what SQLite
checkpoints from its WAL into the database.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""

import re
from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "drawdown_entries"
CONSTRAINT = "uq_drawdown_entries_hash"
# As SQLAlchemy renders the constraint in CREATE TABLE, and SQLite keeps that text.
CLAUSE = re.compile(rf",\s*CONSTRAINT {CONSTRAINT} UNIQUE \(hash\)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(_without_constraint)
    else:
        op.drop_constraint(CONSTRAINT, TABLE, type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(_with_constraint)
    else:
        op.create_unique_constraint(CONSTRAINT, TABLE, ["hash"])


def _without_constraint(create_table: str) -> str:
    edited, found = CLAUSE.subn("", create_table)
    if found != 1:
        raise RuntimeError(f"expected {CONSTRAINT} once in {TABLE}'s definition: {create_table}")
    return edited


def _with_constraint(create_table: str) -> str:
    body = create_table.rstrip()
    if CLAUSE.search(body) or not body.endswith(")"):
        raise RuntimeError(f"cannot add {CONSTRAINT} to {TABLE}'s definition: {create_table}")
    return f"{body[:-1].rstrip()}, \n\tCONSTRAINT {CONSTRAINT} UNIQUE (hash)\n)"


def _rebuild_on_sqlite(edit: Callable[[str], str]) -> None:
    """Copy the table into a new one defined by `edit` of its definition, as SQLite's own
    instructions for a change ALTER TABLE cannot make go. Not Alembic's batch mode: the copy
    it makes would lose the triggers that keep the ledger append-only. Its indexes and
    triggers are created again from their own definitions, unchanged; env.py has turned
    foreign keys off for the copy and checks them before this step commits."""
    bind = op.get_bind()
    schema = bind.exec_driver_sql(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL",
        (TABLE,),
    ).fetchall()
    (create_table,) = [sql for kind, sql in schema if kind == "table"]
    copy = f"_{TABLE}_new"
    definition, renamed = re.subn(
        rf"^CREATE TABLE \"?{TABLE}\"?", f"CREATE TABLE {copy}", edit(create_table)
    )
    if renamed != 1:
        raise RuntimeError(f"unexpected definition of {TABLE}: {create_table}")
    statements = [
        definition,
        f"INSERT INTO {copy} SELECT * FROM {TABLE}",
        f"DROP TABLE {TABLE}",
        f"ALTER TABLE {copy} RENAME TO {TABLE}",
        *(sql for kind, sql in schema if kind in ("index", "trigger")),
    ]
    for statement in statements:  # as written: no bind parameters to look for
        bind.exec_driver_sql(statement)
