"""Setting up the operations through the API: meters installed and replaced, generators and
tanks added. Done and refused as on the equipment and tanks pages, through the same services,
with the pages' messages; a refused request changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from office.fuel import services
from office.fuel.models import DailyLogEvent, Generator, Meter, MeterReading, ReadingKind
from office.stock.models import StockLot, Store
from office.waivers.models import DrawdownEntry, WaiverLine
from tests.api.conftest import INSTALLED, assert_ledger_verifies, assert_problem
from tests.conftest import log_in
from tests.factories import NOW, make_resource, make_waiver


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def prefixed(form: str, data: dict[str, str]) -> dict[str, str]:
    return {f"{form}-{key}": value for key, value in data.items()}


def meter_body(line: WaiverLine | None, **changes: Any) -> dict[str, Any]:
    """An annex meter on `line`, installed on 2018-10-02 at 10:00 in Seoul at 1,200."""
    body = {
        "name": "Annex meter",
        "source": "grid_south",
        "waiver_line_id": line.id if line is not None else None,
        "digits": 6,
        "multiplier": "10",
        "installed_at": "2018-10-02T10:00:00+09:00",
        "first_value": "1200",
    }
    return {**body, **changes}


def meter_form(body: dict[str, Any]) -> dict[str, str]:
    """The equipment page's form for the same meter (times in Seoul)."""
    return prefixed(
        "meter",
        {
            "name": body["name"],
            "source": body["source"],
            "waiver_line_id": str(body["waiver_line_id"] or ""),
            "digits": str(body["digits"]),
            "multiplier": body["multiplier"],
            "installed_on": body["installed_at"][:10],
            "installed_at": body["installed_at"][11:16],
            "first_value": body["first_value"],
            "correction_reason": body.get("correction_reason") or "",
        },
    )


def replacement(**changes: Any) -> dict[str, Any]:
    """Replace at 2018-10-05 12:00 in Seoul: the old register at 99,300, the new at 10."""
    body = {
        "final_value": "99300",
        "replaced_at": "2018-10-05T12:00:00+09:00",
        "name": "New incomer",
        "digits": 6,
        "multiplier": "1",
        "first_value": "10",
    }
    return {**body, **changes}


def replacement_form(meter_id: int, body: dict[str, Any]) -> dict[str, str]:
    return prefixed(
        f"replace-{meter_id}",
        {
            "final_value": body["final_value"],
            "replaced_on": body["replaced_at"][:10],
            "replaced_at": body["replaced_at"][11:16],
            "name": body["name"],
            "digits": str(body["digits"]),
            "multiplier": body["multiplier"],
            "first_value": body["first_value"],
        },
    )


def read_meter(session, meter: Meter, value: str, when: datetime) -> None:
    services.record_meter_reading(session, meter, value=value, read_at=when, actor=None, now=NOW)
    session.commit()


def as_listed(api, path: str, item_id: int) -> dict[str, Any]:
    [item] = [i for i in api.get(path).get_json()["items"] if i["id"] == item_id]
    return item


# --- meters ---------------------------------------------------------------------------------


def test_a_grid_meter_is_installed_with_its_first_reading_as_get_lists_it(
    admin_api, session, power_line
):
    response = admin_api.post("/meters", meter_body(power_line))

    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith("/api/v1/meters")
    answer = response.get_json()
    assert answer == as_listed(admin_api, "/meters", answer["id"])
    assert {key: answer[key] for key in ("name", "source", "waiver_line_id", "digits")} == {
        "name": "Annex meter",
        "source": "grid_south",
        "waiver_line_id": power_line.id,
        "digits": 6,
    }
    assert (answer["multiplier"], answer["last_value"]) == ("10", "1200")
    assert answer["installed_at"] == answer["last_read_at"] == "2018-10-02T01:00:00Z"
    [first] = session.scalars(select(MeterReading)).all()
    assert (first.kind, first.read_on, first.consumption) == (
        ReadingKind.FIRST,
        date(2018, 10, 2),
        None,
    )
    assert count(session, DrawdownEntry) == 0  # a first reading counts nothing
    [event] = session.scalars(select(DailyLogEvent)).all()
    assert (event.action, event.by_id) == ("meter_installed", admin_api.user.id)


def test_a_meter_installed_through_the_api_is_the_meter_the_page_installs(
    admin_api, client, admin, session, power_line
):
    body = meter_body(power_line)
    page = log_in(client, admin).post("/operations/meters", data=meter_form(body))
    assert page.status_code == 302
    assert admin_api.post("/meters", body).status_code == 201

    by_page, by_api = session.scalars(select(Meter).order_by(Meter.id)).all()

    def shown(meter: Meter) -> tuple[Any, ...]:
        first = session.scalars(select(MeterReading).where(MeterReading.meter_id == meter.id)).one()
        return (
            meter.name,
            meter.source,
            meter.waiver_line_id,
            meter.digits,
            meter.multiplier,
            meter.installed_at,
            first.value,
            first.kind,
            first.read_on,
        )

    assert shown(by_page) == shown(by_api)
    events = session.scalars(select(DailyLogEvent).order_by(DailyLogEvent.id)).all()
    assert [e.action for e in events] == ["meter_installed", "meter_installed"]


@pytest.mark.parametrize(
    ("changes", "status", "field", "message"),
    [
        (
            {"waiver_line_id": None},
            422,
            "waiver_line_id",
            "Power from the South's grid is drawn on a waiver line; choose it.",
        ),
        (
            {"first_value": "1000000"},
            422,
            "first_value",
            "Annex meter has 6 digits; 1,000,000 cannot be on its register.",
        ),
        ({"multiplier": "0"}, 422, "multiplier", "The quantity must be greater than zero."),
        (
            {"first_value": "1.2345"},
            422,
            "first_value",
            "The quantity can have at most 3 decimal places.",
        ),
        ({"waiver_line_id": 999999}, 422, "waiver_line_id", "No waiver line has the id 999999."),
    ],
)
def test_a_meter_the_page_refuses_is_refused_with_its_message_and_nothing_is_added(
    admin_api, session, power_line, changes, status, field, message
):
    problem = assert_problem(admin_api.post("/meters", meter_body(power_line, **changes)), status)

    assert problem["errors"] == {field: [message]}
    assert count(session, Meter) == 0
    assert count(session, MeterReading) == 0
    assert count(session, DailyLogEvent) == 0


def test_a_meter_on_a_line_that_is_not_electricity_is_refused_as_on_the_page(
    admin_api, client, admin, session, power_line
):
    diesel = make_resource(session)
    fuel_line = make_waiver(session, [(diesel, "L", "1000", "1000")], reference="MOU-D").lines[0]
    session.commit()

    problem = assert_problem(admin_api.post("/meters", meter_body(fuel_line)), 422)

    assert problem["errors"] == {"waiver_line_id": ["Choose a waiver line for electricity."]}
    assert count(session, Meter) == 0
    # The page offers only lines of electricity: it refuses the line too.
    page = log_in(client, admin).post("/operations/meters", data=meter_form(meter_body(fuel_line)))
    assert page.status_code == 422
    assert count(session, Meter) == 0


def test_a_meter_installed_on_a_signed_off_day_is_a_correction(admin_api, session, power_line):
    services.sign_off(session, date(2018, 10, 2), actor=None, now=NOW)
    session.commit()

    refused = admin_api.post("/meters", meter_body(power_line))
    added = admin_api.post(
        "/meters", meter_body(power_line, correction_reason="Installed, not logged.")
    )

    problem = assert_problem(refused, 409)
    assert problem["detail"] == (
        "The log of 2018-10-02 is signed off; a change to it is a correction: give the reason."
    )
    assert added.status_code == 201
    assert session.scalars(select(Meter)).one().name == "Annex meter"
    events = session.scalars(select(DailyLogEvent).order_by(DailyLogEvent.id)).all()
    assert events[-1].reason == "Installed, not logged."


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"digits": 0}, 422, "digits"),
        ({"digits": "6"}, 422, "digits"),
        ({"installed_at": "2018-10-02T10:00:00"}, 422, "installed_at"),
        ({"source": "solar"}, 422, "source"),
        ({"name": "   "}, 422, "name"),
        ({"colour": "red"}, 422, "colour"),
        ({"first_value": "12,5"}, 422, "first_value"),
    ],
)
def test_a_malformed_meter_is_a_problem_and_adds_nothing(
    admin_api, session, power_line, body, status, field
):
    problem = assert_problem(admin_api.post("/meters", {**meter_body(power_line), **body}), status)

    assert field in problem["errors"]
    assert count(session, Meter) == 0


def test_malformed_json_and_a_reviewer_are_refused(admin_api, reviewer_api, session, power_line):
    assert_problem(admin_api.post("/meters", raw="{"), 400)
    assert_problem(reviewer_api.post("/meters", meter_body(power_line)), 403)
    assert count(session, Meter) == 0


# --- a meter replaced -----------------------------------------------------------------------


def test_a_meter_replaced_gives_its_final_reading_to_the_ledger_and_answers_the_new_meter(
    app, admin_api, session, meter, power_line
):
    read_meter(session, meter, "99100", datetime(2018, 10, 3, tzinfo=UTC))

    response = admin_api.post(f"/meters/{meter.id}/replace", replacement())

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer == as_listed(admin_api, "/meters", answer["id"])
    assert (answer["name"], answer["source"], answer["waiver_line_id"]) == (
        "New incomer",
        "grid_south",
        power_line.id,
    )
    assert (answer["installed_at"], answer["last_value"]) == ("2018-10-05T03:00:00Z", "10")
    old = as_listed(admin_api, "/meters", meter.id)
    assert old["removed_at"] == old["last_read_at"] == "2018-10-05T03:00:00Z"
    assert old["last_value"] == "99300"
    final = session.scalars(
        select(MeterReading).where(MeterReading.meter_id == meter.id, MeterReading.kind == "final")
    ).one()
    assert final.consumption == Decimal(200)
    entry = session.get(DrawdownEntry, final.drawdown_entry_id)
    assert (entry.base_quantity, entry.waiver_line_id) == (Decimal(200), power_line.id)
    session.expire_all()
    assert session.get(WaiverLine, power_line.id).used_base == Decimal(300)  # 100 + 200
    assert_ledger_verifies(app)


def test_a_meter_replaced_through_the_api_is_replaced_as_the_page_replaces_it(
    admin_api, client, admin, session, meter, power_line
):
    twin = services.add_meter(
        session,
        name="Main incomer",
        source=meter.source,
        waiver_line=power_line,
        digits=5,
        multiplier="1",
        installed_at=INSTALLED,
        first_value="99000",
        actor=None,
        now=NOW,
    )
    session.commit()
    for each in (meter, twin):
        read_meter(session, each, "99100", datetime(2018, 10, 3, tzinfo=UTC))
    body = replacement()

    page = log_in(client, admin).post(
        f"/operations/meters/{meter.id}/replace", data=replacement_form(meter.id, body)
    )
    api = admin_api.post(f"/meters/{twin.id}/replace", body)

    assert (page.status_code, api.status_code) == (302, 201)

    def outcome(old: Meter) -> tuple[Any, ...]:
        session.refresh(old)
        new = session.scalars(select(Meter).where(Meter.replaces_id == old.id)).one()
        readings = session.scalars(
            select(MeterReading)
            .where(MeterReading.meter_id.in_([old.id, new.id]))
            .order_by(MeterReading.read_at, MeterReading.id)
        ).all()
        drawn = [
            session.get(DrawdownEntry, r.drawdown_entry_id).base_quantity
            for r in readings
            if r.drawdown_entry_id is not None
        ]
        return (
            old.removed_at,
            (new.name, new.source, new.waiver_line_id, new.digits, new.multiplier),
            new.installed_at,
            [(r.meter_id == old.id, r.value, r.kind, r.consumption) for r in readings],
            drawn,
        )

    assert outcome(meter) == outcome(twin)


@pytest.mark.parametrize(
    ("changes", "status", "field", "message"),
    [
        (
            {"final_value": "99050"},
            422,
            "final_value",
            "99,050 is lower than the last reading of Main incomer (99,100). If the register "
            "rolled over, say so; if the meter was replaced, record the replacement.",
        ),
        (
            {"replaced_at": "2018-10-03T09:00:00+09:00"},
            422,
            "replaced_at",
            "The last reading of Main incomer was at 2018-10-03 09:00; a new one must be later.",
        ),
        (
            {"first_value": "1000000"},
            422,
            "first_value",
            "New incomer has 6 digits; 1,000,000 cannot be on its register.",
        ),
        (
            {"final_rolled_over": True},
            422,
            "final_rolled_over",
            "A meter that rolled over reads less than before (99,100).",
        ),
        ({"multiplier": "-1"}, 422, "multiplier", "The quantity must be greater than zero."),
    ],
)
def test_a_replacement_the_page_refuses_is_refused_with_its_message_and_changes_nothing(
    admin_api, client, admin, session, meter, changes, status, field, message
):
    read_meter(session, meter, "99100", datetime(2018, 10, 3, tzinfo=UTC))
    body = replacement(**changes)

    problem = assert_problem(admin_api.post(f"/meters/{meter.id}/replace", body), status)

    assert problem["errors"] == {field: [message]}
    assert count(session, Meter) == 1
    assert count(session, MeterReading) == 2
    assert count(session, DrawdownEntry) == 1
    session.refresh(meter)
    assert meter.removed_at is None
    if field != "multiplier":  # the page's form refuses a negative before the service
        form = replacement_form(meter.id, body)
        if changes.get("final_rolled_over"):
            form[f"replace-{meter.id}-final_rolled_over"] = "y"
        page = log_in(client, admin).post(f"/operations/meters/{meter.id}/replace", data=form)
        assert page.status_code == 422
        assert message.replace("'", "&#39;") in page.get_data(as_text=True)


def test_a_meter_out_of_service_is_not_replaced_again_and_an_unknown_one_is_not_found(
    admin_api, session, meter
):
    assert admin_api.post(f"/meters/{meter.id}/replace", replacement()).status_code == 201

    again = admin_api.post(f"/meters/{meter.id}/replace", replacement(final_value="99400"))
    missing = admin_api.post("/meters/999999/replace", replacement())

    problem = assert_problem(again, 409)
    assert problem["detail"] == "Main incomer was taken out of service on 2018-10-05 12:00."
    assert assert_problem(missing, 404)["detail"] == "No meter has the id 999999."
    assert count(session, Meter) == 2
    assert count(session, MeterReading) == 3  # the first, the final, the new one's first


# --- generators -----------------------------------------------------------------------------


@pytest.fixture
def tank(session) -> Store:
    store = services.create_tank(
        session,
        name="Boiler tank",
        product=make_resource(session),
        capacity="1000",
        tolerance=None,
        location="",
        opening=None,
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return store


def test_a_generator_is_added_as_get_lists_it_and_as_the_page_adds_it(
    admin_api, client, admin, session, tank
):
    response = admin_api.post(
        "/generators", {"name": "Generator 2", "rated_lph": 19.5, "tank_id": tank.id}
    )
    page = log_in(client, admin).post(
        "/operations/generators",
        data=prefixed("generator", {"name": "Generator 3", "rated_lph": "19.5", "tank": tank.id}),
    )

    assert (response.status_code, page.status_code) == (201, 302)
    answer = response.get_json()
    assert answer == as_listed(admin_api, "/generators", answer["id"])
    assert answer == {
        "id": answer["id"],
        "name": "Generator 2",
        "rated_lph": "19.5",
        "tank_id": tank.id,
        "is_active": True,
    }
    by_page = session.scalars(select(Generator).where(Generator.name == "Generator 3")).one()
    assert (by_page.rated_lph, by_page.tank_id) == (Decimal("19.5"), tank.id)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "Generator 1"}, "name", "A generator named Generator 1 already exists."),
        ({"rated_lph": "0"}, "rated_lph", "The quantity must be greater than zero."),
        ({"tank_id": 999999}, "tank_id", "No tank has the id 999999."),
        ({"name": "x" * 81}, "name", "Must have at most 80 characters."),
    ],
)
def test_a_generator_refused_adds_nothing(admin_api, session, tank, body, field, message):
    services.add_generator(
        session, name="Generator 1", rated_lph="38", tank=tank, actor=None, now=NOW
    )
    session.commit()

    response = admin_api.post("/generators", {"name": "Generator 2", "rated_lph": "19", **body})

    assert assert_problem(response, 422)["errors"] == {field: [message]}
    assert count(session, Generator) == 1


# --- tanks ----------------------------------------------------------------------------------


def test_a_tank_is_added_with_its_opening_stock_as_get_lists_it_and_as_the_page_adds_it(
    admin_api, client, admin, session, diesel
):
    body = {
        "name": "Annex tank",
        "resource": "diesel",
        "capacity": "5000",
        "tolerance": "80",
        "location": "Annex",
        "opening": "3000",
        "opened_on": "2018-10-01",
    }
    response = admin_api.post("/tanks", body)
    page = log_in(client, admin).post(
        "/operations/tanks",
        data={
            **body,
            "name": "Annex tank 2",
            "product": str(diesel.id),
            "resource": "",
        },
    )

    assert (response.status_code, page.status_code) == (201, 302)
    answer = response.get_json()
    assert answer == as_listed(admin_api, "/tanks", answer["id"])
    assert answer == {
        "id": answer["id"],
        "name": "Annex tank",
        "resource": "diesel",
        "unit": "L",
        "capacity": "5000",
        "tolerance": "80",
        "location": "Annex",
        "is_active": True,
    }
    by_api, by_page = (
        session.scalars(select(Store).where(Store.name == name)).one()
        for name in ("Annex tank", "Annex tank 2")
    )
    assert (by_api.capacity, by_api.tolerance, by_api.location) == (
        by_page.capacity,
        by_page.tolerance,
        by_page.location,
    )
    lots = [
        session.scalars(select(StockLot).where(StockLot.store_id == tank.id)).one()
        for tank in (by_api, by_page)
    ]
    assert [(lot.quantity, lot.received_on, lot.source) for lot in lots] == [
        (Decimal(3000), date(2018, 10, 1), lots[0].source)
    ] * 2


def test_a_tank_without_a_tolerance_takes_one_percent_of_its_capacity(admin_api, diesel):
    response = admin_api.post("/tanks", {"name": "T", "resource": "diesel", "capacity": 2500})

    assert response.status_code == 201
    assert response.get_json()["tolerance"] == "25"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "Boiler tank"}, "name", "A store named Boiler tank already exists."),
        ({"resource": "unobtainium"}, "resource", "No resource has the code unobtainium."),
        ({"opening": "1500"}, "opening", "The opening stock is more than the tank holds."),
        ({"capacity": "0"}, "capacity", "The quantity must be greater than zero."),
        ({"opened_on": "2018-02-30"}, "opened_on", "Must be a real date written YYYY-MM-DD."),
    ],
)
def test_a_tank_refused_adds_nothing(admin_api, session, tank, body, field, message):
    response = admin_api.post(
        "/tanks", {"name": "Annex tank", "resource": "diesel", "capacity": "1000", **body}
    )

    assert assert_problem(response, 422)["errors"] == {field: [message]}
    assert count(session, Store) == 1
    assert count(session, StockLot) == 0
