"""Crossing name lists through the API: a month's lists and a day's, as JSON and as the CSV
the day's page gives, read by every role that sees staffing; schedulers record a list sent to
the North or accepted by it, through the day page's service, with its refusals."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from office.auth.permissions import Role
from office.staffing import services
from office.staffing.models import CrossingList, CrossingStatus, Side, Stay
from tests.api.conftest import assert_problem
from tests.concurrency import logged_in
from tests.factories import audit_events, make_person, stay

D = date


@pytest.fixture
def scheduler_api(api_as):
    return api_as(Role.SCHEDULER)


@pytest.fixture
def crossing(session):
    """On 1 October 2018 김철수 and 박영희 cross north; 김철수 returns south on the 5th. One
    of the North stays too (who never crosses)."""
    kim = make_person(session, name="김철수")
    park = make_person(session, name="박영희")
    ri = make_person(session, Side.NORTH, name="리광혁")
    stay(session, kim, D(2018, 10, 1), D(2018, 10, 5))
    stay(session, park, D(2018, 10, 1), D(2018, 10, 20))
    stay(session, ri, D(2018, 10, 1), D(2018, 10, 5))
    return kim, park


def status_of(session, day: date) -> CrossingStatus | None:
    session.expire_all()
    row = services.crossing_list(session, day)
    return row.status if row is not None else None


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SCHEDULER, Role.REVIEWER])
def test_every_role_reads_a_days_list_as_the_printable_page(api_as, crossing, role):
    kim, park = crossing

    body = api_as(role).get("/staffing/crossings/2018-10-01").get_json()

    assert body == {
        "day": "2018-10-01",
        "status": "draft",
        "sent_at": None,
        "accepted_at": None,
        "north": [
            {
                "person_id": person.id,
                "name_ko": person.name_ko,
                "name_latin": person.name_latin,
                "agency": "통일부",
                "position": "staff",
            }
            for person in (kim, park)
        ],
        "south": [],
    }


def test_a_month_lists_each_day_with_crossings_and_where_its_list_stands(scheduler_api, crossing):
    assert scheduler_api.post(
        "/staffing/crossings/2018-10-05/status", {"status": "sent"}
    ).status_code == (200)

    body = scheduler_api.get("/staffing/crossings", {"month": "2018-10"}).get_json()

    assert (body["month"], body["north"], body["south"]) == ("2018-10", 2, 2)
    assert [(d["day"], d["north"], d["south"], d["status"]) for d in body["days"]] == [
        ("2018-10-01", 2, 0, "draft"),
        ("2018-10-05", 0, 1, "sent"),
        ("2018-10-20", 0, 1, "draft"),
    ]
    assert body["days"][1]["sent_at"].endswith("Z") and body["days"][1]["accepted_at"] is None
    assert scheduler_api.get("/staffing/crossings", {"month": "2018-11"}).get_json()["days"] == []


def test_the_csv_is_the_one_the_days_page_gives(scheduler_api, crossing, client, session):
    kim, park = crossing

    response = scheduler_api.get("/staffing/crossings/2018-10-01.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="crossing-2018-10-01.csv"'
    )
    lines = response.get_data(as_text=True).splitlines()
    assert lines == [
        "\ufeffdate,direction,name_ko,name_latin,agency,position",
        f"2018-10-01,north,김철수,{kim.name_latin},통일부,staff",
        f"2018-10-01,north,박영희,{park.name_latin},통일부,staff",
    ]
    page = logged_in(client, scheduler_api.user).get("/staffing/crossings/2018-10-01.csv")
    assert page.get_data() == response.get_data()


def test_a_scheduler_sends_a_list_then_records_it_accepted(scheduler_api, crossing, session):
    sent = scheduler_api.post("/staffing/crossings/2018-10-01/status", {"status": "sent"})

    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["status"] == "sent" and sent.get_json()["sent_at"].endswith("Z")
    assert [p["name_ko"] for p in sent.get_json()["north"]] == ["김철수", "박영희"]
    accepted = scheduler_api.post("/staffing/crossings/2018-10-01/status", {"status": "accepted"})
    assert accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["accepted_at"].endswith("Z")
    assert status_of(session, D(2018, 10, 1)) is CrossingStatus.ACCEPTED
    assert [e.actor_id for e in audit_events(session, "crossing_list.sent")] == [
        scheduler_api.user.id
    ]
    assert len(audit_events(session, "crossing_list.accepted")) == 1


def test_a_list_changed_after_it_was_sent_is_amended_and_sent_again(
    scheduler_api, crossing, session
):
    kim, park = crossing
    scheduler_api.post("/staffing/crossings/2018-10-05/status", {"status": "sent"})
    park_stay = session.scalars(select(Stay).where(Stay.staff_member_id == park.id)).one()

    moved = scheduler_api.post(f"/staffing/stays/{park_stay.id}", {"last_day": "2018-10-05"})

    assert moved.status_code == 200
    assert scheduler_api.get("/staffing/crossings/2018-10-05").get_json()["status"] == "amended"
    again = scheduler_api.post("/staffing/crossings/2018-10-05/status", {"status": "sent"})
    assert again.get_json()["status"] == "sent"
    assert [p["person_id"] for p in again.get_json()["south"]] == [kim.id, park.id]


@pytest.mark.parametrize(
    ("steps", "refused", "detail"),
    [
        ([], "accepted", "The list of 2018-10-01 is draft; it cannot become accepted."),
        (["sent"], "sent", "The list of 2018-10-01 is sent; it cannot become sent."),
        (
            ["sent", "accepted"],
            "sent",
            "The list of 2018-10-01 is accepted; it cannot become sent.",
        ),
    ],
)
def test_a_step_the_list_cannot_take_is_a_conflict(
    scheduler_api, crossing, session, steps, refused, detail
):
    for step in steps:
        assert scheduler_api.post(
            "/staffing/crossings/2018-10-01/status", {"status": step}
        ).status_code == (200)

    response = scheduler_api.post("/staffing/crossings/2018-10-01/status", {"status": refused})

    assert assert_problem(response, 409)["detail"] == detail
    assert status_of(session, D(2018, 10, 1)) == (CrossingStatus(steps[-1]) if steps else None)


def test_a_day_nobody_crosses_has_no_list_to_send(scheduler_api, crossing, session):
    body = assert_problem(
        scheduler_api.post("/staffing/crossings/2018-10-02/status", {"status": "sent"}), 409
    )

    assert body["detail"] == "Nobody crosses on 2018-10-02."
    assert session.scalar(select(CrossingList)) is None


@pytest.mark.parametrize("status", ["draft", "amended", "SENT", "", 1, None])
def test_only_sent_or_accepted_may_be_recorded(scheduler_api, crossing, session, status):
    response = scheduler_api.post("/staffing/crossings/2018-10-01/status", {"status": status})

    assert list(assert_problem(response, 422)["errors"]) == ["status"]
    assert status_of(session, D(2018, 10, 1)) is None


@pytest.mark.parametrize("day", ["2018-02-30", "yesterday", "1899-01-01"])
def test_a_path_that_is_not_a_day_is_not_found(scheduler_api, session, day):
    assert_problem(scheduler_api.get(f"/staffing/crossings/{day}"), 404)
    assert_problem(scheduler_api.get(f"/staffing/crossings/{day}.csv"), 404)
    response = scheduler_api.post(f"/staffing/crossings/{day}/status", {"status": "sent"})
    assert_problem(response, 404)


@pytest.mark.parametrize("month", ["2018-13", "October", "1899-10"])
def test_a_month_that_is_not_one_is_refused(scheduler_api, month):
    body = assert_problem(scheduler_api.get("/staffing/crossings", {"month": month}), 422)
    assert list(body["errors"]) == ["month"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_only_a_scheduler_records_a_list(api_as, anonymous_api, crossing, session, role):
    path = "/staffing/crossings/2018-10-01/status"
    assert_problem(api_as(role).post(path, {"status": "sent"}), 403)
    assert_problem(anonymous_api.post(path, {"status": "sent"}), 401)
    assert_problem(anonymous_api.get("/staffing/crossings/2018-10-01"), 401)
    assert status_of(session, D(2018, 10, 1)) is None


def test_crossing_refusals_come_in_korean_when_asked(scheduler_api, crossing):
    response = scheduler_api.client.post(
        "/api/v1/staffing/crossings/2018-10-02/status",
        json={"status": "sent"},
        headers={**scheduler_api.headers, "Accept-Language": "ko"},
    )

    detail = assert_problem(response, 409)["detail"]
    assert "2018-10-02" in detail and "Nobody" not in detail
