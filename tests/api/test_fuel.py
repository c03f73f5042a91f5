"""Generators' run hours and the fuel of the tanks through the API: receipts drawn on the
ledger, issues and returns from the oldest lots, dips against the book, voids with a reason.
Recorded and refused as on the day's page (tests/fuel/test_views.py), through the same
services, with the page's messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.fuel import services
from office.fuel.models import DailyLogEvent, DipReading, GeneratorReading
from office.stock.models import MovementKind, StockLot, StockMovement
from office.waivers.models import DrawdownEntry
from tests.api.conftest import assert_ledger_verifies, assert_problem
from tests.factories import NOW, make_resource, make_waiver

DAY = "2018-10-10"


@pytest.fixture
def diesel(session):
    return make_resource(session)


@pytest.fixture
def line(session, diesel):
    return make_waiver(session, [(diesel, "L", "100000", None)], reference="MOU-T-FUEL").lines[0]


@pytest.fixture
def tank(session, diesel):
    tank = services.create_tank(
        session,
        name="Boiler tank",
        product=diesel,
        capacity="10000",
        tolerance=None,
        location="Boiler house",
        opening=None,
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return tank


@pytest.fixture
def generator(session, tank):
    generator = services.add_generator(
        session, name="Generator 1", rated_lph="38", tank=tank, actor=None, now=NOW
    )
    session.commit()
    return generator


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def receipt(tank, line, litres="4000", **changes):
    return {
        "tank_id": tank.id,
        "quantity": litres,
        "unit": "L",
        "received_on": "2018-10-01",
        "authorisations": [{"regime": "un", "line_id": line.id}],
        "parties": "S-Oil tanker",
        **changes,
    }


def receive(admin_api, tank, line, litres="4000", **changes):
    response = admin_api.post("/fuel/receipts", receipt(tank, line, litres, **changes))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- receipts, issues, returns ------------------------------------------------------------


def test_a_receipt_is_drawn_on_the_ledger_and_becomes_a_lot(admin_api, app, session, tank, line):
    body = receive(admin_api, tank, line)

    assert (body["kind"], body["quantity"], body["unit"], body["tank"]) == (
        "receipt",
        "4000",
        "L",
        "Boiler tank",
    )
    lot = session.get(StockLot, body["lot_id"])
    entry = session.get(DrawdownEntry, body["drawdown_entry_id"])
    assert (lot.remaining, lot.waiver_line_id) == (Decimal(4000), line.id)
    assert (entry.base_quantity, entry.waiver_line_id) == (Decimal(4000), line.id)
    assert services.stock.book_stock(session, tank) == 4000
    assert admin_api.get(f"/fuel/movements/{body['id']}").get_json() == body
    assert_ledger_verifies(app)


def test_a_receipt_that_would_overfill_the_tank_is_refused_and_records_nothing(
    admin_api, session, tank, line
):
    problem = assert_problem(admin_api.post("/fuel/receipts", receipt(tank, line, "10001")), 409)

    assert "10,001" in problem["detail"]
    assert count(session, StockMovement) == count(session, DrawdownEntry) == 0


def test_a_receipt_the_ledger_refuses_is_a_409_with_its_classification(
    admin_api, session, tank, diesel
):
    capped = make_waiver(session, [(diesel, "L", "1000", "1000")], reference="MOU-T-CAP")

    response = admin_api.post("/fuel/receipts", receipt(tank, capped.lines[0], "4000"))
    flagged = admin_api.post(
        "/fuel/receipts",
        receipt(tank, capped.lines[0], "4000", override_reason="Winter: the boiler needs it."),
    )

    assert assert_problem(response, 409)["classification"] == "over_cap"
    assert flagged.status_code == 201
    entry = session.get(DrawdownEntry, flagged.get_json()["drawdown_entry_id"])
    assert (entry.flagged, entry.override_reason) == (True, "Winter: the boiler needs it.")


def test_a_receipt_naming_a_line_under_another_regime_is_refused(admin_api, session, tank, line):
    body = receipt(tank, line, authorisations=[{"regime": "us", "line_id": line.id}])

    problem = assert_problem(admin_api.post("/fuel/receipts", body), 422)

    assert list(problem["errors"]) == ["authorisations.0.regime"]
    assert count(session, StockMovement) == 0


@pytest.mark.parametrize(
    ("stock", "message"),
    [
        ("3000", "Boiler tank has 3,000 L of Diesel; this issue asks for 3,500 L."),
        (None, "Boiler tank has 0 L of Diesel; this issue asks for 3,500 L."),
    ],
)
def test_an_issue_of_more_than_the_book_stock_is_refused_with_the_pages_message(
    admin_api, session, tank, line, stock, message
):
    if stock:
        receive(admin_api, tank, line, stock)
    events = count(session, DailyLogEvent)

    response = admin_api.post(
        "/fuel/issues",
        {"tank_id": tank.id, "quantity": "3500", "issued_on": DAY, "use": "boiler"},
    )

    # The page shows it beside the quantity (422); the API answers 409: the stock refuses it.
    assert assert_problem(response, 409)["detail"] == message
    assert count(session, StockMovement, StockMovement.kind == MovementKind.ISSUE) == 0
    assert count(session, DailyLogEvent) == events


def test_an_issue_draws_the_oldest_lot_first_and_a_generators_needs_the_generator(
    admin_api, session, tank, line, generator
):
    first = receive(admin_api, tank, line, "1000")
    second = receive(admin_api, tank, line, "1000", received_on="2018-10-02")
    issue = {"tank_id": tank.id, "quantity": "1500", "issued_on": DAY, "use": "generator"}

    refused = admin_api.post("/fuel/issues", issue)
    issued = admin_api.post("/fuel/issues", {**issue, "generator_id": generator.id})

    assert assert_problem(refused, 422)["errors"] == {
        "generator": ["Choose the generator the fuel went to."]
    }
    assert issued.status_code == 201
    draws = [(d["lot_id"], d["quantity"]) for d in issued.get_json()["draws"]]
    assert draws == [(first["lot_id"], "1000"), (second["lot_id"], "500")]
    assert services.stock.book_stock(session, tank) == 500


def test_a_return_south_is_recorded_from_the_oldest_lot(admin_api, session, tank, line):
    lot = receive(admin_api, tank, line, "1000")["lot_id"]

    response = admin_api.post(
        "/fuel/returns",
        {"tank_id": tank.id, "quantity": "200", "returned_on": DAY, "parties": "Tanker"},
    )

    assert response.status_code == 201
    assert response.get_json()["draws"][0]["lot_id"] == lot
    assert session.get(StockLot, lot).returned == 200


def test_voiding_an_issue_puts_its_litres_back_and_needs_a_reason(admin_api, session, tank, line):
    receive(admin_api, tank, line, "1000")
    issued = admin_api.post(
        "/fuel/issues", {"tank_id": tank.id, "quantity": "300", "issued_on": DAY, "use": "boiler"}
    ).get_json()

    reasonless = admin_api.post(f"/fuel/movements/{issued['id']}/void", {"reason": " "})
    voided = admin_api.post(f"/fuel/movements/{issued['id']}/void", {"reason": "Typed twice."})
    again = admin_api.post(f"/fuel/movements/{issued['id']}/void", {"reason": "Typed twice."})

    assert list(assert_problem(reasonless, 422)["errors"]) == ["reason"]
    assert voided.status_code == 200
    assert voided.get_json()["void_reason"] == "Typed twice."
    assert assert_problem(again, 409)
    assert services.stock.book_stock(session, tank) == 1000


def test_voiding_a_receipt_reverses_its_drawdown_unless_its_fuel_was_drawn(
    admin_api, session, tank, line
):
    kept = receive(admin_api, tank, line, "1000")
    untouched = receive(admin_api, tank, line, "500", received_on="2018-10-02")
    admin_api.post(
        "/fuel/issues", {"tank_id": tank.id, "quantity": "100", "issued_on": DAY, "use": "boiler"}
    )

    drawn = admin_api.post(f"/fuel/movements/{kept['id']}/void", {"reason": "Wrong tank."})
    voided = admin_api.post(f"/fuel/movements/{untouched['id']}/void", {"reason": "Wrong tank."})

    assert_problem(drawn, 409)
    assert voided.status_code == 200
    reversal = session.scalars(
        select(DrawdownEntry).where(DrawdownEntry.reverses_id == untouched["drawdown_entry_id"])
    ).one()
    assert reversal.base_quantity == -500
    assert services.stock.book_stock(session, tank) == 900


def test_fuel_movements_are_listed_newest_first_a_page_at_a_time_and_filtered(
    admin_api, tank, line
):
    receive(admin_api, tank, line, "1000")
    for litres in ("100", "200", "300"):
        admin_api.post(
            "/fuel/issues",
            {"tank_id": tank.id, "quantity": litres, "issued_on": DAY, "use": "boiler"},
        )

    first = admin_api.get("/fuel/movements", {"limit": 3}).get_json()
    second = admin_api.get(
        "/fuel/movements", {"limit": 3, "cursor": first["next_cursor"]}
    ).get_json()
    receipts = admin_api.get("/fuel/movements", {"kind": "receipt", "tank_id": tank.id})
    october_first = admin_api.get("/fuel/movements", {"from": "2018-10-01", "to": "2018-10-01"})

    quantities = [m["quantity"] for page in (first, second) for m in page["items"]]
    assert quantities == ["300", "200", "100", "1000"]
    assert second["next_cursor"] is None
    assert [m["kind"] for m in receipts.get_json()["items"]] == ["receipt"]
    assert [m["kind"] for m in october_first.get_json()["items"]] == ["receipt"]
    assert_problem(admin_api.get("/fuel/movements", {"kind": "theft"}), 422)


def test_an_unknown_tank_or_movement_is_refused(admin_api, session, tank, line):
    problem = assert_problem(
        admin_api.post("/fuel/receipts", receipt(tank, line, tank_id=9999)), 422
    )

    assert problem["errors"] == {"tank_id": ["No tank has the id 9999."]}
    assert_problem(admin_api.get("/fuel/movements/9999"), 404)
    assert_problem(admin_api.post("/fuel/movements/9999/void", {"reason": "x"}), 404)


# --- dips and run hours -------------------------------------------------------------------


def test_a_dip_is_compared_with_the_book_and_one_above_the_capacity_refused(
    admin_api, session, tank, line
):
    receive(admin_api, tank, line, "4000")

    dip = admin_api.post(
        "/fuel/dips", {"tank_id": tank.id, "measured": "3990", "read_at": f"{DAY}T08:00:00+09:00"}
    )
    over = admin_api.post(
        "/fuel/dips", {"tank_id": tank.id, "measured": "10001", "read_at": f"{DAY}T09:00:00+09:00"}
    )

    assert dip.status_code == 201
    body = dip.get_json()
    assert (body["book"], body["variance"], body["flagged"]) == ("4000", "-10", False)
    assert assert_problem(over, 422)["errors"] == {
        "measured": ["A dip of 10,001 is more than Boiler tank holds (10,000)."]
    }
    assert count(session, DipReading) == 1
    listed = admin_api.get("/fuel/dips", {"tank_id": tank.id}).get_json()
    assert [d["id"] for d in listed["items"]] == [body["id"]]


def test_generator_run_hours_are_recorded_and_cannot_go_back(admin_api, session, generator):
    first = admin_api.post(
        "/generator-readings",
        {"generator_id": generator.id, "hours": "1250.5", "read_at": f"{DAY}T08:00:00+09:00"},
    )
    back = admin_api.post(
        "/generator-readings",
        {"generator_id": generator.id, "hours": "1240", "read_at": f"{DAY}T18:00:00+09:00"},
    )

    assert first.status_code == 201
    assert first.get_json()["read_at"] == "2018-10-09T23:00:00Z"
    assert assert_problem(back, 422)["errors"] == {
        "hours": ["Generator 1's run-hour meter read 1,250.5; it cannot go back to 1,240."]
    }
    assert [r.hours for r in session.scalars(select(GeneratorReading))] == [Decimal("1250.5")]
    listed = admin_api.get("/generator-readings", {"generator_id": generator.id}).get_json()
    assert [r["hours"] for r in listed["items"]] == ["1250.5"]


def test_tanks_and_generators_are_listed(admin_api, tank, generator):
    [listed_tank] = admin_api.get("/tanks").get_json()["items"]
    [listed_generator] = admin_api.get("/generators").get_json()["items"]

    assert (listed_tank["name"], listed_tank["capacity"], listed_tank["resource"]) == (
        "Boiler tank",
        "10000",
        "diesel",
    )
    assert (listed_generator["tank_id"], listed_generator["rated_lph"]) == (tank.id, "38")


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.REVIEWER])
def test_only_the_office_administrator_records_fuel_and_run_hours(
    api_as, session, tank, line, generator, role
):
    api = api_as(role)
    posts = {
        "/fuel/receipts": receipt(tank, line),
        "/fuel/issues": {"tank_id": tank.id, "quantity": "1", "issued_on": DAY, "use": "boiler"},
        "/fuel/returns": {"tank_id": tank.id, "quantity": "1", "returned_on": DAY},
        "/fuel/dips": {"tank_id": tank.id, "measured": "0", "read_at": f"{DAY}T08:00:00Z"},
        "/generator-readings": {
            "generator_id": generator.id,
            "hours": "1",
            "read_at": f"{DAY}T08:00:00Z",
        },
    }

    for path, body in posts.items():
        assert_problem(api.post(path, body), 403)
    assert count(session, StockMovement) == count(session, DipReading) == 0
    assert count(session, GeneratorReading) == 0


def test_a_scheduler_cannot_read_the_fuel_but_a_reviewer_can(api_as, tank):
    for path in ("/fuel/movements", "/fuel/dips", "/generator-readings", "/tanks", "/generators"):
        assert_problem(api_as(Role.SCHEDULER).get(path), 403)
        assert api_as(Role.REVIEWER).get(path).status_code == 200


@pytest.mark.parametrize(
    ("path", "changes", "field"),
    [
        ("/fuel/issues", {"quantity": "-5"}, "quantity"),
        ("/fuel/issues", {"quantity": "1e400"}, "quantity"),
        ("/fuel/issues", {"use": "heating"}, "use"),
        ("/fuel/issues", {"issued_on": "2018-13-01"}, "issued_on"),
        ("/fuel/issues", {"issued_on": "2099-01-01"}, "day"),
        ("/fuel/issues", {"tank_id": "1"}, "tank_id"),
        ("/fuel/returns", {"returned_on": None}, "returned_on"),
        ("/fuel/returns", {"parties": "a\x00b"}, "parties"),
        ("/fuel/dips", {"read_at": "2018-10-10 08:00"}, "read_at"),
        ("/fuel/dips", {"measured": "lots"}, "measured"),
        ("/generator-readings", {"hours": True}, "hours"),
        ("/generator-readings", {"generator_id": 0}, "generator_id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    admin_api, session, tank, line, generator, path, changes, field
):
    receive(admin_api, tank, line, "1000")
    bodies = {
        "/fuel/issues": {"tank_id": tank.id, "quantity": "1", "issued_on": DAY, "use": "boiler"},
        "/fuel/returns": {"tank_id": tank.id, "quantity": "1", "returned_on": DAY},
        "/fuel/dips": {"tank_id": tank.id, "measured": "990", "read_at": f"{DAY}T08:00:00Z"},
        "/generator-readings": {
            "generator_id": generator.id,
            "hours": "10",
            "read_at": f"{DAY}T08:00:00Z",
        },
    }
    before = [count(session, m) for m in (StockMovement, DipReading, GeneratorReading)]
    events = count(session, DailyLogEvent)

    problem = assert_problem(admin_api.post(path, {**bodies[path], **changes}), 422)

    assert list(problem["errors"]) == [field]
    assert [count(session, m) for m in (StockMovement, DipReading, GeneratorReading)] == before
    assert count(session, DailyLogEvent) == events
