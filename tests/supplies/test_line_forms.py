"""Forms that follow the choice already made, without a script: the waiver lines offered for a
manifest line or a drawdown are grouped by resource (and a line of another resource is refused
beside its field), and a unit left as the form offers it is the chosen resource's own, so that
copper is counted in its unit and not in litres."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.auth.permissions import Role
from office.stock.models import StockMovement
from office.supplies.models import DeliveryLine
from office.waivers.models import DrawdownEntry, WaiverLine, WaiverStatus
from office.waivers.units import Unit
from tests.conftest import log_in
from tests.factories import make_resource, make_user, make_waiver
from tests.supplies.arrange import count, draft, line, received, work_order
from tests.supplies.pages import read

OWN_UNIT = ("", "the resource's own unit", None)


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


@pytest.fixture
def kilos_of_copper(session):
    """Copper counted in kilograms, as the demo counts it."""
    return make_resource(
        session, "copper-kg", hs_code="7403.11", unit=Unit.KG, barrels_per_tonne=None
    )


def test_the_manifest_lines_waiver_lines_are_grouped_by_their_resource(
    as_admin, session, steel, copper, lines
):
    other = make_waiver(session, [(steel, "t", "3", "3")], reference="MOU-2018-0702")
    delivery = draft(session, planned_on=date(2018, 10, 1))

    page = read(as_admin.get(f"/deliveries/{delivery.id}"))

    groups = {value: group for value, _text, group in page.choices["waiver_line_id"]}
    assert groups == {
        "": None,
        str(lines["copper"].id): "copper · Copper (t)",
        str(lines["heater"].id): "water-heater · Water heater (pieces)",
        str(lines["steel"].id): "steel · Steel (t)",
        str(other.lines[0].id): "steel · Steel (t)",
    }
    # Each resource's lines together, in one group, by the resources' codes.
    assert [group for _v, _t, group in page.choices["waiver_line_id"]][1:] == [
        "copper · Copper (t)",
        "steel · Steel (t)",
        "steel · Steel (t)",
        "water-heater · Water heater (pieces)",
    ]


def test_a_manifest_line_on_a_waiver_line_of_another_resource_is_refused_beside_it(
    as_admin, session, copper, lines
):
    delivery = draft(session)
    response = as_admin.post(
        f"/deliveries/{delivery.id}/lines",
        data={
            "resource": str(copper.id),
            "quantity": "1",
            "unit": "",
            "purpose": "repair",
            "waiver_line_id": str(lines["steel"].id),
        },
    )
    assert response.status_code == 422
    assert read(response).errors["waiver_line_id"] == (
        "Waiver MOU-2018-0611 line 1 is for Steel, not Copper."
    )
    assert count(session, DeliveryLine) == 0


def test_the_manifest_lines_unit_starts_as_the_resources_own_and_is_taken_so(
    as_admin, session, kilos_of_copper
):
    delivery = draft(session)
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert page.choices["unit"][0] == OWN_UNIT and page.selected["unit"] == ""

    response = as_admin.post(
        f"/deliveries/{delivery.id}/lines",
        data={"resource": str(kilos_of_copper.id), "quantity": "1450", "purpose": "repair"},
    )

    assert response.status_code == 302
    item = session.scalars(select(DeliveryLine)).one()
    assert (item.quantity, item.unit) == (Decimal(1450), Unit.KG)


def test_material_used_in_the_resources_own_unit_when_the_unit_is_left_as_offered(
    as_admin, session, steel, lines
):
    received(session, [line(steel, "2", lines["steel"])])
    order = work_order(session, "approved")
    page = read(as_admin.get(f"/repairs/{order.id}"))
    assert page.choices["unit"][0] == OWN_UNIT and page.selected["unit"] == ""

    response = as_admin.post(
        f"/repairs/{order.id}/materials",
        data={"resource": str(steel.id), "quantity": "1.5", "used_on": "2018-10-10"},
    )

    assert response.status_code == 302
    issued = session.scalars(select(StockMovement).where(StockMovement.use == "work_order"))
    assert [m.quantity for m in issued] == [Decimal("1.5")]


# --- the ledger's own forms ---------------------------------------------------------------


def test_the_drawdown_forms_waiver_lines_are_grouped_by_resource_and_its_unit_is_the_resources(
    as_admin, session, kilos_of_copper, steel, lines
):
    copper_line = make_waiver(
        session, [(kilos_of_copper, "kg", "2000", "2000")], reference="MOU-2018-0720"
    ).lines[0]
    page = read(as_admin.get("/ledger/new"))
    assert page.choices["unit"][0] == OWN_UNIT and page.selected["unit"] == ""
    grouped = {value: group for value, _text, group in page.choices["line_un"]}
    assert grouped[str(copper_line.id)] == "copper-kg · Copper-Kg (kg)"
    assert grouped[str(lines["steel"].id)] == "steel · Steel (t)"

    response = as_admin.post(
        "/ledger/new",
        data={
            "resource": str(kilos_of_copper.id),
            "quantity": "300",
            "occurred_on": "2018-10-01",
            "line_un": str(copper_line.id),
            "purpose": "repair",
            "action": "record",
        },
    )

    assert response.status_code == 302
    entry = session.scalars(select(DrawdownEntry)).one()
    assert (entry.quantity, entry.unit, entry.base_quantity) == (
        Decimal(300),
        Unit.KG,
        Decimal(300),
    )


def test_a_waiver_line_added_with_the_unit_as_offered_is_in_the_resources_unit(
    client, session, kilos_of_copper
):
    reviewer = make_user(session, Role.REVIEWER, name="Reviewer Park")
    waiver = make_waiver(session, [], status=WaiverStatus.DRAFT, reference="MOU-2018-0801")
    as_reviewer = log_in(client, reviewer)
    page = read(as_reviewer.get(f"/waivers/{waiver.id}"))
    assert page.choices["unit"][0] == OWN_UNIT and page.selected["unit"] == ""

    response = as_reviewer.post(
        f"/waivers/{waiver.id}/lines",
        data={"resource": str(kilos_of_copper.id), "requested_quantity": "2000"},
    )

    assert response.status_code == 302
    added = session.scalars(select(WaiverLine).where(WaiverLine.waiver_id == waiver.id)).one()
    assert (added.unit, added.requested_quantity) == (Unit.KG, Decimal(2000))
