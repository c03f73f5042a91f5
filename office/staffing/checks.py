"""The staffing rule checker: one function that finds every soft-rule violation of a plan.

The calendar, the scheduler's dashboard, the API and the planner's own output all go through
`find_violations`, over plain data, so they cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from office.i18n import LazyText, _l
from office.staffing.models import Category, Side


class Rule(StrEnum):
    HEADCOUNT_MIN = "headcount_min"
    HEADCOUNT_MAX = "headcount_max"
    NIGHT_DUTY = "night_duty"
    CONSECUTIVE_DAYS = "consecutive_days"
    REST_DAYS = "rest_days"
    SHORT_STAY = "short_stay"
    CROSSING_DAY = "crossing_day"
    MONTHLY_CROSSINGS = "monthly_crossings"


RULE_LABELS = {
    Rule.HEADCOUNT_MIN: _l("minimum headcount"),
    Rule.HEADCOUNT_MAX: _l("maximum headcount"),
    Rule.NIGHT_DUTY: _l("night duty"),
    Rule.CONSECUTIVE_DAYS: _l("consecutive days"),
    Rule.REST_DAYS: _l("rest days"),
    Rule.SHORT_STAY: _l("shortest stay"),
    Rule.CROSSING_DAY: _l("crossing days"),
    Rule.MONTHLY_CROSSINGS: _l("crossings a month"),
}

# Day names, Monday first (as `date.weekday()` counts), for the messages.
WEEKDAY_NAMES = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
ALL_WEEKDAYS = frozenset(range(7))

CATEGORY_PLURALS = {
    Category.OFFICIAL: _l("officials"),
    Category.SUPPORT: _l("support staff"),
    Category.CONTRACTOR_WORKER: _l("contractor workers"),
}


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    side: Side
    category: Category
    is_duty_qualified: bool
    active_from: date
    active_until: date | None

    def is_active_on(self, day: date) -> bool:
        return self.active_from <= day and (self.active_until is None or day <= self.active_until)


@dataclass(frozen=True)
class SideRules:
    side: Side
    weekday_min: int
    weekend_min: int
    max_headcount: int
    counted_categories: frozenset[Category]
    min_night_duty: int
    max_consecutive_days: int
    min_rest_days: int
    applies_from: date = date.min
    min_stay_days: int = 1
    crossing_weekdays: frozenset[int] = ALL_WEEKDAYS  # as `date.weekday()` counts
    max_crossings_per_month: int | None = None

    def may_cross_on(self, day: date) -> bool:
        return day.weekday() in self.crossing_weekdays

    def crossing_days_label(self) -> LazyText:
        """The days of the week people may cross, named when shown."""
        names = [WEEKDAY_NAMES[n] for n in sorted(self.crossing_weekdays)]
        return LazyText(lambda: ", ".join(str(name) for name in names))

    def minimum_on(self, day: date) -> int:
        return self.weekend_min if day.weekday() >= 5 else self.weekday_min

    def counted_label(self) -> str:
        counted = (c for c in Category if c in self.counted_categories)
        return " + ".join(str(CATEGORY_PLURALS[c]) for c in counted)


@dataclass
class Plan:
    """Who is on site when, and who has night duty: the facts the rules are checked on."""

    stays: dict[int, list[tuple[date, date]]] = field(default_factory=lambda: defaultdict(list))
    nights: set[tuple[int, date]] = field(default_factory=set)

    def add_stay(self, person_id: int, first: date, last: date) -> None:
        self.stays[person_id].append((first, last))

    def on_site(self, person_id: int, day: date) -> bool:
        return any(first <= day <= last for first, last in self.stays.get(person_id, ()))


@dataclass(frozen=True)
class Violation:
    rule: Rule
    day: date
    side: Side
    person_id: int | None
    message: Any  # a lazy, translatable string

    def as_dict(self, people: dict[int, Person]) -> dict[str, Any]:
        person = people.get(self.person_id) if self.person_id is not None else None
        return {
            "rule": self.rule.value,
            "date": self.day.isoformat(),
            "side": self.side.value,
            "person_id": self.person_id,
            "person": person.name if person else None,
            "message": str(self.message),
        }


def days(start: date, end: date) -> Iterable[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def runs_of(stays: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Merge stays that touch into continuous runs on site."""
    runs: list[tuple[date, date]] = []
    for first, last in sorted(stays):
        if runs and first <= runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], max(runs[-1][1], last))
        else:
            runs.append((first, last))
    return runs


def crossings_of(runs: list[tuple[date, date]]) -> list[date]:
    """The days a person crosses, in order: each run on site arrives on its first day and
    leaves on its last (a stay of one day crosses twice that day)."""
    return sorted(day for run in runs for day in run)


def _crossing_violations(
    person: Person,
    rules: SideRules,
    runs: list[tuple[date, date]],
    start: date,
    end: date,
) -> list[Violation]:
    """A run shorter than the shortest stay (marked on its first day), a crossing on a day of
    the week not allowed, and each crossing past the month's cap (marked on its day)."""
    found = []
    for first, last in runs:
        length = (last - first).days + 1
        if length < rules.min_stay_days and start <= first <= end:
            found.append(
                Violation(
                    Rule.SHORT_STAY,
                    first,
                    rules.side,
                    person.id,
                    _l(
                        "%(name)s's stay from %(first)s to %(last)s is %(n)d days; the shortest "
                        "is %(min)d.",
                        name=person.name,
                        first=first.isoformat(),
                        last=last.isoformat(),
                        n=length,
                        min=rules.min_stay_days,
                    ),
                )
            )
    crossings = crossings_of(runs)
    for day in sorted(set(crossings)):
        if start <= day <= end and not rules.may_cross_on(day):
            found.append(
                Violation(
                    Rule.CROSSING_DAY,
                    day,
                    rules.side,
                    person.id,
                    _l(
                        "%(name)s crosses on %(date)s, a %(weekday)s; people cross on %(days)s.",
                        name=person.name,
                        date=day.isoformat(),
                        weekday=WEEKDAY_NAMES[day.weekday()],
                        days=rules.crossing_days_label(),
                    ),
                )
            )
    cap = rules.max_crossings_per_month
    if cap is not None:
        in_month: dict[tuple[int, int], int] = defaultdict(int)
        marked: set[date] = set()
        for day in crossings:
            in_month[day.year, day.month] += 1
            count = in_month[day.year, day.month]
            if count > cap and start <= day <= end and day not in marked:
                marked.add(day)
                found.append(
                    Violation(
                        Rule.MONTHLY_CROSSINGS,
                        day,
                        rules.side,
                        person.id,
                        _l(
                            "%(name)s crosses %(n)d times in %(month)s up to %(date)s; the "
                            "most is %(max)d a month.",
                            name=person.name,
                            n=count,
                            month=day.strftime("%Y-%m"),
                            date=day.isoformat(),
                            max=cap,
                        ),
                    )
                )
    return found


def find_violations(
    people: list[Person], rules: dict[Side, SideRules], plan: Plan, start: date, end: date
) -> list[Violation]:
    """Return every soft-rule violation on the days `start`..`end`, ordered by day.

    The plan should include stays from before `start` (consecutive days and rest look back).
    """
    found: list[Violation] = []
    by_side: dict[Side, list[Person]] = defaultdict(list)
    for person in people:
        by_side[person.side].append(person)

    for side, side_rules in rules.items():
        counted = [p for p in by_side[side] if p.category in side_rules.counted_categories]
        what = side_rules.counted_label()
        side_ids = {p.id for p in by_side[side]}
        nights: dict[date, int] = defaultdict(int)
        for person_id, day in plan.nights:
            if person_id in side_ids:
                nights[day] += 1
        for day in days(max(start, side_rules.applies_from), end):
            present = sum(1 for p in counted if plan.on_site(p.id, day))
            minimum = side_rules.minimum_on(day)
            if present < minimum:
                found.append(
                    Violation(
                        Rule.HEADCOUNT_MIN,
                        day,
                        side,
                        None,
                        _l(
                            "Only %(n)d %(what)s on site on %(date)s; the minimum is %(min)d.",
                            n=present,
                            what=what,
                            date=day.isoformat(),
                            min=minimum,
                        ),
                    )
                )
            elif present > side_rules.max_headcount:
                found.append(
                    Violation(
                        Rule.HEADCOUNT_MAX,
                        day,
                        side,
                        None,
                        _l(
                            "%(n)d %(what)s on site on %(date)s; the maximum is %(max)d.",
                            n=present,
                            what=what,
                            date=day.isoformat(),
                            max=side_rules.max_headcount,
                        ),
                    )
                )
            if nights[day] < side_rules.min_night_duty:
                found.append(
                    Violation(
                        Rule.NIGHT_DUTY,
                        day,
                        side,
                        None,
                        _l(
                            "%(n)d on night duty on %(date)s; at least %(min)d needed.",
                            n=nights[day],
                            date=day.isoformat(),
                            min=side_rules.min_night_duty,
                        ),
                    )
                )

        for person in by_side[side]:
            stays = plan.stays.get(person.id, [])
            if not stays:
                continue
            limit = side_rules.max_consecutive_days
            for first, last in runs_of(stays):
                for day in days(max(first + timedelta(days=limit), start), min(last, end)):
                    found.append(
                        Violation(
                            Rule.CONSECUTIVE_DAYS,
                            day,
                            side,
                            person.id,
                            _l(
                                "%(name)s has been on site %(n)d days in a row on %(date)s; the "
                                "maximum is %(max)d.",
                                name=person.name,
                                n=(day - first).days + 1,
                                date=day.isoformat(),
                                max=limit,
                            ),
                        )
                    )
            ordered = sorted(stays)
            for (_f1, last), (first, _l2) in pairwise(ordered):
                rest = (first - last).days - 1
                if rest < side_rules.min_rest_days and start <= first <= end and rest >= 0:
                    found.append(
                        Violation(
                            Rule.REST_DAYS,
                            first,
                            side,
                            person.id,
                            _l(
                                "%(name)s comes back on %(date)s with only %(n)d of %(min)d "
                                "rest days.",
                                name=person.name,
                                date=first.isoformat(),
                                n=rest,
                                min=side_rules.min_rest_days,
                            ),
                        )
                    )
            found += _crossing_violations(person, side_rules, runs_of(stays), start, end)
    found.sort(key=lambda v: (v.day, v.side.value, v.rule.value, v.person_id or 0))
    return found
