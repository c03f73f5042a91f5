"""Receiving a delivery into the stores the user chooses: each line is offered the stores that
can hold it (its product's tanks, with their room, then the warehouses), starts at the tank with
the most room, and lands where it was put; the service refuses a store that cannot take it
(retired, a tank of another product, too full) whatever the form sent, and the delivery's page
then says where each line went."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.errors import InvalidInput
from office.fuel import services as fuel
from office.stock import services as stock
from office.stock.models import StockLot, Store, StoreKind
from office.supplies import services
from office.supplies.models import DeliveryStatus
from tests.conftest import log_in
from tests.factories import NOW, make_resource, make_waiver
from tests.supplies.arrange import RECORDS, count, crossed, line, snapshot
from tests.supplies.pages import read


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


def tank(session, name: str, product, capacity: str, opening: str | None = None) -> Store:
    store = fuel.create_tank(
        session,
        name=name,
        product=product,
        capacity=capacity,
        tolerance=None,
        location="",
        opening=opening,
        opened_on=date(2018, 6, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return store


def warehouse(session, name: str) -> Store:
    store = stock.create_store(
        session,
        name=name,
        kind=StoreKind.WAREHOUSE,
        opened_on=date(2018, 6, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return store


@pytest.fixture
def fuel_on_site(session, diesel):
    """A boiler tank half full, an empty generator tank, a petrol tank and the materials store."""
    petrol = make_resource(session, "gasoline", hs_code="2710.12", barrels_per_tonne="8.50")
    return {
        "boiler": tank(session, "Boiler tank", diesel, "10000", opening="5000"),
        "generator": tank(session, "Generator tank", diesel, "8000"),
        "petrol": tank(session, "Vehicle tank", petrol, "20000"),
        "materials": warehouse(session, services.MATERIALS_STORE),
    }


@pytest.fixture
def diesel_line(session, diesel):
    return make_waiver(session, [(diesel, "L", "50000", "50000")]).lines[0]


def test_each_line_is_offered_the_stores_that_can_hold_it_starting_at_the_roomiest_tank(
    as_admin, session, diesel, steel, lines, diesel_line, fuel_on_site
):
    delivery = crossed(
        session,
        [line(diesel, "3000", diesel_line, purpose="fuel"), line(steel, "2", lines["steel"])],
    )
    diesel_item, steel_item = delivery.lines
    stores = fuel_on_site

    page = read(as_admin.get(f"/deliveries/{delivery.id}"))

    assert page.choices[f"store_{diesel_item.id}"] == [
        (str(stores["boiler"].id), "Boiler tank (tank, 5,000 L free)", None),
        (str(stores["generator"].id), "Generator tank (tank, 8,000 L free)", None),
        (str(stores["materials"].id), "Materials store (warehouse)", None),
    ]  # not the petrol tank
    assert page.selected[f"store_{diesel_item.id}"] == str(stores["generator"].id)
    assert page.choices[f"store_{steel_item.id}"] == [
        (str(stores["materials"].id), "Materials store (warehouse)", None)
    ]
    assert "Line 1: Diesel, 3,000 L, into" in page.marked["stores"]


def test_received_lines_land_in_the_stores_chosen_and_the_page_says_where(
    as_admin, session, diesel, steel, lines, diesel_line, fuel_on_site
):
    delivery = crossed(
        session,
        [line(diesel, "3000", diesel_line, purpose="fuel"), line(steel, "2", lines["steel"])],
    )
    diesel_item, steel_item = delivery.lines
    boiler, materials = fuel_on_site["boiler"], fuel_on_site["materials"]

    response = as_admin.post(
        f"/deliveries/{delivery.id}/receive",
        data={
            "on": "2018-10-01",
            f"store_{diesel_item.id}": str(boiler.id),  # not the suggested generator tank
            f"store_{steel_item.id}": str(materials.id),
        },
    )

    assert response.status_code == 302
    session.refresh(delivery)
    lots = [session.get(StockLot, item.lot_id) for item in delivery.lines]
    assert [(lot.store_id, lot.quantity) for lot in lots] == [
        (boiler.id, Decimal(3000)),
        (materials.id, Decimal(2)),
    ]
    assert stock.book_stock(session, boiler) == Decimal(8000)
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert page.row("1")[7] == f"Boiler tank lot #{lots[0].id}"
    assert page.row("2")[7] == f"Materials store lot #{lots[1].id}"


def test_a_store_that_cannot_hold_the_line_is_not_offered_and_refused_if_posted(
    as_admin, session, steel, lines, fuel_on_site
):
    delivery = crossed(session, [line(steel, "2", lines["steel"])])
    (item,) = delivery.lines
    before = snapshot(session, RECORDS)

    response = as_admin.post(
        f"/deliveries/{delivery.id}/receive",
        data={"on": "2018-10-01", f"store_{item.id}": str(fuel_on_site["boiler"].id)},
    )

    assert response.status_code == 422
    assert read(response).errors[f"store_{item.id}"] == "Not a valid choice."
    assert snapshot(session, RECORDS) == before


def test_the_service_refuses_a_tank_of_another_product_whatever_the_form_offered(
    session, steel, lines, fuel_on_site
):
    delivery = crossed(session, [line(steel, "2", lines["steel"])])
    (item,) = delivery.lines
    with pytest.raises(InvalidInput) as refused:
        services.receive(
            session,
            delivery,
            received_on=date(2018, 10, 1),
            stores={item.id: fuel_on_site["boiler"]},
            actor=None,
            now=NOW,
        )
    assert str(refused.value) == (
        "Boiler tank holds Diesel, not Steel; choose another store for line 1."
    )
    assert refused.value.field == f"store_{item.id}"


def test_the_service_refuses_a_retired_tank(session, diesel, diesel_line, fuel_on_site):
    delivery = crossed(session, [line(diesel, "3000", diesel_line, purpose="fuel")])
    (item,) = delivery.lines
    boiler = fuel_on_site["boiler"]
    boiler.is_active = False
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        services.receive(
            session,
            delivery,
            received_on=date(2018, 10, 1),
            stores={item.id: boiler},
            actor=None,
            now=NOW,
        )
    assert str(refused.value) == (
        "Boiler tank is no longer in use; choose another store for line 1."
    )
    assert count(session, StockLot) == 3 - 2  # the boiler tank's opening stock only


def test_a_tank_too_full_for_the_line_is_refused_beside_its_store_and_nothing_is_received(
    as_admin, session, diesel, diesel_line, fuel_on_site
):
    delivery = crossed(session, [line(diesel, "6000", diesel_line, purpose="fuel")])
    (item,) = delivery.lines
    before = snapshot(session, RECORDS)

    response = as_admin.post(
        f"/deliveries/{delivery.id}/receive",
        data={"on": "2018-10-01", f"store_{item.id}": str(fuel_on_site["boiler"].id)},
    )

    assert response.status_code == 422
    assert read(response).errors[f"store_{item.id}"] == (
        "Boiler tank holds 10,000 L and has 5,000 L; receiving 6,000 L would overfill it."
    )
    assert snapshot(session, RECORDS) == before
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.CROSSED


def test_without_a_materials_store_the_receipt_offers_to_open_it_and_does(
    as_admin, session, steel, lines
):
    delivery = crossed(session, [line(steel, "2", lines["steel"])])
    (item,) = delivery.lines
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert page.choices[f"store_{item.id}"] == [("", "Materials store (opened on receipt)", None)]

    response = as_admin.post(
        f"/deliveries/{delivery.id}/receive", data={"on": "2018-10-01", f"store_{item.id}": ""}
    )

    assert response.status_code == 302
    (store,) = session.scalars(select(Store)).all()
    assert store.name == services.MATERIALS_STORE
    session.refresh(delivery)
    assert session.get(StockLot, delivery.lines[0].lot_id).store_id == store.id


def test_several_lines_of_one_fuel_are_suggested_across_the_tanks_by_their_room(
    session, diesel, diesel_line, fuel_on_site
):
    delivery = crossed(
        session,
        [
            line(diesel, "6000", diesel_line, purpose="fuel"),
            line(diesel, "4000", diesel_line, purpose="fuel"),
        ],
    )
    first, second = delivery.lines
    suggested = services.suggested_stores(session, delivery)
    # 8,000 L free in the generator tank takes the first; 5,000 L in the boiler the second.
    assert (suggested[first.id].name, suggested[second.id].name) == (
        "Generator tank",
        "Boiler tank",
    )
