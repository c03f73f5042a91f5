"""Deliveries as the services run them: a manifest checked line by line, a crossing drawn on
the ledger all or nothing, receipt into on-site lots, returns south and overdue equipment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.audit.models import AuditEvent
from office.errors import ConflictError, InvalidInput
from office.fuel import services as fuel
from office.repairs import services as repairs
from office.repairs.models import WorkStatus
from office.stock.models import LotSource, MovementKind, StockLot, StockMovement
from office.supplies import services
from office.supplies.models import DeliveryLine, DeliveryStatus
from office.waivers import ledger
from office.waivers import services as waivers
from office.waivers.models import (
    Classification,
    Control,
    DrawdownEntry,
    Purpose,
    Source,
    WaiverStatus,
)
from office.waivers.units import Unit
from tests.factories import NOW, audit_events, draw, make_resource, make_waiver, recorded
from tests.supplies.arrange import (
    CROSSED_ON,
    approved,
    count,
    crossed,
    draft,
    line,
    lots_of,
    received,
    returned,
    snapshot,
    work_order,
)

# --- the all-or-nothing crossing ----------------------------------------------------------


def test_a_crossing_whose_second_line_is_over_its_cap_is_refused_and_records_nothing(
    session, admin, steel, copper, heater, lines
):
    # The ledger and the stock are not empty: an earlier delivery crossed and was received.
    received(
        session,
        [line(steel, "3", lines["steel"]), line(copper, "1", lines["copper"])],
        reference="KLO-D-2018-01",
        actor=admin,
    )
    delivery = approved(
        session,
        [
            line(steel, "2", lines["steel"]),
            line(copper, "6", lines["copper"]),  # the copper line has 4 t left
            line(heater, "10", lines["heater"]),
        ],
        reference="KLO-D-2018-02",
    )
    before = snapshot(session)
    assert before["drawdown_entries"] and before["stock_lots"] and before["stock_movements"]

    with pytest.raises(services.CrossingRefused) as refused:
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    session.rollback()  # what every caller does with a refusal (the view, the demo)

    why = "Waiver MOU-2018-0611 line 2 has 4 t left; this drawdown asks for 6 t."
    assert refused.value.refusals == [(2, why)]
    assert f"Line 2: {why}" in str(refused.value)
    assert snapshot(session) == before
    assert delivery.status is DeliveryStatus.APPROVED and delivery.crossed_on is None
    assert [item.drawdown_entry_id for item in delivery.lines] == [None, None, None]
    assert [lines[name].used_base for name in ("steel", "copper", "heater")] == [3, 1, 0]
    assert ledger.verify_chain(session) == (2, None)
    assert ledger.check_usage(session) == []


def test_a_refused_crossing_lists_every_line_refused(session, admin, steel, copper, lines):
    delivery = approved(
        session,
        [
            line(steel, "2", lines["steel"]),
            line(copper, "6", lines["copper"]),
            line(steel, "1"),  # prohibited, no waiver line and no reason
        ],
    )
    with pytest.raises(services.CrossingRefused) as refused:
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    assert [n for n, _why in refused.value.refusals] == [2, 3]
    assert "choose the waiver line that covers it" in refused.value.refusals[1][1]


def test_the_ledger_goes_on_unbroken_after_a_refused_crossing(session, admin, steel, lines):
    refused = approved(
        session, [line(steel, "4", lines["steel"]), line(steel, "7", lines["steel"])]
    )
    with pytest.raises(services.CrossingRefused, match="has 6 t left; this drawdown asks for 7 t"):
        services.cross(session, refused, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    session.rollback()
    services.reject(session, refused, reason="Steel over the waiver", actor=admin, now=NOW)
    crossed(session, [line(steel, "10", lines["steel"])], actor=admin)  # the whole line is free
    assert lines["steel"].used_base == Decimal(10)
    assert ledger.verify_chain(session) == (1, None)


# --- a crossing that goes through ---------------------------------------------------------


def test_a_crossing_draws_every_line_on_the_ledger_as_from_the_delivery(
    session, admin, steel, heater, rice, lines
):
    delivery = approved(
        session,
        [
            line(steel, "2500", lines["steel"], unit="kg", description="H-beams 200x200"),
            line(heater, "4", lines["heater"], purpose="supplies"),
            line(rice, "200"),  # not controlled: no waiver line needed
        ],
        reference="KLO-D-2018-05",
    )
    services.cross(session, delivery, crossed_on=date(2018, 7, 20), actor=admin, now=NOW)
    session.commit()

    assert (delivery.status, delivery.crossed_on) == (DeliveryStatus.CROSSED, date(2018, 7, 20))
    entries = [session.get(DrawdownEntry, item.drawdown_entry_id) for item in delivery.lines]
    assert [(e.source, e.source_ref, e.occurred_on) for e in entries] == [
        (Source.DELIVERY, f"KLO-D-2018-05/{n}", date(2018, 7, 20)) for n in (1, 2, 3)
    ]
    assert [(e.quantity, e.unit, e.base_quantity, e.purpose) for e in entries] == [
        (Decimal(2500), Unit.KG, Decimal("2.5"), Purpose.REPAIR),
        (Decimal(4), Unit.PIECE, Decimal(4), Purpose.SUPPLIES),
        (Decimal(200), Unit.KG, Decimal(200), Purpose.REPAIR),
    ]
    assert [(e.waiver_line_id, e.waiver_status, e.classification, e.flagged) for e in entries] == [
        (lines["steel"].id, WaiverStatus.GRANTED, Classification.COVERED, False),
        (lines["heater"].id, WaiverStatus.GRANTED, Classification.COVERED, False),
        (None, None, Classification.NOT_REQUIRED, False),
    ]
    assert entries[0].note == "H-beams 200x200" and entries[0].recorded_by_id == admin.id
    assert (lines["steel"].used_base, lines["heater"].used_base) == (Decimal("2.5"), Decimal(4))
    assert ledger.verify_chain(session) == (3, None)


def test_a_crossed_entry_keeps_the_waiver_status_it_crossed_under(session, admin, steel, lines):
    delivery = crossed(session, [line(steel, "1", lines["steel"])], actor=admin)
    waivers.change_waiver_status(
        session,
        lines["steel"].waiver,
        WaiverStatus.REVOKED,
        effective_on=date(2018, 11, 1),
        actor=admin,
        now=NOW,
    )
    session.commit()
    entry = session.get(DrawdownEntry, delivery.lines[0].drawdown_entry_id)
    assert (entry.waiver_status, entry.classification) == (
        WaiverStatus.GRANTED,
        Classification.COVERED,
    )


def test_an_override_reason_lets_an_uncovered_line_cross_flagged_for_review(
    session, admin, steel, lines
):
    delivery = approved(
        session,
        [
            line(steel, "1", lines["steel"]),
            line(steel, "0.4", override_reason="Scaffold clamps; exemption filed 2018-07-02"),
            line(steel, "10", lines["steel"], override_reason="Beams agreed at the talks"),
        ],
    )
    services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    session.commit()

    entries = [session.get(DrawdownEntry, item.drawdown_entry_id) for item in delivery.lines]
    assert [(e.classification, e.flagged, e.override_reason) for e in entries] == [
        (Classification.COVERED, False, None),
        (Classification.UNCOVERED, True, "Scaffold clamps; exemption filed 2018-07-02"),
        (Classification.OVER_CAP, True, "Beams agreed at the talks"),
    ]
    assert lines["steel"].used_base == Decimal(11)  # the override went past the cap, flagged
    overridden = session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "drawdown.overridden")
    ).all()
    assert sorted(overridden) == sorted(str(e.id) for e in entries[1:])


def test_an_override_needs_someone_allowed_to_override(session, steel):
    delivery = approved(session, [line(steel, "1", override_reason="No waiver yet")])
    with pytest.raises(services.CrossingRefused, match="Only an office administrator"):
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=None, now=NOW)


def test_a_crossing_dated_in_the_future_is_refused_before_anything_is_drawn(
    session, admin, steel, lines
):
    delivery = approved(session, [line(steel, "1", lines["steel"])])
    with pytest.raises(InvalidInput, match="not in the future") as refused:
        services.cross(session, delivery, crossed_on=date(2019, 1, 1), actor=admin, now=NOW)
    assert refused.value.field == "crossed_on"
    assert count(session, DrawdownEntry) == 0 and lines["steel"].used_base == 0
    assert delivery.status is DeliveryStatus.APPROVED


# --- the delivery's way: approval, crossing, receipt, refusal at the border ---------------


def test_a_draft_cannot_cross(session, admin, steel, lines):
    delivery = draft(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-09")
    with pytest.raises(
        ConflictError, match=r"Delivery KLO-D-2018-09 is draft; only an approved delivery can cross"
    ):
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    assert count(session, DrawdownEntry) == 0 and delivery.status is DeliveryStatus.DRAFT


def test_a_delivery_without_lines_cannot_be_approved(session):
    delivery = draft(session)
    with pytest.raises(ConflictError, match="without manifest lines cannot be approved"):
        services.approve(session, delivery, actor=None, now=NOW)
    assert delivery.status is DeliveryStatus.DRAFT


def test_approval_needs_the_ministrys_carry_out_approval(session, steel, lines):
    delivery = draft(session, [line(steel, "1", lines["steel"])], approval=None)
    with pytest.raises(InvalidInput, match="carry-out approval first") as refused:
        services.approve(session, delivery, actor=None, now=NOW)
    assert refused.value.field == "approval_waiver_id"
    assert delivery.status is DeliveryStatus.DRAFT


def test_an_approved_manifest_is_fixed(session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-10")
    with pytest.raises(ConflictError, match="is approved; only a draft can be changed"):
        services.add_line(session, delivery, line(steel, "1", lines["steel"]), actor=None, now=NOW)
    with pytest.raises(ConflictError, match="only a draft can be changed"):
        services.remove_line(session, delivery.lines[0], actor=None, now=NOW)
    assert count(session, DeliveryLine) == 1


def test_receiving_before_it_crossed_is_refused(session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-11")
    with pytest.raises(ConflictError, match="is approved; only a delivery that crossed can be"):
        services.receive(session, delivery, received_on=CROSSED_ON, actor=None, now=NOW)
    assert count(session, StockLot) == 0


def test_receiving_twice_is_refused_and_adds_no_second_lot(session, admin, steel, lines):
    delivery = received(
        session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-12", actor=admin
    )
    with pytest.raises(ConflictError, match="KLO-D-2018-12 was already received on 2018-10-01"):
        services.receive(session, delivery, received_on=date(2018, 10, 2), actor=admin, now=NOW)
    assert count(session, StockLot) == 1 and delivery.received_on == CROSSED_ON


def test_it_cannot_be_received_before_the_day_it_crossed(session, admin, steel, lines):
    delivery = crossed(session, [line(steel, "1", lines["steel"])], actor=admin)
    with pytest.raises(InvalidInput, match=r"before it crossed \(2018-10-01\)") as refused:
        services.receive(session, delivery, received_on=date(2018, 9, 30), actor=admin, now=NOW)
    assert refused.value.field == "received_on"
    assert count(session, StockLot) == 0


def test_a_delivery_turned_back_at_the_border_draws_nothing_and_goes_no_further(
    session, admin, steel, lines
):
    delivery = approved(session, [line(steel, "1", lines["steel"])])
    with pytest.raises(InvalidInput, match="Give the reason"):
        services.reject(session, delivery, reason="  ", actor=admin, now=NOW)
    services.reject(session, delivery, reason="Customs papers missing", actor=admin, now=NOW)
    assert (delivery.status, delivery.rejected_reason) == (
        DeliveryStatus.REJECTED,
        "Customs papers missing",
    )
    with pytest.raises(ConflictError, match="only an approved delivery can cross"):
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    assert count(session, DrawdownEntry) == 0


# --- receipt into on-site lots ------------------------------------------------------------


def test_receiving_puts_fuel_into_its_tank_and_other_goods_into_the_materials_store(
    session, admin, steel, diesel, rice, lines
):
    petrol = make_resource(session, "gasoline", hs_code="2710.12", barrels_per_tonne="8.50")
    diesel_line = make_waiver(session, [(diesel, "L", "50000", "50000")]).lines[0]
    for name, product in (("Vehicle tank", petrol), ("Boiler tank", diesel)):
        fuel.create_tank(
            session,
            name=name,
            product=product,
            capacity="20000",
            tolerance=None,
            location="",
            opening=None,
            opened_on=date(2018, 6, 1),
            actor=None,
            now=NOW,
        )
    session.commit()
    delivery = crossed(
        session,
        [
            line(steel, "2", lines["steel"]),
            line(diesel, "5", diesel_line, unit="t", purpose="fuel"),
            line(rice, "300", purpose="supplies"),
        ],
        reference="KLO-D-2018-07",
        actor=admin,
    )
    services.receive(session, delivery, received_on=date(2018, 10, 2), actor=admin, now=NOW)
    session.commit()

    lots = lots_of(session, delivery)
    assert [lot.store.name for lot in lots] == ["Materials store", "Boiler tank", "Materials store"]
    assert [lot.source_ref for lot in lots] == [f"KLO-D-2018-07/{n}" for n in (1, 2, 3)]
    assert [lot.waiver_line_id for lot in lots] == [lines["steel"].id, diesel_line.id, None]
    assert [lot.drawdown_entry_id for lot in lots] == [i.drawdown_entry_id for i in delivery.lines]
    # In the resource's own unit: 5 t of diesel at 7.23 bbl/t is 5,747.39 L.
    assert [(lot.quantity, lot.remaining) for lot in lots] == [
        (Decimal(2), Decimal(2)),
        (Decimal("5747.390712"), Decimal("5747.390712")),
        (Decimal(300), Decimal(300)),
    ]
    assert all(lot.source is LotSource.DELIVERY for lot in lots)
    assert all(lot.received_on == date(2018, 10, 2) and lot.must_return_by is None for lot in lots)
    receipts = session.scalars(select(StockMovement).where(StockMovement.lot_id == lots[1].id))
    assert [(m.kind, m.parties) for m in receipts] == [(MovementKind.RECEIPT, "Hyundai Logistics")]
    assert (delivery.status, delivery.received_on) == (DeliveryStatus.RECEIVED, date(2018, 10, 2))


def test_equipment_that_must_come_back_becomes_a_lot_with_its_due_date(
    session, admin, heater, lines
):
    delivery = received(
        session,
        [
            line(heater, "2", lines["heater"], must_return=True, return_due_on=date(2018, 11, 30)),
            line(heater, "6", lines["heater"]),
        ],
        actor=admin,
    )
    assert [lot.must_return_by for lot in lots_of(session, delivery)] == [date(2018, 11, 30), None]


def test_fuel_that_would_overfill_its_tank_is_not_received_at_all(
    session, admin, steel, diesel, lines
):
    diesel_line = make_waiver(session, [(diesel, "L", "50000", "50000")]).lines[0]
    fuel.create_tank(
        session,
        name="Boiler tank",
        product=diesel,
        capacity="1000",
        tolerance=None,
        location="",
        opening=None,
        opened_on=date(2018, 6, 1),
        actor=None,
        now=NOW,
    )
    delivery = crossed(
        session,
        [line(steel, "1", lines["steel"]), line(diesel, "1500", diesel_line, purpose="fuel")],
        actor=admin,
    )
    before = snapshot(session)
    with pytest.raises(ConflictError, match="would overfill it"):
        services.receive(session, delivery, received_on=CROSSED_ON, actor=admin, now=NOW)
    session.rollback()
    assert snapshot(session) == before


# --- returns south and overdue equipment --------------------------------------------------


def test_a_return_south_takes_the_quantity_back_out_of_its_lot(session, admin, steel, lines):
    inbound = received(
        session,
        [
            line(
                steel,
                "2000",
                lines["steel"],
                unit="kg",
                purpose="repair",
                unit_value_krw="1500",
                unit_value_usd="1.25",
            )
        ],
        actor=admin,
    )
    (lot,) = lots_of(session, inbound)  # 2 t
    entries = count(session, DrawdownEntry)
    back = draft(session, direction="south", planned_on=date(2018, 11, 5), reference="KLO-S-01")
    item = services.add_return_line(session, back, lot, "0.5", actor=admin, now=NOW)

    # Declared as it came in, per tonne now: 1,500 won and 1.25 dollars a kilogram.
    assert (item.purpose, item.hs_code, item.quantity, item.unit) == (
        Purpose.REPAIR,
        "721610",
        Decimal("0.5"),
        Unit.T,
    )
    assert (item.unit_value_krw, item.unit_value_usd_cents) == (1_500_000, 125_000)
    assert item.return_lot_id == lot.id and item.waiver_line_id is None

    services.approve(session, back, actor=admin, now=NOW)
    services.cross(session, back, crossed_on=date(2018, 11, 5), actor=admin, now=NOW)
    session.commit()
    assert (lot.quantity, lot.used, lot.returned, lot.remaining) == (2, 0, Decimal("0.5"), 1.5)
    (movement,) = session.scalars(
        select(StockMovement).where(StockMovement.kind == MovementKind.RETURN)
    )
    assert (movement.quantity, movement.use_ref, movement.occurred_on) == (
        Decimal("0.5"),
        "KLO-S-01",
        date(2018, 11, 5),
    )
    # Going south neither touches the ledger nor gives the waiver's cap back.
    assert count(session, DrawdownEntry) == entries
    assert lines["steel"].used_base == Decimal(2)


def test_a_return_of_more_than_the_lot_holds_is_refused(session, admin, steel, lines):
    (lot,) = lots_of(session, received(session, [line(steel, "2", lines["steel"])], actor=admin))
    back = draft(session, direction="south")
    why = rf"Lot {lot.id} has 2 t on site; this return asks for 2\.5 t\.$"
    with pytest.raises(InvalidInput, match=why) as refused:
        services.add_return_line(session, back, lot, "2.5", actor=admin, now=NOW)
    assert refused.value.field == "quantity"
    assert back.lines == [] and count(session, DeliveryLine) == 1


def test_adding_a_return_line_is_on_the_audit_trail(session, admin, steel, lines):
    (lot,) = lots_of(session, received(session, [line(steel, "3", lines["steel"])], actor=admin))
    back = draft(session, direction="south", planned_on=date(2018, 10, 5))
    added_at = NOW - timedelta(hours=1)
    services.add_return_line(session, back, lot, "1", actor=admin, now=added_at)
    event = audit_events(session, "delivery.line_added")[-1]  # after the line it came in on
    assert recorded(event) == (admin.id, added_at, "Delivery", str(back.id))
    assert event.detail == {
        "line_no": 1,
        "resource": "steel",
        "quantity": "1",
        "unit": "t",
        "lot": lot.id,
    }


def test_the_materials_store_opened_for_a_receipt_is_on_the_audit_trail(
    session, admin, steel, lines
):
    delivery = crossed(session, [line(steel, "3", lines["steel"])], actor=admin)
    received_at = NOW - timedelta(hours=4)
    services.receive(session, delivery, received_on=CROSSED_ON, actor=admin, now=received_at)
    (event,) = audit_events(session, "store.created")
    store = services.materials_store(session, actor=None, today=CROSSED_ON, now=NOW)
    assert recorded(event) == (admin.id, received_at, "Store", str(store.id))
    assert (event.detail["name"], event.detail["kind"]) == ("Materials store", "warehouse")
    assert len(audit_events(session, "store.created")) == 1  # found, not opened again


def test_two_return_lines_of_one_lot_may_not_add_up_to_more_than_it_holds(
    session, admin, steel, lines
):
    (lot,) = lots_of(session, received(session, [line(steel, "2", lines["steel"])], actor=admin))
    back = draft(session, direction="south")
    services.add_return_line(session, back, lot, "1.5", actor=admin, now=NOW)
    with pytest.raises(InvalidInput, match=r"has 0\.5 t on site; this return asks for 1 t\.$"):
        services.add_return_line(session, back, lot, "1", actor=admin, now=NOW)
    services.add_return_line(session, back, lot, "0.5", actor=admin, now=NOW)
    assert [item.quantity for item in back.lines] == [Decimal("1.5"), Decimal("0.5")]


def test_a_return_crossing_is_refused_whole_when_the_lot_was_used_meanwhile(
    session, admin, steel, copper, lines
):
    inbound = received(
        session,
        [line(steel, "2", lines["steel"]), line(copper, "1", lines["copper"])],
        actor=admin,
    )
    steel_lot, copper_lot = lots_of(session, inbound)
    back = draft(session, direction="south")
    services.add_return_line(session, back, copper_lot, "1", actor=admin, now=NOW)
    services.add_return_line(session, back, steel_lot, "2", actor=admin, now=NOW)
    services.approve(session, back, actor=admin, now=NOW)
    session.commit()
    # Meanwhile a work order used some of the steel.
    order = work_order(session, WorkStatus.IN_PROGRESS)
    repairs.use_material(
        session,
        order,
        resource=steel,
        quantity="0.5",
        unit="t",
        used_on=date(2018, 10, 3),
        actor=admin,
        now=NOW,
    )
    session.commit()
    before = snapshot(session)
    with pytest.raises(services.CrossingRefused) as refused:
        services.cross(session, back, crossed_on=date(2018, 10, 4), actor=admin, now=NOW)
    session.rollback()
    assert [n for n, _why in refused.value.refusals] == [2]
    assert snapshot(session) == before
    assert (copper_lot.returned, steel_lot.returned) == (0, 0)


def test_a_north_bound_manifest_takes_no_lots_back_and_a_south_bound_one_no_new_goods(
    session, admin, steel, lines
):
    (lot,) = lots_of(session, received(session, [line(steel, "2", lines["steel"])], actor=admin))
    north, south = draft(session), draft(session, direction="south")
    with pytest.raises(ConflictError, match="Only a south-bound delivery carries lots back"):
        services.add_return_line(session, north, lot, "1", actor=admin, now=NOW)
    with pytest.raises(ConflictError, match="choose the lot to return"):
        services.add_line(session, south, line(steel, "1", lines["steel"]), actor=admin, now=NOW)


def test_equipment_past_its_due_date_is_overdue_until_all_of_it_is_back(
    session, admin, heater, lines
):
    inbound = received(
        session,
        [
            line(heater, "2", lines["heater"], must_return=True, return_due_on=date(2018, 10, 31)),
            line(heater, "3", lines["heater"]),
        ],
        actor=admin,
    )
    tools, kept = lots_of(session, inbound)
    assert services.overdue_returns(session, date(2018, 10, 31)) == []  # due today: not late
    assert services.overdue_returns(session, date(2018, 11, 1)) == [tools]
    returned(session, [(tools, "1")], on=date(2018, 11, 2))
    assert services.overdue_returns(session, date(2018, 11, 3)) == [tools]  # one still north
    returned(session, [(tools, "1")], on=date(2018, 11, 4))
    assert services.overdue_returns(session, date(2018, 11, 5)) == []
    assert (tools.returned, tools.remaining, kept.remaining) == (2, 0, 3)


# --- bad input on a manifest line: a clear message for the field, nothing added ------------


BAD_LINES = [
    pytest.param({"resource": None}, "resource", "Choose the resource.", id="no-resource"),
    pytest.param({"hs_code": "721"}, "hs_code", "An HS code has 4 to 10 digits", id="hs-short"),
    pytest.param(
        {"hs_code": "7216.10.00.001"}, "hs_code", "An HS code has 4 to 10 digits", id="hs-long"
    ),
    pytest.param({"hs_code": "72l6"}, "hs_code", "An HS code has 4 to 10 digits", id="hs-letter"),
    pytest.param(
        {"hs_code": "7216.50"},
        "hs_code_reason",
        "The HS code differs from the resource's (7216.10); give the reason.",
        id="hs-differs-no-reason",
    ),
    pytest.param(
        {"unit_value_krw": "-1"},
        "unit_value_krw",
        "Enter a value of 0 or more, in whole won.",
        id="krw-negative",
    ),
    pytest.param(
        {"unit_value_krw": "1500.5"},
        "unit_value_krw",
        "Enter a value of 0 or more, in whole won.",
        id="krw-fraction",
    ),
    pytest.param(
        {"unit_value_usd": "-0.01"},
        "unit_value_usd",
        "Enter a value of 0 or more, in US dollars and cents.",
        id="usd-negative",
    ),
    pytest.param(
        {"unit_value_usd": "1.005"},
        "unit_value_usd",
        "Enter a value of 0 or more, in US dollars and cents.",
        id="usd-past-cents",
    ),
    pytest.param(
        {"unit": "L"}, "unit", "L does not convert to t, the unit of steel.", id="unit-no-convert"
    ),
    pytest.param({"unit": "ounce"}, "unit", "Unknown unit ounce.", id="unit-unknown"),
    pytest.param(
        {"quantity": "-2"}, "quantity", "The quantity must be greater than zero.", id="qty-neg"
    ),
    pytest.param(
        {"quantity": "0"}, "quantity", "The quantity must be greater than zero.", id="qty-zero"
    ),
    pytest.param(
        {"gross_weight_kg": "-5"},
        "gross_weight_kg",
        "The quantity must be greater than zero.",
        id="weight-negative",
    ),
    pytest.param(
        {"must_return": True, "return_due_on": None},
        "return_due_on",
        "Equipment that must come back needs a due date on or after 2018-10-01.",
        id="return-without-date",
    ),
    pytest.param(
        {"must_return": True, "return_due_on": date(2018, 9, 30)},
        "return_due_on",
        "Equipment that must come back needs a due date on or after 2018-10-01.",
        id="return-before-it-goes",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_LINES)
def test_a_bad_manifest_line_is_refused_naming_its_field(
    session, steel, lines, change, field, message
):
    delivery = draft(session)
    fields = {
        "resource": steel,
        "quantity": "2",
        "unit": "t",
        "purpose": "repair",
        "waiver_line": lines["steel"],
        **change,
    }
    with pytest.raises(InvalidInput) as refused:
        services.add_line(session, delivery, services.LineInput(**fields), actor=None, now=NOW)
    assert refused.value.field == field
    assert str(refused.value).startswith(message)
    assert delivery.lines == [] and count(session, DeliveryLine) == 0


def test_a_line_may_not_draw_on_a_waiver_line_for_another_resource(session, copper, lines):
    delivery = draft(session)
    with pytest.raises(InvalidInput, match="line 1 is for Steel, not Copper") as refused:
        services.add_line(session, delivery, line(copper, "1", lines["steel"]), actor=None, now=NOW)
    assert refused.value.field == "waiver_line_id" and count(session, DeliveryLine) == 0


def test_a_changed_hs_code_with_its_reason_is_kept_with_the_reason(session, steel, lines):
    delivery = draft(session)
    item = services.add_line(
        session,
        delivery,
        line(steel, "1", lines["steel"], hs_code="7216.50", hs_code_reason="Cold-formed"),
        actor=None,
        now=NOW,
    )
    same = services.add_line(
        session, delivery, line(steel, "1", lines["steel"], hs_code="7216.10"), actor=None, now=NOW
    )
    assert (item.hs_code, item.hs_code_reason) == ("721650", "Cold-formed")
    assert (same.hs_code, same.hs_code_reason) == ("721610", None)


def test_adding_a_manifest_line_is_on_the_audit_trail(session, admin, steel, lines):
    delivery = draft(session)
    added_at = NOW - timedelta(hours=2)
    item = services.add_line(
        session, delivery, line(steel, "2.5", lines["steel"]), actor=admin, now=added_at
    )
    (event,) = audit_events(session, "delivery.line_added")
    assert recorded(event) == (admin.id, added_at, "Delivery", str(delivery.id))
    assert event.detail == {
        "line_no": item.line_no,
        "resource": "steel",
        "quantity": "2.5",
        "unit": "t",
    }


def test_removing_a_line_numbers_the_rest_again(session, steel, copper, heater, lines):
    delivery = draft(
        session,
        [
            line(steel, "1", lines["steel"]),
            line(copper, "1", lines["copper"]),
            line(heater, "1", lines["heater"]),
        ],
    )
    services.remove_line(session, delivery.lines[0], actor=None, now=NOW)
    session.commit()
    numbered = session.execute(
        select(DeliveryLine.line_no, DeliveryLine.resource_id).order_by(DeliveryLine.line_no)
    ).all()
    assert numbered == [(1, copper.id), (2, heater.id)]


# --- screening a draft --------------------------------------------------------------------


def test_screening_counts_earlier_lines_on_the_same_waiver_line(
    session, admin, steel, copper, rice, lines
):
    draw(session, steel, "3", line=lines["steel"])  # 7 t left on the steel line
    delivery = draft(
        session,
        [
            line(steel, "4000", lines["steel"], unit="kg"),
            line(copper, "1", lines["copper"]),
            line(steel, "5", lines["steel"]),  # 3 t left after line 1
            line(rice, "100"),
            line(copper, "1"),  # prohibited, no waiver line
        ],
    )
    screening = services.screen(session, delivery, date(2018, 10, 1))
    assert [(s.line.line_no, s.control, s.classification) for s in screening] == [
        (1, Control.PROHIBITED, Classification.COVERED),
        (2, Control.PROHIBITED, Classification.COVERED),
        (3, Control.PROHIBITED, Classification.OVER_CAP),
        (4, Control.NONE, Classification.NOT_REQUIRED),
        (5, Control.PROHIBITED, Classification.UNCOVERED),
    ]
    assert [(s.remaining_before, s.remaining_after) for s in screening] == [
        (Decimal(7), Decimal(3)),
        (Decimal(5), Decimal(4)),
        (Decimal(3), Decimal(-2)),
        (None, None),
        (None, None),
    ]
    assert [s.passes for s in screening] == [True, True, False, True, False]
    assert screening[0].message is None
    # As the crossing will say it: by then line 1 is drawn.
    assert str(screening[2].message) == (
        "Waiver MOU-2018-0611 line 1 has 3 t left; this drawdown asks for 5 t."
    )
    assert "choose the waiver line" in str(screening[4].message)
    # Screening records nothing.
    assert count(session, DrawdownEntry) == 1 and lines["steel"].used_base == Decimal(3)


def test_screening_tells_what_the_day_of_crossing_would_meet(session, steel, lines):
    delivery = draft(
        session,
        [line(steel, "1", lines["steel"]), line(steel, "1", override_reason="Samples")],
    )
    in_time = services.screen(session, delivery, date(2018, 12, 31))
    too_late = services.screen(session, delivery, date(2019, 1, 1))
    assert [s.classification for s in in_time] == [
        Classification.COVERED,
        Classification.UNCOVERED,
    ]
    assert [s.passes for s in in_time] == [True, True]  # the second with its reason
    assert too_late[0].classification is Classification.OUTSIDE_VALIDITY
    assert not too_late[0].passes


def test_screening_foretells_the_refusals_of_the_crossing(session, admin, steel, copper, lines):
    delivery = draft(
        session,
        [
            line(steel, "4000", lines["steel"], unit="kg"),
            line(copper, "2", lines["copper"]),
            line(steel, "7", lines["steel"]),
            line(copper, "1"),
        ],
    )
    screening = services.screen(session, delivery, CROSSED_ON)
    foretold = [(s.line.line_no, str(s.message)) for s in screening if s.message]
    services.approve(session, delivery, actor=admin, now=NOW)
    with pytest.raises(services.CrossingRefused) as refused:
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    assert [n for n, _why in foretold] == [3, 4]
    assert refused.value.refusals == foretold
