"""The planner's output passes the same rule checker the calendar uses; it keeps pinned stays;
when no plan can meet the rules it names the rule and the day."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from ortools.sat.python import cp_model
from sqlalchemy import select

from office.auth.permissions import Role
from office.errors import ConflictError
from office.staffing import planner, services
from office.staffing.checks import Person, Plan, Rule, SideRules, find_violations
from office.staffing.checks import days as checks_days
from office.staffing.models import Category, PlanProposal, ProposalStatus, Side, Stay
from tests.conftest import log_in
from tests.factories import NOW, make_person, make_user, stay

# Touches no database: run in the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.database_free

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


def test_nights_are_spread_fairly_even_when_the_search_has_little_time():
    people = crew(8, qualified=4)
    end = START + timedelta(days=27)
    # Fairness is the search's second tier, after the fewest crossings; it needs about 2.5 s
    # of a quiet machine's two threads. With less, the nights of the best plan are still
    # shared again over its days on site, by a small search of their own.
    result = planner.plan_period(people, SMALL, Plan(), [], START, end, time_limit=2, workers=1)
    nights = Counter(pid for pid, _day in result.nights)
    assert sum(nights.values()) == 28  # one a night, no more
    assert max(nights.values()) - min(nights.values()) <= 1
    assert set(nights) <= {1, 2, 3, 4}  # only those qualified
    assert result.spread["nights"] == max(nights.values()) - min(nights.values())
    assert find_violations(people, {Side.SOUTH: SMALL}, as_plan(result), START, end) == []


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
    with pytest.raises(planner.PlanInfeasible) as refused:
        planner.plan_period(
            people, strict, Plan(), [], START, START + timedelta(days=9), time_limit=3
        )
    assert str(refused.value) == (
        "No plan meets these rules together: the weekday minimum of 4 on 2018-10-01, "
        "2018-10-02, 2018-10-03, 2018-10-04, 2018-10-05; the longest stay of 4 days."
    )


# --- whole rotations: the shortest stay, crossing days, the monthly cap ---------------------

MONDAY, THURSDAY = 0, 3
ROTATION = SideRules(
    Side.SOUTH,
    weekday_min=4,
    weekend_min=4,
    max_headcount=6,
    counted_categories=frozenset({Category.OFFICIAL}),
    min_night_duty=1,
    max_consecutive_days=12,
    min_rest_days=2,
    min_stay_days=5,
    crossing_weekdays=frozenset({MONDAY, THURSDAY}),
    max_crossings_per_month=4,
)


def merged(result: planner.PlanResult, kept: list[planner.Fixed] = ()) -> Plan:
    """The plan as accepting it records it: a planned stay that touches a kept one
    continues it (the service joins them)."""
    plan = as_plan(result, kept)
    for person_id, stays in plan.stays.items():
        runs: list[tuple[date, date]] = []
        for first, last in sorted(stays):
            if runs and first == runs[-1][1] + timedelta(days=1):
                runs[-1] = (runs[-1][0], last)
            else:
                runs.append((first, last))
        plan.stays[person_id] = runs
    return plan


def test_a_rotation_keeps_the_shortest_stay_the_crossing_days_and_the_monthly_cap():
    people = crew(10, qualified=5)
    end = START + timedelta(days=27)
    result = planner.plan_period(people, ROTATION, Plan(), [], START, end, time_limit=2)

    plan = merged(result)
    assert find_violations(people, {Side.SOUTH: ROTATION}, plan, START, end) == []
    runs = [(pid, first, last) for pid, stays in plan.stays.items() for first, last in stays]
    assert all((last - first).days + 1 >= 5 for _pid, first, last in runs)
    assert {day.weekday() for _pid, first, last in runs for day in (first, last)} <= {
        MONDAY,
        THURSDAY,
    }
    monthly = Counter((pid, day.month) for pid, first, last in runs for day in (first, last))
    assert max(monthly.values()) <= 4
    # Stays may run past the period to end on a crossing day: past it, only the days no
    # plan covers yet (headcount, night duty) are marked.
    later = max(last for _pid, _first, last in runs)
    beyond = find_violations(people, {Side.SOUTH: ROTATION}, plan, START, later)
    assert all(v.day > end and v.rule in (Rule.HEADCOUNT_MIN, Rule.NIGHT_DUTY) for v in beyond)


def test_the_fewest_crossings_whole_stays_not_scattered_days():
    """Four on site every day for 28 days, stays of 5 to 12 days: days 1, 13 and 25 need
    four stays each and no stay reaches two of them, so 12 stays (24 crossings) is the
    least; the former planner made 22 or 23 stays, some of a day or two, up to four a
    person."""
    people = crew(8, qualified=4)
    rules = SideRules(
        Side.SOUTH, 4, 4, 6, frozenset({Category.OFFICIAL}), 1, 12, 2, min_stay_days=5
    )
    end = START + timedelta(days=27)
    # The fewest crossings are proven in about a second on a quiet machine; CI runs four
    # test processes on two cores.
    result = planner.plan_period(people, rules, Plan(), [], START, end, time_limit=5)

    assert result.crossings == 24
    assert len(result.stays) == 12
    assert max(Counter(pid for pid, _first, _last in result.stays).values()) <= 2
    assert min((last - first).days + 1 for _pid, first, last in result.stays) >= 5
    assert find_violations(people, {Side.SOUTH: rules}, as_plan(result), START, end) == []


def test_stays_at_the_end_run_on_to_a_day_people_may_cross():
    # The period ends on a Wednesday; people cross on Mondays only.
    people = crew(6, qualified=3)
    rules = SideRules(
        Side.SOUTH,
        2,
        2,
        4,
        frozenset({Category.OFFICIAL}),
        1,
        12,
        2,
        min_stay_days=5,
        crossing_weekdays=frozenset({MONDAY}),
    )
    end = START + timedelta(days=9)
    result = planner.plan_period(people, rules, Plan(), [], START, end, time_limit=2)

    assert {(first.weekday(), last.weekday()) for _pid, first, last in result.stays} == {
        (MONDAY, MONDAY)
    }
    assert max(last for _pid, _first, last in result.stays) == date(2018, 10, 15)
    assert {day for _pid, day in result.nights} == set(checks_days(START, end))


def test_kept_stays_that_break_the_new_rules_are_kept_and_marked_by_the_checker():
    """A pinned stay of two days, arriving on a Saturday: the plan keeps it as it is, meets
    every rule around it, and the checker marks that stay (and only it)."""
    people = crew(10, qualified=5)
    end = START + timedelta(days=20)
    pinned = [planner.Fixed(1, date(2018, 10, 6), date(2018, 10, 7))]
    result = planner.plan_period(people, ROTATION, Plan(), pinned, START, end, time_limit=2)

    found = find_violations(people, {Side.SOUTH: ROTATION}, merged(result, pinned), START, end)
    assert [(v.rule, v.person_id, v.day) for v in found] == [
        (Rule.CROSSING_DAY, 1, date(2018, 10, 6)),
        (Rule.SHORT_STAY, 1, date(2018, 10, 6)),
        (Rule.CROSSING_DAY, 1, date(2018, 10, 7)),
    ]


def test_a_stay_from_before_the_period_too_short_is_continued_to_the_shortest_stay():
    people = crew(8, qualified=4)
    current = Plan()
    current.add_stay(1, START - timedelta(days=2), START - timedelta(days=1))
    kept = [planner.Fixed(1, START - timedelta(days=2), START - timedelta(days=1), False)]
    rules = SideRules(
        Side.SOUTH, 2, 2, 6, frozenset({Category.OFFICIAL}), 1, 12, 2, min_stay_days=5
    )
    end = START + timedelta(days=13)
    result = planner.plan_period(people, rules, current, kept, START, end, time_limit=2)

    plan = merged(result, kept)
    assert plan.stays[1][0][0] == START - timedelta(days=2)
    assert plan.stays[1][0][1] >= START + timedelta(days=2)  # five days at least
    assert find_violations(people, {Side.SOUTH: rules}, plan, START, end) == []


@pytest.mark.parametrize(
    ("rules", "people", "days", "message"),
    [
        (
            SideRules(
                Side.SOUTH,
                1,
                1,
                3,
                frozenset({Category.OFFICIAL}),
                0,
                5,
                0,
                min_stay_days=5,
                crossing_weekdays=frozenset({MONDAY}),
            ),
            3,
            14,
            # Monday to Monday is 8 days, longer than 5: no stay can be made at all.
            "No plan meets these rules together: the weekday minimum of 1 on 2018-10-10, "
            "2018-10-11, 2018-10-12; the weekend minimum of 1 on 2018-10-13, 2018-10-14; "
            "the longest stay of 5 days; the shortest stay of 5 days; crossings only on "
            "Monday.",
        ),
        (
            SideRules(
                Side.SOUTH,
                2,
                2,
                4,
                frozenset({Category.OFFICIAL}),
                0,
                5,
                1,
                min_stay_days=5,
                max_crossings_per_month=2,
            ),
            4,
            28,
            # One stay of five days each in October: 20 person-days for 56 needed.
            "No plan meets these rules together: the weekday minimum of 2 on 2018-10-01, "
            "2018-10-08, 2018-10-09, 2018-10-10, 2018-10-11; the weekend minimum of 2 on "
            "2018-10-06, 2018-10-07; the longest stay of 5 days; the shortest stay of 5 days; "
            "at most 2 crossings a person a month in 2018-10.",
        ),
    ],
)
def test_rules_that_conflict_are_named_with_their_days(rules, people, days, message):
    with pytest.raises(planner.PlanInfeasible) as refused:
        planner.plan_period(
            crew(people, qualified=0),
            rules,
            Plan(),
            [],
            START,
            START + timedelta(days=days - 1),
            time_limit=2,
        )
    assert str(refused.value) == message


def test_the_conflicting_rules_are_named_in_korean(app):
    rules = SideRules(
        Side.SOUTH,
        1,
        1,
        3,
        frozenset({Category.OFFICIAL}),
        0,
        5,
        0,
        min_stay_days=5,
        crossing_weekdays=frozenset({MONDAY}),
    )
    with pytest.raises(planner.PlanInfeasible) as refused:
        planner.plan_period(
            crew(3, qualified=0), rules, Plan(), [], START, START + timedelta(days=13)
        )
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        assert str(refused.value) == (
            "다음 규칙을 함께 지키는 편성안이 없습니다: 2018-10-10, 2018-10-11, 2018-10-12의 평일 "
            "최소 인원 1명; 2018-10-13, 2018-10-14의 주말 최소 인원 1명; 최대 연속 체류 5일; "
            "최소 연속 체류 5일; 월요일에만 출입."
        )


# --- how good the plan is, and the progress hook --------------------------------------------


# Stays of 5 to 12 days, crossing on Mondays only: few plans, proven the best in a second.
PROVABLE = SideRules(
    Side.SOUTH,
    2,
    2,
    4,
    frozenset({Category.OFFICIAL}),
    1,
    12,
    2,
    min_stay_days=5,
    crossing_weekdays=frozenset({MONDAY}),
)


def test_a_small_plan_is_proven_the_best_and_says_so():
    people = crew(6, qualified=3)
    result = planner.plan_period(
        people, PROVABLE, Plan(), [], START, START + timedelta(days=9), time_limit=5
    )
    assert result.status == "optimal"
    assert (result.gap, result.bound) == (0.0, result.objective)
    assert result.seconds < 5  # it stops once proven
    assert result.first_solution_seconds is not None
    assert result.first_solution_seconds <= result.seconds


def test_the_progress_hook_sees_each_better_plan_with_its_bound():
    people = crew(8, qualified=4)
    seen: list[planner.PlanProgress] = []
    result = planner.plan_period(
        people,
        SMALL,
        Plan(),
        [],
        START,
        START + timedelta(days=20),
        time_limit=1.5,
        progress=seen.append,
    )
    assert seen
    objectives = [p.objective for p in seen]
    bounds = [p.bound for p in seen]
    assert objectives == sorted(objectives, reverse=True)  # never a worse plan
    assert bounds == sorted(bounds)  # nor a weaker bound
    # Each report is a better plan or a better bound on it.
    pairs = [(p.objective, p.bound, p.proven) for p in seen]
    assert len(set(pairs)) == len(pairs)
    assert all(p.bound <= p.objective and 0 <= p.gap <= 1 for p in seen)
    assert seen[-1].objective == result.objective
    assert seen[-1].stays == result.stays and seen[-1].nights == result.nights


def test_the_progress_hook_is_told_when_the_plan_is_proven_the_best():
    people = crew(6, qualified=3)
    seen: list[planner.PlanProgress] = []
    result = planner.plan_period(
        people,
        PROVABLE,
        Plan(),
        [],
        START,
        START + timedelta(days=9),
        time_limit=5,
        progress=seen.append,
    )
    assert result.status == "optimal"
    last = seen[-1]
    assert last.proven and (last.bound, last.gap) == (result.objective, 0.0)
    assert last.objective == result.objective and last.stays == result.stays
    assert not any(p.proven for p in seen[:-1])
    # The bound rose as the tiers were proven, on the way to the proof.
    assert seen[0].bound < last.bound


def test_the_progress_hook_stops_the_search_with_the_plan_so_far():
    people = crew(8, qualified=4)
    end = START + timedelta(days=20)
    seen: list[planner.PlanProgress] = []

    def stop_at_once(progress: planner.PlanProgress) -> bool:
        seen.append(progress)
        return True

    result = planner.plan_period(
        people, SMALL, Plan(), [], START, end, time_limit=30, progress=stop_at_once
    )

    assert len(seen) == 1
    assert result.stopped and result.status == "feasible"
    assert result.seconds < 10  # not the 30 seconds it had
    assert (result.stays, result.nights) == (seen[0].stays, seen[0].nights)
    assert find_violations(people, {Side.SOUTH: SMALL}, as_plan(result), START, end) == []


def test_an_error_in_the_progress_hook_stops_the_search_and_is_raised():
    def broken(progress: planner.PlanProgress) -> None:
        raise RuntimeError("the job queue went away")

    with pytest.raises(RuntimeError, match="the job queue went away"):
        planner.plan_period(
            crew(8, qualified=4),
            SMALL,
            Plan(),
            [],
            START,
            START + timedelta(days=13),
            time_limit=30,
            progress=broken,
        )


# --- the two models state the same rules ---------------------------------------------------


def random_case(seed: int) -> planner._Frame:
    """A small random side: rules, people, recorded stays (some pinned), and a period."""
    rng = random.Random(seed)
    longest = rng.randint(3, 7)
    rules = SideRules(
        Side.SOUTH,
        weekday_min=rng.randint(0, 3),
        weekend_min=rng.randint(0, 3),
        max_headcount=rng.randint(3, 4),
        counted_categories=frozenset({Category.OFFICIAL}),
        min_night_duty=rng.randint(0, 1),
        max_consecutive_days=longest,
        min_rest_days=rng.randint(0, 2),
        min_stay_days=rng.randint(1, longest),
        crossing_weekdays=frozenset(rng.sample(range(7), rng.randint(2, 7))),
        max_crossings_per_month=rng.choice([None, 2, 3, 4]),
    )
    people = crew(rng.randint(3, 5), qualified=rng.randint(1, 3))
    first = START + timedelta(days=rng.randint(0, 20))
    last = first + timedelta(days=rng.randint(5, 10))
    current, fixed = Plan(), []
    for person in people:
        day = first - timedelta(days=rng.randint(1, 8))
        while day < last + timedelta(days=8):
            length = rng.randint(1, longest + 1)
            if rng.random() < 0.5:
                stay_last = day + timedelta(days=length - 1)
                current.add_stay(person.id, day, stay_last)
                pinned = rng.random() < 0.2
                if pinned or day < first or stay_last > last:
                    fixed.append(planner.Fixed(person.id, day, stay_last, pinned))
            day += timedelta(days=length + rng.randint(1, 4))
    forced = planner._fixed_presence(fixed, {p.id for p in people})
    return planner._Frame(people, rules, current, forced, first, last)


def solved(model):
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 5
    return solver, solver.solve(model)


@pytest.mark.parametrize("seed", range(40))
def test_the_search_and_the_explanation_models_agree_on_which_plans_keep_the_rules(seed):
    frame = random_case(seed)
    stays = planner._StayModel(frame)
    days_model = planner._DayModel(frame)
    days_model.model.add_bool_and(days_model.groups.values())

    stay_solver, stay_status = solved(stays.model)
    _day_solver, day_status = solved(days_model.model)
    decided = (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE)
    assert stay_status in decided and day_status in decided
    assert (stay_status == cp_model.INFEASIBLE) == (day_status == cp_model.INFEASIBLE)
    if stay_status != cp_model.INFEASIBLE:
        # The plan the search found keeps every rule of the day model.
        for (person_id, day), on in days_model.x.items():
            if not isinstance(on, int):
                days_model.model.add(on == stay_solver.value(stays.presence[person_id, day]))
        _solver, status = solved(days_model.model)
        assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE)


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
        min_stay_days=1,
        crossing_weekdays=range(7),
        max_crossings_per_month=None,
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
    assert kept.id in remaining and support_stay.id in remaining
    # The unpinned stay is replaced: it became one of the stays planned for its person (the
    # same stay, moved), or it is gone if the plan has none for them.
    planned = {
        (date.fromisoformat(a), date.fromisoformat(b))
        for person_id, a, b in proposal.plan["stays"]
        if person_id == crew_[0].id
    }
    assert {
        (s.first_day, s.last_day)
        for s in session.scalars(select(Stay).where(Stay.staff_member_id == crew_[0].id))
    } == planned
    assert (old.id in remaining) == bool(planned)
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
        min_stay_days=1,
        crossing_weekdays=range(7),
        max_crossings_per_month=None,
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
        min_stay_days=1,
        crossing_weekdays=range(7),
        max_crossings_per_month=None,
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


# --- accepting keeps what people wrote on their stays -------------------------------------


def proposal_of(
    session, people: list, stays: list[tuple], first: date = START, days: int = 14
) -> PlanProposal:
    """A proposal as the planner keeps one, with `stays` as (person, first, last) written
    out by hand: what accepting does with it does not depend on the solver."""
    proposal = PlanProposal(
        side=Side.SOUTH,
        first_day=first,
        last_day=first + timedelta(days=days - 1),
        status=ProposalStatus.PROPOSED,
        plan={
            "people": sorted(p.id for p in people),
            "stays": [[p.id, a.isoformat(), b.isoformat()] for p, a, b in stays],
            "nights": [],
        },
        created_at=NOW,
    )
    session.add(proposal)
    session.commit()
    return proposal


def stays_with_notes(session, person) -> list[tuple[int, date, date, str]]:
    return [
        (s.id, s.first_day, s.last_day, s.note)
        for s in session.scalars(
            select(Stay)
            .where(Stay.staff_member_id == person.id)
            .order_by(Stay.first_day)
            .execution_options(populate_existing=True)
        )
    ]


def noted_stay(session, person, first: date, last: date, note: str) -> Stay:
    result = services.add_stay(session, person, first, last, note=note, actor=None, now=NOW)
    session.commit()
    return result


def day(n: int) -> date:
    return START + timedelta(days=n - 1)


def test_a_stay_the_plan_extends_or_moves_keeps_its_note_and_a_new_one_names_the_proposal(
    session,
):
    extended, moved, newcomer = (make_person(session) for _ in range(3))
    first = noted_stay(session, extended, day(2), day(5), "First rotation")
    second = noted_stay(session, moved, day(3), day(6), "Brings the new radio")
    proposal = proposal_of(
        session,
        [extended, moved, newcomer],
        [(extended, day(1), day(7)), (moved, day(5), day(9)), (newcomer, day(2), day(4))],
    )

    services.accept_proposal(session, proposal, actor=None, now=NOW)
    session.commit()

    assert stays_with_notes(session, extended) == [(first.id, day(1), day(7), "First rotation")]
    assert stays_with_notes(session, moved) == [(second.id, day(5), day(9), "Brings the new radio")]
    ((_id, a, b, note),) = stays_with_notes(session, newcomer)
    assert (a, b, note) == (day(2), day(4), f"Planner proposal #{proposal.id}")


def test_a_stay_moved_clear_of_its_old_days_keeps_its_note(session):
    person = make_person(session)
    old = noted_stay(session, person, day(1), day(3), "Medical check on return")
    proposal = proposal_of(session, [person], [(person, day(8), day(11))])

    services.accept_proposal(session, proposal, actor=None, now=NOW)
    session.commit()

    assert stays_with_notes(session, person) == [
        (old.id, day(8), day(11), "Medical check on return")
    ]


def test_a_stay_split_in_two_keeps_its_note_on_the_part_sharing_the_most_days(session):
    person = make_person(session)
    old = noted_stay(session, person, day(1), day(10), "Long rotation")
    proposal = proposal_of(session, [person], [(person, day(1), day(3)), (person, day(6), day(10))])

    services.accept_proposal(session, proposal, actor=None, now=NOW)
    session.commit()

    assert stays_with_notes(session, person) == [
        (
            stays_with_notes(session, person)[0][0],
            day(1),
            day(3),
            f"Planner proposal #{proposal.id}",
        ),
        (old.id, day(6), day(10), "Long rotation"),
    ]


def test_a_stay_the_plan_drops_is_removed_and_one_it_continues_joins_both_notes(session):
    person = make_person(session)
    # Arrived before the period and stayed on into it, recorded as two stays that touch.
    before = noted_stay(
        session, person, START - timedelta(days=3), START - timedelta(days=1), "Advance party"
    )
    inside = noted_stay(session, person, day(1), day(2), "First rotation")
    dropped = noted_stay(session, person, day(8), day(9), "Stand-by")
    proposal = proposal_of(session, [person], [(person, day(1), day(4))])

    services.accept_proposal(session, proposal, actor=None, now=NOW)
    session.commit()

    assert stays_with_notes(session, person) == [
        (before.id, START - timedelta(days=3), day(4), "Advance party · First rotation")
    ]
    assert session.get(Stay, inside.id) is None and session.get(Stay, dropped.id) is None


def test_a_proposal_that_no_longer_fits_the_stays_is_refused_and_changes_nothing(client, session):
    person = make_person(session)
    old = noted_stay(session, person, day(1), day(3), "First rotation")
    proposal = proposal_of(session, [person], [(person, day(1), day(5))])
    stay(session, person, day(4), day(8), pinned=True)  # recorded after the proposal was made

    response = log_in(client, make_user(session, Role.SCHEDULER)).post(
        f"/staffing/plans/{proposal.id}/accept"
    )

    assert response.status_code == 302
    assert response.location == f"/staffing/plans/{proposal.id}"
    flashes = client.get(response.location).get_data(as_text=True)
    assert (
        f"{person.name_ko} already has a stay from {day(4).isoformat()} to "
        f"{day(8).isoformat()}; stays cannot overlap."
    ) in flashes
    session.expire_all()
    assert proposal.status is ProposalStatus.PROPOSED
    assert [(s[1], s[2], s[3]) for s in stays_with_notes(session, person)] == [
        (day(1), day(3), "First rotation"),
        (day(4), day(8), ""),
    ]
    assert session.get(Stay, old.id) is not None


def test_a_proposal_for_someone_since_moved_to_the_other_side_is_refused_plainly(client, session):
    person, other = make_person(session), make_person(session)
    proposal = proposal_of(
        session, [person, other], [(person, day(1), day(5)), (other, day(2), day(6))]
    )
    services.save_person(
        session,
        services.PersonInput(
            name_ko=person.name_ko,
            name_latin=person.name_latin,
            side=Side.NORTH,
            category=person.category,
            agency=person.agency,
            position=person.position,
            is_duty_qualified=person.is_duty_qualified,
            active_from=person.active_from,
            active_until=person.active_until,
        ),
        actor=None,
        now=NOW,
        person=person,
    )
    session.commit()

    response = log_in(client, make_user(session, Role.SCHEDULER)).post(
        f"/staffing/plans/{proposal.id}/accept"
    )

    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The roster changed since this proposal was made; plan the period again." in page
    session.expire_all()
    assert proposal.status is ProposalStatus.PROPOSED
    assert session.scalars(select(Stay)).all() == []
