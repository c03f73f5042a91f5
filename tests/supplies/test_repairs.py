"""Repair works: a work order's way from planned to completed, materials drawn from on-site
lots first in first out with each lot's waiver coverage at the time, equipment to bring back,
and what the work order's page tells of its materials, coverage and spend."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.errors import ConflictError, InvalidInput
from office.repairs import services as repairs
from office.repairs.models import WorkEquipment, WorkOrder, WorkStatus
from office.stock.models import LotDraw, MovementKind, StockMovement
from office.waivers import services as waivers
from office.waivers.models import Classification, WaiverStatus
from tests.conftest import log_in
from tests.factories import NOW, make_waiver
from tests.supplies.arrange import (
    RECORDS,
    count,
    line,
    lots_of,
    received,
    returned,
    snapshot,
    work_order,
)
from tests.supplies.pages import read

W = WorkStatus


def use(session, order, resource, quantity, *, on=date(2018, 10, 10), unit=None, actor=None):
    movement = repairs.use_material(
        session,
        order,
        resource=resource,
        quantity=quantity,
        unit=unit or resource.unit,
        used_on=on,
        actor=actor,
        now=NOW,
    )
    session.commit()
    return movement


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


# --- the work order's way -----------------------------------------------------------------


def test_a_work_order_goes_from_planned_to_completed_keeping_its_actual_dates(session):
    order = work_order(session)
    assert (order.status, order.progress, order.actual_start) == (W.PLANNED, 0, None)
    repairs.change_status(session, order, W.APPROVED, on=date(2018, 7, 25), actor=None, now=NOW)
    assert order.actual_start is None
    repairs.change_status(session, order, W.IN_PROGRESS, on=date(2018, 8, 1), actor=None, now=NOW)
    repairs.set_progress(session, order, 40, actor=None, now=NOW)
    assert (order.actual_start, order.actual_end, order.progress) == (date(2018, 8, 1), None, 40)
    repairs.change_status(session, order, W.COMPLETED, on=date(2018, 9, 14), actor=None, now=NOW)
    assert (order.status, order.actual_start, order.actual_end, order.progress) == (
        W.COMPLETED,
        date(2018, 8, 1),
        date(2018, 9, 14),
        100,
    )


def test_work_cannot_be_completed_before_the_day_it_started(session):
    order = work_order(session, W.IN_PROGRESS)  # started 1 August
    with pytest.raises(InvalidInput, match="cannot end before it starts") as refused:
        repairs.change_status(
            session, order, W.COMPLETED, on=date(2018, 7, 31), actor=None, now=NOW
        )
    assert refused.value.field == "on"
    assert (order.status, order.actual_end, order.progress) == (W.IN_PROGRESS, None, 0)


@pytest.mark.parametrize("status", [W.PLANNED, W.APPROVED, W.IN_PROGRESS])
def test_open_work_can_be_cancelled(session, status):
    order = work_order(session, status)
    repairs.change_status(session, order, W.CANCELLED, on=date(2018, 8, 2), actor=None, now=NOW)
    assert order.status is W.CANCELLED


@pytest.mark.parametrize(
    ("start", "to", "words"),
    [
        (W.PLANNED, W.IN_PROGRESS, "planned to in progress"),
        (W.PLANNED, W.COMPLETED, "planned to completed"),
        (W.APPROVED, W.COMPLETED, "approved to completed"),
        (W.IN_PROGRESS, W.APPROVED, "in progress to approved"),
        (W.COMPLETED, W.IN_PROGRESS, "completed to in progress"),
        (W.COMPLETED, W.CANCELLED, "completed to cancelled"),
        (W.CANCELLED, W.APPROVED, "cancelled to approved"),
    ],
)
def test_a_work_order_cannot_skip_or_go_back_a_step(session, start, to, words):
    order = work_order(session, start, number="WO-2018-07")
    dates = (order.actual_start, order.actual_end, order.progress)
    with pytest.raises(ConflictError, match=f"Work order WO-2018-07 cannot go from {words}."):
        repairs.change_status(session, order, to, on=date(2018, 9, 1), actor=None, now=NOW)
    assert order.status is start
    assert (order.actual_start, order.actual_end, order.progress) == dates


@pytest.mark.parametrize("status", [W.PLANNED, W.COMPLETED, W.CANCELLED])
def test_progress_is_recorded_only_while_the_work_is_approved_or_under_way(session, status):
    order = work_order(session, status)
    progress = order.progress
    with pytest.raises(ConflictError, match="while the work is approved or under way"):
        repairs.set_progress(session, order, 50, actor=None, now=NOW)
    assert order.progress == progress


@pytest.mark.parametrize("value", [-1, 101])
def test_progress_is_a_percentage(session, value):
    order = work_order(session, W.IN_PROGRESS)
    with pytest.raises(InvalidInput, match="from 0 to 100") as refused:
        repairs.set_progress(session, order, value, actor=None, now=NOW)
    assert refused.value.field == "progress" and order.progress == 0


def test_a_work_order_ends_on_or_after_its_start(session):
    with pytest.raises(InvalidInput, match="cannot end before it starts") as refused:
        repairs.save_work_order(
            session,
            number="WO-2018-01",
            area="plumbing",
            room="",
            description="Pipes",
            contractor="",
            budget_krw="1000",
            funding_decision="",
            planned_start=date(2018, 8, 2),
            planned_end=date(2018, 8, 1),
            actor=None,
            now=NOW,
        )
    assert refused.value.field == "planned_end" and count(session, WorkOrder) == 0


# --- materials, first in first out, each with its coverage -------------------------------


@pytest.fixture
def two_lots(session, admin, steel):
    """Steel on site from two waivers: 5 t received 2 October, then 10 t received 5 October
    (entered first, received later: the order is by the day it came)."""
    june = make_waiver(session, [(steel, "t", "5", "5")], reference="MOU-2018-0620").lines[0]
    july = make_waiver(session, [(steel, "t", "10", "10")], reference="MOU-2018-0702").lines[0]
    later = received(
        session,
        [line(steel, "10", july, unit_value_krw="900000")],
        on=date(2018, 10, 5),
        actor=admin,
    )
    earlier = received(
        session,
        [line(steel, "5000", june, unit="kg", unit_value_krw="1000")],
        on=date(2018, 10, 2),
        actor=admin,
    )
    return lots_of(session, earlier)[0], lots_of(session, later)[0]


def test_materials_are_drawn_from_the_oldest_lots_first_each_keeping_its_waiver(
    session, steel, two_lots
):
    old, new = two_lots
    order = work_order(session, W.IN_PROGRESS)
    movement = use(session, order, steel, "7")
    parts = session.scalars(
        select(LotDraw).where(LotDraw.movement_id == movement.id).order_by(LotDraw.id)
    ).all()
    assert [(p.lot_id, p.quantity, p.waiver_line_id) for p in parts] == [
        (old.id, Decimal(5), old.waiver_line_id),
        (new.id, Decimal(2), new.waiver_line_id),
    ]
    assert [(p.waiver_status, p.classification, p.flagged) for p in parts] == [
        (WaiverStatus.GRANTED, Classification.COVERED, False),
        (WaiverStatus.GRANTED, Classification.COVERED, False),
    ]
    assert (movement.kind, movement.occurred_on) == (MovementKind.ISSUE, date(2018, 10, 10))
    assert (old.used, old.remaining, new.used, new.remaining) == (5, 0, 2, 8)


def test_material_cannot_be_used_before_its_lot_arrived(session, steel, two_lots):
    old, new = two_lots  # 5 t came on 2 October, 10 t on 5 October
    order = work_order(session, W.IN_PROGRESS)
    with pytest.raises(ConflictError, match=r"has 0 t of Steel; this issue asks for 1 t\."):
        use(session, order, steel, "1", on=date(2018, 10, 1))
    with pytest.raises(ConflictError, match=r"has 5 t of Steel; this issue asks for 6 t\."):
        use(session, order, steel, "6", on=date(2018, 10, 4))
    assert (old.remaining, new.remaining) == (5, 10)


def test_material_is_counted_in_the_resources_unit(session, steel, two_lots):
    old, _new = two_lots
    order = work_order(session, W.APPROVED)
    movement = use(session, order, steel, "1500", unit="kg")
    assert movement.quantity == Decimal("1.5") and old.remaining == Decimal("3.5")


@pytest.mark.parametrize(
    ("status", "classification"),
    [
        (WaiverStatus.REVOKED, Classification.DENIED),
        (WaiverStatus.EXPIRED, Classification.OUTSIDE_VALIDITY),
    ],
)
def test_material_whose_waiver_has_lapsed_since_it_came_is_flagged(
    session, steel, two_lots, status, classification
):
    old, _new = two_lots
    waivers.change_waiver_status(
        session, old.waiver_line.waiver, status, effective_on=date(2018, 10, 8), actor=None, now=NOW
    )
    session.commit()
    order = work_order(session, W.IN_PROGRESS)
    movement = use(session, order, steel, "6")
    assert [(p.waiver_status, p.classification, p.flagged) for p in movement.draws] == [
        (status, classification, True),
        (WaiverStatus.GRANTED, Classification.COVERED, False),
    ]
    assert repairs.summary(session, order).flagged == 1


def test_material_used_after_its_waiver_ran_out_is_flagged(session, admin, steel):
    autumn = make_waiver(
        session, [(steel, "t", "5", "5")], valid_until=date(2018, 10, 31), reference="MOU-AUT"
    ).lines[0]
    received(session, [line(steel, "5", autumn)], actor=admin)
    order = work_order(session, W.IN_PROGRESS)
    in_time = use(session, order, steel, "1", on=date(2018, 10, 31))
    too_late = use(session, order, steel, "1", on=date(2018, 11, 1))
    assert [(p.classification, p.flagged) for p in in_time.draws] == [
        (Classification.COVERED, False)
    ]
    assert [(p.waiver_status, p.classification, p.flagged) for p in too_late.draws] == [
        (WaiverStatus.GRANTED, Classification.OUTSIDE_VALIDITY, True)
    ]


def test_using_more_material_than_is_on_site_is_refused_and_takes_nothing(
    session, admin, steel, two_lots
):
    order = work_order(session, W.IN_PROGRESS)
    before = snapshot(session, RECORDS)
    with pytest.raises(
        ConflictError,
        match=r"Materials store has 15 t of Steel; this issue asks for 15\.5 t\.",
    ) as refused:
        use(session, order, steel, "15.5", actor=admin)
    assert refused.value.field == "quantity"
    session.rollback()
    assert snapshot(session, RECORDS) == before


def test_material_that_went_back_south_is_no_longer_on_site(session, steel, two_lots):
    _old, new = two_lots
    returned(session, [(new, "10")], on=date(2018, 10, 6))
    order = work_order(session, W.IN_PROGRESS)
    with pytest.raises(ConflictError, match="has 5 t of Steel"):
        use(session, order, steel, "6")


@pytest.mark.parametrize("status", [W.PLANNED, W.COMPLETED, W.CANCELLED])
def test_materials_are_used_only_while_the_work_is_approved_or_under_way(
    session, steel, two_lots, status
):
    order = work_order(session, status, number="WO-2018-03")
    with pytest.raises(ConflictError, match=r"WO-2018-03 is \w+; materials are used while"):
        use(session, order, steel, "1")
    assert count(session, LotDraw) == 0


# --- spend and equipment ------------------------------------------------------------------


def test_spend_counts_materials_at_the_value_they_crossed_with_and_other_costs(
    session, steel, two_lots
):
    order = work_order(session, W.IN_PROGRESS, budget_krw="20,000,000")
    use(session, order, steel, "7")  # 5 t at 1,000 won a kg, then 2 t at 900,000 won a t
    repairs.add_cost(
        session,
        order,
        spent_on=date(2018, 10, 12),
        description="Welders, 3 days",
        amount_krw="2,400,000",
        actor=None,
        now=NOW,
    )
    spend = repairs.summary(session, order)
    assert [use.value_krw for use in spend.materials] == [5_000_000 + 1_800_000]
    assert (spend.materials_krw, spend.costs_krw, spend.spent_krw) == (
        6_800_000,
        2_400_000,
        9_200_000,
    )


@pytest.mark.parametrize(
    ("amount", "description", "field", "message"),
    [
        ("0", "Welders", "amount_krw", "Enter an amount greater than 0, in whole won."),
        ("-5", "Welders", "amount_krw", "Enter an amount greater than 0, in whole won."),
        ("1000.5", "Welders", "amount_krw", "Enter an amount greater than 0, in whole won."),
        ("1000", " ", "description", "Say what it was for."),
    ],
)
def test_a_cost_needs_an_amount_and_what_it_was_for(session, amount, description, field, message):
    order = work_order(session, W.IN_PROGRESS)
    with pytest.raises(InvalidInput) as refused:
        repairs.add_cost(
            session,
            order,
            spent_on=date(2018, 10, 12),
            description=description,
            amount_krw=amount,
            actor=None,
            now=NOW,
        )
    assert (refused.value.field, str(refused.value)) == (field, message)
    assert order.costs == []


def test_only_equipment_that_must_come_back_is_assigned_and_only_once(
    session, admin, heater, lines
):
    inbound = received(
        session,
        [
            line(heater, "1", lines["heater"], must_return=True, return_due_on=date(2018, 11, 30)),
            line(heater, "4", lines["heater"]),
        ],
        actor=admin,
    )
    tool, kept = lots_of(session, inbound)
    order = work_order(session, W.IN_PROGRESS)
    repairs.assign_equipment(session, order, tool, note="For the boiler room", actor=None, now=NOW)
    with pytest.raises(ConflictError, match="already on the work order"):
        repairs.assign_equipment(session, order, tool, actor=None, now=NOW)
    with pytest.raises(InvalidInput, match="Only equipment that must come back"):
        repairs.assign_equipment(session, order, kept, actor=None, now=NOW)
    assert [(item.lot_id, item.note) for item in order.equipment] == [
        (tool.id, "For the boiler room")
    ]


# --- the work order's page ----------------------------------------------------------------


def test_the_work_order_page_shows_materials_coverage_spend_and_equipment(
    as_admin, session, admin, steel, heater, lines, two_lots
):
    old, new = two_lots
    waivers.change_waiver_status(
        session,
        old.waiver_line.waiver,
        WaiverStatus.REVOKED,
        effective_on=date(2018, 10, 8),
        actor=None,
        now=NOW,
    )
    session.commit()
    tools = received(
        session,
        [
            line(heater, "1", lines["heater"], must_return=True, return_due_on=date(2018, 11, 30)),
            line(heater, "1", lines["heater"], must_return=True, return_due_on=date(2018, 11, 30)),
        ],
        actor=admin,
    )
    back, away = lots_of(session, tools)
    order = work_order(session, W.IN_PROGRESS, number="WO-2018-05", budget_krw="8,000,000")
    use(session, order, steel, "7")
    repairs.add_cost(
        session,
        order,
        spent_on=date(2018, 10, 12),
        description="Welders, 3 days",
        amount_krw="2,400,000",
        actor=None,
        now=NOW,
    )
    for lot in (back, away):
        repairs.assign_equipment(session, order, lot, actor=None, now=NOW)
    session.commit()
    returned(session, [(back, "1")], on=date(2018, 11, 20))

    page = read(as_admin.get(f"/repairs/{order.id}"))
    assert "WO-2018-05 in progress 1 flagged" in page.text
    assert page.marked["spend"] == (
        "9,200,000 of 8,000,000 KRW spent (materials 6,800,000, other 2,400,000) over budget"
    )
    assert page.rows("materials")[1:] == [
        [
            "2018-10-10",
            "Steel",
            "7 t",
            f"#{old.id}: 5 · denied revoked flagged #{new.id}: 2 · covered granted",
            "6,800,000",
        ]
    ]
    equipment = {row[0]: row for row in page.rows() if row and row[0].startswith("#")}
    assert equipment[f"#{back.id}"][2:4] == ["2018-11-30", "returned"]
    assert equipment[f"#{away.id}"][2:4] == ["2018-11-30", "1 piece"]  # overdue by now


def test_using_more_than_is_on_site_is_refused_on_the_page(as_admin, session, steel, two_lots):
    order = work_order(session, W.IN_PROGRESS)
    before = snapshot(session, RECORDS)
    response = as_admin.post(
        f"/repairs/{order.id}/materials",
        data={"resource": str(steel.id), "quantity": "16", "unit": "t", "used_on": "2018-10-10"},
    )
    assert response.status_code == 422
    page = read(response)
    assert page.errors["quantity"] == "Materials store has 15 t of Steel; this issue asks for 16 t."
    assert "No materials used yet." in page.text
    assert snapshot(session, RECORDS) == before


def test_material_used_on_the_page_is_drawn_and_listed(as_admin, session, steel, two_lots):
    order = work_order(session, W.APPROVED)
    response = as_admin.post(
        f"/repairs/{order.id}/materials",
        data={"resource": str(steel.id), "quantity": "500", "unit": "kg", "used_on": "2018-10-10"},
    )
    assert response.status_code == 302
    page = read(as_admin.get(response.location))
    assert "Material use recorded." in page.text
    assert page.rows("materials")[1][:3] == ["2018-10-10", "Steel", "0.5 t"]
    issued = session.scalars(select(StockMovement).where(StockMovement.use == "work_order"))
    assert [m.quantity for m in issued] == [Decimal("0.5")]


def test_material_posted_from_a_page_older_than_the_completion_is_refused_with_its_message(
    as_admin, session, steel, two_lots
):
    order = work_order(session, W.COMPLETED, number="WO-2018-06")
    response = as_admin.post(
        f"/repairs/{order.id}/materials",
        data={"resource": str(steel.id), "quantity": "1", "unit": "t", "used_on": "2018-10-10"},
    )
    assert response.status_code == 422
    assert read(response).form_errors == [
        "Work order WO-2018-06 is completed; materials are used while it is approved or under way."
    ]
    assert count(session, LotDraw) == 0


def test_the_status_form_offers_only_the_next_steps(as_admin, session):
    order = work_order(session, W.APPROVED)
    page = read(as_admin.get(f"/repairs/{order.id}"))
    assert page.options["status"] == ["in_progress", "cancelled"]

    refused = as_admin.post(
        f"/repairs/{order.id}/status", data={"status": "completed", "on": "2018-08-20"}
    )
    assert refused.status_code == 422
    assert read(refused).errors["status"] == "Not a valid choice."
    session.refresh(order)
    assert order.status is W.APPROVED

    started = as_admin.post(
        f"/repairs/{order.id}/status", data={"status": "in_progress", "on": "2018-08-20"}
    )
    assert started.status_code == 302
    session.refresh(order)
    assert (order.status, order.actual_start) == (W.IN_PROGRESS, date(2018, 8, 20))


def test_progress_on_planned_work_is_refused_on_the_page(as_admin, session):
    order = work_order(session)
    response = as_admin.post(f"/repairs/{order.id}/progress", data={"progress": "30"})
    assert response.status_code == 422
    assert read(response).form_errors == [
        "Progress is recorded while the work is approved or under way."
    ]
    session.refresh(order)
    assert order.progress == 0


def test_assigning_equipment_on_the_page(as_admin, session, admin, heater, lines):
    inbound = received(
        session,
        [line(heater, "1", lines["heater"], must_return=True, return_due_on=date(2018, 11, 30))],
        actor=admin,
    )
    (tool,) = lots_of(session, inbound)
    order = work_order(session, W.IN_PROGRESS)
    response = as_admin.post(
        f"/repairs/{order.id}/equipment", data={"lot": str(tool.id), "note": "Boiler room"}
    )
    assert response.status_code == 302
    assert session.scalars(select(WorkEquipment.lot_id)).all() == [tool.id]
