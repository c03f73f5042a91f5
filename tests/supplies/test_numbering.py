"""Deliveries and work orders are numbered for the user: a new one's form offers the next free
number of the office's series (KLO-D-2018-14 after KLO-D-2018-13, KLO-S for south-bound,
KLO-W for work orders, by year), which may be kept or changed; a number already taken is
refused with the next free one named."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from office.db import utcnow
from office.i18n import office_date
from office.repairs.models import WorkOrder
from office.supplies import services
from office.supplies.models import Delivery, Direction
from tests.conftest import log_in
from tests.supplies.arrange import count, draft, work_order
from tests.supplies.pages import read


def year() -> int:
    return office_date(utcnow()).year


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


def header(reference: str, direction: str = "north") -> dict[str, str]:
    return {
        "reference": reference,
        "direction": direction,
        "planned_on": "2018-10-01",
    }


def work(number: str) -> dict[str, str]:
    return {
        "number": number,
        "area": "floor_2",
        "description": "Replace the heating pipes",
        "budget_krw": "1000000",
        "planned_start": "2018-08-01",
        "planned_end": "2018-09-30",
    }


def test_a_new_delivery_is_offered_the_next_free_number_of_its_direction(as_admin, session):
    y = year()
    for reference in (f"KLO-D-{y}-01", f"KLO-D-{y}-03", f"KLO-D-{y - 1}-40", "KLO-D-special"):
        draft(session, reference=reference)

    north = read(as_admin.get("/deliveries/new"))
    south = read(as_admin.get("/deliveries/new?direction=south"))

    assert (north.inputs["reference"], north.selected["direction"]) == (f"KLO-D-{y}-04", "north")
    assert (south.inputs["reference"], south.selected["direction"]) == (f"KLO-S-{y}-01", "south")
    assert (
        f"The next free numbers are KLO-D-{y}-04 north-bound and KLO-S-{y}-01 south-bound; "
        "change it if the delivery has another."
    ) in north.text


def test_the_number_offered_is_kept_and_the_next_form_offers_the_one_after(as_admin, session):
    offered = read(as_admin.get("/deliveries/new")).inputs["reference"]

    response = as_admin.post("/deliveries/new", data=header(offered))

    assert response.status_code == 302
    assert session.scalars(select(Delivery.reference)).all() == [offered]
    assert read(as_admin.get("/deliveries/new")).inputs["reference"] == (f"KLO-D-{year()}-02")


def test_the_number_offered_may_be_changed(as_admin, session):
    response = as_admin.post("/deliveries/new", data=header("HYUNDAI-ASAN-0917"))
    assert response.status_code == 302
    assert session.scalars(select(Delivery.reference)).all() == ["HYUNDAI-ASAN-0917"]


def test_a_number_taken_meanwhile_is_refused_naming_the_next_free_one(as_admin, session):
    y = year()
    offered = read(as_admin.get("/deliveries/new")).inputs["reference"]
    draft(session, reference=offered)  # someone else saved it first

    response = as_admin.post("/deliveries/new", data=header(offered))

    assert response.status_code == 422
    assert read(response).errors["reference"] == (
        f"A delivery KLO-D-{y}-01 already exists; the next free number is KLO-D-{y}-02."
    )
    assert count(session, Delivery) == 1


def test_a_new_work_order_is_offered_the_next_free_number_and_a_taken_one_is_refused(
    as_admin, session
):
    y = year()
    work_order(session, number=f"KLO-W-{y}-07")

    page = read(as_admin.get("/repairs/new"))
    assert page.inputs["number"] == f"KLO-W-{y}-08"
    assert as_admin.post("/repairs/new", data=work(page.inputs["number"])).status_code == 302

    response = as_admin.post("/repairs/new", data=work(f"KLO-W-{y}-07"))
    assert response.status_code == 422
    assert read(response).errors["number"] == (
        f"Work order KLO-W-{y}-07 already exists; the next free number is KLO-W-{y}-09."
    )
    assert sorted(session.scalars(select(WorkOrder.number))) == [
        f"KLO-W-{y}-07",
        f"KLO-W-{y}-08",
    ]


def test_the_next_free_number_continues_its_own_series_only(session):
    for reference in ("KLO-D-2018-09", "KLO-D-2018-9x", "klo-d-2018-50", "KLO-D-2018-099"):
        draft(session, reference=reference)
    assert services.next_reference(session, Direction.NORTH, year=2018) == "KLO-D-2018-100"
    assert services.next_reference(session, "south", year=2018) == "KLO-S-2018-01"
    assert services.series_of("KLO-D-2018-099") == "KLO-D-2018-"
    assert services.series_of("KLO-D-special") is None
