"""Fixtures for deliveries and repair works: goods that need a waiver, and the waiver lines
they go north under."""

from __future__ import annotations

import pytest

from office.auth.permissions import Role
from office.waivers.models import Resource, WaiverLine
from office.waivers.units import Unit
from tests.factories import make_resource, make_rice, make_steel, make_user, make_waiver


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, name="Admin Kim")


@pytest.fixture
def steel(session) -> Resource:
    return make_steel(session)  # prohibited (HS 72), counted in tonnes


@pytest.fixture
def copper(session) -> Resource:
    return make_resource(
        session, "copper", hs_code="7403.11", unit=Unit.T, barrels_per_tonne=None, name="Copper"
    )


@pytest.fixture
def heater(session) -> Resource:
    return make_resource(
        session,
        "water-heater",
        hs_code="8419.11",
        unit=Unit.PIECE,
        barrels_per_tonne=None,
        name="Water heater",
    )


@pytest.fixture
def rice(session) -> Resource:
    return make_rice(session)  # not controlled


@pytest.fixture
def diesel(session) -> Resource:
    return make_resource(session)  # capped (HS 2710), in litres


@pytest.fixture
def lines(session, steel, copper, heater) -> dict[str, WaiverLine]:
    """A granted waiver valid through 2018: 10 t of steel, 5 t of copper, 20 water heaters."""
    waiver = make_waiver(
        session,
        [(steel, "t", "10", "10"), (copper, "t", "5", "5"), (heater, "piece", "20", "20")],
        reference="MOU-2018-0611",
    )
    return dict(zip(("steel", "copper", "heater"), waiver.lines, strict=True))
