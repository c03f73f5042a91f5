"""What the reviewers' dashboard shows: every active waiver line's use and runway, the alerts,
the items awaiting review, the month's entries under each regime, and the daily charts, as of
any day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from office.fuel import services as fuel
from office.reviews import queries
from office.reviews.models import ItemKind, ReviewState
from office.staffing.checks import days
from office.waivers.models import EntryScreening, Waiver, WaiverLine
from office.waivers.queries import Gap, RegimeCounts, regime_summary, status_on, used_as_of
from office.waivers.services import GRANTED_STATUSES, LineUsage, line_usage
from office.waivers.units import convert

RUNWAY_DAYS = 30  # the use of the last 30 days sets the pace
CHART_DAYS = 90
WARN_AT, ALARM_AT = Decimal(75), Decimal(90)
EXPIRY_WARNING = timedelta(days=30)


@dataclass
class LineState:
    line: WaiverLine
    waiver: Waiver
    usage: LineUsage
    per_day: Decimal  # in the line's unit, over the last 30 days
    runs_out_on: date | None  # at that pace; None when nothing is used, or never in the calendar
    cumulative: list[tuple[date, Decimal]] = field(default_factory=list)  # line's unit

    @property
    def alert(self) -> str | None:
        percent = self.usage.percent
        if percent is None:
            return None
        return "bad" if percent >= ALARM_AT else "warn" if percent >= WARN_AT else None

    @property
    def runs_out_before_expiry(self) -> bool:
        expiry = self.waiver.valid_until
        return self.runs_out_on is not None and expiry is not None and self.runs_out_on <= expiry


@dataclass
class Dashboard:
    as_of: date
    lines: list[LineState]
    expiring: list[Waiver]
    awaiting: dict[ItemKind, int]
    charts: list[fuel.PersonDay]
    # The month up to `as_of`: its entries under each regime, and those covered under one
    # regime and not another.
    regimes: list[RegimeCounts] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def period_start(self) -> date:
        return self.as_of.replace(day=1)

    @property
    def awaiting_total(self) -> int:
        return sum(self.awaiting.values())

    def series(self, name: str) -> list[tuple[date, Decimal | None]]:
        """One of the daily figures (litres, kwh, litres_per_person, kwh_per_person)."""
        return [(row.day, getattr(row, name)) for row in self.charts]


def _active(waiver: Waiver, day: date) -> bool:
    return (
        status_on(waiver, day) in GRANTED_STATUSES
        and (waiver.valid_from is None or waiver.valid_from <= day)
        and (waiver.valid_until is None or day <= waiver.valid_until)
    )


def _daily(
    session: Session, ids: list[int], start: date, end: date
) -> dict[int, dict[date, Decimal]]:
    daily: dict[int, dict[date, Decimal]] = {line_id: {} for line_id in ids}
    rows = session.execute(
        select(
            EntryScreening.waiver_line_id,
            EntryScreening.occurred_on,
            func.sum(EntryScreening.base_quantity),
        )
        .where(
            EntryScreening.occurred_on >= start,
            EntryScreening.occurred_on <= end,
            EntryScreening.waiver_line_id.in_(ids),
        )
        .group_by(EntryScreening.waiver_line_id, EntryScreening.occurred_on)
    )
    for line_id, day, quantity in rows:
        assert line_id is not None, "the query names its lines"
        daily[line_id][day] = Decimal(quantity)
    return daily


def build(session: Session, as_of: date, *, today: date) -> Dashboard:
    """The dashboard as it stood at the end of `as_of`."""
    waivers = [
        waiver
        for waiver in session.scalars(
            select(Waiver)
            .order_by(Waiver.reference)
            .options(
                selectinload(Waiver.lines).selectinload(WaiverLine.resource),
                selectinload(Waiver.history),
            )
        )
        if _active(waiver, as_of)
    ]
    lines = [
        (waiver, line)
        for waiver in waivers
        for line in waiver.lines
        if line.granted_quantity is not None
    ]
    used = used_as_of(session, [line for _w, line in lines], as_of, today=today)
    start = as_of - timedelta(days=CHART_DAYS - 1)
    daily = _daily(session, [line.id for _w, line in lines], start, as_of)
    states = []
    for waiver, line in lines:

        def in_line_unit(base: Decimal, line: WaiverLine = line) -> Decimal:
            return convert(
                base, line.resource.unit, line.unit, line.resource.effective_barrels_per_tonne
            )

        usage = line_usage(line, used[line.id])
        recent = sum(
            (q for day, q in daily[line.id].items() if day > as_of - timedelta(days=RUNWAY_DAYS)),
            Decimal(0),
        )
        per_day = in_line_unit(recent) / RUNWAY_DAYS
        runs_out_on = None
        if per_day > 0 and usage.remaining is not None:
            days_left = int(max(usage.remaining, Decimal(0)) / per_day)
            # A slow pace against a large cap runs past the calendar's last day: never, then.
            if days_left <= (date.max - as_of).days:
                runs_out_on = as_of + timedelta(days=days_left)
        before = used[line.id] - sum(daily[line.id].values(), Decimal(0))
        cumulative, total = [], before
        for day in days(start, as_of):
            total += daily[line.id].get(day, Decimal(0))
            cumulative.append((day, in_line_unit(total)))
        states.append(LineState(line, waiver, usage, per_day, runs_out_on, cumulative))
    expiring = [
        waiver
        for waiver in waivers
        if waiver.valid_until is not None and waiver.valid_until - as_of <= EXPIRY_WARNING
    ]
    counts = queries.count_by_kind(session, today=today)
    awaiting = {
        kind: sum(n for state, n in states_.items() if state is not ReviewState.ACKNOWLEDGED)
        for kind, states_ in counts.items()
    }
    summary = regime_summary(session, as_of.replace(day=1), as_of)
    return Dashboard(
        as_of=as_of,
        lines=states,
        expiring=expiring,
        awaiting=awaiting,
        charts=fuel.per_person_day(session, start, as_of),
        regimes=summary.counts,
        gaps=summary.gaps,
    )
