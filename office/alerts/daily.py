"""The daily alerts: each looks at the office as of a day and raises a notice for each event it
finds, once. A line passing 75 % of its cap is one event, passing 90 % another; a waiver's
coming end is one event for that end (a waiver extended and ending again is a new one); a
staffing rule broken on a day of the coming week is one event for that rule, side, day and
person. Run by the daily job (and `flask alerts raise`); any number of runs, at once or day
after day, raise each notice once (`office.alerts.services.raise_notices`).

These checks read the features above the alerts (the dashboard, the daily logs, the stock,
the staffing plan), so they live apart from the services that those features' events call."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from office.alerts.models import NoticeKind
from office.alerts.services import Found, raise_notices
from office.fuel import services as fuel
from office.periods import services as periods
from office.reviews import dashboard
from office.staffing import services as staffing
from office.staffing.models import StaffMember
from office.stock.models import StockLot
from office.waivers.services import GRANTED_STATUSES

# A day's log should be signed off within two days.
SIGN_OFF_WITHIN = timedelta(days=2)
# How far back a day not signed off is raised: a week, so that a run missed now and then
# still raises each day (older ones are on the administrators' home page, counted).
UNSIGNED_BACK = timedelta(days=7)
# The staffing rules are checked over the coming week, today included.
RULES_AHEAD = timedelta(days=6)


def _lines(session: Session, today: date) -> Iterable[Found]:
    board = dashboard.build(session, today, today=today)
    for state in board.lines:
        if state.waiver.status not in GRANTED_STATUSES:
            continue
        facts = {
            "waiver": state.waiver.reference,
            "line": state.line.line_no,
            "resource": state.line.resource.code,
            "percent": str((state.usage.percent or Decimal(0)).quantize(Decimal("0.1"))),
        }
        link = {"waiver_id": state.waiver.id}
        percent = state.usage.percent
        for kind, threshold in (
            (NoticeKind.LINE_75, dashboard.WARN_AT),
            (NoticeKind.LINE_90, dashboard.ALARM_AT),
        ):
            if percent is not None and percent >= threshold:
                key = f"{kind.value}:{state.line.id}"
                yield Found(kind, key, facts, "waivers.detail", link)
        if state.runs_out_before_expiry and state.runs_out_on is not None:
            key = f"runs_out:{state.line.id}:{state.waiver.valid_until}"
            runs_out = {**facts, "on": state.runs_out_on.isoformat()}
            yield Found(NoticeKind.RUNS_OUT, key, runs_out, "waivers.detail", link)
    for waiver in board.expiring:
        if waiver.status not in GRANTED_STATUSES or waiver.valid_until is None:
            continue
        if waiver.valid_until < today:
            continue
        yield Found(
            NoticeKind.WAIVER_EXPIRING,
            f"waiver_expiring:{waiver.id}:{waiver.valid_until}",
            {"waiver": waiver.reference, "until": waiver.valid_until.isoformat()},
            "waivers.detail",
            {"waiver_id": waiver.id},
        )


def _office(session: Session, today: date) -> Iterable[Found]:
    overdue = session.scalars(
        select(StockLot)
        .where(StockLot.must_return_by < today, StockLot.remaining > 0)
        .order_by(StockLot.must_return_by, StockLot.id)
        .options(selectinload(StockLot.resource))
    )
    for lot in overdue:
        assert lot.must_return_by is not None
        yield Found(
            NoticeKind.RETURN_OVERDUE,
            f"return_overdue:{lot.id}:{lot.must_return_by}",
            {"resource": lot.resource.code, "by": lot.must_return_by.isoformat()},
            "deliveries.stock",
            {"resource": lot.resource_id},
        )
    last = today - SIGN_OFF_WITHIN - timedelta(days=1)  # two whole days have passed since
    first = max(periods.RECORDS_BEGIN, today - UNSIGNED_BACK)
    if first <= last:
        for day in fuel.missing_days(session, first, last):
            yield Found(
                NoticeKind.DAY_NOT_SIGNED_OFF,
                f"day_not_signed_off:{day}",
                {"day": day.isoformat()},
                "operations.day",
                {"day": day.isoformat()},
            )


def _staffing(session: Session, today: date) -> Iterable[Found]:
    found, _people = staffing.violations(session, today, today + RULES_AHEAD)
    ids = {v.person_id for v in found if v.person_id is not None}
    people = (
        {p.id: p for p in session.scalars(select(StaffMember).where(StaffMember.id.in_(ids)))}
        if ids
        else {}
    )
    for violation in found:
        person = people.get(violation.person_id) if violation.person_id is not None else None
        # The person's name in each language, as the staffing pages show it.
        facts = {
            "rule": violation.rule.value,
            "side": violation.side.value,
            "day": violation.day.isoformat(),
            "person": person.display_name("ko") if person else "",
            "person_en": person.display_name("en") if person else "",
        }
        who = violation.person_id if violation.person_id is not None else "-"
        yield Found(
            NoticeKind.RULE_BROKEN,
            f"rule_broken:{violation.rule.value}:{violation.side.value}:{violation.day}:{who}",
            facts,
            "staffing.day",
            {"day": violation.day.isoformat()},
        )


def find(session: Session, today: date) -> list[Found]:
    """Every event the alerts see as of `today` (raised before or not)."""
    return [*_lines(session, today), *_office(session, today), *_staffing(session, today)]


def raise_alerts(session: Session, *, today: date, now: datetime) -> int:
    """Raise a notice for each event found as of `today` not raised before; return how many
    were new. The caller commits."""
    return raise_notices(session, find(session, today), today=today, now=now)
