"""The dates a page offers follow the plan it shows, not the calendar: a delivery's crossing
date starts as the day it is planned and screened for, its receipt as the day it crossed; a work
order's status, materials and costs as its planned days. Never a day in the future."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from office.db import utcnow
from office.i18n import office_date
from office.repairs import services as repairs
from office.repairs.models import WorkStatus
from office.supplies import services
from office.supplies.models import DeliveryStatus
from tests.conftest import log_in
from tests.factories import make_waiver
from tests.supplies.arrange import approved, crossed, draft, line, work_order
from tests.supplies.pages import read

W = WorkStatus
OCT3 = date(2018, 10, 3)


def today() -> date:
    return office_date(utcnow())


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


# --- deliveries ---------------------------------------------------------------------------


def test_the_crossing_date_starts_as_the_planned_day_and_crossing_with_it_goes_through(
    as_admin, session, steel, lines
):
    delivery = approved(session, [line(steel, "1", lines["steel"])], planned_on=date(2018, 10, 1))
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert "Screening for 2018-10-01" in page.text
    assert page.inputs["on"] == "2018-10-01"

    response = as_admin.post(f"/deliveries/{delivery.id}/cross", data={"on": page.inputs["on"]})

    assert response.status_code == 302
    session.refresh(delivery)
    assert (delivery.status, delivery.crossed_on) == (DeliveryStatus.CROSSED, date(2018, 10, 1))


def test_the_receipt_date_starts_as_the_day_it_crossed(as_admin, session, steel, lines):
    delivery = crossed(
        session, [line(steel, "1", lines["steel"])], planned_on=date(2018, 10, 1), on=OCT3
    )
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert page.inputs["on"] == "2018-10-03"


def test_a_delivery_planned_for_later_offers_today_the_latest_day_it_may_have_crossed(
    as_admin, session, steel
):
    waiver = make_waiver(session, [(steel, "t", "10", "10")], valid_until=None)
    delivery = approved(
        session, [line(steel, "1", waiver.lines[0])], planned_on=today() + timedelta(days=5)
    )
    assert read(as_admin.get(f"/deliveries/{delivery.id}")).inputs["on"] == today().isoformat()


def test_the_suggested_day_of_a_delivery(session):
    delivery = draft(session, planned_on=date(2018, 10, 1))
    assert services.suggested_day(delivery, today=date(2018, 12, 31)) == date(2018, 10, 1)
    assert services.suggested_day(delivery, today=date(2018, 9, 20)) == date(2018, 9, 20)
    delivery.crossed_on = date(2018, 10, 4)
    assert services.suggested_day(delivery, today=date(2018, 12, 31)) == date(2018, 10, 4)


# --- work orders (planned 2018-08-01 to 2018-09-30) ---------------------------------------


@pytest.mark.parametrize(
    ("status", "offered", "day"),
    [
        (W.PLANNED, "approved", "2018-08-01"),
        (W.APPROVED, "in_progress", "2018-08-01"),
        (W.IN_PROGRESS, "completed", "2018-09-30"),
    ],
)
def test_the_status_date_starts_as_the_planned_day_of_the_status_offered(
    as_admin, session, status, offered, day
):
    order = work_order(session, status)
    page = read(as_admin.get(f"/repairs/{order.id}"))
    assert (page.selected["status"] or page.options["status"][0], page.inputs["on"]) == (
        offered,
        day,
    )


def test_material_and_cost_dates_start_within_the_planned_period(as_admin, session):
    order = work_order(session, W.IN_PROGRESS)
    page = read(as_admin.get(f"/repairs/{order.id}"))
    # Long past: the last planned day, not today.
    assert (page.inputs["used_on"], page.inputs["spent_on"]) == ("2018-09-30", "2018-09-30")


def test_the_suggested_day_of_a_work_order(session):
    order = work_order(session)  # planned 2018-08-01 to 2018-09-30
    on = repairs.suggested_day
    assert on(order, today=date(2018, 8, 20)) == date(2018, 8, 20)  # within: that day
    assert on(order, today=date(2018, 12, 1)) == date(2018, 9, 30)  # after: the planned end
    assert on(order, today=date(2018, 7, 20)) == date(2018, 7, 20)  # before: not the future
    assert on(order, today=date(2018, 12, 1), status=W.IN_PROGRESS) == date(2018, 8, 1)
    assert on(order, today=date(2018, 7, 20), status=W.IN_PROGRESS) == date(2018, 7, 20)
    assert on(order, today=date(2018, 12, 1), status=W.COMPLETED) == date(2018, 9, 30)
    order.actual_start = date(2018, 10, 2)  # started late: it cannot end before it started
    assert on(order, today=date(2018, 12, 1), status=W.COMPLETED) == date(2018, 10, 2)


def test_completing_with_the_date_offered_keeps_the_planned_end(as_admin, session):
    order = work_order(session, W.IN_PROGRESS)
    day = read(as_admin.get(f"/repairs/{order.id}")).inputs["on"]
    response = as_admin.post(f"/repairs/{order.id}/status", data={"status": "completed", "on": day})
    assert response.status_code == 302
    session.refresh(order)
    assert (order.status, order.actual_end) == (W.COMPLETED, date(2018, 9, 30))
    assert repairs.TRANSITIONS[order.status] == set()
