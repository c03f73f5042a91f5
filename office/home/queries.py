"""What awaits each role on its home page: the few figures each watches and the work waiting,
read from the features that own them. Read only; every entry links to where the work is done."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from office.fuel import services as fuel
from office.fuel.models import DailyLog, LogStatus
from office.periods import services as periods
from office.periods.models import SignedOffMonth
from office.reviews import dashboard, queries
from office.reviews.models import ItemKind, ReviewState
from office.staffing import services as staffing
from office.staffing.checks import Rule, Violation, days
from office.staffing.models import CrossingList, CrossingStatus, Side, StaffMember, Stay
from office.stock.models import StockLot, Store, StoreKind
from office.supplies.models import Delivery, DeliveryStatus

# How far ahead each list looks, and how far back the unsigned days go.
DELIVERIES_AHEAD = 7
CROSSINGS_AHEAD = 7
VIOLATIONS_AHEAD = 28
UNSIGNED_BACK = 60
LOW_FUEL_DAYS = Decimal(7)  # a tank with less than a week left is marked


# --- administrators -------------------------------------------------------------------------


@dataclass(frozen=True)
class TankLeft:
    tank: Store
    book: Decimal
    days_left: Decimal | None

    @property
    def low(self) -> bool:
        return self.days_left is not None and self.days_left < LOW_FUEL_DAYS


@dataclass(frozen=True)
class AdminHome:
    today: date
    log: DailyLog | None  # today's, if started
    unsigned: list[date]  # days before today whose log is not signed off, newest first
    queries_to_answer: int
    deliveries: list[Delivery]  # planned from today on, not yet received or turned back
    tanks: list[TankLeft]
    overdue: list[StockLot]  # equipment past its date to go back south

    @property
    def log_signed_off(self) -> bool:
        return self.log is not None and self.log.status is LogStatus.SIGNED_OFF


def admin_home(session: Session, today: date) -> AdminHome:
    start = max(periods.RECORDS_BEGIN, today - timedelta(days=UNSIGNED_BACK))
    unsigned = fuel.missing_days(session, start, today - timedelta(days=1)) if start < today else []
    queried = queries.count_by_state(session, queries.QueueFilters(), today=today)
    tanks = session.scalars(
        select(Store)
        .where(Store.kind == StoreKind.TANK, Store.is_active)
        .order_by(Store.name, Store.id)
        .options(selectinload(Store.resource))
    )
    return AdminHome(
        today=today,
        log=session.scalar(select(DailyLog).where(DailyLog.log_on == today)),
        unsigned=list(reversed(unsigned)),
        queries_to_answer=queried[ReviewState.QUERIED],
        deliveries=list(
            session.scalars(
                select(Delivery)
                .where(
                    Delivery.planned_on >= today,
                    Delivery.planned_on <= today + timedelta(days=DELIVERIES_AHEAD),
                    Delivery.status.in_(
                        [DeliveryStatus.DRAFT, DeliveryStatus.APPROVED, DeliveryStatus.CROSSED]
                    ),
                )
                .order_by(Delivery.planned_on, Delivery.id)
            )
        ),
        tanks=[
            TankLeft(
                tank,
                book := fuel.stock.book_stock(session, tank),
                fuel.days_of_fuel_left(session, tank, today, book=book),
            )
            for tank in tanks
        ],
        overdue=list(
            session.scalars(
                select(StockLot)
                .where(StockLot.must_return_by < today, StockLot.remaining > 0)
                .order_by(StockLot.must_return_by, StockLot.id)
                .options(selectinload(StockLot.resource))
            )
        ),
    )


# --- reviewers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerHome:
    today: date
    awaiting: dict[ItemKind, int]  # open or answered: back with the reviewer
    lines: list[dashboard.LineState]  # past 75 % of their cap, or running out before expiry
    ready_months: list[date]  # ended, every item acknowledged, not signed off

    @property
    def awaiting_total(self) -> int:
        return sum(self.awaiting.values())


def reviewer_home(session: Session, today: date) -> ReviewerHome:
    by_kind = queries.count_by_kind(session, today=today)
    awaiting = {
        kind: states[ReviewState.OPEN] + states[ReviewState.ANSWERED]
        for kind, states in by_kind.items()
    }
    board = dashboard.build(session, today, today=today)
    lines = [
        state for state in board.lines if state.alert is not None or state.runs_out_before_expiry
    ]
    lines.sort(key=lambda s: (-(s.usage.percent or Decimal(0)), s.waiver.reference, s.line.id))
    signed = set(session.scalars(select(SignedOffMonth.month)))
    counts = queries.count_by_month(session, today=today)
    ready = []
    month = periods.month_of(today)
    first = periods.month_of(periods.RECORDS_BEGIN)
    while month > first:
        month = (month - timedelta(days=1)).replace(day=1)
        # As on the months page: a month shows once something in it was flagged.
        if month in signed or month not in counts:
            continue
        states = counts[month]
        if sum(states.values()) == states.get(ReviewState.ACKNOWLEDGED, 0):
            ready.append(month)
    return ReviewerHome(today, awaiting, lines, ready)


# --- schedulers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Headcount:
    side: Side
    day: date
    count: int
    low: int  # the rule's minimum that day
    high: int

    @property
    def within(self) -> bool:
        return self.low <= self.count <= self.high


@dataclass(frozen=True)
class RuleGroup:
    rule: Rule
    side: Side
    week: date  # its Monday
    count: int
    first: Violation


@dataclass(frozen=True)
class SchedulerHome:
    today: date
    week: list[date]
    headcounts: dict[Side, list[Headcount]]  # today first, then the next six days
    groups: list[RuleGroup]
    crossings: list[tuple[date, int, int, CrossingStatus | None]]  # north, south, list's status

    def today_count(self, side: Side) -> Headcount:
        return self.headcounts[side][0]


def _headcounts(session: Session, week: list[date]) -> dict[Side, list[Headcount]]:
    rules = staffing.rules_by_side(session)
    result: dict[Side, list[Headcount]] = {}
    for side in Side:
        rule = rules[side]
        counted = set(rule.counted_categories)
        present = session.execute(
            select(Stay.first_day, Stay.last_day, StaffMember.category)
            .join(StaffMember)
            .where(StaffMember.side == side, Stay.first_day <= week[-1], Stay.last_day >= week[0])
        ).all()
        result[side] = [
            Headcount(
                side,
                day,
                sum(
                    1
                    for first, last, category in present
                    if first <= day <= last and str(category) in counted
                ),
                rule.weekend_min if day.weekday() >= 5 else rule.weekday_min,
                rule.max_headcount,
            )
            for day in week
        ]
    return result


def scheduler_home(session: Session, today: date, *, locale: str) -> SchedulerHome:
    week = list(days(today, today + timedelta(days=6)))
    found, _people = staffing.violations(
        session, today, today + timedelta(days=VIOLATIONS_AHEAD - 1), locale=locale
    )
    counts: Counter[tuple[Rule, Side, date]] = Counter()
    firsts: dict[tuple[Rule, Side, date], Violation] = {}
    for violation in found:
        key = (violation.rule, violation.side, violation.day - timedelta(violation.day.weekday()))
        counts[key] += 1
        firsts.setdefault(key, violation)
    groups = [
        RuleGroup(rule, side, week_of, counts[(rule, side, week_of)], firsts[(rule, side, week_of)])
        for rule, side, week_of in sorted(counts, key=lambda k: (k[2], k[0].value, k[1].value))
    ]
    ahead = list(days(today, today + timedelta(days=CROSSINGS_AHEAD - 1)))
    crossing_days = _crossing_days(session, ahead)
    statuses = dict(
        session.execute(
            select(CrossingList.crossing_on, CrossingList.status).where(
                CrossingList.crossing_on.in_([day for day, _n, _s in crossing_days])
            )
        ).all()
    )
    to_send = [
        (day, north, south, statuses.get(day))
        for day, north, south in crossing_days
        if statuses.get(day) not in (CrossingStatus.SENT, CrossingStatus.ACCEPTED)
    ]
    return SchedulerHome(today, week, _headcounts(session, week), groups, to_send)


def _crossing_days(session: Session, ahead: list[date]) -> list[tuple[date, int, int]]:
    """The days in `ahead` on which someone of the South crosses: (day, north, south)."""
    north = dict(
        session.execute(
            select(Stay.first_day, func.count())
            .join(StaffMember)
            .where(StaffMember.side == Side.SOUTH, Stay.first_day.in_(ahead))
            .group_by(Stay.first_day)
        ).all()
    )
    south = dict(
        session.execute(
            select(Stay.last_day, func.count())
            .join(StaffMember)
            .where(StaffMember.side == Side.SOUTH, Stay.last_day.in_(ahead))
            .group_by(Stay.last_day)
        ).all()
    )
    return [
        (day, north.get(day, 0), south.get(day, 0))
        for day in ahead
        if north.get(day) or south.get(day)
    ]
