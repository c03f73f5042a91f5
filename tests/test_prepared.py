"""`Prepared` runs the ledger's statements on the driver's cursor: what goes in and comes out
must be what SQLAlchemy itself would write and read, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Connection, bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError, MultipleResultsFound, NoResultFound

from office.db import Prepared
from office.waivers.models import Control, Resource
from office.waivers.units import Unit

RESOURCES = Resource.__table__
COLUMNS = ("code", "name_ko", "name_en", "hs_code", "unit", "control", "barrels_per_tonne")
INSERT = Prepared(
    RESOURCES.insert()
    .values({name: bindparam(name) for name in COLUMNS})
    .returning(RESOURCES.c.id, RESOURCES.c.barrels_per_tonne)
)
BY_CODE = Prepared(
    select(
        RESOURCES.c.code, RESOURCES.c.unit, RESOURCES.c.control, RESOURCES.c.barrels_per_tonne
    ).where(RESOURCES.c.code == bindparam("code"))
)
RENAME = Prepared(
    RESOURCES.update()
    .where(RESOURCES.c.code == bindparam("code"))
    .values(name_en=bindparam("name"))
)


def diesel(code: str = "diesel-x") -> dict[str, object]:
    return {
        "code": code,
        "name_ko": "경유",
        "name_en": "Diesel",
        "hs_code": "271019",
        "unit": Unit.L,
        "control": Control.CAPPED,
        "barrels_per_tonne": Decimal("7.23"),
    }


def test_values_pass_through_the_column_types_both_ways(connection: Connection) -> None:
    resource_id, factor = INSERT.one(connection, diesel())

    assert factor == Decimal("7.23")  # RETURNING is read through the column's type too
    row = BY_CODE.one(connection, {"code": "diesel-x"})
    assert row == ("diesel-x", Unit.L, Control.CAPPED, Decimal("7.23"))
    assert row.unit is Unit.L and row.barrels_per_tonne == Decimal("7.23")
    # SQLAlchemy reads back exactly what was written.
    stored = connection.execute(select(Resource.__table__).where(RESOURCES.c.id == resource_id))
    assert stored.one()._mapping["barrels_per_tonne"] == Decimal("7.23")
    raw = connection.exec_driver_sql(
        "SELECT unit, control FROM resources WHERE code = 'diesel-x'"
    ).one()
    assert tuple(raw) == ("L", "capped")  # the enums' values, as SQLAlchemy stores them


def test_plain_dml_changes_rows_and_returns_none(connection: Connection) -> None:
    INSERT.one(connection, diesel())

    assert RENAME.rows(connection, {"code": "diesel-x", "name": "Gas oil"}) == []
    name = connection.scalar(select(RESOURCES.c.name_en).where(RESOURCES.c.code == "diesel-x"))
    assert name == "Gas oil"


def test_it_runs_in_the_connections_transaction(connection: Connection) -> None:
    savepoint = connection.begin_nested()
    INSERT.one(connection, diesel())
    savepoint.rollback()

    assert BY_CODE.first(connection, {"code": "diesel-x"}) is None


def test_values_the_statement_carries_are_sent_without_being_given(
    connection: Connection,
) -> None:
    INSERT.one(connection, diesel("a-1"))
    INSERT.one(connection, diesel("a-2"))
    count = Prepared(select(func.count().label("n")).where(RESOURCES.c.code.like("a-%")))
    flag = Prepared(select(exists().where(RESOURCES.c.code == "a-1").label("found")))

    assert count.one(connection).n == 2
    assert flag.one(connection).found is True


def test_a_parameter_name_the_sql_must_escape_is_sent_as_written(connection: Connection) -> None:
    INSERT.one(connection, diesel("c-1"))
    by_name = Prepared(select(RESOURCES.c.code).where(RESOURCES.c.code == bindparam("the.code")))

    assert by_name.one(connection, {"the.code": "c-1"}).code == "c-1"


def test_one_and_first_say_how_many_rows_there_were(connection: Connection) -> None:
    INSERT.one(connection, diesel("b-1"))
    INSERT.one(connection, diesel("b-2"))
    by_name = Prepared(select(RESOURCES.c.code).where(RESOURCES.c.name_en == bindparam("name")))

    with pytest.raises(NoResultFound):
        by_name.one(connection, {"name": "Petrol"})
    with pytest.raises(MultipleResultsFound):
        by_name.one(connection, {"name": "Diesel"})
    assert by_name.first(connection, {"name": "Petrol"}) is None
    assert sorted(row.code for row in by_name.rows(connection, {"name": "Diesel"})) == [
        "b-1",
        "b-2",
    ]


def test_driver_errors_come_out_as_sqlalchemys(connection: Connection) -> None:
    INSERT.one(connection, diesel())
    savepoint = connection.begin_nested()

    with pytest.raises(IntegrityError) as caught:
        INSERT.one(connection, diesel())  # the code is unique

    savepoint.rollback()
    assert "INSERT INTO resources" in str(caught.value)
    assert BY_CODE.one(connection, {"code": "diesel-x"}).code == "diesel-x"


def test_a_missing_value_is_refused_before_anything_runs(connection: Connection) -> None:
    values = diesel()
    del values["hs_code"]

    with pytest.raises(InvalidRequestError, match="'hs_code'"):
        INSERT.one(connection, values)
    assert BY_CODE.first(connection, {"code": "diesel-x"}) is None


def test_statements_it_cannot_run_as_written_are_refused(connection: Connection) -> None:
    unnamed = Prepared(select(func.count()).select_from(RESOURCES))
    expanding = Prepared(select(RESOURCES.c.id).where(RESOURCES.c.code.in_(["a", "b"])))

    with pytest.raises(ValueError, match="label every column"):
        unnamed.rows(connection)
    with pytest.raises(ValueError, match="IN"):
        expanding.rows(connection)
