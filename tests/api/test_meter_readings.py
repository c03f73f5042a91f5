"""Meter readings through the API: one, a head-end's batch (all or nothing, every refused row
listed), the list and a void. Recorded and refused as on the day's page, through the same
service, each grid interval drawn once on the meter's waiver line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.fuel import services
from office.fuel.models import DailyLogEvent, Meter, MeterReading
from office.waivers.models import DrawdownEntry, Source
from tests.api.conftest import assert_ledger_verifies, assert_problem
from tests.conftest import log_in
from tests.factories import NOW


def reading(meter: Meter, value: Any, read_at: str = "2018-10-10T09:00:00+09:00", **more: Any):
    return {"meter_id": meter.id, "value": value, "read_at": read_at, **more}


def quarter_hours(meter: Meter, count: int, start: datetime, first: int, step: int = 2):
    """`count` readings 15 minutes apart from `start`, the register moving `step` each."""
    return [
        reading(
            meter,
            str(first + step * n),
            (start + timedelta(minutes=15 * n)).isoformat().replace("+00:00", "Z"),
        )
        for n in range(count)
    ]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def standing(session, meter: Meter) -> list[MeterReading]:
    return session.scalars(
        select(MeterReading)
        .where(MeterReading.meter_id == meter.id, MeterReading.voided_at.is_(None))
        .order_by(MeterReading.read_at)
    ).all()


# --- one reading --------------------------------------------------------------------------


def test_a_reading_counts_the_kwh_since_the_last_and_draws_them_on_the_meters_line(
    admin_api, session, meter, power_line
):
    response = admin_api.post("/meter-readings", reading(meter, "99105"))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["read_at"] == "2018-10-10T00:00:00Z"  # 09:00 in Seoul, written in UTC
    assert body["read_on"] == "2018-10-10"
    assert (body["value"], body["consumption"], body["flagged"]) == ("99105", "105", False)
    assert body["previous_at"] == "2018-10-01T00:00:00Z"
    assert response.headers["Location"].endswith(f"/api/v1/meter-readings/{body['id']}")
    entry = session.get(DrawdownEntry, body["drawdown_entry_id"])
    assert (entry.source, entry.base_quantity, entry.waiver_line_id) == (
        Source.METER,
        Decimal(105),
        power_line.id,
    )
    session.refresh(power_line)
    assert power_line.used_base == 105
    assert admin_api.get(f"/meter-readings/{body['id']}").get_json() == body


def test_a_rollover_is_counted_through_zero(admin_api, session, meter):
    response = admin_api.post("/meter-readings", reading(meter, 500, rolled_over=True))

    assert response.status_code == 201
    assert response.get_json()["consumption"] == "1500"  # 99,000 -> 99,999 -> 0 -> 500


# The refusals of the day's page (tests/fuel/test_views.py), word for word.
LOWER = (
    "500 is lower than the last reading of Main incomer (99,000). If the register rolled "
    "over, say so; if the meter was replaced, record the replacement."
)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"value": "500"}, "value", LOWER),
        ({"unit": "L"}, "unit", "An electricity meter is read in kWh, not L."),
        (
            {"read_at": "2018-09-30T09:00:00+09:00"},
            "read_at",
            "Main incomer was installed on 2018-10-01 09:00; a reading cannot be earlier.",
        ),
        (
            {"value": "100000"},
            "value",
            "Main incomer has 5 digits; 100,000 cannot be on its register.",
        ),
    ],
)
def test_a_reading_the_page_refuses_is_refused_with_the_pages_message(
    admin_api, client, admin, session, meter, changes, field, message
):
    body = {**reading(meter, "99100"), **changes}

    response = admin_api.post("/meter-readings", body)

    problem = assert_problem(response, 422)
    assert problem["detail"] == message
    assert problem["errors"] == {field: [message]}
    assert count(session, MeterReading) == 1
    assert count(session, DrawdownEntry) == 0
    # The page says the same.
    day = body["read_at"][:10]
    page = log_in(client, admin).post(
        f"/operations/days/{day}/meter-readings",
        data={
            "reading-meter": str(meter.id),
            "reading-value": body["value"],
            "reading-unit": body.get("unit", "kWh"),
            "reading-at": body["read_at"][11:16],
        },
    )
    assert page.status_code == 422
    assert message.replace("'", "&#39;") in page.get_data(as_text=True)


def test_a_reading_not_later_than_the_last_is_refused(admin_api, session, meter):
    assert admin_api.post("/meter-readings", reading(meter, "99100")).status_code == 201

    problem = assert_problem(admin_api.post("/meter-readings", reading(meter, "99200")), 422)

    assert problem["detail"] == (
        "The last reading of Main incomer was at 2018-10-10 09:00; a new one must be later."
    )
    assert count(session, MeterReading) == 2


def test_a_reading_of_a_signed_off_day_needs_a_correction_reason(admin_api, session, meter):
    services.sign_off(session, date(2018, 10, 10), actor=None, now=NOW)
    session.commit()

    refused = admin_api.post("/meter-readings", reading(meter, "99100"))
    corrected = admin_api.post(
        "/meter-readings", reading(meter, "99100", correction_reason="Head-end was offline.")
    )

    problem = assert_problem(refused, 409)
    assert problem["detail"] == (
        "The log of 2018-10-10 is signed off; a change to it is a correction: give the reason."
    )
    assert corrected.status_code == 201
    event = session.scalars(
        select(DailyLogEvent).where(DailyLogEvent.action == "meter_reading")
    ).one()
    assert event.reason == "Head-end was offline."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "99100", "read_at": "2018-10-10T09:00:00"}, "read_at"),  # no offset
        ({"value": "99100", "read_at": 1539129600}, "read_at"),  # a Unix time
        ({"value": "99100", "read_at": "2018-02-30T09:00:00Z"}, "read_at"),
        ({"value": "abc", "read_at": "2018-10-10T09:00:00Z"}, "value"),
        ({"value": "99100"}, "read_at"),
        (
            {"value": "99100", "read_at": "2018-10-10T09:00:00Z", "rolled_over": "yes"},
            "rolled_over",
        ),
        ({"value": "99100", "read_at": "2018-10-10T09:00:00Z", "colour": "red"}, "colour"),
    ],
)
def test_a_malformed_reading_is_refused_beside_its_field_and_changes_nothing(
    admin_api, session, meter, body, field
):
    problem = assert_problem(admin_api.post("/meter-readings", {"meter_id": meter.id, **body}), 422)

    assert list(problem["errors"]) == [field]
    assert count(session, MeterReading) == 1


def test_a_reading_of_an_unknown_meter_is_refused(admin_api, session, meter):
    problem = assert_problem(
        admin_api.post("/meter-readings", {**reading(meter, 1), "meter_id": 999}), 422
    )

    assert problem["errors"] == {"meter_id": ["No meter has the id 999."]}


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.REVIEWER])
def test_only_the_office_administrator_records_readings(api_as, session, meter, role):
    api = api_as(role)

    single = api.post("/meter-readings", reading(meter, "99100"))
    batch = api.post("/meter-readings/batch", {"readings": [reading(meter, "99100")]})

    assert_problem(single, 403)
    assert_problem(batch, 403)
    assert count(session, MeterReading) == 1


def test_a_scheduler_cannot_read_meters_but_a_reviewer_can(api_as, meter):
    assert_problem(api_as(Role.SCHEDULER).get("/meter-readings"), 403)
    assert_problem(api_as(Role.SCHEDULER).get("/meters"), 403)
    assert api_as(Role.REVIEWER).get("/meter-readings").status_code == 200
    assert api_as(Role.REVIEWER).get("/meters").get_json()["items"][0]["last_value"] == "99000"


# --- a head-end's batch -------------------------------------------------------------------


def test_a_day_of_quarter_hours_is_recorded_each_interval_drawn_once(
    admin_api, app, session, meter, power_line
):
    batch = quarter_hours(meter, 96, datetime(2018, 10, 9, 15, 15, tzinfo=UTC), 99002)

    response = admin_api.post("/meter-readings/batch", {"readings": batch})

    assert response.status_code == 201, response.get_json()
    items = response.get_json()["items"]
    assert len(items) == 96
    assert [item["consumption"] for item in items] == ["2"] * 96
    kept = standing(session, meter)
    assert [r.previous_at for r in kept[1:]] == [r.read_at for r in kept[:-1]]
    session.refresh(power_line)
    assert power_line.used_base == 192
    assert count(session, DrawdownEntry) == 96
    assert_ledger_verifies(app)


def test_a_batch_with_refused_rows_records_none_and_lists_every_refused_row(
    admin_api, session, meter, power_line
):
    batch = quarter_hours(meter, 10, datetime(2018, 10, 9, 0, 0, tzinfo=UTC), 99010)
    batch[3]["value"] = "98000"  # lower than row 2
    batch[7]["unit"] = "L"
    batch[8]["read_at"] = batch[6]["read_at"]  # earlier than row 7... and row 7 is refused
    events = count(session, DailyLogEvent)

    response = admin_api.post("/meter-readings/batch", {"readings": batch})

    problem = assert_problem(response, 422)
    assert problem["detail"] == "3 readings of the batch were refused, so none was recorded."
    assert [(row["index"], row["field"], row["status"]) for row in problem["rejected"]] == [
        (3, "value", 422),
        (7, "unit", 422),
        (8, "read_at", 422),
    ]
    assert problem["rejected"][1]["message"] == "An electricity meter is read in kWh, not L."
    assert problem["errors"]["readings.7.unit"] == ["An electricity meter is read in kWh, not L."]
    assert count(session, MeterReading) == 1
    assert count(session, DrawdownEntry) == 0
    assert count(session, DailyLogEvent) == events
    session.refresh(power_line)
    assert power_line.used_base == 0


def test_a_batch_with_malformed_rows_lists_them_by_index(admin_api, session, meter):
    batch = quarter_hours(meter, 4, datetime(2018, 10, 9, 0, 0, tzinfo=UTC), 99010)
    batch[1]["value"] = "ten"
    batch[2]["read_at"] = "yesterday"

    problem = assert_problem(admin_api.post("/meter-readings/batch", {"readings": batch}), 422)

    assert [(row["index"], row["field"]) for row in problem["rejected"]] == [
        (1, "value"),
        (2, "read_at"),
    ]
    assert count(session, MeterReading) == 1


def test_a_batch_naming_an_unknown_meter_records_none(admin_api, session, meter):
    batch = quarter_hours(meter, 3, datetime(2018, 10, 9, 0, 0, tzinfo=UTC), 99010)
    batch[1]["meter_id"] = 4040

    problem = assert_problem(admin_api.post("/meter-readings/batch", {"readings": batch}), 422)

    assert problem["rejected"] == [
        {"index": 1, "field": "meter_id", "status": 422, "message": "No meter has the id 4040."}
    ]
    assert count(session, MeterReading) == 1


@pytest.mark.parametrize("readings", [[], None, "many"])
def test_an_empty_or_shapeless_batch_is_refused(admin_api, session, meter, readings):
    problem = assert_problem(admin_api.post("/meter-readings/batch", {"readings": readings}), 422)

    assert list(problem["errors"]) == ["readings"]


def test_a_batch_over_the_ledgers_cap_is_refused_at_the_row_that_goes_over(
    admin_api, session, meter, power_line
):
    power_line.granted_quantity = power_line.granted_base = Decimal(10)
    session.commit()
    batch = quarter_hours(meter, 3, datetime(2018, 10, 9, 0, 0, tzinfo=UTC), 99004, step=4)

    problem = assert_problem(admin_api.post("/meter-readings/batch", {"readings": batch}), 422)

    # 4 + 4 fit in the 10 kWh granted; 4 more do not.
    assert [(row["index"], row["status"]) for row in problem["rejected"]] == [(2, 409)]
    assert count(session, DrawdownEntry) == 0


# --- the list and voids -------------------------------------------------------------------


def test_readings_are_listed_newest_first_a_page_at_a_time_filtered_by_meter_and_time(
    admin_api, session, meter
):
    batch = quarter_hours(meter, 7, datetime(2018, 10, 9, 0, 0, tzinfo=UTC), 99010)
    assert admin_api.post("/meter-readings/batch", {"readings": batch}).status_code == 201

    first = admin_api.get("/meter-readings", {"meter_id": meter.id, "limit": 3}).get_json()
    second = admin_api.get(
        "/meter-readings", {"meter_id": meter.id, "limit": 3, "cursor": first["next_cursor"]}
    ).get_json()
    third = admin_api.get(
        "/meter-readings", {"meter_id": meter.id, "limit": 3, "cursor": second["next_cursor"]}
    ).get_json()
    window = admin_api.get(
        "/meter-readings", {"from": "2018-10-09T09:15:00+09:00", "to": "2018-10-09T00:45:00Z"}
    ).get_json()

    values = [item["value"] for page in (first, second, third) for item in page["items"]]
    assert values == ["99022", "99020", "99018", "99016", "99014", "99012", "99010", "99000"]
    assert third["next_cursor"] is None
    assert [item["read_at"] for item in window["items"]] == [
        "2018-10-09T00:45:00Z",
        "2018-10-09T00:30:00Z",
        "2018-10-09T00:15:00Z",
    ]
    other = admin_api.get("/meter-readings", {"meter_id": meter.id + 1}).get_json()
    assert other == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2018-10-09"},
        {"cursor": "0"},
        {"cursor": "3071181290"},
        {"limit": "1001"},
        {"meter_id": "x"},
    ],
)
def test_bad_list_parameters_are_refused(admin_api, meter, query):
    assert_problem(admin_api.get("/meter-readings", query), 422)


def test_voiding_the_latest_reading_reverses_its_drawdown(admin_api, session, meter, power_line):
    recorded = admin_api.post("/meter-readings", reading(meter, "99300")).get_json()

    response = admin_api.post(
        f"/meter-readings/{recorded['id']}/void", {"reason": "Misread the dial."}
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["void_reason"], body["voided_at"] is not None) == ("Misread the dial.", True)
    reversal = session.scalars(
        select(DrawdownEntry).where(DrawdownEntry.reverses_id == recorded["drawdown_entry_id"])
    ).one()
    assert reversal.base_quantity == -300
    session.refresh(power_line)
    assert power_line.used_base == 0


def test_an_earlier_reading_or_one_without_a_reason_cannot_be_voided(admin_api, session, meter):
    earlier = admin_api.post("/meter-readings", reading(meter, "99300")).get_json()
    later = admin_api.post(
        "/meter-readings", reading(meter, "99500", "2018-10-11T09:00:00+09:00")
    ).get_json()

    refused = admin_api.post(f"/meter-readings/{earlier['id']}/void", {"reason": "Misread."})
    reasonless = admin_api.post(f"/meter-readings/{later['id']}/void", {"reason": ""})
    missing = admin_api.post("/meter-readings/98765/void", {"reason": "Misread."})

    assert assert_problem(refused, 409)["detail"] == (
        "Only the latest reading of a meter in service can be voided; later readings were "
        "counted from it."
    )
    assert list(assert_problem(reasonless, 422)["errors"]) == ["reason"]
    assert_problem(missing, 404)
    assert all(r.voided_at is None for r in standing(session, meter))


def test_a_reviewer_cannot_void(api_as, admin_api, session, meter):
    recorded = admin_api.post("/meter-readings", reading(meter, "99300")).get_json()

    assert_problem(
        api_as(Role.REVIEWER).post(f"/meter-readings/{recorded['id']}/void", {"reason": "x"}), 403
    )
    assert standing(session, meter)[-1].voided_at is None


def test_a_batch_sent_again_with_its_idempotency_key_is_recorded_once(admin_api, session, meter):
    batch = {"readings": quarter_hours(meter, 4, datetime(2018, 10, 9, tzinfo=UTC), 99010)}
    key = {"Idempotency-Key": '"head-end 2018-10-09"'}

    first = admin_api.post("/meter-readings/batch", batch, headers=key)
    again = admin_api.post("/meter-readings/batch", batch, headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(session, MeterReading) == 5


def test_the_user_who_recorded_is_the_tokens(admin_api, session, meter):
    body = admin_api.post("/meter-readings", reading(meter, "99300")).get_json()

    assert session.get(MeterReading, body["id"]).recorded_by_id == admin_api.user.id
