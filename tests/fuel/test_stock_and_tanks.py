"""Tanks hold lots drawn first in, first out; every draw keeps its lot's waiver coverage; book
stock = opening + receipts - issues - returns; no issue past the book stock, no overfilling."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.errors import ConflictError, InvalidInput
from office.fuel import services
from office.stock import services as stock
from office.stock.models import LotDraw, StockLot
from office.waivers import ledger
from office.waivers import services as waivers
from office.waivers.models import Classification, DrawdownEntry, Source, WaiverStatus
from tests.factories import NOW, audit_events, make_resource, make_user, make_waiver, recorded

D = date
FIRST, SECOND = date(2018, 10, 1), date(2018, 10, 2)


@pytest.fixture
def diesel(session):
    return make_resource(session)


@pytest.fixture
def line(session, diesel):
    return make_waiver(session, [(diesel, "L", "100000", "100000")]).lines[0]


@pytest.fixture
def tank(session, diesel):
    tank = services.create_tank(
        session,
        name="Boiler tank",
        product=diesel,
        capacity="10000",
        tolerance=None,
        location="",
        opening="500",
        opened_on=D(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return tank


def receive(session, tank, line, litres, day=FIRST):
    return services.receive_fuel(
        session,
        tank,
        quantity=str(litres),
        unit="L",
        received_on=day,
        waiver_line=line,
        parties="Tanker",
        actor=None,
        now=NOW,
    )


def issue(session, tank, litres, day=SECOND):
    return services.issue_fuel(
        session, tank, quantity=str(litres), issued_on=day, use="boiler", actor=None, now=NOW
    )


def test_the_tolerance_defaults_to_one_percent_of_the_capacity(tank):
    assert tank.tolerance == Decimal(100)


def test_a_new_tank_is_on_the_audit_trail(session, diesel):
    admin = make_user(session)
    opened_at = NOW - timedelta(days=3)
    tank = services.create_tank(
        session,
        name="Generator tank",
        product=diesel,
        capacity="20000",
        tolerance="150",
        location="Basement",
        opening="2500",
        opened_on=FIRST,
        actor=admin,
        now=opened_at,
    )
    (event,) = audit_events(session, "store.created")
    assert recorded(event) == (admin.id, opened_at, "Store", str(tank.id))
    assert event.detail["name"] == "Generator tank"
    assert (event.detail["kind"], event.detail["resource"]) == ("tank", "diesel")
    assert Decimal(event.detail["capacity"]) == 20000
    assert Decimal(event.detail["opening"]) == 2500
    assert event.detail["opened_on"] == "2018-10-01"


def test_a_receipt_is_drawn_on_the_ledger_and_becomes_a_lot(session, tank, line):
    movement = receive(session, tank, line, 4000)
    lot = session.get(StockLot, movement.lot_id)
    entry = session.get(DrawdownEntry, lot.drawdown_entry_id)
    assert (entry.source, entry.base_quantity, entry.waiver_line_id) == (
        Source.FUEL_RECEIPT,
        Decimal(4000),
        line.id,
    )
    assert lot.waiver_line_id == line.id and lot.remaining == Decimal(4000)
    assert stock.book_stock(session, tank) == Decimal(4500)
    assert line.used_base == Decimal(4000)


def test_a_receipt_in_tonnes_is_converted_to_the_tanks_litres(session, tank, line):
    movement = services.receive_fuel(
        session,
        tank,
        quantity="2",
        unit="t",
        received_on=D(2018, 10, 1),
        waiver_line=line,
        actor=None,
        now=NOW,
    )
    assert movement.quantity == Decimal("2298.956285")  # 2 t x 7.23 bbl/t x 158.987 L/bbl


def test_a_receipt_that_would_overfill_the_tank_records_nothing(session, tank, line):
    receive(session, tank, line, 9000)
    with pytest.raises(ConflictError, match="would overfill it") as refused:
        receive(session, tank, line, 600)
    assert refused.value.field == "quantity"
    assert session.scalar(select(func.count()).select_from(DrawdownEntry)) == 1
    assert stock.book_stock(session, tank) == Decimal(9500)


def test_issues_draw_the_oldest_lots_first_and_keep_each_lots_coverage(session, tank, line):
    receive(session, tank, line, 1000, D(2018, 10, 1))
    movement = issue(session, tank, 1200)
    parts = session.scalars(
        select(LotDraw).where(LotDraw.movement_id == movement.id).order_by(LotDraw.id)
    ).all()
    assert [(p.quantity, p.waiver_line_id) for p in parts] == [
        (Decimal(500), None),
        (Decimal(700), line.id),
    ]  # the opening stock went first
    assert [p.classification for p in parts] == [Classification.UNCOVERED, Classification.COVERED]
    assert [p.waiver_status for p in parts] == [None, WaiverStatus.GRANTED]
    assert not any(p.flagged for p in parts)
    assert stock.book_stock(session, tank) == Decimal(300)


@pytest.mark.parametrize("status", [WaiverStatus.EXPIRED, WaiverStatus.REVOKED])
def test_an_issue_from_a_lot_whose_waiver_has_since_lapsed_is_flagged(session, tank, line, status):
    issue(session, tank, 500, D(2018, 10, 1))  # the opening stock is gone
    receive(session, tank, line, 1000)
    waivers.change_waiver_status(
        session, line.waiver, status, effective_on=D(2018, 10, 5), actor=None, now=NOW
    )
    movement = issue(session, tank, 300, D(2018, 10, 6))
    (part,) = movement.draws
    assert part.flagged
    assert part.waiver_status is status
    assert part.classification in (Classification.OUTSIDE_VALIDITY, Classification.DENIED)
    assert stock.fifo_flagged(movement)


def test_an_issue_past_the_book_stock_is_refused_and_changes_nothing(session, tank):
    with pytest.raises(
        ConflictError, match=r"Boiler tank has 500 L of Diesel; this issue asks for 501 L\."
    ):
        issue(session, tank, 501)
    issue(session, tank, 500)
    with pytest.raises(ConflictError, match="has 0 L"):
        issue(session, tank, 1)  # an empty tank
    assert stock.book_stock(session, tank) == 0


def test_a_return_south_comes_out_of_the_lots_and_does_not_free_the_cap(session, tank, line):
    issue(session, tank, 500, D(2018, 10, 1))
    receive(session, tank, line, 2000)
    services.return_fuel(
        session,
        tank,
        quantity="800",
        returned_on=D(2018, 10, 3),
        parties="Tanker",
        actor=None,
        now=NOW,
    )
    lot = session.scalars(select(StockLot).where(StockLot.waiver_line_id == line.id)).one()
    assert (lot.returned, lot.remaining) == (Decimal(800), Decimal(1200))
    assert line.used_base == Decimal(2000)


def test_book_stock_is_opening_plus_receipts_minus_issues_and_returns(session, tank, line):
    receive(session, tank, line, 3000)
    issue(session, tank, 700)
    services.return_fuel(
        session, tank, quantity="400", returned_on=D(2018, 10, 3), actor=None, now=NOW
    )
    assert stock.book_stock(session, tank) == Decimal(500 + 3000 - 700 - 400)


def test_book_stock_on_a_day_counts_what_was_received_and_drawn_by_its_end(session, tank, line):
    receive(session, tank, line, 3000, D(2018, 10, 1))
    issue(session, tank, 700, D(2018, 10, 2))
    mistaken = issue(session, tank, 100, D(2018, 10, 3))
    services.return_fuel(
        session, tank, quantity="400", returned_on=D(2018, 10, 3), actor=None, now=NOW
    )
    wrong_tank = receive(session, tank, line, 1000, D(2018, 10, 5))
    for movement in (mistaken, wrong_tank):
        services.void_movement(session, movement, reason="Entered wrongly", actor=None, now=NOW)

    on = {day: stock.book_stock_on(session, tank, D(2018, *day)) for day in ((8, 31), (9, 30))}
    on |= {day: stock.book_stock_on(session, tank, D(2018, 10, day)) for day in range(1, 7)}

    assert on == {
        (8, 31): 0,  # before the tank opened with its 500 L
        (9, 30): 500,
        1: 3500,
        2: 2800,
        3: 2400,  # the voided issue is left out
        4: 2400,
        5: 2400,  # and so is the voided receipt
        6: 2400,
    }
    assert stock.book_stock_on(session, tank, D(2018, 12, 31)) == stock.book_stock(session, tank)
    other = make_resource(session, "gasoline", hs_code="2710.12", barrels_per_tonne="8.50")
    assert stock.book_stock_on(session, tank, D(2018, 10, 6), other) == 0


def test_voiding_an_issue_puts_the_litres_back_into_their_lots(session, tank, line):
    movement = issue(session, tank, 300)
    services.void_movement(session, movement, reason="Entered twice", actor=None, now=NOW)
    assert stock.book_stock(session, tank) == Decimal(500)
    with pytest.raises(ConflictError, match="already voided"):
        services.void_movement(session, movement, reason="again", actor=None, now=NOW)


def test_voiding_a_receipt_reverses_its_ledger_entry(session, tank, line):
    movement = receive(session, tank, line, 2000)
    services.void_movement(session, movement, reason="Wrong tank", actor=None, now=NOW)
    assert line.used_base == 0
    assert stock.book_stock(session, tank) == Decimal(500)
    assert ledger.verify_chain(session)[1] is None


def test_a_receipt_already_drawn_from_cannot_be_voided(session, tank, line):
    issue(session, tank, 500, D(2018, 10, 1))
    movement = receive(session, tank, line, 2000)
    issue(session, tank, 10)
    with pytest.raises(ConflictError, match="already used or returned"):
        services.void_movement(session, movement, reason="Wrong", actor=None, now=NOW)


def test_a_dip_beyond_the_tolerance_is_flagged_and_one_above_capacity_refused(session, tank):
    within = services.record_dip(session, tank, measured="450", read_at=NOW, actor=None, now=NOW)
    beyond = services.record_dip(session, tank, measured="399", read_at=NOW, actor=None, now=NOW)
    assert (within.variance, within.flagged) == (Decimal(-50), False)
    assert (beyond.variance, beyond.flagged) == (Decimal(-101), True)
    with pytest.raises(InvalidInput, match="more than Boiler tank holds"):
        services.record_dip(session, tank, measured="10001", read_at=NOW, actor=None, now=NOW)


def test_a_tank_holds_one_product(session, tank, line):
    petrol = make_resource(session, "gasoline", hs_code="2710.12", barrels_per_tonne="8.50")
    petrol_line = make_waiver(session, [(petrol, "L", "1000", "1000")]).lines[0]
    with pytest.raises(InvalidInput):
        stock.receive(
            session,
            tank,
            resource=petrol,
            quantity=Decimal(10),
            received_on=D(2018, 10, 1),
            source="fuel_receipt",
            waiver_line=petrol_line,
            drawdown_entry_id=None,
            actor=None,
            now=NOW,
        )
