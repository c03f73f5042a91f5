"""The deliveries pages as the office administrator uses them: preparing and screening a
manifest, approving, crossing (or being refused) and receiving, carrying lots back south, the
overdue equipment and the on-site stock. What each page says, the status it answers, and
whether anything changed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.audit.models import AuditEvent
from office.db import utcnow
from office.i18n import office_date
from office.stock.models import StockLot
from office.supplies.models import Delivery, DeliveryLine, DeliveryStatus, Direction
from office.waivers.models import Classification, DrawdownEntry, Source
from office.waivers.units import Unit
from tests.conftest import log_in
from tests.factories import draw, make_waiver
from tests.supplies.arrange import (
    RECORDS,
    approved,
    count,
    crossed,
    draft,
    line,
    lots_of,
    received,
    returned,
    snapshot,
)
from tests.supplies.pages import read

# What the ledger, the stock and the deliveries hold (the audit trail is checked apart).
BOOKS = tuple(model for model in RECORDS if model is not AuditEvent)


def today() -> date:
    return office_date(utcnow())


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


def line_form(resource, quantity, waiver_line=None, /, **fields) -> dict[str, str]:
    form = {
        "resource": str(resource.id),
        "quantity": str(quantity),
        "unit": resource.unit.value,
        "purpose": "repair",
        "waiver_line_id": str(waiver_line.id) if waiver_line is not None else "",
    }
    return {**form, **fields}


def header_form(**fields) -> dict[str, str]:
    form = {
        "reference": "KLO-D-2018-20",
        "direction": "north",
        "planned_on": "2018-07-20",
        "crossing_point": "",
        "carrier": "Hyundai Logistics",
        "vehicles": "2 lorries, 5 t",
        "approval_waiver_id": "",
        "customs_declaration": "",
        "note": "",
    }
    return {**form, **fields}


# --- preparing a delivery -----------------------------------------------------------------


def test_an_administrator_starts_a_delivery_as_a_draft(as_admin, session):
    response = as_admin.post("/deliveries/new", data=header_form())
    assert response.status_code == 302
    delivery = session.scalars(select(Delivery)).one()
    assert response.location.endswith(f"/deliveries/{delivery.id}")
    assert (delivery.status, delivery.direction, delivery.crossing_point) == (
        DeliveryStatus.DRAFT,
        Direction.NORTH,
        "Gyeongui road, Dorasan",
    )
    page = read(as_admin.get(response.location))
    assert "KLO-D-2018-20 draft north-bound" in page.text
    assert "Delivery KLO-D-2018-20 created as a draft; add its manifest lines." in page.text
    assert "No lines yet." in page.text


def test_a_second_delivery_with_the_same_reference_is_refused(as_admin, session):
    draft(session, reference="KLO-D-2018-20")
    response = as_admin.post("/deliveries/new", data=header_form())
    assert response.status_code == 422
    assert read(response).errors["reference"] == (
        "A delivery KLO-D-2018-20 already exists; the next free number is KLO-D-2018-21."
    )
    assert count(session, Delivery) == 1


def test_a_manifest_line_is_kept_as_entered(as_admin, session, steel, lines):
    delivery = draft(session)
    response = as_admin.post(
        f"/deliveries/{delivery.id}/lines",
        data=line_form(
            steel,
            "2500",
            lines["steel"],
            unit="kg",
            description="H-beams 200x200",
            gross_weight_kg="2600",
            unit_value_krw="1,500",
            unit_value_usd="1.35",
            hs_code="7216.50",
            hs_code_reason="Cold-formed sections",
            must_return="",
        ),
    )
    assert response.status_code == 302
    item = session.scalars(select(DeliveryLine)).one()
    assert (item.line_no, item.quantity, item.unit, item.gross_weight_kg) == (
        1,
        Decimal(2500),
        Unit.KG,
        Decimal(2600),
    )
    assert (item.unit_value_krw, item.unit_value_usd_cents) == (1500, 135)
    assert (item.hs_code, item.hs_code_reason) == ("721650", "Cold-formed sections")
    assert (item.waiver_line_id, item.description) == (lines["steel"].id, "H-beams 200x200")
    row = read(as_admin.get(f"/deliveries/{delivery.id}")).row("1")
    assert row[1:7] == [
        "Steel H-beams 200x200",
        "7216.50 changed",
        "2,500 kg 2,600 kg",
        "1,500 ₩ 1.35 $",
        "repair",
        "MOU-2018-0611 · 1",
    ]


BAD_LINES = [
    pytest.param({"resource": ""}, "resource", "Choose the resource.", id="no-resource"),
    pytest.param(
        {"hs_code": "72"},
        "hs_code",
        "An HS code has 4 to 10 digits (dots allowed), e.g. 2710.19.",
        id="hs-too-short",
    ),
    pytest.param(
        {"hs_code": "7216.10.00.009"},
        "hs_code",
        "An HS code has 4 to 10 digits (dots allowed), e.g. 2710.19.",
        id="hs-too-long",
    ),
    pytest.param(
        {"hs_code": "7216.50"},
        "hs_code_reason",
        "The HS code differs from the resource's (7216.10); give the reason.",
        id="hs-differs-without-reason",
    ),
    pytest.param(
        {"unit_value_krw": "-1500"},
        "unit_value_krw",
        "Enter a value of 0 or more, in whole won.",
        id="negative-krw",
    ),
    pytest.param(
        {"unit_value_usd": "-1.35"},
        "unit_value_usd",
        "Enter a value of 0 or more, in US dollars and cents.",
        id="negative-usd",
    ),
    pytest.param(
        {"unit": "L"}, "unit", "L does not convert to t, the unit of steel.", id="unit-litres"
    ),
    pytest.param(
        {"quantity": "-2"}, "quantity", "The quantity must be greater than zero.", id="qty-neg"
    ),
    pytest.param(
        {"must_return": "y"},
        "return_due_on",
        "Equipment that must come back needs a due date on or after 2018-10-01.",
        id="return-without-date",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_LINES)
def test_a_bad_manifest_line_shows_its_message_beside_the_field_and_adds_nothing(
    as_admin, session, steel, lines, change, field, message
):
    delivery = draft(session)
    form = line_form(steel, "2", lines["steel"], description="H-beams", **change)
    response = as_admin.post(f"/deliveries/{delivery.id}/lines", data=form)
    assert response.status_code == 422
    page = read(response)
    assert page.errors[field] == message
    assert "No lines yet." in page.text
    assert count(session, DeliveryLine) == 0


def test_removing_a_line_on_the_page_numbers_the_rest_again(
    as_admin, session, steel, copper, heater, lines
):
    delivery = draft(
        session,
        [
            line(steel, "1", lines["steel"]),
            line(copper, "1", lines["copper"]),
            line(heater, "1", lines["heater"]),
        ],
    )
    first = delivery.lines[0].id
    response = as_admin.post(f"/deliveries/lines/{first}/delete")
    assert response.status_code == 302
    page = read(as_admin.get(response.location))
    assert "Line removed." in page.text
    assert [row[:2] for row in page.rows() if row and row[0] in ("1", "2", "3")] == [
        ["1", "Copper"],
        ["2", "Water heater"],
    ]


# --- screening a draft --------------------------------------------------------------------


def test_a_drafts_page_screens_each_line_on_its_planned_day_against_what_is_left(
    as_admin, session, steel, rice, diesel
):
    waiver = make_waiver(
        session,
        [(steel, "t", "10", "10"), (diesel, "L", "5000", "5000")],
        valid_until=date(2018, 12, 31),
        reference="MOU-2018-0702",
    )
    steel_line, diesel_line = waiver.lines
    draw(session, steel, "3", line=steel_line, on=date(2018, 7, 1))  # 7 t left
    manifest = [
        line(steel, "4000", steel_line, unit="kg"),
        line(steel, "5", steel_line),
        line(rice, "100"),
        line(steel, "1"),
        line(diesel, "1", diesel_line, unit="t", purpose="fuel"),
    ]
    delivery = draft(session, manifest, planned_on=date(2018, 7, 20))
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert "Screening for 2018-07-20" in page.text
    screening = {row[0]: row[7] for row in page.rows() if row and row[0] in "12345"}
    un = "UN Security Council sanctions (1718 Committee)"  # the one regime in force
    assert screening == {
        "1": f"{un} prohibited covered left 7 → 3",
        "2": f"{un} prohibited over cap left 3 → -2 "
        "Waiver MOU-2018-0702 line 1 has 3 t left; this drawdown asks for 5 t.",
        "3": f"{un} not controlled not required",
        "4": f"{un} prohibited uncovered Steel (HS 7216.10) is prohibited: choose the waiver line "
        "that covers it, or give a reason to record it uncovered.",
        "5": f"{un} capped covered left 5,000 → 3,850.521858",  # 1 t of diesel: 1,149.478142 L
    }
    assert count(session, DrawdownEntry) == 1  # screening records nothing

    # Planned past the waiver's end, every line on it would be outside its validity.
    late = draft(session, manifest[:1], planned_on=date(2019, 1, 2))
    page = read(as_admin.get(f"/deliveries/{late.id}"))
    assert "Screening for 2019-01-02" in page.text
    assert page.row("1")[7] == (
        f"{un} prohibited outside validity left 7 → 3 Waiver MOU-2018-0702 is valid from "
        "2018-01-01 to 2018-12-31; this drawdown is dated 2019-01-02."
    )


# --- approval -----------------------------------------------------------------------------


def test_approving_without_the_ministrys_approval_is_refused_on_the_page(
    as_admin, session, steel, lines
):
    delivery = draft(session, [line(steel, "1", lines["steel"])], approval=None)
    response = as_admin.post(f"/deliveries/{delivery.id}/approve", data={"on": "2018-07-19"})
    assert response.status_code == 422
    assert read(response).form_errors == ["Choose the ministry's carry-out approval first."]
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.DRAFT


def test_approving_an_empty_manifest_is_refused_on_the_page(as_admin, session):
    delivery = draft(session)
    response = as_admin.post(f"/deliveries/{delivery.id}/approve", data={"on": "2018-07-19"})
    assert response.status_code == 422
    assert read(response).form_errors == ["A delivery without manifest lines cannot be approved."]
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.DRAFT


def test_approving_fixes_the_manifest(as_admin, session, steel, lines):
    delivery = draft(session, [line(steel, "1", lines["steel"])])
    response = as_admin.post(f"/deliveries/{delivery.id}/approve", data={"on": "2018-07-19"})
    assert response.status_code == 302
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.APPROVED
    page = read(as_admin.get(response.location))
    assert "Approved: the manifest is fixed." in page.text
    assert "Add a manifest line" not in page.text and "Remove" not in page.text


def test_a_line_posted_from_a_page_older_than_the_approval_is_refused_with_its_message(
    as_admin, session, steel, lines
):
    delivery = approved(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-15")
    response = as_admin.post(
        f"/deliveries/{delivery.id}/lines", data=line_form(steel, "1", lines["steel"])
    )
    assert response.status_code == 422
    assert read(response).form_errors == [
        "Delivery KLO-D-2018-15 is approved; only a draft can be changed."
    ]
    assert count(session, DeliveryLine) == 1


# --- crossing -----------------------------------------------------------------------------


def test_a_refused_crossing_answers_409_names_the_line_and_keeps_only_the_attempt(
    as_admin, session, admin, steel, copper, heater, lines
):
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
        reference="KLO-D-2018-08",
    )
    before = snapshot(session, BOOKS)
    events_before = snapshot(session, [AuditEvent])["audit_events"]

    response = as_admin.post(f"/deliveries/{delivery.id}/cross", data={"on": "2018-10-01"})

    assert response.status_code == 409
    why = "Waiver MOU-2018-0611 line 2 has 4 t left; this drawdown asks for 6 t."
    assert read(response).marked["crossing-refused"] == (
        f"The crossing is refused; nothing was recorded. Line 2: {why}"
    )
    assert snapshot(session, BOOKS) == before
    events = snapshot(session, [AuditEvent])["audit_events"]
    assert events[: len(events_before)] == events_before
    (attempt,) = session.scalars(
        select(AuditEvent).where(AuditEvent.id > max(row[0] for row in events_before))
    ).all()
    assert (attempt.action, attempt.object_id, attempt.actor_id) == (
        "delivery.crossing_refused",
        str(delivery.id),
        admin.id,
    )
    assert attempt.detail["lines"] == [[2, why]]

    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert f"Line 2: {why}" in page.marked["refused-attempts"]
    assert "KLO-D-2018-08 approved" in page.text


def test_crossing_and_receiving_on_the_page_puts_every_line_on_the_ledger_and_on_site(
    as_admin, session, steel, heater, lines
):
    delivery = approved(
        session,
        [line(steel, "2", lines["steel"]), line(heater, "4", lines["heater"])],
        reference="KLO-D-2018-09",
    )
    response = as_admin.post(f"/deliveries/{delivery.id}/cross", data={"on": "2018-10-01"})
    assert response.status_code == 302
    page = read(as_admin.get(response.location))
    assert "Crossed: every line is on the ledger." in page.text
    session.refresh(delivery)
    entries = [session.get(DrawdownEntry, item.drawdown_entry_id) for item in delivery.lines]
    assert [(e.source, e.source_ref, e.classification) for e in entries] == [
        (Source.DELIVERY, "KLO-D-2018-09/1", Classification.COVERED),
        (Source.DELIVERY, "KLO-D-2018-09/2", Classification.COVERED),
    ]
    # Each entry under each regime it was screened under, as recorded.
    assert [row[7] for row in page.rows() if row and row[0] in ("1", "2")] == [
        "on the ledger UN Security Council sanctions (1718 Committee) covered MOU-2018-0611 · 1",
        "on the ledger UN Security Council sanctions (1718 Committee) covered MOU-2018-0611 · 3",
    ]

    response = as_admin.post(f"/deliveries/{delivery.id}/receive", data={"on": "2018-10-02"})
    assert response.status_code == 302
    assert "Received: the goods are on-site stock." in read(as_admin.get(response.location)).text
    session.refresh(delivery)
    assert [(lot.source_ref, lot.remaining) for lot in lots_of(session, delivery)] == [
        ("KLO-D-2018-09/1", Decimal(2)),
        ("KLO-D-2018-09/2", Decimal(4)),
    ]

    again = as_admin.post(f"/deliveries/{delivery.id}/receive", data={"on": "2018-10-03"})
    assert again.status_code == 422
    assert read(again).form_errors == ["Delivery KLO-D-2018-09 was already received on 2018-10-02."]
    assert count(session, StockLot) == 2


def test_crossing_a_draft_is_refused_on_the_page(as_admin, session, steel, lines):
    delivery = draft(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-10")
    response = as_admin.post(f"/deliveries/{delivery.id}/cross", data={"on": "2018-10-01"})
    assert response.status_code == 422
    assert read(response).form_errors == [
        "Delivery KLO-D-2018-10 is draft; only an approved delivery can cross."
    ]
    assert count(session, DrawdownEntry) == 0


def test_a_crossing_dated_tomorrow_is_refused_on_the_page(as_admin, session, steel):
    waiver = make_waiver(session, [(steel, "t", "10", "10")], valid_until=None)
    delivery = approved(session, [line(steel, "1", waiver.lines[0])])
    before = snapshot(session, BOOKS)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    response = as_admin.post(f"/deliveries/{delivery.id}/cross", data={"on": tomorrow})
    assert response.status_code == 422
    assert read(response).errors["on"] == "Enter the day it crossed, not in the future."
    assert snapshot(session, BOOKS) == before


def test_receiving_what_has_not_crossed_is_refused_on_the_page(as_admin, session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-11")
    response = as_admin.post(f"/deliveries/{delivery.id}/receive", data={"on": "2018-10-02"})
    assert response.status_code == 422
    assert read(response).form_errors == [
        "Delivery KLO-D-2018-11 is approved; only a delivery that crossed can be received."
    ]
    assert count(session, StockLot) == 0


def test_a_delivery_turned_back_says_why(as_admin, session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])])
    response = as_admin.post(
        f"/deliveries/{delivery.id}/reject", data={"reason": "Customs papers missing"}
    )
    assert response.status_code == 302
    page = read(as_admin.get(response.location))
    assert "turned back" in page.text and "Customs papers missing" in page.text
    assert "Nothing more to do." in page.text
    assert count(session, DrawdownEntry) == 0


# --- returns south and overdue equipment --------------------------------------------------


def test_a_return_of_more_than_the_lot_holds_is_refused_on_the_page(
    as_admin, session, admin, steel, lines
):
    (lot,) = lots_of(session, received(session, [line(steel, "2", lines["steel"])], actor=admin))
    back = draft(session, direction="south")
    page = read(as_admin.get(f"/deliveries/{back.id}"))
    assert page.options["lot"] == [str(lot.id)]

    response = as_admin.post(
        f"/deliveries/{back.id}/return-lines", data={"lot": str(lot.id), "quantity": "2.5"}
    )
    assert response.status_code == 422
    assert read(response).errors["quantity"] == (
        f"Lot {lot.id} has 2 t on site; this return asks for 2.5 t."
    )
    assert count(session, DeliveryLine) == 1


def test_carrying_equipment_back_south_clears_it_from_the_overdue_list(
    as_admin, session, admin, heater, lines
):
    inbound = received(
        session,
        [
            line(heater, "2", lines["heater"], must_return=True, return_due_on=date(2018, 10, 31)),
            line(heater, "5", lines["heater"]),
        ],
        reference="KLO-D-2018-12",
        actor=admin,
    )
    tools, _kept = lots_of(session, inbound)
    overdue = read(as_admin.get("/deliveries/")).tables["table1"]
    assert overdue[1:] == [
        [f"#{tools.id}", "Water heater", "KLO-D-2018-12/1", "2018-10-31", "2 pieces"]
    ]

    back = draft(session, direction="south", planned_on=date(2018, 11, 2), reference="KLO-S-02")
    response = as_admin.post(
        f"/deliveries/{back.id}/return-lines", data={"lot": str(tools.id), "quantity": "2"}
    )
    assert response.status_code == 302
    for step, day in (("approve", "2018-11-02"), ("cross", "2018-11-02")):
        assert as_admin.post(f"/deliveries/{back.id}/{step}", data={"on": day}).status_code == 302
    session.refresh(tools)
    assert (tools.returned, tools.remaining) == (Decimal(2), Decimal(0))
    page = read(as_admin.get("/deliveries/"))
    assert "Overdue" not in page.text
    assert ["KLO-S-02", "south-bound", "2018-11-02", "Hyundai Logistics", "1", "crossed"] in (
        page.rows()
    )


# --- on-site stock ------------------------------------------------------------------------


def test_the_stock_page_shows_each_lot_with_its_origin_waiver_line_and_use(
    as_admin, session, admin, steel, lines
):
    first = received(
        session, [line(steel, "2", lines["steel"])], reference="KLO-D-2018-13", actor=admin
    )
    crossed(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-14", actor=admin)
    (lot,) = lots_of(session, first)
    returned(session, [(lot, "0.5")], on=date(2018, 10, 5))

    page = read(as_admin.get("/deliveries/stock"))
    assert page.row("Steel (steel)") == ["Steel (steel)", "1", "2 t", "0", "0.5", "1.5"]
    page = read(as_admin.get(f"/deliveries/stock?resource={steel.id}"))
    assert page.row(f"#{lot.id}") == [
        f"#{lot.id}",
        "2018-10-01",
        "Materials store",
        "KLO-D-2018-13/1",
        "MOU-2018-0611 · 1 expired: valid until 2018-12-31",  # granted, and valid in 2018
        "2",
        "0",
        "0.5",
        "1.5",
    ]
