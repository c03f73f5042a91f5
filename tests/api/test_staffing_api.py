"""Staffing through the API: the roster, stays and duty read by every role and written by
schedulers, through the services the pages call, with the pages' refusals and messages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.staffing import services
from office.staffing.models import DutyShift, Shift, Side, Stay
from tests.api.conftest import assert_problem
from tests.factories import NOW, audit_events, make_person, stay

D = date


@pytest.fixture
def scheduler_api(api_as):
    return api_as(Role.SCHEDULER)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def stay_body(person, first="2018-10-01", last="2018-10-10", **changes):
    return {"person_id": person.id, "first_day": first, "last_day": last, **changes}


def night(session, day, *people, side=Side.SOUTH):
    services.set_duty(session, day, side, Shift.NIGHT, list(people), actor=None, now=NOW)
    session.commit()


# --- the roster ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SCHEDULER, Role.REVIEWER])
def test_every_role_reads_the_roster_by_side(api_as, session, role):
    south = make_person(session, name="김철수")
    north = make_person(session, Side.NORTH, name="리광혁")
    api = api_as(role)

    everyone = api.get("/staffing/people").get_json()["items"]
    northern = api.get("/staffing/people", {"side": "north"}).get_json()["items"]

    assert [p["id"] for p in everyone] == [north.id, south.id]  # by side, as the page lists
    assert northern == [
        {
            "id": north.id,
            "name_ko": "리광혁",
            "name_latin": north.name_latin,
            "side": "north",
            "category": "official",
            "agency": "통일부",
            "position": "staff",
            "is_duty_qualified": True,
            "active_from": "2018-01-01",
            "active_until": None,
        }
    ]


def test_the_roster_needs_a_token_and_a_known_side(anonymous_api, scheduler_api):
    assert_problem(anonymous_api.get("/staffing/people"), 401)
    body = assert_problem(scheduler_api.get("/staffing/people", {"side": "east"}), 422)
    assert list(body["errors"]) == ["side"]


# --- stays --------------------------------------------------------------------------------


def test_a_scheduler_records_a_stay_as_on_the_persons_page(scheduler_api, session):
    person = make_person(session, name="김철수")

    response = scheduler_api.post(
        "/staffing/stays", stay_body(person, is_pinned=True, note="Generator overhaul")
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/staffing/stays/{body['id']}"
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "person_id": person.id,
        "person": "김철수",
        "side": "south",
        "first_day": "2018-10-01",
        "last_day": "2018-10-10",
        "days": 10,
        "is_pinned": True,
        "note": "Generator overhaul",
        "long_stay": None,
    }
    assert body["created_at"].endswith("Z")
    assert scheduler_api.get(f"/staffing/stays/{body['id']}").get_json() == body
    saved = session.get(Stay, body["id"])
    assert (saved.first_day, saved.last_day, saved.is_pinned) == (
        D(2018, 10, 1),
        D(2018, 10, 10),
        True,
    )
    assert [e.actor_id for e in audit_events(session, "stay.added")] == [scheduler_api.user.id]


def test_a_stay_longer_than_the_rules_is_saved_with_the_pages_warning(scheduler_api, session):
    person = make_person(session)

    body = scheduler_api.post("/staffing/stays", stay_body(person, last="2018-10-20")).get_json()

    assert body["long_stay"] == "It is 20 days long; the rule allows 12 days on site at a time."
    assert count(session, Stay) == 1


@pytest.mark.parametrize(
    ("first", "last"),
    [("2018-10-05", "2018-10-12"), ("2018-09-28", "2018-10-01"), ("2018-09-01", "2018-12-01")],
)
def test_an_overlapping_stay_is_refused_with_a_conflict(scheduler_api, session, first, last):
    person = make_person(session, name="김철수")
    stay(session, person, D(2018, 10, 1), D(2018, 10, 10))

    response = scheduler_api.post("/staffing/stays", stay_body(person, first, last))

    assert assert_problem(response, 409)["detail"] == (
        "김철수 already has a stay from 2018-10-01 to 2018-10-10; stays cannot overlap."
    )
    assert count(session, Stay) == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"first_day": "2018-10-05", "last_day": "2018-10-04"},
            "last_day",
            "A stay cannot end (2018-10-04) before it starts (2018-10-05).",
        ),
        (
            {"first_day": "2017-12-30", "last_day": "2018-01-02"},
            "first_day",
            "김철수 is on the roster from 2018-01-01 to …; the stay must fall within.",
        ),
        ({"first_day": "2018-02-30"}, "first_day", "Must be a real date written YYYY-MM-DD."),
        ({"last_day": "10/04/2018"}, "last_day", "Must be a real date written YYYY-MM-DD."),
        ({"is_pinned": "yes"}, "is_pinned", "Must be true or false."),
        ({"note": "x" * 201}, "note", "Must have at most 200 characters."),
        ({"person_id": 999999}, "person_id", "No person on the roster has the id 999999."),
        ({"person_id": None}, "person_id", "Must be a whole number."),
        ({"colour": "red"}, "colour", "This field is not part of the request."),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_saved(
    scheduler_api, session, body, field, message
):
    person = make_person(session, name="김철수")

    response = scheduler_api.post("/staffing/stays", stay_body(person, **body))

    assert assert_problem(response, 422)["errors"] == {field: [message]}
    assert count(session, Stay) == 0


def test_malformed_json_is_a_bad_request(scheduler_api, session):
    assert_problem(scheduler_api.post("/staffing/stays", raw="{"), 400)
    assert count(session, Stay) == 0


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_only_a_scheduler_writes_stays_and_duty(api_as, session, role):
    person = make_person(session)
    kept = stay(session, person, D(2018, 10, 1), D(2018, 10, 10))
    api = api_as(role)

    assert_problem(api.post("/staffing/stays", stay_body(person, "2018-11-01", "2018-11-02")), 403)
    assert_problem(api.post(f"/staffing/stays/{kept.id}", {"last_day": "2018-10-05"}), 403)
    assert_problem(api.post(f"/staffing/stays/{kept.id}/removal"), 403)
    duty = {"day": "2018-10-02", "side": "south", "shift": "night", "people": [person.id]}
    assert_problem(api.post("/staffing/duty", duty), 403)

    session.expire_all()
    assert [(s.first_day, s.last_day) for s in session.scalars(select(Stay))] == [
        (D(2018, 10, 1), D(2018, 10, 10))
    ]
    assert count(session, DutyShift) == 0


def test_stays_are_listed_newest_first_a_page_at_a_time_with_filters(scheduler_api, session):
    a, b = make_person(session), make_person(session)
    north = make_person(session, Side.NORTH)
    first = stay(session, a, D(2018, 10, 1), D(2018, 10, 5))
    second = stay(session, b, D(2018, 10, 3), D(2018, 10, 9))
    third = stay(session, north, D(2018, 10, 20), D(2018, 10, 25))
    fourth = stay(session, a, D(2018, 11, 1), D(2018, 11, 5))

    def ids(query):
        response = scheduler_api.get("/staffing/stays", query)
        assert response.status_code == 200, response.get_json()
        return [s["id"] for s in response.get_json()["items"]]

    page = scheduler_api.get("/staffing/stays", {"limit": 3}).get_json()
    rest = scheduler_api.get("/staffing/stays", {"limit": 3, "cursor": page["next_cursor"]})
    assert [s["id"] for s in page["items"]] == [fourth.id, third.id, second.id]
    assert rest.get_json() == {
        "items": [scheduler_api.get(f"/staffing/stays/{first.id}").get_json()],
        "next_cursor": None,
    }
    assert ids({"side": "north"}) == [third.id]
    assert ids({"person_id": a.id}) == [fourth.id, first.id]
    assert ids({"from": "2018-10-05", "to": "2018-10-20"}) == [third.id, second.id, first.id]
    assert ids({"from": "2018-10-26"}) == [fourth.id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"person_id": "-1"}, "person_id"),
        ({"side": "west"}, "side"),
        ({"from": "2018-13-01"}, "from"),
        ({"from": "2018-10-05", "to": "2018-10-04"}, "to"),
    ],
)
def test_bad_listing_parameters_are_refused(scheduler_api, query, field):
    body = assert_problem(scheduler_api.get("/staffing/stays", query), 422)
    assert list(body["errors"]) == [field]


def test_an_unknown_stay_is_not_found(scheduler_api):
    assert_problem(scheduler_api.get("/staffing/stays/999999"), 404)
    assert_problem(scheduler_api.post("/staffing/stays/999999", {"note": "x"}), 404)
    assert_problem(scheduler_api.post("/staffing/stays/999999/removal"), 404)


def test_a_change_moves_what_it_names_and_keeps_the_rest(scheduler_api, session):
    person = make_person(session)
    kept = stay(session, person, D(2018, 10, 1), D(2018, 10, 10), pinned=True)

    moved = scheduler_api.post(f"/staffing/stays/{kept.id}", {"last_day": "2018-10-08"})
    noted = scheduler_api.post(
        f"/staffing/stays/{kept.id}", {"note": "Back early", "is_pinned": False}
    )

    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["last_day"], moved.get_json()["is_pinned"]) == ("2018-10-08", True)
    body = noted.get_json()
    assert (body["first_day"], body["last_day"], body["is_pinned"], body["note"]) == (
        "2018-10-01",
        "2018-10-08",
        False,
        "Back early",
    )
    session.expire_all()
    assert session.get(Stay, kept.id).last_day == D(2018, 10, 8)


def test_a_change_onto_another_stay_or_off_days_with_duty_is_refused(scheduler_api, session):
    person = make_person(session, name="이영희")
    kept = stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    stay(session, person, D(2018, 10, 10), D(2018, 10, 12))
    night(session, D(2018, 10, 5), person)

    overlap = scheduler_api.post(f"/staffing/stays/{kept.id}", {"last_day": "2018-10-10"})
    shrink = scheduler_api.post(f"/staffing/stays/{kept.id}", {"last_day": "2018-10-04"})
    backwards = scheduler_api.post(f"/staffing/stays/{kept.id}", {"first_day": "2018-10-07"})
    removal = scheduler_api.post(f"/staffing/stays/{kept.id}/removal")

    assert assert_problem(overlap, 409)["detail"] == (
        "이영희 already has a stay from 2018-10-10 to 2018-10-12; stays cannot overlap."
    )
    assert assert_problem(shrink, 409)["detail"] == (
        "이영희 has night duty on 2018-10-05; remove the duty first."
    )
    assert assert_problem(backwards, 422)["errors"] == {
        "last_day": ["A stay cannot end (2018-10-05) before it starts (2018-10-07)."]
    }
    assert assert_problem(removal, 409)["detail"] == shrink.get_json()["detail"]
    session.expire_all()
    assert (session.get(Stay, kept.id).first_day, session.get(Stay, kept.id).last_day) == (
        D(2018, 10, 1),
        D(2018, 10, 5),
    )


def test_a_stay_without_duty_is_removed_and_answered_as_it_was(scheduler_api, session):
    person = make_person(session)
    gone = stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    shown = scheduler_api.get(f"/staffing/stays/{gone.id}").get_json()

    response = scheduler_api.post(f"/staffing/stays/{gone.id}/removal")

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == shown
    assert count(session, Stay) == 0
    assert_problem(scheduler_api.post(f"/staffing/stays/{gone.id}/removal"), 404)


# --- duty ---------------------------------------------------------------------------------


def test_a_scheduler_sets_a_duty_list_and_everyone_reads_it(scheduler_api, api_as, session):
    a, b = make_person(session, name="가"), make_person(session, name="나")
    north = make_person(session, Side.NORTH, name="다")
    for person in (a, b, north):
        stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    night(session, D(2018, 10, 2), north, side=Side.NORTH)
    night(session, D(2018, 10, 2), a)

    response = scheduler_api.post(
        "/staffing/duty",
        {"day": "2018-10-02", "side": "south", "shift": "night", "people": [b.id, a.id, b.id]},
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "items": [
            {
                "day": "2018-10-02",
                "side": "south",
                "shift": "night",
                "person_id": a.id,
                "person": "가",
            },
            {
                "day": "2018-10-02",
                "side": "south",
                "shift": "night",
                "person_id": b.id,
                "person": "나",
            },
        ]
    }
    read = api_as(Role.REVIEWER).get("/staffing/duty", {"from": "2018-10-01", "to": "2018-10-31"})
    assert [(d["side"], d["person"]) for d in read.get_json()["items"]] == [
        ("north", "다"),  # sides in their codes' order, as the roster lists them
        ("south", "가"),
        ("south", "나"),
    ]
    only = {"from": "2018-10-02", "to": "2018-10-02", "side": "north", "shift": "night"}
    assert [
        d["person_id"] for d in scheduler_api.get("/staffing/duty", only).get_json()["items"]
    ] == [north.id]
    assert scheduler_api.get("/staffing/duty", {**only, "shift": "day"}).get_json() == {"items": []}


def test_an_empty_list_clears_that_sides_shift(scheduler_api, session):
    person = make_person(session)
    stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    night(session, D(2018, 10, 2), person)

    response = scheduler_api.post(
        "/staffing/duty", {"day": "2018-10-02", "side": "south", "shift": "night", "people": []}
    )

    assert response.get_json() == {"items": []}
    assert count(session, DutyShift) == 0


def test_duty_refusals_are_the_days_pages(scheduler_api, session):
    south = make_person(session, name="이영희")
    north = make_person(session, Side.NORTH, name="리광혁")
    stay(session, south, D(2018, 10, 1), D(2018, 10, 5))
    stay(session, north, D(2018, 10, 1), D(2018, 10, 5))

    def duty(day, *people):
        body = {"day": day, "side": "south", "shift": "night", "people": list(people)}
        return scheduler_api.post("/staffing/duty", body)

    assert assert_problem(duty("2018-10-06", south.id), 409)["detail"] == (
        "이영희 is not on site on 2018-10-06; duty must fall within a stay."
    )
    assert assert_problem(duty("2018-10-02", north.id), 422)["errors"] == {
        "people": ["리광혁 belongs to the other side and cannot be on this duty list."]
    }
    assert assert_problem(duty("2018-10-02", south.id, 999999), 422)["errors"] == {
        "people.1": ["No person on the roster has the id 999999."]
    }
    assert list(assert_problem(duty("2018-10-32", south.id), 422)["errors"]) == ["day"]
    bad_shift = {"day": "2018-10-02", "side": "south", "shift": "evening", "people": []}
    assert list(assert_problem(scheduler_api.post("/staffing/duty", bad_shift), 422)["errors"]) == [
        "shift"
    ]
    assert count(session, DutyShift) == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2018-10-01"}, "from"),
        ({"from": "2018-10-01"}, "to"),
        ({"from": "2018-10-02", "to": "2018-10-01"}, "to"),
        ({"from": "2018-01-01", "to": "2019-01-02"}, "to"),
        ({"from": "2018-10-01", "to": "2018-10-02", "shift": "dusk"}, "shift"),
    ],
)
def test_bad_duty_ranges_are_refused(scheduler_api, query, field):
    body = assert_problem(scheduler_api.get("/staffing/duty", query), 422)
    assert list(body["errors"]) == [field]


def test_staffing_messages_come_in_korean_when_asked(scheduler_api, session):
    person = make_person(session, name="김철수")
    stay(session, person, D(2018, 10, 1), D(2018, 10, 10))
    headers = {**scheduler_api.headers, "Accept-Language": "ko"}

    response = scheduler_api.client.post(
        "/api/v1/staffing/stays",
        json={"person_id": 999999, "first_day": "2018-11-01", "last_day": "2018-11-02"},
        headers=headers,
    )

    message = assert_problem(response, 422)["errors"]["person_id"][0]
    assert "999999" in message and "No person" not in message


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/staffing/stays", {"note": "Boiler\x00"}, "note"),
        ("/staffing/stays", {"person_id": 2**40}, "person_id"),
        ("/staffing/stays", {"first_day": 20181001}, "first_day"),
        ("/staffing/duty", {"people": "1"}, "people"),
        ("/staffing/duty", {"people": [0]}, "people.0"),
        ("/staffing/duty", {"side": "both"}, "side"),
        ("/staffing/duty", {"day": "2099-13-01"}, "day"),
        ("/staffing/duty", {"who": []}, "who"),
    ],
)
def test_malformed_fields_are_named_and_nothing_changes(scheduler_api, session, path, body, field):
    person = make_person(session)
    kept = stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    night(session, D(2018, 10, 2), person)
    valid = {
        "/staffing/stays": stay_body(person, "2018-11-01", "2018-11-02"),
        "/staffing/duty": {"day": "2018-10-03", "side": "south", "shift": "night", "people": []},
    }[path]

    response = scheduler_api.post(path, {**valid, **body})

    assert field in assert_problem(response, 422)["errors"]
    assert_problem(scheduler_api.post(f"/staffing/stays/{kept.id}", []), 422)
    session.expire_all()
    assert [(s.id, s.last_day) for s in session.scalars(select(Stay))] == [
        (kept.id, D(2018, 10, 5))
    ]
    assert count(session, DutyShift) == 1


# --- writing the roster -------------------------------------------------------------------

PERSON = {
    "name_ko": "한지민",
    "name_latin": "HAN Jimin",
    "side": "south",
    "category": "official",
    "position": "duty_officer",
    "is_duty_qualified": True,
    "active_from": "2018-09-01",
}


def test_a_scheduler_adds_and_changes_a_person_as_on_the_roster_pages(scheduler_api, session):
    added = scheduler_api.post("/staffing/people", PERSON)

    assert added.status_code == 201, added.get_json()
    person = added.get_json()
    assert added.headers["Location"] == f"/api/v1/staffing/people/{person['id']}"
    assert person == {**PERSON, "id": person["id"], "agency": "", "active_until": None}
    changed = scheduler_api.post(
        f"/staffing/people/{person['id']}",
        {**PERSON, "agency": "KEPCO", "active_until": "2018-12-31"},
    )
    assert changed.status_code == 200, changed.get_json()
    assert scheduler_api.get(f"/staffing/people/{person['id']}").get_json() == changed.get_json()
    assert (changed.get_json()["agency"], changed.get_json()["active_until"]) == (
        "KEPCO",
        "2018-12-31",
    )
    assert [e.actor_id for e in audit_events(session, "staff.saved")] == [scheduler_api.user.id] * 2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"name_latin": "han jimin"},
            "name_ko",
            "한지민 is already on the roster of this side.",
        ),
        ({"name_ko": "한수아", "name_latin": ""}, "name_latin", None),
        ({"name_ko": "한수아", "active_until": "2018-08-31"}, "active_until", None),
        ({"name_ko": "한수아", "side": "east"}, "side", None),
        ({"name_ko": "한수아", "is_duty_qualified": 1}, "is_duty_qualified", None),
    ],
)
def test_a_person_the_roster_refuses_is_refused_beside_the_field(
    scheduler_api, session, changes, field, message
):
    assert scheduler_api.post("/staffing/people", PERSON).status_code == 201

    response = scheduler_api.post("/staffing/people", {**PERSON, **changes})

    errors = assert_problem(response, 422)["errors"]
    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == [message]
    assert len(scheduler_api.get("/staffing/people").get_json()["items"]) == 1


def test_roster_dates_that_leave_a_stay_outside_are_a_conflict(scheduler_api, session):
    person = make_person(session, name="김철수")
    stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    body = {**PERSON, "name_ko": "김철수", "name_latin": person.name_latin}

    response = scheduler_api.post(
        f"/staffing/people/{person.id}", {**body, "active_until": "2018-10-03"}
    )

    assert assert_problem(response, 409)["detail"] == (
        "김철수 has a stay from 2018-10-01 to 2018-10-05 outside the active dates."
    )
    session.expire_all()
    assert person.active_until is None
    assert_problem(scheduler_api.post("/staffing/people/999999", PERSON), 404)
    assert_problem(scheduler_api.get("/staffing/people/999999"), 404)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_only_a_scheduler_writes_the_roster(api_as, session, role):
    person = make_person(session)
    api = api_as(role)

    assert_problem(api.post("/staffing/people", PERSON), 403)
    assert_problem(api.post(f"/staffing/people/{person.id}", PERSON), 403)
    assert api.get(f"/staffing/people/{person.id}").status_code == 200
    assert [p["id"] for p in api.get("/staffing/people").get_json()["items"]] == [person.id]


# --- the calendar link --------------------------------------------------------------------


def test_a_scheduler_reads_and_renews_a_persons_calendar_link(scheduler_api, session):
    person = make_person(session)
    old = person.feed_token

    shown = scheduler_api.get(f"/staffing/people/{person.id}/feed").get_json()
    renewed = scheduler_api.post(f"/staffing/people/{person.id}/feed")

    assert shown == {
        "person_id": person.id,
        "feed_url": f"http://localhost/staffing/feed/{old}.ics",
    }
    assert renewed.status_code == 200
    new = renewed.get_json()["feed_url"]
    assert new != shown["feed_url"] and new.endswith(".ics")
    feed = scheduler_api.client.get(new.removeprefix("http://localhost"))
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert scheduler_api.client.get(f"/staffing/feed/{old}.ics").status_code == 404
    assert scheduler_api.get(f"/staffing/people/{person.id}/feed").get_json()["feed_url"] == new
    assert [e.actor_id for e in audit_events(session, "staff.feed_renewed")] == [
        scheduler_api.user.id
    ]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_only_a_scheduler_sees_or_renews_a_calendar_link(api_as, anonymous_api, session, role):
    person = make_person(session)
    token = person.feed_token
    api = api_as(role)

    assert_problem(api.get(f"/staffing/people/{person.id}/feed"), 403)
    assert_problem(api.post(f"/staffing/people/{person.id}/feed"), 403)
    assert_problem(anonymous_api.post(f"/staffing/people/{person.id}/feed"), 401)
    session.expire_all()
    assert person.feed_token == token


def test_an_unknown_persons_link_is_not_found(scheduler_api):
    assert_problem(scheduler_api.get("/staffing/people/999999/feed"), 404)
    assert_problem(scheduler_api.post("/staffing/people/999999/feed"), 404)
