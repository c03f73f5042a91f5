"""The sides' staffing rules through the API: read by every role that sees staffing, changed by
schedulers through the rules page's service, with its refusals and messages."""

from __future__ import annotations

import pytest

from office.auth.permissions import Role
from office.staffing import services
from office.staffing.models import Side
from tests.api.conftest import assert_problem
from tests.factories import audit_events

RULES = {
    "weekday_min": 3,
    "weekend_min": 2,
    "max_headcount": 8,
    "counted_categories": ["official", "support"],
    "min_night_duty": 1,
    "max_consecutive_days": 10,
    "min_stay_days": 3,
    "min_rest_days": 2,
    "crossing_weekdays": [0, 3],
    "max_crossings_per_month": 4,
    "applies_from": "2018-09-14",
}


@pytest.fixture
def scheduler_api(api_as):
    return api_as(Role.SCHEDULER)


def saved(session, side: Side) -> dict:
    session.expire_all()
    rule = services.rules_by_side(session)[side]
    return {
        "weekday_min": rule.weekday_min,
        "weekend_min": rule.weekend_min,
        "max_headcount": rule.max_headcount,
        "counted_categories": rule.counted_categories,
        "min_night_duty": rule.min_night_duty,
        "max_consecutive_days": rule.max_consecutive_days,
        "min_stay_days": rule.min_stay_days,
        "min_rest_days": rule.min_rest_days,
        "crossing_weekdays": rule.crossing_weekdays,
        "max_crossings_per_month": rule.max_crossings_per_month,
        "applies_from": rule.applies_from.isoformat(),
    }


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SCHEDULER, Role.REVIEWER])
def test_every_role_reads_both_sides_rules_as_the_page_shows_them(api_as, session, role):
    api = api_as(role)

    items = api.get("/staffing/rules").get_json()["items"]

    assert [rule["side"] for rule in items] == ["south", "north"]
    assert {k: v for k, v in items[0].items() if k != "side"} == saved(session, Side.SOUTH)
    assert api.get("/staffing/rules/north").get_json() == items[1]


def test_a_scheduler_changes_a_sides_rules(scheduler_api, session):
    north_before = saved(session, Side.NORTH)

    response = scheduler_api.post("/staffing/rules/south", RULES)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"side": "south", **RULES}
    assert saved(session, Side.SOUTH) == RULES
    assert saved(session, Side.NORTH) == north_before
    assert scheduler_api.get("/staffing/rules/south").get_json() == response.get_json()
    events = audit_events(session, "staffing.rules_changed")
    assert [(e.actor_id, e.detail["side"]) for e in events] == [(scheduler_api.user.id, "south")]


def test_no_limit_on_crossings_is_null(scheduler_api, session):
    response = scheduler_api.post(
        "/staffing/rules/north", {**RULES, "max_crossings_per_month": None}
    )

    assert response.get_json()["max_crossings_per_month"] is None
    assert saved(session, Side.NORTH)["max_crossings_per_month"] is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"weekday_min": 9},
            "weekday_min",
            "A minimum is between 0 and the maximum headcount (8).",
        ),
        (
            {"counted_categories": []},
            "counted_categories",
            "Choose at least one category to count.",
        ),
        (
            {"crossing_weekdays": []},
            "crossing_weekdays",
            "Choose at least one day of the week on which people may cross.",
        ),
        (
            {"min_stay_days": 11},
            "min_stay_days",
            "The shortest stay (11 days) is longer than the longest (10 days in a row).",
        ),
    ],
)
def test_rules_the_page_refuses_are_refused_beside_the_field(
    scheduler_api, session, changes, field, message
):
    before = saved(session, Side.SOUTH)

    response = scheduler_api.post("/staffing/rules/south", {**RULES, **changes})

    assert assert_problem(response, 422)["errors"] == {field: [message]}
    assert saved(session, Side.SOUTH) == before
    assert audit_events(session, "staffing.rules_changed") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_headcount": 501}, "max_headcount"),
        ({"max_headcount": "8"}, "max_headcount"),
        ({"counted_categories": ["visitor"]}, "counted_categories.0"),
        ({"crossing_weekdays": [7]}, "crossing_weekdays.0"),
        ({"max_crossings_per_month": 0}, "max_crossings_per_month"),
        ({"applies_from": "2018-02-30"}, "applies_from"),
        ({"min_rest_days": 1.5}, "min_rest_days"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_malformed_rules_are_named_and_nothing_changes(scheduler_api, session, changes, field):
    before = saved(session, Side.SOUTH)

    response = scheduler_api.post("/staffing/rules/south", {**RULES, **changes})

    assert field in assert_problem(response, 422)["errors"]
    assert saved(session, Side.SOUTH) == before


def test_every_field_is_sent_as_on_the_page(scheduler_api, session):
    partial = {k: v for k, v in RULES.items() if k != "max_crossings_per_month"}

    body = assert_problem(scheduler_api.post("/staffing/rules/south", partial), 422)

    assert list(body["errors"]) == ["max_crossings_per_month"]


def test_an_unknown_side_has_no_rules(scheduler_api, session):
    body = assert_problem(scheduler_api.get("/staffing/rules/east"), 404)
    assert body["detail"] == "There are rules for the south and the north only, not east."
    assert_problem(scheduler_api.post("/staffing/rules/east", RULES), 404)
    assert_problem(scheduler_api.post("/staffing/rules/south", raw="{"), 400)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_only_a_scheduler_changes_the_rules(api_as, anonymous_api, session, role):
    before = saved(session, Side.SOUTH)

    assert_problem(api_as(role).post("/staffing/rules/south", RULES), 403)
    assert_problem(anonymous_api.post("/staffing/rules/south", RULES), 401)
    assert_problem(anonymous_api.get("/staffing/rules"), 401)
    assert saved(session, Side.SOUTH) == before


def test_rule_refusals_come_in_korean_when_asked(scheduler_api, session):
    response = scheduler_api.client.post(
        "/api/v1/staffing/rules/south",
        json={**RULES, "counted_categories": []},
        headers={**scheduler_api.headers, "Accept-Language": "ko"},
    )

    message = assert_problem(response, 422)["errors"]["counted_categories"][0]
    assert message and "Choose" not in message
