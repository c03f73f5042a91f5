"""The planner's output passes the same rule checker the calendar uses; it keeps pinned stays;
when no plan can meet the rules it names the rule and the day."""

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from office.errors import ConflictError
from office.staffing import planner, services
from office.staffing.checks import Person, Plan, SideRules, find_violations
from office.staffing.models import Category, ProposalStatus, Side, Stay
from tests.factories import NOW, make_person, stay

START = date(2018, 10, 1)
SMALL = SideRules(
    Side.SOUTH,
    weekday_min=3,
    weekend_min=2,
    max_headcount=5,
    counted_categories=frozenset({Category.OFFICIAL}),
    min_night_duty=1,
    max_consecutive_days=4,
    min_rest_days=1,
)


def crew(n: int, qualified: int) -> list[Person]:
    return [
        Person(i, f"P{i}", Side.SOUTH, Category.OFFICIAL, i <= qualified, date(2018, 1, 1), None)
        for i in range(1, n + 1)
    ]


def as_plan(result: planner.PlanResult, kept: list[planner.Fixed] = ()) -> Plan:
    plan = Plan()
    for person_id, first, last in result.stays:
        plan.add_stay(person_id, first, last)
    for fixed in kept:
        plan.add_stay(fixed.person_id, fixed.first, fixed.last)
    plan.nights = set(result.nights)
    return plan


def test_a_plan_meets_every_rule_by_the_calendars_own_checker():
    people = crew(8, qualified=4)
    end = START + timedelta(days=20)
    result = planner.plan_period(people, SMALL, Plan(), [], START, end, time_limit=3)
    violations = find_violations(people, {Side.SOUTH: SMALL}, as_plan(result), START, end)
    assert violations == []
    on_site = Counter(
        day
        for _pid, first, last in result.stays
        for day in (first + timedelta(n) for n in range((last - first).days + 1))
    )
    assert all(2 <= on_site[START + timedelta(n)] <= 5 for n in range(21))


def test_nights_are_spread_fairly():
    people = crew(8, qualified=4)
    end = START + timedelta(days=27)
    result = planner.plan_period(people, SMALL, Plan(), [], START, end, time_limit=3)
    nights = Counter(pid for pid, _day in result.nights)
    assert sum(nights.values()) == 28  # one a night, no more
    assert max(nights.values()) - min(nights.values()) <= 1
    assert set(nights) <= {1, 2, 3, 4}  # only those qualified


def test_pinned_stays_are_kept_as_they_are():
    people = crew(8, qualified=4)
    end = START + timedelta(days=13)
    pinned = [planner.Fixed(5, START + timedelta(days=2), START + timedelta(days=5))]
    result = planner.plan_period(people, SMALL, Plan(), pinned, START, end, time_limit=3)
    own = [(first, last) for pid, first, last in result.stays if pid == 5]
    assert all(
        last < pinned[0].first - timedelta(days=1) or first > pinned[0].last + timedelta(days=1)
        for first, last in own
    )
    violations = find_violations(people, {Side.SOUTH: SMALL}, as_plan(result, pinned), START, end)
    assert violations == []


def test_too_few_people_names_the_rule_and_the_day():
    people = crew(2, qualified=2)
    with pytest.raises(planner.PlanInfeasible) as refused:
        planner.plan_period(people, SMALL, Plan(), [], START, START + timedelta(days=6))
    assert str(refused.value) == ("Only 2 officials are available on 2018-10-01; the minimum is 3.")


def test_people_leaving_the_roster_make_a_later_day_impossible():
    leaving = Person(
        3, "P3", Side.SOUTH, Category.OFFICIAL, True, date(2018, 1, 1), date(2018, 10, 5)
    )
    people = [*crew(2, qualified=2), leaving]
    with pytest.raises(planner.PlanInfeasible, match="on 2018-10-08; the minimum is 3"):
        planner.plan_period(people, SMALL, Plan(), [], START, START + timedelta(days=9))


def test_rules_that_together_cannot_be_met_are_named():
    # Four people, four needed every weekday, at most 4 days in a row: someone must rest.
    people = crew(4, qualified=4)
    strict = SideRules(Side.SOUTH, 4, 4, 5, frozenset({Category.OFFICIAL}), 1, 4, 1)
    with pytest.raises(
        planner.PlanInfeasible, match="cannot be met: with at most 4 days in a row and 1 rest days"
    ):
        planner.plan_period(
            people, strict, Plan(), [], START, START + timedelta(days=9), time_limit=3
        )


def test_proposal_is_kept_then_accepted_replacing_unpinned_stays(session):
    rules = services.rules_by_side(session)[Side.SOUTH]
    services.update_rules(
        session,
        rules,
        weekday_min=3,
        weekend_min=2,
        max_headcount=5,
        counted_categories=["official"],
        min_night_duty=1,
        max_consecutive_days=4,
        min_rest_days=1,
        actor=None,
        now=NOW,
    )
    crew_ = [make_person(session) for _ in range(8)]
    old = stay(session, crew_[0], START, START + timedelta(days=1))
    kept = stay(
        session, crew_[1], START + timedelta(days=3), START + timedelta(days=4), pinned=True
    )
    support = make_person(session, category=Category.SUPPORT)
    support_stay = stay(session, support, START, START + timedelta(days=2))
    proposal = services.propose_plan(
        session, Side.SOUTH, START, 14, actor=None, now=NOW, time_limit=3
    )
    assert proposal.status is ProposalStatus.PROPOSED
    assert session.get(Stay, old.id) is not None  # nothing changes before accepting
    services.accept_proposal(session, proposal, actor=None, now=NOW)
    remaining = {s.id for s in session.scalars(select(Stay))}
    assert kept.id in remaining and support_stay.id in remaining and old.id not in remaining
    found, _people = services.violations(session, START, START + timedelta(days=13))
    assert [v for v in found if v.side is Side.SOUTH] == []
    with pytest.raises(ConflictError, match="already"):
        services.accept_proposal(session, proposal, actor=None, now=NOW)


def test_a_discarded_proposal_changes_nothing(session):
    rules = services.rules_by_side(session)[Side.SOUTH]
    services.update_rules(
        session,
        rules,
        weekday_min=1,
        weekend_min=1,
        max_headcount=3,
        counted_categories=["official"],
        min_night_duty=0,
        max_consecutive_days=5,
        min_rest_days=1,
        actor=None,
        now=NOW,
    )
    people = [make_person(session) for _ in range(3)]
    before = stay(session, people[0], START, START + timedelta(days=2))
    proposal = services.propose_plan(session, Side.SOUTH, START, 7, actor=None, now=NOW)
    services.discard_proposal(session, proposal, actor=None, now=NOW)
    assert [s.id for s in session.scalars(select(Stay))] == [before.id]
    assert proposal.status is ProposalStatus.DISCARDED


def test_a_period_longer_than_92_days_is_refused(session):
    with pytest.raises(Exception, match="1 to 92 days"):
        services.propose_plan(session, Side.SOUTH, START, 93, actor=None, now=NOW)


def test_a_stay_ending_the_day_before_the_period_may_be_continued_into_it(session):
    rules = services.rules_by_side(session)[Side.SOUTH]
    services.update_rules(
        session,
        rules,
        weekday_min=3,
        weekend_min=3,
        max_headcount=3,
        counted_categories=["official"],
        min_night_duty=0,
        max_consecutive_days=30,
        min_rest_days=2,
        actor=None,
        now=NOW,
    )
    crew_ = [make_person(session) for _ in range(3)]
    # Everyone is on site up to the day before: only continuing their stays meets the minimum.
    before = [
        stay(session, person, START - timedelta(days=5), START - timedelta(days=1))
        for person in crew_
    ]
    proposal = services.propose_plan(
        session, Side.SOUTH, START, 7, actor=None, now=NOW, time_limit=3
    )
    services.accept_proposal(session, proposal, actor=None, now=NOW)
    for old in before:
        session.refresh(old)
        assert old.last_day == START + timedelta(days=6)  # one stay, continued
    assert len(session.scalars(select(Stay)).all()) == 3
    found, _people = services.violations(session, START, START + timedelta(days=6))
    assert [v for v in found if v.side is Side.SOUTH] == []
