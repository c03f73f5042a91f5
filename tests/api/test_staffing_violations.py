"""GET /api/v1/staffing/violations?from=&to= returns the broken staffing rules as JSON."""

from datetime import date

import pytest

from office.auth.permissions import Role
from office.staffing import services
from office.staffing.models import Side
from tests.api.conftest import assert_problem
from tests.factories import NOW, make_person, stay


@pytest.fixture
def short_crew(session):
    """Three officials on 2018-10-01 and 02 against a minimum of 4; one night on duty."""
    rule = services.rules_by_side(session)[Side.SOUTH]
    services.update_rules(
        session,
        rule,
        weekday_min=4,
        weekend_min=4,
        max_headcount=20,
        counted_categories=["official"],
        min_night_duty=1,
        max_consecutive_days=12,
        min_rest_days=2,
        min_stay_days=1,
        crossing_weekdays=range(7),
        max_crossings_per_month=None,
        actor=None,
        now=NOW,
    )
    people = [make_person(session, name=f"직원{n}") for n in range(3)]
    for person in people:
        stay(session, person, date(2018, 10, 1), date(2018, 10, 2))
    services.set_duty(
        session, date(2018, 10, 1), Side.SOUTH, "night", [people[0]], actor=None, now=NOW
    )
    session.commit()
    return people


def test_violations_come_back_by_day_with_their_rule_and_message(api_as, short_crew):
    response = api_as(Role.SCHEDULER).get(
        "/staffing/violations", {"from": "2018-10-01", "to": "2018-10-02"}
    )
    assert response.status_code == 200
    south = [v for v in response.json["items"] if v["side"] == "south"]
    assert [(v["date"], v["rule"]) for v in south] == [
        ("2018-10-01", "headcount_min"),
        ("2018-10-02", "headcount_min"),
        ("2018-10-02", "night_duty"),
    ]
    assert south[0]["message"] == "Only 3 officials on site on 2018-10-01; the minimum is 4."
    assert south[0]["person_id"] is None


def test_messages_follow_the_requested_language(api_as, short_crew):
    api = api_as(Role.REVIEWER)
    api.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    items = api.get("/staffing/violations", {"from": "2018-10-01", "to": "2018-10-01"}).json
    south = [v for v in items["items"] if v["side"] == "south"]
    assert south[0]["message"] == "2018-10-01 현장의 공무원은 3명뿐입니다. 최소 인원은 4명입니다."


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2018-10-02", "to": "2018-10-01"}, "to"),
        ({"from": "2018-01-01", "to": "2019-01-02"}, "to"),
        ({"from": "2018-02-30", "to": "2018-03-01"}, "from"),
        ({"to": "2018-03-01"}, "from"),
        ({"from": "1999-12-31", "to": "2000-01-01"}, "from"),
    ],
)
def test_a_range_that_makes_no_sense_is_refused_naming_the_parameter(api_as, query, field):
    response = api_as(Role.SCHEDULER).get("/staffing/violations", query)
    body = assert_problem(response, 422)
    assert field in body["errors"]
