"""The rotation planner: proposes stays and night duty for one side over up to 92 days with
Google OR-Tools CP-SAT.

Plans are whole rotations. Its concerns, each strictly before the next:

1. every rule holds (hard constraints): the daily headcount, night duty, the longest and the
   shortest stay, rest days, the days of the week people may cross and each person's
   crossings a month;
2. the fewest crossings (each stay is two crossings, two name lists for the North and a
   notification);
3. nights, weekends and days on site spread fairly;
4. the fewest changes to the stays already planned.

It plans the people whose category counts toward the headcount; everyone else's stays, and
every pinned stay or stay reaching outside the period, are kept as they are (a kept stay may
be continued; a pinned one stays a stay of its own). A stay that starts in the period may run
past its last day so that it ends whole (long enough, on a day people may cross); stays
recorded after the period stand. It works on the checker's plain data
(`office.staffing.checks`), so its output is checked by the same code that marks the
calendar; a kept stay that breaks a rule already is left for the checker to mark.

Two models of the same rules: the search runs on whole stays (`_StayModel`: one Boolean per
possible stay of a person, whose linear relaxation bounds the crossings well enough to prove
plans optimal); when no plan exists, a day-by-day model (`_DayModel`) with one literal per
rule, or rule and day, names the rules that conflict.

Progress: `plan_period(..., progress=hook)` calls `hook(PlanProgress)` on each better plan
found; the hook returning True stops the search, and the best plan so far is returned.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ortools.sat.python import cp_model

from office.errors import ConflictError
from office.i18n import LazyText, _l, _ln
from office.staffing.checks import ALL_WEEKDAYS, Person, Plan, SideRules, days


class PlanInfeasible(ConflictError):
    """No plan meets the rules; the message names the rules and the days."""


@dataclass(frozen=True)
class PlanProgress:
    """A better plan, or a better bound on the best plan, found during the search, as a
    progress hook receives it.

    `objective` and `bound` are the weighted objective (lower is better; see `_Search`)
    and the best bound proven on it so far; `gap` is (objective - bound) / objective, and
    `proven` says the plan is proven the best (every tier solved to optimality: the gap is
    then 0). `stays` and `nights` are the plan so far, as in PlanResult.
    """

    seconds: float  # since plan_period was called
    objective: int
    bound: int
    gap: float
    crossings: int
    stays: list[tuple[int, date, date]]
    nights: list[tuple[int, date]]
    proven: bool = False


# Called on each better plan and each better bound (the objective then as before);
# returning True asks the solver to stop (plan_period then returns the best plan so far).
# It runs in a solver's thread, or plan_period's between two solves, while plan_period
# waits: keep it quick, and do not call the planner from it. An exception it raises stops
# the search and is raised again by plan_period.
ProgressHook = Callable[[PlanProgress], bool | None]


@dataclass(frozen=True)
class PlanResult:
    people: list[int]  # the people planned
    stays: list[tuple[int, date, date]]  # new stays (kept ones are not repeated)
    nights: list[tuple[int, date]]
    seconds: float
    status: str  # "optimal": proven the best; "feasible": the best found in the time
    spread: dict[str, int] = field(default_factory=dict)
    crossings: int = 0  # the crossings the plan decides (arrivals and departures)
    objective: int = 0
    bound: int = 0
    gap: float = 0.0  # (objective - bound) / objective
    first_solution_seconds: float | None = None
    stopped: bool = False  # the progress hook asked to stop


@dataclass(frozen=True)
class Fixed:
    """A stay the planner keeps: a pinned one as it is; one reaching outside the period may be
    continued into it."""

    person_id: int
    first: date
    last: date
    pinned: bool = True


# CP-SAT's own means, chosen on the bench's figures (bench/staffing.py):
SOLVER_PARAMETERS: dict[str, Any] = {
    # Every constraint in the linear relaxation from the start: added lazily, the bound on
    # crossings stayed far below the plans found.
    "add_lp_constraints_lazily": False,
    # One round of presolve: its later rounds rewrote the model so that the relaxation
    # lost the link between stays and headcount (bound 18 crossings where 94 is optimal).
    "max_presolve_iterations": 0,
}

# Within the fairness tier, how its spreads (max - min per person) weigh against each other.
FAIRNESS_WEIGHTS = {"nights": 2, "weekends": 2, "workload": 1}

# A literal of the model (a Boolean variable or its negation) or a constant 0/1.
Term = Any
ONE_DAY = timedelta(days=1)


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
    progress: ProgressHook | None = None,
) -> PlanResult:
    """Return a plan for `rules.side` from `first_day` to `last_day`.

    `current` holds the stays now recorded (also before and after the period); `fixed` the
    stays to keep. `progress`, if given, is called on each better plan found (see
    PlanProgress); returning True from it stops the search with the best plan so far.
    Raises PlanInfeasible naming the rules and days that cannot be met together, or saying
    that no plan was found within `time_limit` seconds.
    """
    started = time.monotonic()
    planned = [p for p in people if p.side is rules.side and p.category in rules.counted_categories]
    forced = _fixed_presence(fixed, {p.id for p in planned})
    _explain_impossible_days(planned, rules, forced, list(days(first_day, last_day)))

    frame = _Frame(planned, rules, current, forced, first_day, last_day)
    search = _Search(_StayModel(frame), started, progress, workers)
    search.run(started + time_limit)
    if search.best is None:
        # No plan at all: name the rules that conflict, in the time left (a search that
        # found nothing in time may still be shown to have nothing to find).
        left = max(1.0, min(10.0, started + time_limit - time.monotonic()))
        _explain(frame, left)
        if search.infeasible:
            raise PlanInfeasible(_l("No plan meets the rules over this period."))
        raise PlanInfeasible(
            _l("No plan was found within %(s)d seconds; try a shorter period.", s=int(time_limit))
        )
    built, best = search.built, search.best
    stays, nights = built.read(best.value)
    return PlanResult(
        people=sorted(p.id for p in planned),
        stays=stays,
        nights=nights,
        seconds=time.monotonic() - started,
        status="optimal" if search.proven else "feasible",
        spread=built.spreads_of(best.value),
        crossings=best.tiers[0],
        objective=best.objective,
        bound=search.bound,
        gap=_gap(best.objective, search.bound),
        first_solution_seconds=search.first_seconds,
        stopped=search.stopped,
    )


def _gap(objective: float, bound: float) -> float:
    return (objective - bound) / abs(objective) if objective else 0.0


@dataclass(frozen=True)
class _Solution:
    values: Sequence[int]  # by variable index
    tiers: tuple[int, int, int]  # crossings, unfairness, changes
    objective: int  # the tiers weighted into one number (see _Search)

    def value(self, var: Any) -> int:
        return int(self.values[var.index])


class _Search:
    """Minimise the tiers in turn (crossings, then unfairness, then changes), each solve
    keeping the tiers before it at their best and starting from the best plan so far.
    One objective per solve keeps CP-SAT's linear relaxation exact (weights a million
    apart made it lose the bound).

    After each solve the nights of the best plan are shared again, as evenly as its days on
    site allow (`_StayModel.share_nights`): a small search of its own that is proven in a
    fraction of a second, so the nights are fair even when the unfairness tier ran out of
    time (on a busy machine), and the next tier starts from them.

    For progress and the gap, the tiers are weighed into one number, each tier above the
    most the tiers after it can add: objective = (crossings * (most unfairness + 1)
    + unfairness) * (most changes + 1) + changes. Its bound: the tiers proven so far at
    their values, the one being searched at its bound, the rest at 0.
    """

    SHARES = (0.6, 0.7, 1.0)  # of the time left, for each tier's solve
    FAIRNESS = 1  # the tier whose value sharing the nights may lower

    def __init__(
        self, built: _StayModel, started: float, hook: ProgressHook | None, workers: int
    ) -> None:
        self.built, self.started, self.hook, self.workers = built, started, hook, workers
        self.weights = (
            (built.most_unfair + 1) * (built.most_changes + 1),
            built.most_changes + 1,
            1,
        )
        self.tiers = (built.crossings, built.unfairness, built.changes)
        self.best: _Solution | None = None
        self.shown: _Solution | None = None  # the plan last passed to the hook
        self.told: tuple[int, int, bool] | None = None  # and its objective, bound, proven
        self.proven_tiers: list[int] = []  # the values of the tiers proven best, in order
        self.bound = 0
        self.first_seconds: float | None = None
        self.stopped = self.infeasible = False
        # The solver's threads and plan_period's may both report: one at a time.
        self.lock = threading.Lock()

    @property
    def proven(self) -> bool:
        return len(self.proven_tiers) == len(self.tiers)

    def tiers_of(self, value: Callable[[Any], int]) -> tuple[int, int, int]:
        built = self.built
        return (
            int(value(built.crossings)),
            built.unfairness_of(value),
            int(value(built.changes)),
        )

    def weigh(self, tiers: Sequence[int]) -> int:
        return sum(w * t for w, t in zip(self.weights, tiers, strict=False))

    def run(self, deadline: float) -> None:
        model = self.built.model
        for index, (tier, share) in enumerate(zip(self.tiers, self.SHARES, strict=True)):
            left = deadline - time.monotonic()
            if left <= 0.05 or self.stopped:
                return
            model.minimize(tier)
            if self.best is not None:
                model.clear_hints()
                for var_index, value in enumerate(self.best.values):
                    model.add_hint(model.get_int_var_from_proto_index(var_index), value)
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = left * share
            solver.parameters.num_workers = self.workers
            for name, value in SOLVER_PARAMETERS.items():
                setattr(solver.parameters, name, value)
            watcher = _Watcher(self, index, solver)
            if self.hook is not None:
                solver.best_bound_callback = watcher.on_bound
            status = solver.solve(model, watcher)
            if watcher.error is not None:
                raise watcher.error
            if status == cp_model.INFEASIBLE and index == 0:
                self.infeasible = True
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return  # the time left goes to explaining, if there is no plan
            self._keep(solver.response_proto.solution, solver.value)
            proven = status == cp_model.OPTIMAL and len(self.proven_tiers) == index
            if not (proven and index >= self.FAIRNESS) and not self.stopped:
                self._share_nights(deadline)
            assert self.best is not None
            value = self.best.tiers[index]
            if proven:
                self.proven_tiers.append(value)
                self.bound = self.weigh(self.proven_tiers)
            else:
                self.bound = max(
                    self.bound, self._bound_with(index, round(solver.best_objective_bound))
                )
            model.add(tier <= value)
            self._tell(self.best)

    def _bound_with(self, index: int, tier_bound: int) -> int:
        if len(self.proven_tiers) < index:
            return self.bound
        return self.weigh([*self.proven_tiers[:index], tier_bound])

    def _keep(self, values: Sequence[int], value: Callable[[Any], int]) -> None:
        tiers = self.tiers_of(value)
        solution = _Solution(list(values), tiers, self.weigh(tiers))
        # The plan last shown to the hook stands unless a better one came after it (CP-SAT
        # may end on another plan as good).
        # When the hook asked to stop, the plan it was shown is the answer, even if a solver
        # thread found a better one before the stop reached it.
        shown = self.shown
        if shown is not None and (self.stopped or shown.objective <= solution.objective):
            solution = shown
        if self.best is None or solution.objective < self.best.objective or solution is shown:
            self.best = solution

    def _share_nights(self, deadline: float) -> None:
        """Share the best plan's nights again, if that makes them fairer."""
        assert self.best is not None
        seconds = min(1.0, max(0.2, deadline - time.monotonic()))
        values = self.built.share_nights(self.best.values, seconds)
        if values is None:
            return
        # Sharing nights changes neither the crossings nor the changes.
        crossings, _unfairness, changes = self.best.tiers
        tiers = (crossings, self.built.unfairness_of(lambda var: values[var.index]), changes)
        if tiers[self.FAIRNESS] < self.best.tiers[self.FAIRNESS]:
            self.best = _Solution(values, tiers, self.weigh(tiers))

    def _tell(self, solution: _Solution, tier_bound: tuple[int, int] | None = None) -> None:
        """Pass `solution` to the hook with the bound known now (with `tier_bound`, the bound
        the tier being searched has reached), if the plan or the bound is better than last
        told; stop the search if the hook asks."""
        if self.hook is None:
            return
        with self.lock:
            if self.stopped:
                return  # the hook asked to stop: it hears nothing more
            bound = self.bound
            if tier_bound is not None:
                bound = max(bound, self._bound_with(*tier_bound))
            proven = self.proven and solution is self.best
            bound = solution.objective if proven else min(solution.objective, bound)
            told = self.told
            if told is not None:
                objective, told_bound, told_proven = told
                if solution.objective > objective:
                    return  # a worse plan than one already shown (a tier's start)
                same = solution.objective == objective and bound <= told_bound
                if same and proven <= told_proven:
                    return  # nothing new
            self.told = (solution.objective, bound, proven)
            if told is None or solution.objective < told[0]:
                self.shown = solution
            shown = self.shown
            assert shown is not None
            stays, nights = self.built.read(shown.value)
            answer = self.hook(
                PlanProgress(
                    seconds=time.monotonic() - self.started,
                    objective=shown.objective,
                    bound=bound,
                    gap=_gap(shown.objective, bound),
                    crossings=shown.tiers[0],
                    stays=stays,
                    nights=nights,
                    proven=proven,
                )
            )
            if answer is True:
                self.stopped = True


class _Watcher(cp_model.CpSolverSolutionCallback):
    """Note when the first plan was found; pass each better plan and each better bound to
    the progress hook, and stop the search when it asks."""

    def __init__(self, search: _Search, tier: int, solver: cp_model.CpSolver) -> None:
        super().__init__()
        self.search, self.tier, self.solver = search, tier, solver
        self.error: BaseException | None = None

    def on_solution_callback(self) -> None:
        search = self.search
        if search.first_seconds is None:
            search.first_seconds = time.monotonic() - search.started
        if search.hook is None or search.stopped:
            return
        try:
            tiers = search.tiers_of(self.value)
            found = _Solution(list(self.response_proto.solution), tiers, search.weigh(tiers))
            search._tell(found, (self.tier, round(self.best_objective_bound)))
        except Exception as exc:  # raised again by plan_period, out of the solver's thread
            self.error = exc
            search.stopped = True
        if search.stopped:
            self.stop_search()

    def on_bound(self, bound: float) -> None:
        """A better bound on the tier being searched (CP-SAT's best_bound_callback)."""
        search = self.search
        if search.shown is None or search.stopped:
            return
        try:
            search._tell(search.shown, (self.tier, round(bound)))
        except Exception as exc:
            self.error = exc
            search.stopped = True
        if search.stopped:
            self.solver.stop_search()


# --- what both models share ------------------------------------------------------------


class _Frame:
    """The days and people both models work on, and which days are theirs to plan.

    `cells[person, day]` is 1 or 0 where the day is settled (a kept stay, a day off around a
    pinned one, off the roster, or outside what the plan may change: the recorded plan), and
    None where the plan decides. The plan decides the days of the period and, after it, the
    days a stay on site on its last day may run on (at most a longest stay): no one arrives
    after the period. The frame reaches far enough either side for the rules that look back
    and ahead, and covers whole months for the monthly cap.
    """

    def __init__(
        self,
        planned: list[Person],
        rules: SideRules,
        current: Plan,
        forced: dict[tuple[int, date], int],
        first_day: date,
        last_day: date,
    ) -> None:
        self.planned, self.rules, self.current = planned, rules, current
        self.first_day, self.last_day = first_day, last_day
        self.horizon = list(days(first_day, last_day))
        longest, rest = rules.max_consecutive_days, rules.min_rest_days
        self.run_on_until = last_day + timedelta(days=longest - 1)
        start = min(first_day - timedelta(days=longest + rest + 1), first_day.replace(day=1))
        end = max(self.run_on_until + timedelta(days=rest + 1), _month_end(self.run_on_until))
        self.span = list(days(start - ONE_DAY, end + ONE_DAY))
        self.cells: dict[tuple[int, date], int | None] = {}
        for person in planned:
            for day in self.span:
                key = (person.id, day)
                value: int | None
                if first_day <= day <= last_day:
                    if key in forced:
                        value = forced[key]
                    else:
                        value = None if person.is_active_on(day) else 0
                elif last_day < day <= self.run_on_until:
                    if key in forced:
                        value = forced[key]
                    elif current.on_site(person.id, day):
                        value = 1
                    elif person.is_active_on(day) and self.cells[person.id, day - ONE_DAY] is None:
                        value = None  # only as a stay running on from the day before
                    else:
                        value = 0
                else:
                    value = int(current.on_site(person.id, day))
                self.cells[key] = value

    def cell(self, person_id: int, day: date) -> int | None:
        """The settled value of a day, 0 outside the frame."""
        return self.cells.get((person_id, day), 0)


# --- the search: whole stays -------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    """A run on site that the plan may choose: first and last day, its variable, and
    whether its arrival and departure are the plan's (not a kept stay's)."""

    first: date
    last: date
    var: cp_model.IntVar
    arrives: bool
    leaves: bool


@dataclass(frozen=True)
class _Kept:
    """A kept run (settled days on site in a row) next to a day the plan decides: the plan
    may continue it, or leave it as it is (`bare`) when that keeps the rules."""

    first: date
    last: date
    arrives: bool  # the day before it is the plan's: it is the plan's arrival when bare
    leaves: bool
    bare_allowed: bool


class _StayModel:
    """The CP-SAT model the search runs on: per person, one Boolean per run on site it may
    have (`_Option`, only runs that keep the longest and shortest stay and the crossing
    days), and per day whether an option covers it (`cover`, kept by flow: covered today =
    covered yesterday + starting today - ending yesterday). The weighted objective puts
    crossings, unfairness and changes in strict order."""

    def __init__(self, frame: _Frame, *, explaining: bool = False) -> None:
        self.frame = frame
        self.model = cp_model.CpModel()
        # Explaining, the rules across runs hold under a literal per rule (and day or
        # month), as in `_DayModel`; the stay rules are in the options themselves.
        self.explaining = explaining
        self.groups: dict[tuple[Any, ...], cp_model.IntVar] = {}
        self.options: dict[int, list[_Option]] = {}
        self.kept: dict[int, list[_Kept]] = {}
        self.covering: dict[tuple[int, date], list[cp_model.IntVar]] = defaultdict(list)
        self.cover: dict[tuple[int, date], Term] = {}
        self.bare: dict[tuple[int, date], Term] = {}  # by person and a kept run's first day
        self.presence: dict[tuple[int, date], Term] = {}
        # Per person, the settled runs on site no option can touch.
        self._settled: dict[int, list[tuple[date, date]]] = {}
        self.nights: dict[tuple[int, date], cp_model.IntVar] = {}
        self._duty_days: list[date] = []
        self.spreads: dict[str, cp_model.IntVar] = {}
        self._spread_rows: dict[str, tuple[cp_model.IntVar, cp_model.IntVar, list[Any]]] = {}
        self.unfairness: cp_model.LinearExprT = 0
        self.changes: cp_model.LinearExprT = 0
        self.most_unfair = self.most_changes = 0
        self.crossings: cp_model.LinearExprT = 0
        self._crossing_terms: dict[tuple[int, date], list[Term]] = defaultdict(list)
        for person in frame.planned:
            self._runs(person)
        self._headcount_and_nights()
        self._rest()
        self._monthly_cap()
        if not explaining:
            self._objective()
            self._hint()

    def rule(self, *key: Any) -> list[cp_model.IntVar]:
        """The literals a rule's constraints hold under: none in the search."""
        if not self.explaining:
            return []
        if key not in self.groups:
            self.groups[key] = self.model.new_bool_var(f"rule_{'_'.join(map(str, key))}")
        return [self.groups[key]]

    # --- the runs a person may have -------------------------------------------------------

    def _valid(self, person_id: int, first: date, last: date) -> bool:
        """Whether a run on site from `first` to `last` keeps the stay rules where the plan
        decides them (as `_DayModel` states them)."""
        rules, cell = self.frame.rules, self.frame.cell
        length = (last - first).days + 1
        inside = [cell(person_id, d) for d in days(first, last)]
        if any(c is None for c in inside) and length > rules.max_consecutive_days:
            return False
        before, after = cell(person_id, first - ONE_DAY), cell(person_id, last + ONE_DAY)
        arrives = inside[0] is None or before is None
        leaves = inside[-1] is None or after is None
        if arrives and length < rules.min_stay_days:
            return False
        if not arrives and length < rules.min_stay_days and after is None:
            # A kept arrival: the plan's days right after it must make it long enough.
            return False
        # Crossings before the period are the recorded plan's: a kept stay ending the day
        # before it may have to end there whatever the day.
        starts = self.frame.first_day
        if arrives and first >= starts and not rules.may_cross_on(first):
            return False
        if leaves and last >= starts and not rules.may_cross_on(last):
            return False
        # Rest from the recorded runs no plan touches; two of them too close together are
        # the checker's to mark.
        rest = rules.min_rest_days
        for settled_first, settled_last in self._settled[person_id]:
            if settled_last < first and (first - settled_last).days - 1 < rest:
                if inside[0] is None:
                    return False
            elif settled_first > last and (settled_first - last).days - 1 < rest and leaves:
                return False
        return True

    def _runs(self, person: Person) -> None:
        frame, rules = self.frame, self.frame.rules
        cell = frame.cell
        pid = person.id
        self._settled[pid] = [
            (first, last) for first, last, near in _settled_runs(frame, pid) if near is None
        ]
        options: list[_Option] = []
        kept: list[_Kept] = []
        for first in frame.span[1:-1]:
            here, before = cell(pid, first), cell(pid, first - ONE_DAY)
            if here == 0 or before == 1 or (here is None and first > frame.last_day):
                continue
            # Kept runs: settled days on site next to a day the plan decides.
            if here == 1 and before is not None:
                last = first
                while cell(pid, last + ONE_DAY) == 1:
                    last += ONE_DAY
                if cell(pid, last + ONE_DAY) is None:
                    kept.append(_Kept(first, last, False, True, self._valid(pid, first, last)))
            elif here == 1:
                last = first
                while cell(pid, last + ONE_DAY) == 1:
                    last += ONE_DAY
                after = cell(pid, last + ONE_DAY)
                kept.append(_Kept(first, last, True, after is None, self._valid(pid, first, last)))
            # Options: runs from here with at least one day the plan decides.
            last, free = first, here is None
            while True:
                following = cell(pid, last + ONE_DAY)
                if free and following != 1 and self._valid(pid, first, last):
                    inside_first, inside_last = cell(pid, first), cell(pid, last)
                    options.append(
                        _Option(
                            first,
                            last,
                            self.model.new_bool_var(f"stay_{pid}_{first}_{last}"),
                            arrives=inside_first is None or before is None,
                            leaves=inside_last is None or following is None,
                        )
                    )
                if following == 0 or (last - first).days + 1 >= rules.max_consecutive_days:
                    break
                last += ONE_DAY
                free = free or following is None
        self.options[pid], self.kept[pid] = options, kept

        # Covered by an option, per day, by flow: covered today = covered yesterday +
        # options starting today - options that ended yesterday. Each option is in two
        # rows only, and the relaxation keeps the link between options and headcount.
        for option in options:
            for day in days(option.first, option.last):
                self.covering[pid, day].append(option.var)
        starting: dict[date, list[cp_model.IntVar]] = defaultdict(list)
        ending: dict[date, list[cp_model.IntVar]] = defaultdict(list)
        for option in options:
            starting[option.first].append(option.var)
            ending[option.last].append(option.var)
        covered: Term = 0
        for day in frame.span:
            opening, closing = starting.get(day, []), ending.get(day - ONE_DAY, [])
            if not self.covering.get((pid, day)):
                cover: Term = 0
            elif not opening and not closing:
                cover = covered
            else:
                cover = self.model.new_bool_var(f"on_{pid}_{day}")
                self.model.add(cover == covered + sum(opening) - sum(closing))
            self.cover[pid, day] = covered = cover
            settled = cell(pid, day)
            self.presence[pid, day] = self.cover[pid, day] if settled is None else settled
        # A kept run is left bare, or taken into one option (exactly one when bare would
        # break a rule). Bare is written as 1 - the options, not as a variable of its own:
        # a Boolean only in an exactly-one is left out of the linear relaxation.
        for run in kept:
            taking = self.covering.get((pid, run.first), [])
            if run.bare_allowed:
                if len(taking) > 1:
                    self.model.add_at_most_one(taking)
                self.bare[pid, run.first] = 1 - sum(taking) if taking else 1
            else:
                self.model.add_exactly_one(taking)
                self.bare[pid, run.first] = 0
        # The crossings each run brings, by day (for the monthly cap and the objective).
        for option in options:
            if option.arrives:
                self._crossing_terms[pid, option.first].append(option.var)
            if option.leaves:
                self._crossing_terms[pid, option.last].append(option.var)
        for run in kept:
            bare = self.bare[pid, run.first]
            if run.arrives:
                self._crossing_terms[pid, run.first].append(bare)
            if run.leaves:
                self._crossing_terms[pid, run.last].append(bare)

    # --- rules across runs and people -------------------------------------------------------

    def _headcount_and_nights(self) -> None:
        frame, rules = self.frame, self.frame.rules
        qualified = [p for p in frame.planned if p.is_duty_qualified]
        for day in frame.horizon:
            present = [self.presence[p.id, day] for p in frame.planned]
            open_days = any(frame.cell(p.id, day) is None for p in frame.planned)
            _linear(
                self.model,
                present,
                lower=rules.minimum_on(day),
                open_days=open_days,
                enforce=self.rule("min", day),
            )
            _linear(self.model, present, upper=rules.max_headcount, enforce=self.rule("max", day))
            duty = []
            for person in qualified:
                on = self.presence[person.id, day]
                if not _is(on, 0):
                    night = self.model.new_bool_var(f"night_{person.id}_{day}")
                    self.nights[person.id, day] = night
                    if not isinstance(on, int):
                        self.model.add(night <= on)
                    duty.append(night)
            if duty:
                self.model.add(sum(duty) == rules.min_night_duty).only_enforce_if(
                    self.rule("night", day)
                )
                self._duty_days.append(day)
            elif rules.min_night_duty and any(frame.cell(p.id, day) is None for p in qualified):
                # The qualified can be on site by no stay.
                self.model.add_bool_or([]).only_enforce_if(self.rule("night", day))
        for day in days(frame.last_day + ONE_DAY, frame.run_on_until):
            present = [self.presence[p.id, day] for p in frame.planned]
            _linear(self.model, present, upper=rules.max_headcount, enforce=self.rule("max", day))

    def _rest(self) -> None:
        """At least `rest` days off between two runs: at most one option within any
        `rest + 1` days in a row (two days when no rest is asked: options that touch are one
        run, an option of its own); an option too near a kept run leaves that run taken in
        by another option. Runs no plan touches were kept off options in `_valid`. As in
        `_DayModel`, two runs too near each other only where the plan decides a day of it:
        a run's departure, or the next one's first day."""
        frame = self.frame
        rest = frame.rules.min_rest_days
        for person in frame.planned:
            pid = person.id
            starts: dict[date, list[cp_model.IntVar]] = defaultdict(list)
            for option in self.options[pid]:
                starts[option.first].append(option.var)
            for width, enforce in ((2, []), (rest + 1, self.rule("rest"))):
                if width < 2 or (width == 2 and enforce):
                    continue  # options that touch are apart by nothing: 2 days do it
                for index in range(1, len(frame.span) - width):
                    window = frame.span[index : index + width]
                    runs: list[Term] = [self.cover[pid, window[0]]]
                    for day in window[1:]:
                        runs += starts.get(day, [])
                    if any(not isinstance(t, int) for t in runs):
                        _at_most(self.model, runs, 1, enforce)
            kept = self.kept[pid]
            for run in kept:
                bare = self.bare[pid, run.first]
                for option in self.options[pid]:
                    if option.last < run.first:
                        near = (run.first - option.last).days - 1 < rest and option.leaves
                    elif option.first > run.last:
                        near = (option.first - run.last).days - 1 < rest and (
                            run.leaves or frame.cell(pid, option.first) is None
                        )
                    else:
                        continue  # the option takes the run in
                    if near:
                        _at_most(self.model, [option.var, bare], 1, self.rule("rest"))
                for later in kept:
                    gap = (later.first - run.last).days - 1
                    if run.leaves and later.first > run.last and gap < rest:
                        _at_most(
                            self.model, [bare, self.bare[pid, later.first]], 1, self.rule("rest")
                        )

    def _monthly_cap(self) -> None:
        frame, cap = self.frame, self.frame.rules.max_crossings_per_month
        if cap is None:
            return
        for person in frame.planned:
            pid = person.id
            settled: dict[tuple[int, int], int] = defaultdict(int)
            plan: dict[tuple[int, int], list[Term]] = defaultdict(list)
            for day in frame.span[1:-1]:
                month = (day.year, day.month)
                here = frame.cell(pid, day)
                if here == 1 and frame.cell(pid, day - ONE_DAY) == 0:
                    settled[month] += 1
                if here == 1 and frame.cell(pid, day + ONE_DAY) == 0:
                    settled[month] += 1
                plan[month] += self._crossing_terms.get((pid, day), [])
            for month, terms in plan.items():
                if terms and month >= (frame.first_day.year, frame.first_day.month):
                    _at_most(
                        self.model, terms, max(0, cap - settled[month]), self.rule("cap", month)
                    )

    # --- objective, hint, reading -----------------------------------------------------------

    def _objective(self) -> None:
        """Minimise crossings, then unfairness, then changes: each tier weighs more than
        the most the tiers after it can add, so the order is strict."""
        frame = self.frame
        n_days = len(frame.horizon)
        qualified = [p for p in frame.planned if p.is_duty_qualified]
        weekend = [d for d in frame.horizon if d.weekday() >= 5]
        rows = {
            "nights": [
                [("night", p.id, d) for d in frame.horizon if (p.id, d) in self.nights]
                for p in qualified
            ],
            "weekends": [[("on", p.id, d) for d in weekend] for p in frame.planned],
            "workload": [[("on", p.id, d) for d in frame.horizon] for p in frame.planned],
        }
        for name, table in rows.items():
            self.spreads[name] = self._spread(name, table, n_days)
        self.unfairness = sum(FAIRNESS_WEIGHTS[n] * var for n, var in self.spreads.items())
        self.most_unfair = sum(FAIRNESS_WEIGHTS[n] * n_days for n in self.spreads)
        changes = []
        for (pid, day), settled in frame.cells.items():
            if settled is None:
                on = self.presence[pid, day]
                changes.append(1 - on if frame.current.on_site(pid, day) else on)
        self.changes = sum(changes)
        self.most_changes = len(changes)
        self.crossings = sum(t for terms in self._crossing_terms.values() for t in terms)

    def _spread(
        self, name: str, rows: list[list[tuple[str, int, date]]], n_days: int
    ) -> cp_model.IntVar:
        """max - min of the rows' totals (each row a person's nights or days on site)."""
        rows = [row for row in rows if row]
        if len(rows) < 2:
            return self.model.new_constant(0)
        high = self.model.new_int_var(0, n_days, f"{name}_max")
        low = self.model.new_int_var(0, n_days, f"{name}_min")
        # Bounds on the most and the least (exact equalities cost the crossings' bound in
        # the linear relaxation): minimised, they are exact; the spreads reported are
        # worked out from the plan (`spreads_of`).
        for row in rows:
            total = sum(self._term(key) for key in row)
            self.model.add(high >= total)
            self.model.add(low <= total)
        if name == "nights":
            # The nights add up to a known total: the most and the least are either side of
            # its share, so the spread is at least 1 when it does not divide evenly (which
            # the linear relaxation cannot see).
            total = self.frame.rules.min_night_duty * len(self._duty_days)
            self.model.add(high >= -(-total // len(rows)))
            self.model.add(low <= total // len(rows))
        spread = self.model.new_int_var(0, n_days, f"{name}_spread")
        self.model.add(spread == high - low)
        self._spread_rows[name] = (high, low, rows)
        return spread

    def spreads_of(self, value: Callable[[Any], int]) -> dict[str, int]:
        """Each spread of a plan (by `value`), worked out from its totals."""
        spreads = {}
        for name in self.spreads:
            if name not in self._spread_rows:
                spreads[name] = 0
                continue
            totals = [
                sum(_value(self._term(key), value) for key in row)
                for row in self._spread_rows[name][2]
            ]
            spreads[name] = max(totals) - min(totals)
        return spreads

    def share_nights(self, values: Sequence[int], seconds: float) -> list[int] | None:
        """The plan `values` with its nights shared among the qualified on site as evenly as
        its days on site allow (its nights' spread at its least), or None if that was not
        found within `seconds`. Only nights change: crossings and changes stay as they were.

        A small model of its own, the stays fixed: the total of nights is known, so its
        bound (the spread is at least 1 when they do not divide evenly) is usually met and
        proven at once."""
        if "nights" not in self._spread_rows:
            return None
        high, low, rows = self._spread_rows["nights"]
        model = cp_model.CpModel()
        duty: dict[tuple[int, date], cp_model.IntVar] = {}
        by_day: dict[date, list[cp_model.IntVar]] = defaultdict(list)
        for (pid, day), night in self.nights.items():
            if _value(self.presence[pid, day], lambda var: values[var.index]):
                duty[pid, day] = chosen = model.new_bool_var("")
                by_day[day].append(chosen)
                model.add_hint(chosen, values[night.index])
        for day in self._duty_days:
            model.add(sum(by_day[day]) == self.frame.rules.min_night_duty)
        totals = []
        for row in rows:
            total = model.new_int_var(0, len(row), "")
            model.add(total == sum(duty.get((pid, day), 0) for _kind, pid, day in row))
            totals.append(total)
        most = model.new_int_var(0, len(self.frame.horizon), "")
        least = model.new_int_var(0, len(self.frame.horizon), "")
        model.add_max_equality(most, totals)
        model.add_min_equality(least, totals)
        share = self.frame.rules.min_night_duty * len(self._duty_days)
        model.add(most >= -(-share // len(rows)))
        model.add(least <= share // len(rows))
        model.minimize(most - least)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = 1
        if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        shared = list(values)
        for key, night in self.nights.items():
            shared[night.index] = int(solver.value(duty[key])) if key in duty else 0
        shared[high.index], shared[low.index] = solver.value(most), solver.value(least)
        shared[self.spreads["nights"].index] = solver.value(most) - solver.value(least)
        return shared

    def unfairness_of(self, value: Callable[[Any], int]) -> int:
        return sum(
            FAIRNESS_WEIGHTS[name] * spread for name, spread in self.spreads_of(value).items()
        )

    def _term(self, key: tuple[str, int, date]) -> Term:
        kind, pid, day = key
        return self.nights[pid, day] if kind == "night" else self.presence[pid, day]

    def _hint(self) -> None:
        """Hint a whole plan, every variable of it, so that CP-SAT starts from a plan: a
        rotation built day by day (`_sketch`), which follows the recorded one where it can."""
        frame = self.frame
        on_site = _sketch(frame)
        values: dict[int, int] = {}

        def value(term: Term) -> int:
            if isinstance(term, int):
                return term
            return values.get(term.index, 0)

        def present(pid: int, day: date) -> int:
            settled = frame.cell(pid, day)
            if settled is not None:
                return settled
            return sum(values[v.index] for v in self.covering.get((pid, day), []))

        for person in frame.planned:
            pid = person.id

            def on(day: date, pid: int = pid) -> bool:
                settled = frame.cell(pid, day)
                return settled == 1 or (settled is None and (pid, day) in on_site)

            for option in self.options[pid]:
                values[option.var.index] = int(
                    not on(option.first - ONE_DAY)
                    and not on(option.last + ONE_DAY)
                    and all(on(d) for d in days(option.first, option.last))
                )
        for (pid, day), cover in self.cover.items():
            if not isinstance(cover, int):
                values[cover.index] = sum(values[v.index] for v in self.covering[pid, day])
        given: dict[int, int] = defaultdict(int)
        for day in frame.horizon:
            candidates = sorted(
                (pid for (pid, d) in self.nights if d == day and present(pid, d)),
                key=lambda pid: (given[pid], pid),
            )
            chosen = set(candidates[: frame.rules.min_night_duty])
            for pid in chosen:
                given[pid] += 1
            for (pid, d), var in self.nights.items():
                if d == day:
                    values[var.index] = int(pid in chosen)
        for name, (high, low, rows) in self._spread_rows.items():
            totals = [
                sum(
                    value(self.nights[pid, d]) if kind == "night" else present(pid, d)
                    for kind, pid, d in row
                )
                for row in rows
            ]
            values[high.index], values[low.index] = max(totals), min(totals)
            values[self.spreads[name].index] = max(totals) - min(totals)
        for index, hinted in values.items():
            self.model.add_hint(self.model.get_int_var_from_proto_index(index), hinted)

    def read(
        self, value: Callable[[Any], int]
    ) -> tuple[list[tuple[int, date, date]], list[tuple[int, date]]]:
        """The new stays (the days the plan puts people on site, in runs; kept days are not
        repeated) and the nights, by `value` (the solver's or a callback's)."""
        stays = []
        for pid, options in self.options.items():
            for option in options:
                if not value(option.var):
                    continue
                run_start: date | None = None
                for day in [*days(option.first, option.last), None]:
                    planned = day is not None and self.frame.cell(pid, day) is None
                    if planned and run_start is None:
                        run_start = day
                    elif not planned and run_start is not None:
                        stays.append((pid, run_start, (day or option.last + ONE_DAY) - ONE_DAY))
                        run_start = None
        nights = sorted(key for key, var in self.nights.items() if value(var))
        return sorted(stays), nights


def _settled_runs(frame: _Frame, person_id: int) -> list[tuple[date, date, date | None]]:
    """A person's runs of settled days on site in the frame: first, last, and a day of it
    whose cover says whether an option took it in (None: no option can)."""
    runs: list[tuple[date, date, date | None]] = []
    day = frame.span[0]
    while day <= frame.span[-1]:
        if frame.cell(person_id, day) == 1:
            first = day
            while frame.cell(person_id, day + ONE_DAY) == 1:
                day += ONE_DAY
            next_to_plan = (
                frame.cell(person_id, first - ONE_DAY) is None
                or frame.cell(person_id, day + ONE_DAY) is None
            )
            runs.append((first, day, first if next_to_plan else None))
        day += ONE_DAY
    return runs


def _linear(
    model: cp_model.CpModel,
    terms: Sequence[Term],
    *,
    lower: int | None = None,
    upper: int | None = None,
    open_days: bool = False,
    enforce: Sequence[cp_model.IntVar] = (),
) -> None:
    """`lower <= sum(terms) <= upper` over the terms not settled; beyond what the settled
    ones already break it asks nothing (the checker marks that). With no variable left, it
    holds as settled unless `open_days`: days the plan decides that no stay can cover, which
    break it for good. `enforce`: the literals it holds under (explaining)."""
    variables = [t for t in terms if not isinstance(t, int)]
    settled = sum(t for t in terms if isinstance(t, int))
    low = None if lower is None else lower - settled
    high = None if upper is None else max(0, upper - settled)
    if not variables:
        if open_days and ((low is not None and low > 0) or (high is not None and high < 0)):
            model.add_bool_or([]).only_enforce_if(enforce)  # no plan
        return
    total = sum(variables)
    if low is not None:
        model.add(total >= low).only_enforce_if(enforce)
    if high is not None:
        model.add(total <= high).only_enforce_if(enforce)


def _at_most(
    model: cp_model.CpModel,
    terms: Sequence[Term],
    limit: int,
    enforce: Sequence[cp_model.IntVar] = (),
) -> None:
    """`sum(terms) <= limit`, where every term is the plan's, even one that came out
    constant (a kept stay no option can take in still brings its crossings)."""
    variables = [t for t in terms if not isinstance(t, int)]
    fixed = sum(t for t in terms if isinstance(t, int))
    if variables:
        model.add(sum(variables) <= limit - fixed).only_enforce_if(enforce)
    elif fixed > limit:
        model.add_bool_or([]).only_enforce_if(enforce)  # no plan


def _sketch(frame: _Frame) -> set[tuple[int, date]]:
    """A plan built day by day, for the search to start from: people stay as long as the
    longest stay allows (to the last day they may cross before it), and others arrive on
    days they may cross when the coming days would fall short of the minimum: those the
    recorded plan has on site that day first, then the least worked and longest rested. It
    keeps settled days; where it runs out of people it breaks a rule and the search mends
    it. Returns the (person, day) the plan decides to put on site."""
    rules, cell = frame.rules, frame.cell
    longest, shortest, rest = rules.max_consecutive_days, rules.min_stay_days, rules.min_rest_days
    cap = rules.max_crossings_per_month
    arrived: dict[int, date | None] = {}  # the first day of the run on site, if on site
    left: dict[int, date] = {}  # the last day of the last run on site
    for person in frame.planned:
        arrived[person.id], left[person.id] = None, date.min
        day = frame.first_day - ONE_DAY
        if cell(person.id, day) == 1:
            while cell(person.id, day - ONE_DAY) == 1:
                day -= ONE_DAY
            arrived[person.id] = day
        else:
            while day >= frame.span[0] and cell(person.id, day) != 1:
                day -= ONE_DAY
            if day >= frame.span[0]:
                left[person.id] = day
    crossed: dict[tuple[int, int, int], int] = defaultdict(int)
    worked: dict[int, int] = defaultdict(int)
    on_site: set[tuple[int, date]] = set()

    def next_crossing_day(day: date) -> date:
        day += ONE_DAY
        while not rules.may_cross_on(day):
            day += ONE_DAY
        return day

    def last_crossing_day(person_id: int, day: date) -> date:
        """The last day, from `day` on, on which they may leave within the longest stay."""
        start = arrived[person_id]
        assert start is not None
        latest = day
        following = next_crossing_day(day) if rules.may_cross_on(day) else day
        while (following - start).days + 1 <= longest:
            latest = following
            following = next_crossing_day(following)
        return latest

    def must_leave(person_id: int, day: date) -> bool:
        """On site on `day`: is it the last day on which they may leave within the longest
        stay (or the longest stay's last day)?"""
        start = arrived[person_id]
        assert start is not None
        if (day - start).days + 1 >= longest:
            return True
        return rules.may_cross_on(day) and (next_crossing_day(day) - start).days + 1 > longest

    def may_arrive(person_id: int, day: date) -> bool:
        return (
            arrived[person_id] is None
            and cell(person_id, day) is None
            and (day - left[person_id]).days - 1 >= rest
            and all(cell(person_id, day + k * ONE_DAY) != 0 for k in range(shortest))
            and (cap is None or crossed[person_id, day.year, day.month] + 2 <= cap)
        )

    eve = frame.first_day - ONE_DAY
    for person in frame.planned:  # a kept stay that must end the day before the period
        pid = person.id
        if arrived[pid] is not None and cell(pid, frame.first_day) is None and must_leave(pid, eve):
            arrived[pid], left[pid] = None, eve

    def free(person_id: int, day: date) -> bool:
        return cell(person_id, day) is None

    for day in days(frame.first_day, frame.run_on_until):
        present = []
        leavers: set[int] = set()
        for person in frame.planned:
            settled = cell(person.id, day)
            on = settled == 1 if settled is not None else arrived[person.id] is not None
            if on and arrived[person.id] is None:
                arrived[person.id] = day
                crossed[person.id, day.year, day.month] += 1
            elif not on and arrived[person.id] is not None:
                arrived[person.id], left[person.id] = None, day - ONE_DAY
            if on:
                present.append(person.id)
        if day <= frame.last_day and rules.may_cross_on(day):
            block = [
                d
                for d in days(day + ONE_DAY, next_crossing_day(day) - ONE_DAY)
                if d <= frame.last_day
            ]
            leavers = {pid for pid in present if must_leave(pid, day)}
            # Where people may not cross every day, who leaves and who arrives on a crossing
            # day are both on site that day: when more would have to leave on a later
            # crossing day than its room for a handover (maximum - minimum), some of them
            # leave today instead.
            latest: dict[date, list[int]] = defaultdict(list)
            for pid in present:
                every_day = len(rules.crossing_weekdays) == len(ALL_WEEKDAYS)
                if not every_day and pid not in leavers and free(pid, day + ONE_DAY):
                    latest[last_crossing_day(pid, day)].append(pid)
            room = rules.max_headcount - rules.minimum_on(day)
            for later in sorted(latest):
                excess = len(latest[later]) - (rules.max_headcount - rules.minimum_on(later))
                for pid in sorted(latest[later], key=lambda pid: (arrived[pid], pid)):
                    start = arrived[pid]
                    assert start is not None
                    if excess <= 0 or len(leavers) >= room:
                        break
                    if later > day and (day - start).days + 1 >= shortest:
                        leavers.add(pid)
                        excess -= 1
            staying = [pid for pid in present if pid not in leavers]
            wanted = max(
                rules.minimum_on(day) - len(present),
                max((rules.minimum_on(d) for d in block), default=0) - len(staying),
            )
            wanted = min(wanted, rules.max_headcount - len(present))
            candidates = sorted(
                (p.id for p in frame.planned if may_arrive(p.id, day)),
                key=lambda pid: (
                    not frame.current.on_site(pid, day),
                    worked[pid],
                    left[pid],
                    pid,
                ),
            )
            for pid in candidates[: max(0, wanted)]:
                arrived[pid] = day
                crossed[pid, day.year, day.month] += 1
                present.append(pid)
        for pid in present:
            if cell(pid, day) is None:
                on_site.add((pid, day))
            worked[pid] += 1
            if cell(pid, day + ONE_DAY) is not None:
                continue  # the next day is settled (on or off site)
            start = arrived[pid]
            assert start is not None
            leaving = (
                pid in leavers
                or must_leave(pid, day)
                or (
                    day >= frame.last_day
                    and rules.may_cross_on(day)
                    and (day - start).days + 1 >= shortest
                )
            )
            if leaving:
                crossed[pid, day.year, day.month] += 1
                arrived[pid], left[pid] = None, day
    return on_site


# --- when no plan exists: the rules day by day ------------------------------------------


class _DayModel:
    """The rules day by day, each enforced by a literal of its group (a rule, or a rule on
    a day or in a month), to name the groups that conflict when no plan exists.

    Per person and day, `x` is on site: a Boolean where the frame lets the plan decide,
    else the settled value. `arrives`/`leaves` mark the first and last day of each run on
    site: the crossings. It states the same rules as `_StayModel` (tests hold them to it).
    """

    def __init__(self, frame: _Frame) -> None:
        self.frame, self.rules = frame, frame.rules
        self.model = cp_model.CpModel()
        self.groups: dict[tuple[Any, ...], cp_model.IntVar] = {}
        self.x: dict[tuple[int, date], Term] = {}
        self.arrives: dict[tuple[int, date], Term] = {}
        self.leaves: dict[tuple[int, date], Term] = {}
        for (pid, day), settled in frame.cells.items():
            if settled is None:
                var = self.model.new_bool_var(f"x_{pid}_{day}")
                self.x[pid, day] = var
                if day > frame.last_day:  # no arrival after the period
                    self.model.add_implication(var, self.x[pid, day - ONE_DAY])
            else:
                self.x[pid, day] = settled
        span = frame.span
        for person in frame.planned:
            for before, day, after in zip(span, span[1:], span[2:], strict=False):
                on = self.x[person.id, day]
                self.arrives[person.id, day] = self._and_not(on, self.x[person.id, before])
                self.leaves[person.id, day] = self._and_not(on, self.x[person.id, after])
        self._headcount_and_nights()
        self._stay_rules()
        self._crossing_rules()

    def group(self, *key: Any) -> cp_model.IntVar:
        if key not in self.groups:
            self.groups[key] = self.model.new_bool_var(f"rule_{'_'.join(map(str, key))}")
        return self.groups[key]

    def _and_not(self, a: Term, b: Term) -> Term:
        """A literal (or constant) equal to `a and not b`."""
        if isinstance(a, int) and isinstance(b, int):
            return int(a == 1 and b == 0)
        if isinstance(a, int):
            return ~b if a == 1 else 0
        if isinstance(b, int):
            return a if b == 0 else 0
        both = self.model.new_bool_var("")
        self.model.add_implication(both, a)
        self.model.add_implication(both, ~b)
        self.model.add_bool_or([~a, b, both])
        return both

    def _clause(self, terms: Iterable[Term], group: cp_model.IntVar) -> None:
        """At least one of `terms` holds, when the group's rule is enforced. A clause the
        settled days already meet is left out; one they break (a kept stay) too: the
        checker marks it."""
        literals = []
        for term in terms:
            if isinstance(term, int):
                if term == 1:
                    return
                continue
            literals.append(term)
        if literals:
            self.model.add_bool_or(literals).only_enforce_if(group)

    def _at_most(self, terms: Sequence[Term], limit: int, group: cp_model.IntVar) -> None:
        variables = [t for t in terms if not isinstance(t, int)]
        settled = sum(t for t in terms if isinstance(t, int))
        if variables:
            self.model.add(sum(variables) <= max(0, limit - settled)).only_enforce_if(group)

    def _headcount_and_nights(self) -> None:
        frame, rules = self.frame, self.rules
        qualified = [p for p in frame.planned if p.is_duty_qualified]
        for day in frame.horizon:
            present = [self.x[p.id, day] for p in frame.planned]
            variables = [t for t in present if not isinstance(t, int)]
            if variables:
                settled = sum(t for t in present if isinstance(t, int))
                self.model.add(sum(variables) >= rules.minimum_on(day) - settled).only_enforce_if(
                    self.group("min", day)
                )
            self._at_most(present, rules.max_headcount, self.group("max", day))
            duty = []
            for person in qualified:
                on = self.x[person.id, day]
                if not _is(on, 0):
                    night = self.model.new_bool_var("")
                    if not isinstance(on, int):
                        self.model.add_implication(night, on)
                    duty.append(night)
            if duty:
                self.model.add(sum(duty) == rules.min_night_duty).only_enforce_if(
                    self.group("night", day)
                )
        for day in days(frame.last_day + ONE_DAY, frame.run_on_until):
            present = [self.x[p.id, day] for p in frame.planned]
            self._at_most(present, rules.max_headcount, self.group("max", day))

    def _stay_rules(self) -> None:
        rules, span = self.rules, self.frame.span
        longest, shortest, rest = (
            rules.max_consecutive_days,
            rules.min_stay_days,
            rules.min_rest_days,
        )
        for person in self.frame.planned:
            row = [self.x[person.id, day] for day in span]
            # At most `longest` days on site in any `longest + 1` days in a row.
            for start in range(len(span) - longest):
                window = row[start : start + longest + 1]
                if any(not isinstance(t, int) for t in window):
                    self._at_most(window, longest, self.group("longest"))
            for index, day in enumerate(span[1:-1], start=1):
                # Arriving on a day means on site for the next `shortest - 1` days too (up
                # to a settled day off: a kept stay cannot always be made long enough).
                arrives = self.arrives[person.id, day]
                if not _is(arrives, 0):
                    for k in range(1, min(shortest, len(span) - index)):
                        following = row[index + k]
                        self._clause([_not(arrives), following], self.group("shortest"))
                        if _is(following, 0):
                            break
                # Leaving on a day means off site for the next `rest` days.
                leaves = self.leaves[person.id, day]
                if not _is(leaves, 0):
                    for k in range(1, min(rest + 1, len(span) - index)):
                        self._clause([_not(leaves), _not(row[index + k])], self.group("rest"))

    def _crossing_rules(self) -> None:
        rules = self.rules
        cap = rules.max_crossings_per_month
        for person in self.frame.planned:
            monthly: dict[tuple[int, int], list[Term]] = defaultdict(list)
            for day in self.frame.span[1:-1]:
                arrives, leaves = self.arrives[person.id, day], self.leaves[person.id, day]
                if day >= self.frame.first_day and not rules.may_cross_on(day):
                    self._clause([_not(arrives)], self.group("weekdays"))
                    self._clause([_not(leaves)], self.group("weekdays"))
                monthly[day.year, day.month] += [arrives, leaves]
            first_month = (self.frame.first_day.year, self.frame.first_day.month)
            if cap is not None:
                for month, terms in monthly.items():
                    if month >= first_month:
                        self._at_most(terms, cap, self.group("cap", month))


def _explain(frame: _Frame, time_limit: float) -> None:
    """Name the rules (and their days) that cannot all hold, and raise PlanInfeasible;
    return if that was not shown within `time_limit` seconds.

    Each rule group's literal is an assumption, and CP-SAT answers with groups that together
    leave no plan: first in the day model, which names each rule; if that takes too long, in
    the stay model (quicker to prove there is no plan), whose stays keep the longest and the
    shortest stay and the crossing days by construction, so those are named with it.
    """
    deadline = time.monotonic() + time_limit
    keys = _core(_DayModel(frame), time_limit / 4)
    if keys is None:
        keys = _narrow(_StayModel(frame, explaining=True), deadline)
        if keys is not None:
            rules = frame.rules
            keys.append(("longest",))
            if rules.min_stay_days > 1:
                keys.append(("shortest",))
            if rules.crossing_weekdays != ALL_WEEKDAYS:
                keys.append(("weekdays",))
    if not keys:
        return
    said = _describe(keys, frame.rules)
    # Joined when shown, so that each part is in the reader's language.
    joined = LazyText(lambda: "; ".join(str(part) for part in said))
    raise PlanInfeasible(_l("No plan meets these rules together: %(rules)s.", rules=joined))


DATED = ("min", "max", "night")  # the rule groups of one day each


def _narrow(built: _StayModel, deadline: float) -> list[tuple[Any, ...]] | None:
    """The rule groups of the stay model that leave no plan, narrowed by plain solves (with
    assumptions CP-SAT could not prove it in time): drop whole rules while no plan remains,
    then keep the days of the daily rules to the shortest run of days that still leaves
    none. None if no plan was not proven within the time."""

    def no_plan(on: set[tuple[Any, ...]]) -> bool:
        left = deadline - time.monotonic()
        if left <= 0.05:
            return False
        model = built.model.clone()
        for key, literal in built.groups.items():
            model.add(model.get_bool_var_from_proto_index(literal.index) == int(key in on))
        # Full presolve here: it is what proves quickly that no plan exists.
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = min(1.0, left)
        solver.parameters.num_workers = 2
        return solver.solve(model) == cp_model.INFEASIBLE

    on = set(built.groups)
    if not no_plan(on):
        return None
    for rule in ("rest", "cap", "night", "max", "min"):
        fewer = {key for key in on if key[0] != rule}
        if fewer != on and no_plan(fewer):
            on = fewer
    dated = sorted({key[1] for key in on if key[0] in DATED})

    def between(first: int, last: int) -> set[tuple[Any, ...]]:
        return {k for k in on if k[0] not in DATED or dated[first] <= k[1] <= dated[last]}

    if dated:
        low, high = 0, len(dated) - 1  # the first day by which there is no plan
        while low < high:
            middle = (low + high) // 2
            if no_plan(between(0, middle)):
                high = middle
            else:
                low = middle + 1
        end, low, high = high, 0, high  # the last day from which there is still none
        while low < high:
            middle = (low + high + 1) // 2
            if no_plan(between(middle, end)):
                low = middle
            else:
                high = middle - 1
        on = between(low, end)
    return sorted(on, key=lambda key: (key[0], str(key[1:])))


def _core(built: _DayModel | _StayModel, time_limit: float) -> list[tuple[Any, ...]] | None:
    """The rule groups of `built` that together leave no plan, or None if that was not
    proven within `time_limit` seconds."""
    built.model.add_assumptions(built.groups.values())
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # what CP-SAT supports with assumptions
    solver.parameters.max_time_in_seconds = time_limit
    if solver.solve(built.model) != cp_model.INFEASIBLE:
        return None
    core = set(solver.sufficient_assumptions_for_infeasibility())
    return [key for key, literal in built.groups.items() if literal.index in core]


# How many days a message lists before it says how many more there are.
DAYS_SHOWN = 5


def _describe(keys: list[tuple[Any, ...]], rules: SideRules) -> list[LazyText]:
    """The rule groups in words, a rule's days together, in the order of the rules form."""
    by_rule: dict[str, list[Any]] = defaultdict(list)
    for name, *detail in keys:
        by_rule[name].append(detail[0] if detail else None)

    def listed(values: list[date]) -> str | LazyText:
        ordered = sorted(values)
        shown = ", ".join(v.isoformat() for v in ordered[:DAYS_SHOWN])
        more = len(ordered) - DAYS_SHOWN
        if more <= 0:
            return shown
        return _ln(
            "%(days)s and %(num)d more day", "%(days)s and %(num)d more days", more, days=shown
        )

    said: list[LazyText] = []
    minimums = by_rule.get("min", [])
    weekdays = [d for d in minimums if d.weekday() < 5]
    weekends = [d for d in minimums if d.weekday() >= 5]
    if weekdays:
        said.append(
            _l(
                "the weekday minimum of %(n)d on %(days)s",
                n=rules.weekday_min,
                days=listed(weekdays),
            )
        )
    if weekends:
        said.append(
            _l(
                "the weekend minimum of %(n)d on %(days)s",
                n=rules.weekend_min,
                days=listed(weekends),
            )
        )
    if by_rule.get("max"):
        said.append(
            _l(
                "the maximum of %(n)d on site on %(days)s",
                n=rules.max_headcount,
                days=listed(by_rule["max"]),
            )
        )
    if by_rule.get("night"):
        said.append(
            _l(
                "%(n)d on night duty on %(days)s",
                n=rules.min_night_duty,
                days=listed(by_rule["night"]),
            )
        )
    if "longest" in by_rule:
        said.append(_l("the longest stay of %(n)d days", n=rules.max_consecutive_days))
    if "shortest" in by_rule:
        said.append(_l("the shortest stay of %(n)d days", n=rules.min_stay_days))
    if "rest" in by_rule:
        said.append(_l("at least %(n)d rest days between stays", n=rules.min_rest_days))
    if "weekdays" in by_rule:
        said.append(_l("crossings only on %(days)s", days=rules.crossing_days_label()))
    if by_rule.get("cap"):
        months = ", ".join(f"{year}-{month:02d}" for year, month in sorted(by_rule["cap"]))
        said.append(
            _l(
                "at most %(n)d crossings a person a month in %(months)s",
                n=rules.max_crossings_per_month or 0,
                months=months,
            )
        )
    return said


# --- small helpers ------------------------------------------------------------------------


def _value(term: Term, value: Callable[[Any], int]) -> int:
    return term if isinstance(term, int) else int(value(term))


def _is(term: Term, constant: int) -> bool:
    return isinstance(term, int) and term == constant


def _not(term: Term) -> Term:
    return 1 - term if isinstance(term, int) else ~term


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - ONE_DAY


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
        for day in (stay.first - ONE_DAY, stay.last + ONE_DAY):
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
