"""The daily alerts: each looks at the office as of a day and raises a notice for each event it
finds, once. A line passing 75 % of its cap is one event, passing 90 % another; a waiver's
coming end is one event for that end (a waiver extended and ending again is a new one). Run
by the daily job (and `flask alerts raise`); any number of runs, at once or day after day,
raise each notice once (the key is unique, and the insert does nothing on a clash)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from office.alerts.models import Notice, NoticeDismissal, NoticeKind
from office.auth.models import User
from office.auth.permissions import Role
from office.fuel import services as fuel
from office.periods import services as periods
from office.reviews import dashboard
from office.stock.models import StockLot
from office.waivers.services import GRANTED_STATUSES

# A day's log should be signed off within two days.
SIGN_OFF_WITHIN = timedelta(days=2)
# How far back a day not signed off is raised: a week, so that a run missed now and then
# still raises each day (older ones are on the administrators' home page, counted).
UNSIGNED_BACK = timedelta(days=7)
SHOWN = 20  # unread notices on a home page, newest first
LISTED = 200  # notices on the notices page


def audience(*roles: Role) -> str:
    return "," + ",".join(role.value for role in roles) + ","


WAIVERS = audience(Role.REVIEWER, Role.ADMIN)
OFFICE = audience(Role.ADMIN)


@dataclass(frozen=True)
class Found:
    kind: NoticeKind
    key: str
    audience: str
    facts: dict[str, Any]
    endpoint: str
    endpoint_args: dict[str, Any]


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
                yield Found(kind, key, WAIVERS, facts, "waivers.detail", link)
        if state.runs_out_before_expiry and state.runs_out_on is not None:
            key = f"runs_out:{state.line.id}:{state.waiver.valid_until}"
            runs_out = {**facts, "on": state.runs_out_on.isoformat()}
            yield Found(NoticeKind.RUNS_OUT, key, WAIVERS, runs_out, "waivers.detail", link)
    for waiver in board.expiring:
        if waiver.status not in GRANTED_STATUSES or waiver.valid_until is None:
            continue
        if waiver.valid_until < today:
            continue
        yield Found(
            NoticeKind.WAIVER_EXPIRING,
            f"waiver_expiring:{waiver.id}:{waiver.valid_until}",
            WAIVERS,
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
            OFFICE,
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
                OFFICE,
                {"day": day.isoformat()},
                "operations.day",
                {"day": day.isoformat()},
            )


def find(session: Session, today: date) -> list[Found]:
    """Every event the alerts see as of `today` (raised before or not)."""
    return [*_lines(session, today), *_office(session, today)]


def _insert_once(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the notices not raised yet; a key raised already, by an earlier run or one
    running at the same moment, is left as it is. Return how many were new."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Notice).on_conflict_do_nothing(index_elements=["key"])
    return len(session.execute(statement.returning(Notice.id), rows).all())


def raise_alerts(session: Session, *, today: date, now: datetime) -> int:
    """Raise a notice for each event found as of `today` not raised before; return how many
    were new. The caller commits."""
    rows = [
        {
            "kind": found.kind,
            "key": found.key,
            "audience": found.audience,
            "facts": found.facts,
            "endpoint": found.endpoint,
            "endpoint_args": found.endpoint_args,
            "raised_on": today,
            "raised_at": now,
        }
        for found in find(session, today)
    ]
    return _insert_once(session, rows)


def _of(user: User) -> ColumnElement[bool]:
    return Notice.audience.contains(f",{user.role.value},")


def _read_by(user: User) -> ColumnElement[bool]:
    return exists().where(
        NoticeDismissal.notice_id == Notice.id, NoticeDismissal.user_id == user.id
    )


def notices_for(session: Session, user: User, *, limit: int = SHOWN) -> list[Notice]:
    """The notices of `user`'s role that they have not read (put away), newest first."""
    return list(
        session.scalars(
            select(Notice)
            .where(_of(user), ~_read_by(user))
            .order_by(Notice.raised_on.desc(), Notice.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, user: User) -> int:
    """How many notices of `user`'s role they have not read: the header's bell."""
    return session.scalar(select(func.count()).where(_of(user), ~_read_by(user))) or 0


def all_notices(session: Session, user: User, *, limit: int = LISTED) -> list[tuple[Notice, bool]]:
    """The notices of `user`'s role, newest first, each with whether they have read it."""
    return [
        (notice, bool(read))
        for notice, read in session.execute(
            select(Notice, _read_by(user))
            .where(_of(user))
            .order_by(Notice.raised_on.desc(), Notice.id.desc())
            .limit(limit)
        )
    ]


def visible_to(notice: Notice, user: User) -> bool:
    return f",{user.role.value}," in notice.audience


def dismiss(session: Session, notice: Notice, user: User, *, now: datetime) -> None:
    """Put `notice` away for `user` (again: nothing more)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(NoticeDismissal)
        .values(notice_id=notice.id, user_id=user.id, dismissed_at=now)
        .on_conflict_do_nothing(index_elements=["notice_id", "user_id"])
    )
