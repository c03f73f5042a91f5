"""Pages "as of" a past day show the books as they stood at its end: what was drawn after it is
not counted, a waiver has the status it had then, stock holds what had arrived and not yet
left. A day before the office existed, in the future or not a date is refused with a message."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from office.db import utcnow
from office.fuel import services as fuel
from office.i18n import office_date
from office.stock import queries as stock
from office.waivers import services as waivers
from office.waivers.models import WaiverStatus
from office.waivers.queries import status_on, used_as_of
from tests.conftest import log_in
from tests.factories import NOW, draw, make_waiver
from tests.reviews.arrange import OCT, carry_back, issue, tank
from tests.reviews.pages import read

HALLOWEEN = "2018-10-31"


def today() -> date:
    return office_date(utcnow())


@pytest.fixture
def line(session, diesel):
    """10,000 L granted; 6,000 L drawn on 5 October and 3,000 L on 5 November 2018."""
    line = make_waiver(session, [(diesel, "L", "10000", "10000")], reference="MOU-ASOF").lines[0]
    draw(session, diesel, "6000", line=line, on=OCT(5))
    draw(session, diesel, "3000", line=line, on=date(2018, 11, 5))
    return line


def line_row(page) -> list[str]:
    return next(row for row in page.rows if row and row[0] == "1")


# --- the dashboard ------------------------------------------------------------------------


def test_the_dashboard_as_of_a_day_counts_only_what_was_drawn_by_then(client, reviewer, line):
    page = read(log_in(client, reviewer).get(f"/reviews/?as_of={HALLOWEEN}"))
    assert page.testids["as-of"] == "As the books stood at the end of 2018-10-31."
    (row,) = page.table("waiver-lines")
    assert row[:6] == ["MOU-ASOF · 1", "Diesel", "10,000 L", "6,000", "4,000", "60%"]

    later = read(client.get("/reviews/?as_of=2018-11-30"))
    assert later.table("waiver-lines")[0][3:6] == ["9,000", "1,000", "90%"]


def test_the_dashboard_today_leaves_out_waivers_that_have_expired(client, reviewer, line):
    page = read(log_in(client, reviewer).get("/reviews/"))
    assert "as-of" not in page.testids
    assert page.table("waiver-lines") == [["No waiver was granted and valid on this day."]]


def test_the_dashboard_as_of_a_day_shows_the_waivers_granted_that_day(
    client, session, reviewer, line
):
    waivers.change_waiver_status(
        session,
        line.waiver,
        WaiverStatus.REVOKED,
        effective_on=date(2018, 11, 10),
        actor=None,
        now=NOW,
    )
    session.commit()
    log_in(client, reviewer)
    assert len(read(client.get("/reviews/?as_of=2018-11-09")).table("waiver-lines")) == 1
    assert read(client.get("/reviews/?as_of=2018-11-10")).table("waiver-lines") == [
        ["No waiver was granted and valid on this day."]
    ]


# --- the waiver pages ---------------------------------------------------------------------


def test_a_waiver_as_of_a_day_shows_its_use_and_status_then(client, session, reviewer, line):
    waivers.change_waiver_status(
        session,
        line.waiver,
        WaiverStatus.REVOKED,
        effective_on=date(2018, 11, 10),
        actor=None,
        now=NOW,
    )
    session.commit()
    log_in(client, reviewer)
    url = f"/waivers/{line.waiver_id}"

    now = read(client.get(url))
    assert line_row(now)[2:6] == ["10,000 L", "10,000 L", "9,000 L", "1,000 L"]
    assert now.testids["waiver-status"] == "revoked"

    then = read(client.get(f"{url}?as_of={HALLOWEEN}"))
    assert then.testids["as-of"] == "As the books stood at the end of 2018-10-31."
    assert line_row(then)[2:6] == ["10,000 L", "10,000 L", "6,000 L", "4,000 L"]
    assert then.testids["waiver-status"] == "granted"
    assert "6,000 L" in then.text and "3,000 L" not in then.text  # the entries of the day

    listing = read(client.get(f"/waivers/?as_of={HALLOWEEN}"))
    assert line_row(listing)[4:6] == ["6,000 L", "4,000 L"]


def test_used_as_of_counts_the_same_whichever_way_it_adds_up(session, line):
    # Near today it subtracts the later entries from the kept total; far from it, it adds up
    # the earlier ones.
    for today_ in (date(2018, 11, 10), date(2026, 1, 1)):
        assert used_as_of(session, [line], date(2018, 10, 31), today=today_) == {
            line.id: Decimal(6000)
        }
        assert used_as_of(session, [line], date(2018, 10, 4), today=today_) == {line.id: Decimal(0)}
        assert used_as_of(session, [line], date(2018, 11, 5), today=today_) == {
            line.id: Decimal(9000)
        }
    assert used_as_of(session, [], date(2018, 10, 31), today=date(2018, 11, 10)) == {}


def test_status_on_follows_the_waivers_history(session, line):
    waiver = line.waiver
    waivers.change_waiver_status(
        session, waiver, WaiverStatus.EXPIRED, effective_on=date(2018, 11, 10), actor=None, now=NOW
    )
    session.commit()
    assert status_on(waiver, date(2017, 12, 31)) is None
    assert status_on(waiver, date(2018, 1, 1)) is WaiverStatus.GRANTED
    assert status_on(waiver, date(2018, 11, 9)) is WaiverStatus.GRANTED
    assert status_on(waiver, date(2018, 11, 10)) is WaiverStatus.EXPIRED


# --- stock as of a day --------------------------------------------------------------------


def test_stock_as_of_a_day_holds_what_had_arrived_and_not_yet_left(session, diesel, line):
    store = tank(session, diesel, opening="500")  # opened 1 September
    fuel.receive_fuel(
        session,
        store,
        quantity="1000",
        unit="L",
        received_on=OCT(10),
        waiver_line=line,
        actor=None,
        now=NOW,
    )
    session.commit()
    issue(session, store, 300, OCT(12))  # the opening lot, first in
    voided = issue(session, store, 50, OCT(13))
    fuel.void_movement(session, voided, reason="Entered twice", actor=None, now=NOW)
    fuel.return_fuel(session, store, quantity="100", returned_on=OCT(20), actor=None, now=NOW)
    session.commit()

    def totals(day: date) -> tuple:
        (t,) = stock.totals_as_of(session, day)
        return t.lots, t.received, t.used, t.returned, t.remaining

    assert stock.totals_as_of(session, date(2018, 8, 31)) == []
    assert totals(date(2018, 9, 30)) == (1, 500, 0, 0, 500)
    assert totals(OCT(11)) == (2, 1500, 0, 0, 1500)
    assert totals(OCT(13)) == (2, 1500, 300, 0, 1200)  # the voided issue is not counted
    assert totals(OCT(31)) == (2, 1500, 300, 100, 1100)

    lots = list(session.scalars(stock.lots_received_by(OCT(11))))
    by_lot = {a.lot.quantity: a for a in stock.lots_as_of(session, lots, OCT(12))}
    assert by_lot[Decimal(500)].remaining == 200 and by_lot[Decimal(1000)].remaining == 1000
    by_lot = {a.lot.quantity: a for a in stock.lots_as_of(session, lots, OCT(31))}
    assert (by_lot[Decimal(500)].used, by_lot[Decimal(500)].returned) == (300, 100)
    assert by_lot[Decimal(1000)].remaining == 1000
    assert len(list(session.scalars(stock.lots_received_by(OCT(9))))) == 1


def test_a_voided_receipt_is_not_stock_on_any_day(session, diesel, line):
    store = tank(session, diesel)
    receipt = fuel.receive_fuel(
        session,
        store,
        quantity="1000",
        unit="L",
        received_on=OCT(10),
        waiver_line=line,
        actor=None,
        now=NOW,
    )
    fuel.void_movement(session, receipt, reason="Wrong tank", actor=None, now=NOW)
    session.commit()
    assert stock.totals_as_of(session, OCT(11)) == []
    assert list(session.scalars(stock.lots_received_by(OCT(11)))) == []


def test_the_stock_page_as_of_a_day(client, session, reviewer, flagged):
    carry_back(session, flagged.overdue, OCT(25))
    log_in(client, reviewer)

    def welders(query: str = "") -> list[str]:
        page = read(client.get(f"/deliveries/stock{query}"))
        return next(row for row in page.rows if row and row[0].startswith("Welder"))[1:]

    # Two lots of two welders came on 1 October; one lot went back south on 25 October.
    assert welders() == ["2", "4 pieces", "0", "2", "2"]
    assert welders("?as_of=2018-10-24") == ["2", "4 pieces", "0", "0", "4"]
    page = read(client.get("/deliveries/stock?as_of=2018-09-30"))
    assert page.testids["as-of"] == "As the books stood at the end of 2018-09-30."
    assert not [row for row in page.rows if row and row[0].startswith("Welder")]

    lots = read(
        client.get(f"/deliveries/stock?resource={flagged.overdue.resource_id}&as_of=2018-10-24")
    )
    overdue = next(row for row in lots.rows if row and row[0].startswith(f"#{flagged.overdue.id}"))
    assert overdue[-4:] == ["2", "0", "0", "2"]  # received, used, returned, remaining


# --- days that are refused ----------------------------------------------------------------

PAGES = ["/reviews/", "/waivers/", "/waivers/{waiver}", "/deliveries/stock", "/operations/tanks"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("day", ["2018-10-1", "yesterday", "2018-13-01", "2018-02-30", "x" * 300])
def test_a_day_that_is_not_a_date_is_refused(client, reviewer, line, page, day):
    response = log_in(client, reviewer).get(
        page.format(waiver=line.waiver_id), query_string={"as_of": day}
    )
    assert response.status_code == 422
    assert "Give the day as YYYY-MM-DD, for example 2018-10-31." in read(response).text


@pytest.mark.parametrize("page", PAGES)
def test_a_day_before_the_office_or_in_the_future_is_refused(client, reviewer, line, page):
    log_in(client, reviewer)
    url = page.format(waiver=line.waiver_id)
    message = (
        "The office's records run from 2018-04-27 to today "
        f"({today().isoformat()}); choose a day in between."
    )
    for day in ("2018-04-26", "2000-01-01", (today() + timedelta(days=1)).isoformat()):
        response = client.get(url, query_string={"as_of": day})
        assert response.status_code == 422, day
        assert message in read(response).text
    for day in ("2018-04-27", today().isoformat()):
        assert client.get(url, query_string={"as_of": day}).status_code == 200, day
