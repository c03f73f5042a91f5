"""The rotation planner: proposes stays and night duty for one side over up to 92 days with
Google OR-Tools CP-SAT, meeting every rule, spreading nights and weekends fairly.

It plans the people whose category counts toward the headcount; everyone else's stays, and
every pinned stay or stay reaching outside the period, are kept as they are. It works on the
checker's plain data (`office.staffing.checks`), so its output is checked by the same code that
marks the calendar.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from ortools.sat.python import cp_model

from office.errors import ConflictError
from office.i18n import _l
from office.staffing.checks import Person, Plan, SideRules, days


class PlanInfeasible(ConflictError):
    """No plan meets the rules; the message names the rule and the day."""


@dataclass(frozen=True)
class PlanResult:
    people: list[int]  # the people planned
    stays: list[tuple[int, date, date]]  # new stays (kept ones are not repeated)
    nights: list[tuple[int, date]]
    seconds: float
    status: str
    spread: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Fixed:
    """A stay the planner keeps: a pinned one as it is; one reaching outside the period may be
    continued into it."""

    person_id: int
    first: date
    last: date
    pinned: bool = True


# Within each group, how the terms weigh against each other; _objective puts the fairness
# group (nights, weekends, workload) strictly before the other (crossings, changes).
WEIGHTS = {
    "nights": 20,
    "weekends": 10,
    "workload": 2,
    "crossings": 3,
    "changes": 1,
}


def plan_period(
    people: list[Person],
    rules: SideRules,
    current: Plan,
    fixed: list[Fixed],
    first_day: date,
    last_day: date,
    *,
    time_limit: float = 12.0,
    workers: int = 2,
) -> PlanResult:
    """Return a plan for `rules.side` from `first_day` to `last_day`.

    `current` holds the stays now recorded (also before and after the period); `fixed` the
    stays to keep. Raises PlanInfeasible naming the rule and day that cannot be met.
    """
    started = time.monotonic()
    horizon = list(days(first_day, last_day))
    planned = [p for p in people if p.side is rules.side and p.category in rules.counted_categories]
    planned_ids = {p.id for p in planned}
    margin = rules.max_consecutive_days + rules.min_rest_days + 1
    before = first_day - timedelta(days=margin)
    after = last_day + timedelta(days=margin)
    fixed_days = _fixed_presence(fixed, planned_ids)
    _explain_impossible_days(planned, rules, fixed_days, horizon)

    model = cp_model.CpModel()
    x: dict[tuple[int, date], cp_model.IntVar | int] = {}
    for person in planned:
        for day in days(before, after):
            if first_day <= day <= last_day:
                if (person.id, day) in fixed_days:
                    x[person.id, day] = fixed_days[person.id, day]
                elif person.is_active_on(day):
                    x[person.id, day] = model.new_bool_var(f"x_{person.id}_{day}")
                else:
                    x[person.id, day] = 0
            else:  # outside the period the current plan stands
                x[person.id, day] = int(current.on_site(person.id, day))

    assumptions = {}
    for day in horizon:
        present = sum(x[p.id, day] for p in planned)
        enough = model.new_bool_var(f"min_{day}")
        assumptions[day] = enough
        model.add(present >= rules.minimum_on(day)).only_enforce_if(enough)
        model.add(present <= rules.max_headcount)

    nights: dict[tuple[int, date], cp_model.IntVar] = {}
    qualified = [p for p in planned if p.is_duty_qualified]
    for day in horizon:
        for person in qualified:
            if not isinstance(x[person.id, day], int) or x[person.id, day] == 1:
                nights[person.id, day] = model.new_bool_var(f"n_{person.id}_{day}")
                model.add(nights[person.id, day] <= x[person.id, day])
        # Exactly the minimum: more would only make the nights less fair.
        model.add(
            sum(nights[p.id, day] for p in qualified if (p.id, day) in nights)
            == rules.min_night_duty
        )

    span = list(days(before, after))
    for person in planned:
        # At most D days in any D + 1 days in a row.
        for start in range(len(span) - rules.max_consecutive_days):
            window = span[start : start + rules.max_consecutive_days + 1]
            terms = [x[person.id, d] for d in window]
            if any(not isinstance(t, int) for t in terms):
                model.add(sum(terms) <= rules.max_consecutive_days)
        # Leaving on day d (on d, off d + 1) means off on d + 1 .. d + R.
        for index in range(len(span) - 1):
            on, off = x[person.id, span[index]], x[person.id, span[index + 1]]
            for k in range(2, rules.min_rest_days + 1):
                if index + k >= len(span):
                    break
                later = x[person.id, span[index + k]]
                if any(not isinstance(t, int) for t in (on, off, later)):
                    model.add(on - off + later <= 1)

    # CP-SAT searches with one worker only when given assumptions, so the plan is searched for
    # with every day's minimum holding outright; a copy, taken before the objective, keeps the
    # minimums as assumptions to name the day when there is no plan at all.
    explain = model.clone()
    model.add_bool_and(assumptions.values())
    for enough in assumptions.values():
        model.add_hint(enough, 1)

    _hint_rotation(model, planned, rules, horizon, x, nights)  # first: _objective completes it
    objective, spreads = _objective(model, planned, qualified, horizon, x, nights, current)
    model.minimize(objective)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    # No relative gap limit: fairness is scaled above everything else (see _objective), so 2%
    # of the objective outweighed every crossing, and the search stopped as soon as fairness
    # was proven, leaving stays of a day or two.
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        _explain_core(explain, assumptions, planned, rules)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PlanInfeasible(
            _l("No plan was found within %(s)d seconds; try a shorter period.", s=int(time_limit))
        )

    value = {key: (var if isinstance(var, int) else solver.value(var)) for key, var in x.items()}
    stays = []
    for person in planned:
        # Only the days the plan adds: the kept stays' days are already recorded. A new run
        # that touches a kept stay continues it (the service joins them).
        run_start: date | None = None
        for slot in [*horizon, None]:  # None: the day after the horizon, ending the last run
            on = (
                slot is not None
                and value[person.id, slot] == 1
                and fixed_days.get((person.id, slot)) != 1
            )
            if on and run_start is None:
                run_start = slot
            elif not on and run_start is not None:
                stays.append(
                    (
                        person.id,
                        run_start,
                        (slot or last_day + timedelta(days=1)) - timedelta(days=1),
                    )
                )
                run_start = None
    chosen_nights = sorted((pid, day) for (pid, day), var in nights.items() if solver.value(var))
    return PlanResult(
        people=sorted(planned_ids),
        stays=stays,
        nights=chosen_nights,
        seconds=time.monotonic() - started,
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        spread={name: int(solver.value(var)) for name, var in spreads.items()},
    )


def _fixed_presence(fixed: list[Fixed], planned: set[int]) -> dict[tuple[int, date], int]:
    """Days forced on site by kept stays, and the day either side of a pinned one forced off
    (a pinned stay stays a stay of its own)."""
    forced: dict[tuple[int, date], int] = {}
    for stay in fixed:
        if stay.person_id not in planned:
            continue
        for day in days(stay.first, stay.last):
            forced[stay.person_id, day] = 1
    for stay in fixed:
        if stay.person_id not in planned or not stay.pinned:
            continue
        for day in (stay.first - timedelta(days=1), stay.last + timedelta(days=1)):
            forced.setdefault((stay.person_id, day), 0)
    return forced


def _explain_impossible_days(
    planned: list[Person],
    rules: SideRules,
    forced: dict[tuple[int, date], int],
    horizon: list[date],
) -> None:
    what = rules.counted_label()
    for day in horizon:
        available = sum(
            1 for p in planned if p.is_active_on(day) and forced.get((p.id, day), 1) == 1
        )
        if available < rules.minimum_on(day):
            raise PlanInfeasible(
                _l(
                    "Only %(n)d %(what)s are available on %(date)s; the minimum is %(min)d.",
                    n=available,
                    what=what,
                    date=day.isoformat(),
                    min=rules.minimum_on(day),
                )
            )
        pinned = sum(1 for p in planned if forced.get((p.id, day)) == 1)
        if pinned > rules.max_headcount:
            raise PlanInfeasible(
                _l(
                    "%(n)d %(what)s are pinned on site on %(date)s; the maximum is %(max)d.",
                    n=pinned,
                    what=what,
                    date=day.isoformat(),
                    max=rules.max_headcount,
                )
            )
        qualified = sum(
            1
            for p in planned
            if p.is_duty_qualified and p.is_active_on(day) and forced.get((p.id, day), 1) == 1
        )
        if qualified < rules.min_night_duty:
            raise PlanInfeasible(
                _l(
                    "Only %(n)d people qualified for night duty are available on %(date)s; at "
                    "least %(min)d needed.",
                    n=qualified,
                    date=day.isoformat(),
                    min=rules.min_night_duty,
                )
            )


def _explain_core(
    model: cp_model.CpModel,
    assumptions: dict[date, cp_model.IntVar],
    planned: list[Person],
    rules: SideRules,
) -> None:
    """Find a day whose minimum cannot be met with the other rules and say so.

    `model` holds the rules without an objective; `assumptions` are its literals (the clone
    keeps the original's variable indices) that enforce each day's minimum.
    """
    model.add_assumptions(
        model.get_bool_var_from_proto_index(literal.index) for literal in assumptions.values()
    )
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # what CP-SAT supports with assumptions
    solver.parameters.max_time_in_seconds = 10
    solver.solve(model)
    core = set(solver.sufficient_assumptions_for_infeasibility())
    days_in_core = sorted(day for day, literal in assumptions.items() if literal.index in core)
    if not days_in_core:
        raise PlanInfeasible(_l("No plan meets the rules over this period."))
    day = days_in_core[0]
    raise PlanInfeasible(
        _l(
            "The minimum of %(min)d %(what)s on %(date)s cannot be met: with at most %(max)d days "
            "in a row and %(rest)d rest days, too few of the %(n)d people can be on site then.",
            min=rules.minimum_on(day),
            what=rules.counted_label(),
            date=day.isoformat(),
            max=rules.max_consecutive_days,
            rest=rules.min_rest_days,
            n=len(planned),
        )
    )


def _objective(
    model: cp_model.CpModel,
    planned: list[Person],
    qualified: list[Person],
    horizon: list[date],
    x: dict[tuple[int, date], cp_model.IntVar | int],
    nights: dict[tuple[int, date], cp_model.IntVar],
    current: Plan,
) -> tuple[cp_model.LinearExprT, dict[str, cp_model.IntVar]]:
    """Fair nights, weekends and workload first; then few crossings and few changes."""
    n_days = len(horizon)

    # _hint_rotation hints the days and nights; hinting the variables made here as well makes
    # the hint a whole plan, which CP-SAT takes as its first solution at once. A partial hint
    # it may not complete within a short time limit (3 s on 40 people x 92 days: no plan).
    hint = dict(zip(model.proto.solution_hint.vars, model.proto.solution_hint.values, strict=True))

    def hinted(terms: Sequence[cp_model.IntVar | int]) -> int:
        return sum(t if isinstance(t, int) else hint[t.index] for t in terms)

    def spread(name: str, terms: Sequence[Sequence[cp_model.IntVar | int]]) -> cp_model.IntVar:
        if not terms:
            return model.new_constant(0)
        totals = [sum(t) for t in terms]
        high = model.new_int_var(0, n_days, f"{name}_max")
        low = model.new_int_var(0, n_days, f"{name}_min")
        model.add_max_equality(high, totals)
        model.add_min_equality(low, totals)
        gap = model.new_int_var(0, n_days, f"{name}_spread")
        model.add(gap == high - low)
        values = [hinted(t) for t in terms]
        model.add_hint(high, max(values))
        model.add_hint(low, min(values))
        model.add_hint(gap, max(values) - min(values))
        return gap

    weekend = [d for d in horizon if d.weekday() >= 5]
    night_totals = [[nights[p.id, d] for d in horizon if (p.id, d) in nights] for p in qualified]
    weekend_totals = [[x[p.id, d] for d in weekend] for p in planned]
    work_totals = [[x[p.id, d] for d in horizon] for p in planned]
    crossings = []
    changes = []
    for person in planned:
        for day in horizon:
            today = x[person.id, day]
            yesterday = x[person.id, day - timedelta(days=1)]
            if not isinstance(today, int) or not isinstance(yesterday, int):
                start = model.new_bool_var(f"s_{person.id}_{day}")
                model.add(start >= today - yesterday)
                crossings.append(start)
                model.add_hint(start, int(hinted([today]) > hinted([yesterday])))
            if not isinstance(today, int):
                changes.append(1 - today if current.on_site(person.id, day) else today)
    spreads = {
        "nights": spread("nights", night_totals),
        "weekends": spread("weekends", weekend_totals),
        "workload": spread("workload", work_totals),
    }
    unfairness = sum(WEIGHTS[name] * var for name, var in spreads.items())
    upheaval = WEIGHTS["crossings"] * sum(crossings) + WEIGHTS["changes"] * sum(changes)
    # Fairness strictly first: one step of it outweighs every crossing and change a plan could
    # make. With plain weights the search gave up fair weekends and days on site (spreads 5
    # and 8 instead of 1 and 0) to put fewer people on site, which no scheduler can defend.
    most_upheaval = WEIGHTS["crossings"] * len(crossings) + WEIGHTS["changes"] * len(changes)
    return (most_upheaval + 1) * unfairness + upheaval, spreads


def _hint_rotation(
    model: cp_model.CpModel,
    planned: list[Person],
    rules: SideRules,
    horizon: list[date],
    x: dict[tuple[int, date], cp_model.IntVar | int],
    nights: dict[tuple[int, date], cp_model.IntVar],
) -> None:
    """Start the search from a staggered rotation: long stays, long rests, offsets spread
    evenly, so that about the middle of the allowed headcount is on site each day."""
    if not planned:
        return
    target = (min(rules.weekday_min, rules.weekend_min) + rules.max_headcount) / 2
    share = min(max(target / len(planned), 0.05), 0.95)
    on = max(1, min(rules.max_consecutive_days, 10))
    off = max(rules.min_rest_days, round(on * (1 - share) / share))
    cycle = on + off
    on_site: dict[date, list[int]] = {day: [] for day in horizon}
    for index, person in enumerate(planned):
        offset = round(index * cycle / len(planned))
        for number, day in enumerate(horizon):
            hinted = int((number + offset) % cycle < on)
            variable = x[person.id, day]
            if not isinstance(variable, int):
                model.add_hint(variable, hinted)
            if hinted:
                on_site[day].append(person.id)
    given: dict[int, int] = {}
    for day in horizon:
        candidates = sorted(
            (pid for pid in on_site[day] if (pid, day) in nights),
            key=lambda pid: (given.get(pid, 0), pid),
        )
        duty = set(candidates[: rules.min_night_duty])
        for pid in duty:
            given[pid] = given.get(pid, 0) + 1
        for person in planned:
            if (person.id, day) in nights:
                model.add_hint(nights[person.id, day], int(person.id in duty))
