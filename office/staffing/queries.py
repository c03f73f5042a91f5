"""Read models for the staffing pages: the month calendar, today, a proposal's diff, the
dashboard's groups of broken rules, stays too long for the rules, and the month's crossing
lists."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office.i18n import LazyText, _ln
from office.staffing import checks, services
from office.staffing.models import (
    Category,
    CrossingList,
    CrossingStatus,
    DutyShift,
    PlanProposal,
    Shift,
    Side,
    StaffMember,
    Stay,
)

NO_VIOLATIONS: tuple[checks.Violation, ...] = ()


@dataclass(slots=True)
class Cell:
    """A person's day in the calendar: its CSS class and text are set here, not in the
    template, because a month has some 2,000 cells and most need nothing else."""

    css: str
    text: str
    # The same empty tuple for every cell without violations: no list per cell.
    violations: Sequence[checks.Violation] = NO_VIOLATIONS


@dataclass
class Row:
    person: StaffMember
    cells: list[Cell]


@dataclass
class SideBlock:
    side: Side
    rules: checks.SideRules
    rows: list[Row]
    headcount: list[int]
    nights: list[int]
    violations: list[list[checks.Violation]]  # side-wide, per day


@dataclass
class Month:
    first: date
    days: list[date]
    sides: list[SideBlock]
    violation_count: int

    @property
    def previous(self) -> date:
        return (self.first - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return self.first + timedelta(
            days=calendar.monthrange(self.first.year, self.first.month)[1]
        )


def month_calendar(session: Session, first: date, *, locale: str) -> Month:
    """One row per person active in the month, one column per day, headcount and violations."""
    first = first.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    month_days = list(checks.days(first, last))
    index = {day: n for n, day in enumerate(month_days)}
    weekend = [" weekend" if day.weekday() >= 5 else "" for day in month_days]
    people_facts, rules, plan = services.load_facts(session, first, last, locale=locale)
    found = checks.find_violations(people_facts, rules, plan, first, last)
    order = list(Category)
    people = sorted(
        session.scalars(
            select(StaffMember).where(
                StaffMember.active_from <= last,
                (StaffMember.active_until.is_(None)) | (StaffMember.active_until >= first),
            )
        ),
        key=lambda p: (order.index(p.category), p.display_name(locale), p.id),
    )
    duties = defaultdict(set)
    for person_id, day, shift in session.execute(
        select(DutyShift.staff_member_id, DutyShift.duty_on, DutyShift.shift).where(
            DutyShift.duty_on >= first, DutyShift.duty_on <= last
        )
    ):
        duties[person_id, day].add(shift)
    by_person: dict[tuple[int, date], list[checks.Violation]] = defaultdict(list)
    by_side: dict[tuple[Side, date], list[checks.Violation]] = defaultdict(list)
    for violation in found:
        if violation.person_id is None:
            by_side[violation.side, violation.day].append(violation)
        else:
            by_person[violation.person_id, violation.day].append(violation)

    blocks = []
    for side in (Side.SOUTH, Side.NORTH):
        side_rules = rules.get(side)
        if side_rules is None:
            continue
        rows = []
        headcount = [0] * len(month_days)
        nights = [0] * len(month_days)
        for person in (p for p in people if p.side is side):
            on_site = [False] * len(month_days)
            for first_day, last_day in plan.stays.get(person.id, []):
                for day in checks.days(max(first_day, first), min(last_day, last)):
                    on_site[index[day]] = True
                    if person.category in side_rules.counted_categories:
                        headcount[index[day]] += 1
            cells = []
            for n, day in enumerate(month_days):
                shifts = duties.get((person.id, day), ())
                night = Shift.NIGHT in shifts
                nights[n] += night
                broken = by_person.get((person.id, day), NO_VIOLATIONS)
                cells.append(
                    Cell(
                        # Joined as the template used to join them (" weekend" alone keeps
                        # its space), so that the page does not change.
                        css=("on" if on_site[n] else "")
                        + (" violation" if broken else "")
                        + weekend[n],
                        text=("●" if on_site[n] else "")
                        + ("D" if Shift.DAY in shifts else "")
                        + ("N" if night else ""),
                        violations=broken,
                    )
                )
            rows.append(Row(person, cells))
        blocks.append(
            SideBlock(
                side,
                side_rules,
                rows,
                headcount,
                nights,
                [by_side.get((side, day), []) for day in month_days],
            )
        )
    return Month(first, month_days, blocks, len(found))


@dataclass(frozen=True)
class Today:
    day: date
    on_site: dict[Side, list[StaffMember]]
    night_duty: dict[Side, list[StaffMember]]
    day_duty: dict[Side, list[StaffMember]]


def today_view(session: Session, day: date) -> Today:
    """Who is on site on `day`, and who has day and night duty, per side."""
    present = session.scalars(
        select(StaffMember)
        .join(Stay)
        .where(Stay.first_day <= day, Stay.last_day >= day)
        .order_by(StaffMember.side, StaffMember.name_ko, StaffMember.id)
    ).all()
    on_duty = session.execute(
        select(StaffMember, DutyShift.shift)
        .join(DutyShift)
        .where(DutyShift.duty_on == day)
        .order_by(StaffMember.name_ko, StaffMember.id)
    ).all()
    result = Today(day, {s: [] for s in Side}, {s: [] for s in Side}, {s: [] for s in Side})
    for person in present:
        result.on_site[person.side].append(person)
    for person, shift in on_duty:
        (result.night_duty if shift is Shift.NIGHT else result.day_duty)[person.side].append(person)
    return result


@dataclass(frozen=True)
class PersonChange:
    person: StaffMember
    added: list[tuple[date, date]]
    removed: list[tuple[date, date]]
    nights_before: int
    nights_after: int


def _ranges(days: set[date]) -> list[tuple[date, date]]:
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def proposal_diff(session: Session, proposal: PlanProposal) -> list[PersonChange]:
    """Per planned person: the days on site the proposal adds and removes, and nights."""
    first, last = proposal.first_day, proposal.last_day
    planned = proposal.plan["people"]
    people = {
        p.id: p
        for p in session.scalars(
            select(StaffMember)
            .where(StaffMember.id.in_(planned))
            .order_by(StaffMember.name_ko, StaffMember.id)
        )
    }
    current: dict[int, set[date]] = defaultdict(set)
    kept: dict[int, set[date]] = defaultdict(set)
    for stay in session.scalars(
        select(Stay).where(
            Stay.staff_member_id.in_(planned), Stay.last_day >= first, Stay.first_day <= last
        )
    ):
        stay_days = set(checks.days(max(stay.first_day, first), min(stay.last_day, last)))
        current[stay.staff_member_id] |= stay_days
        if stay.is_pinned or stay.first_day < first or stay.last_day > last:
            kept[stay.staff_member_id] |= stay_days
    proposed: dict[int, set[date]] = defaultdict(set)
    for person_id, stay_first, stay_last in proposal.plan["stays"]:
        proposed[person_id] |= set(
            checks.days(date.fromisoformat(stay_first), date.fromisoformat(stay_last))
        )
    nights_before: dict[int, int] = defaultdict(int)
    for person_id, _day in session.execute(
        select(DutyShift.staff_member_id, DutyShift.duty_on).where(
            DutyShift.staff_member_id.in_(planned),
            DutyShift.shift == Shift.NIGHT,
            DutyShift.duty_on >= first,
            DutyShift.duty_on <= last,
        )
    ):
        nights_before[person_id] += 1
    nights_after: dict[int, int] = defaultdict(int)
    for person_id, _day in proposal.plan["nights"]:
        nights_after[person_id] += 1
    changes = []
    for person_id, person in people.items():
        after = proposed[person_id] | kept[person_id]
        changes.append(
            PersonChange(
                person,
                _ranges(after - current[person_id]),
                _ranges(current[person_id] - after),
                nights_before[person_id],
                nights_after[person_id],
            )
        )
    return changes


# --- the dashboard's broken rules, grouped ------------------------------------------------


@dataclass(frozen=True)
class ViolationGroup:
    """The violations of one rule on one side in one week (Monday to Sunday)."""

    rule: checks.Rule
    side: Side
    week: date  # its Monday
    violations: list[checks.Violation]

    @property
    def first_day(self) -> date:
        return self.violations[0].day

    @property
    def last_day(self) -> date:
        return self.violations[-1].day

    @property
    def days(self) -> int:
        return len({v.day for v in self.violations})

    @property
    def people(self) -> int:
        return len({v.person_id for v in self.violations if v.person_id is not None})


def group_violations(found: Sequence[checks.Violation]) -> list[ViolationGroup]:
    """Group violations by week, side (South first) and rule, each group's by day and person."""
    rules, sides = list(checks.Rule), [Side.SOUTH, Side.NORTH]
    grouped: dict[tuple[date, int, int], list[checks.Violation]] = defaultdict(list)
    for violation in found:
        week = violation.day - timedelta(days=violation.day.weekday())
        grouped[week, sides.index(violation.side), rules.index(violation.rule)].append(violation)
    return [
        ViolationGroup(
            rules[rule],
            sides[side],
            week,
            sorted(violations, key=lambda v: (v.day, v.person_id or 0)),
        )
        for (week, side, rule), violations in sorted(grouped.items(), key=lambda kv: kv[0])
    ]


# --- stays longer than the rules allow ----------------------------------------------------


@dataclass(frozen=True)
class LongStay:
    """A stay over its side's maximum of days on site in a row: on its own, or with the stays
    that touch it (`joined`), as the rule checker counts them."""

    days: int
    limit: int
    joined: bool

    @property
    def message(self) -> LazyText:
        if self.joined:
            return _ln(
                "With the stays it touches, it makes %(days)d days on site in a row; the rule "
                "allows %(num)d day on site at a time.",
                "With the stays it touches, it makes %(days)d days on site in a row; the rule "
                "allows %(num)d days on site at a time.",
                self.limit,
                days=self.days,
            )
        return _ln(
            "It is %(days)d days long; the rule allows %(num)d day on site at a time.",
            "It is %(days)d days long; the rule allows %(num)d days on site at a time.",
            self.limit,
            days=self.days,
        )


def long_stays(session: Session, person: StaffMember) -> dict[int, LongStay]:
    """The person's stays, by id, that are longer than their side's rules allow."""
    rule = services.rules_by_side(session).get(person.side)
    if rule is None:
        return {}
    limit = rule.max_consecutive_days
    stays = session.scalars(
        select(Stay).where(Stay.staff_member_id == person.id).order_by(Stay.first_day, Stay.id)
    ).all()
    runs: list[list[Stay]] = []
    for stay in stays:
        if runs and stay.first_day <= max(s.last_day for s in runs[-1]) + timedelta(days=1):
            runs[-1].append(stay)
        else:
            runs.append([stay])
    found = {}
    for run in runs:
        run_days = (max(s.last_day for s in run) - run[0].first_day).days + 1
        for stay in run:
            if stay.days > limit:
                found[stay.id] = LongStay(stay.days, limit, joined=False)
            elif run_days > limit:
                found[stay.id] = LongStay(run_days, limit, joined=True)
    return found


# --- the month's crossing lists -----------------------------------------------------------


@dataclass(frozen=True)
class CrossingDay:
    """A day with a crossing list: how many of the South cross north to start a stay and
    how many return south at the end of one, and where its list stands with the North."""

    day: date
    north: int
    south: int
    status: CrossingStatus
    sent_at: datetime | None
    accepted_at: datetime | None


@dataclass(frozen=True)
class CrossingMonth:
    first: date
    days: list[CrossingDay]

    @property
    def previous(self) -> date:
        return (self.first - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return self.first + timedelta(
            days=calendar.monthrange(self.first.year, self.first.month)[1]
        )

    @property
    def north(self) -> int:
        return sum(d.north for d in self.days)

    @property
    def south(self) -> int:
        return sum(d.south for d in self.days)


def crossing_month(session: Session, first: date) -> CrossingMonth:
    """Every day of the month someone of the South crosses, or that has a list recorded (one
    sent, then emptied by a change, say), with its counts and its list's status."""
    first = first.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])

    def per_day(column: Any) -> dict[date, int]:
        return {
            day: number
            for day, number in session.execute(
                select(column, func.count(Stay.id))
                .join(StaffMember, StaffMember.id == Stay.staff_member_id)
                .where(StaffMember.side == Side.SOUTH, column >= first, column <= last)
                .group_by(column)
            )
        }

    north, south = per_day(Stay.first_day), per_day(Stay.last_day)
    lists = {
        row.crossing_on: row
        for row in session.scalars(
            select(CrossingList).where(
                CrossingList.crossing_on >= first, CrossingList.crossing_on <= last
            )
        )
    }
    days = []
    for day in sorted(set(north) | set(south) | set(lists)):
        row = lists.get(day)
        days.append(
            CrossingDay(
                day,
                north.get(day, 0),
                south.get(day, 0),
                row.status if row is not None else CrossingStatus.DRAFT,
                row.sent_at if row is not None else None,
                row.accepted_at if row is not None else None,
            )
        )
    return CrossingMonth(first, days)
