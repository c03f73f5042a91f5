"""Every staffing rule at its boundary: 14, 15, 20, 21 on site; 12 and 13 days in a row; 1 and
2 rest days; the night duty minimum; weekday and weekend minimums; counted categories."""

from datetime import date, timedelta

import pytest

from office.staffing.checks import Person, Plan, Rule, SideRules, find_violations
from office.staffing.models import Category, Side

# Touches no database: run in the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.database_free

MONDAY = date(2018, 10, 1)
SATURDAY = date(2018, 10, 6)
RULES = SideRules(
    Side.SOUTH,
    weekday_min=15,
    weekend_min=10,
    max_headcount=20,
    counted_categories=frozenset({Category.OFFICIAL}),
    min_night_duty=1,
    max_consecutive_days=12,
    min_rest_days=2,
    applies_from=date(2018, 9, 14),
)


def officials(n: int, category: Category = Category.OFFICIAL, start: int = 1) -> list[Person]:
    return [
        Person(i, f"Official {i}", Side.SOUTH, category, True, date(2018, 1, 1), None)
        for i in range(start, start + n)
    ]


def on_site(people: list[Person], day: date, with_night: bool = True) -> Plan:
    plan = Plan()
    for person in people:
        plan.add_stay(person.id, day, day)
    if with_night and people:
        plan.nights.add((people[0].id, day))
    return plan


def rules_broken(people, plan, day=MONDAY, rules=RULES) -> list[Rule]:
    return [v.rule for v in find_violations(people, {Side.SOUTH: rules}, plan, day, day)]


@pytest.mark.parametrize(
    ("present", "expected"),
    [(14, [Rule.HEADCOUNT_MIN]), (15, []), (20, []), (21, [Rule.HEADCOUNT_MAX])],
)
def test_weekday_headcount_boundaries(present, expected):
    people = officials(present)
    assert rules_broken(people, on_site(people, MONDAY)) == expected


@pytest.mark.parametrize(("present", "expected"), [(9, [Rule.HEADCOUNT_MIN]), (10, [])])
def test_the_weekend_has_its_own_minimum(present, expected):
    people = officials(present)
    assert rules_broken(people, on_site(people, SATURDAY), day=SATURDAY) == expected


def test_only_the_counted_categories_count():
    people = officials(14) + officials(6, Category.SUPPORT, start=100)
    broken = find_violations(people, {Side.SOUTH: RULES}, on_site(people, MONDAY), MONDAY, MONDAY)
    assert [v.rule for v in broken] == [Rule.HEADCOUNT_MIN]
    assert str(broken[0].message) == ("Only 14 officials on site on 2018-10-01; the minimum is 15.")


def test_night_duty_minimum():
    people = officials(15)
    assert rules_broken(people, on_site(people, MONDAY, with_night=False)) == [Rule.NIGHT_DUTY]


def test_days_before_the_rules_apply_are_not_checked():
    early = date(2018, 9, 13)
    assert rules_broken([], Plan(), day=early) == []
    assert rules_broken([], Plan(), day=early + timedelta(days=1)) == [
        Rule.HEADCOUNT_MIN,
        Rule.NIGHT_DUTY,
    ]


def person_rules(stays: list[tuple[date, date]], start: date, end: date) -> list:
    person = officials(1)
    plan = Plan()
    for first, last in stays:
        plan.add_stay(1, first, last)
    relaxed = SideRules(Side.SOUTH, 0, 0, 20, frozenset({Category.OFFICIAL}), 0, 12, 2)
    return find_violations(person, {Side.SOUTH: relaxed}, plan, start, end)


@pytest.mark.parametrize(("length", "broken_days"), [(12, 0), (13, 1), (14, 2)])
def test_consecutive_days_boundary(length, broken_days):
    last = MONDAY + timedelta(days=length - 1)
    found = person_rules([(MONDAY, last)], MONDAY, last)
    assert [v.rule for v in found] == [Rule.CONSECUTIVE_DAYS] * broken_days
    if broken_days:
        assert found[0].day == MONDAY + timedelta(days=12)


def test_touching_stays_count_as_one_run_and_break_the_rest_rule():
    first = (MONDAY, MONDAY + timedelta(days=6))
    second = (MONDAY + timedelta(days=7), MONDAY + timedelta(days=13))
    found = person_rules([first, second], MONDAY, second[1])
    assert {v.rule for v in found} == {Rule.CONSECUTIVE_DAYS, Rule.REST_DAYS}


@pytest.mark.parametrize(("rest", "broken"), [(1, True), (2, False), (3, False)])
def test_rest_days_boundary(rest, broken):
    first = (MONDAY, MONDAY + timedelta(days=4))
    back = first[1] + timedelta(days=rest + 1)
    found = person_rules([first, (back, back + timedelta(days=3))], MONDAY, back)
    assert [v.rule for v in found] == ([Rule.REST_DAYS] if broken else [])
    if broken:
        assert found[0].day == back
        assert "with only 1 of 2 rest days" in str(found[0].message)


def test_consecutive_days_look_back_before_the_checked_period():
    # On site since 2018-09-20: by 2018-10-02 that is 13 days, though the check starts Oct 1.
    found = person_rules([(date(2018, 9, 20), date(2018, 10, 5))], MONDAY, MONDAY + timedelta(5))
    assert found[0].rule is Rule.CONSECUTIVE_DAYS and found[0].day == date(2018, 10, 2)


def test_each_side_is_checked_against_its_own_rules():
    north = [
        Person(200 + i, f"N{i}", Side.NORTH, Category.OFFICIAL, True, date(2018, 1, 1), None)
        for i in range(15)
    ]
    south = officials(15)
    plan = on_site(south, MONDAY)
    for person in north:
        plan.add_stay(person.id, MONDAY, MONDAY)
    rules = {Side.SOUTH: RULES, Side.NORTH: RULES}
    found = find_violations(south + north, rules, plan, MONDAY, MONDAY)
    assert [(v.side, v.rule) for v in found] == [(Side.NORTH, Rule.NIGHT_DUTY)]


# --- the shape of stays: shortest stay, crossing days, crossings a month -------------------


def stay_rules(stays, start, end, **rules) -> list:
    person = officials(1)
    plan = Plan()
    for first, last in stays:
        plan.add_stay(1, first, last)
    shaped = SideRules(Side.SOUTH, 0, 0, 20, frozenset({Category.OFFICIAL}), 0, 12, 2, **rules)
    return find_violations(person, {Side.SOUTH: shaped}, plan, start, end)


@pytest.mark.parametrize(("length", "broken"), [(4, True), (5, False), (12, False)])
def test_shortest_stay_boundary_is_marked_on_the_first_day(length, broken):
    last = MONDAY + timedelta(days=length - 1)
    found = stay_rules([(MONDAY, last)], MONDAY, last, min_stay_days=5)
    assert [(v.rule, v.day) for v in found] == ([(Rule.SHORT_STAY, MONDAY)] if broken else [])
    if broken:
        assert str(found[0].message) == (
            "Official 1's stay from 2018-10-01 to 2018-10-04 is 4 days; the shortest is 5."
        )


def test_touching_stays_are_one_stay_for_the_shortest_stay():
    halves = [(MONDAY, MONDAY + timedelta(days=2)), (MONDAY + timedelta(days=3), SATURDAY)]
    found = stay_rules(halves, MONDAY, SATURDAY, min_stay_days=5)
    assert Rule.SHORT_STAY not in {v.rule for v in found}


def test_a_stay_that_began_before_the_checked_days_is_not_marked_again():
    found = stay_rules(
        [(MONDAY - timedelta(days=1), MONDAY + timedelta(days=1))],
        MONDAY,
        SATURDAY,
        min_stay_days=5,
    )
    assert found == []


def test_arriving_or_leaving_on_a_day_not_allowed_is_marked_on_that_day():
    # Crossing on Monday and Thursday only: arriving Monday is fine, leaving Saturday is not.
    found = stay_rules([(MONDAY, SATURDAY)], MONDAY, SATURDAY, crossing_weekdays=frozenset({0, 3}))
    assert [(v.rule, v.day) for v in found] == [(Rule.CROSSING_DAY, SATURDAY)]
    assert str(found[0].message) == (
        "Official 1 crosses on 2018-10-06, a Saturday; people cross on Monday, Thursday."
    )


def test_each_crossing_past_the_monthly_cap_is_marked():
    # Three stays in October: six crossings against a cap of four; the third stay's two are
    # the ones past it. September's crossings do not count toward October's cap.
    stays = [
        (date(2018, 9, 20), date(2018, 9, 30)),
        (date(2018, 10, 3), date(2018, 10, 8)),
        (date(2018, 10, 12), date(2018, 10, 17)),
        (date(2018, 10, 21), date(2018, 10, 26)),
    ]
    found = stay_rules(stays, MONDAY, date(2018, 10, 31), max_crossings_per_month=4)
    assert [(v.rule, v.day) for v in found] == [
        (Rule.MONTHLY_CROSSINGS, date(2018, 10, 21)),
        (Rule.MONTHLY_CROSSINGS, date(2018, 10, 26)),
    ]
    assert str(found[1].message) == (
        "Official 1 crosses 6 times in 2018-10 up to 2018-10-26; the most is 4 a month."
    )


def test_crossings_earlier_in_the_month_count_toward_the_cap_of_a_later_window():
    stays = [(date(2018, 10, 1), date(2018, 10, 2)), (date(2018, 10, 20), date(2018, 10, 22))]
    found = stay_rules(stays, date(2018, 10, 15), date(2018, 10, 31), max_crossings_per_month=3)
    assert [(v.rule, v.day) for v in found] == [(Rule.MONTHLY_CROSSINGS, date(2018, 10, 22))]
