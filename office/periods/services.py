"""Which months are signed off, and the check every dated write makes before it lands."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Exists, bindparam, exists, select
from sqlalchemy.orm import Session

from office.errors import ConflictError
from office.i18n import _l
from office.periods.models import SignedOffMonth

# The Panmunjom Declaration (2018-04-27) committed the two Koreas to the office: no record of
# it can be older.
RECORDS_BEGIN = date(2018, 4, 27)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


# Built once, and on the table rather than the ORM class: every dated write runs it.
_MONTHS = SignedOffMonth.__table__
_SIGNED_OFF = select(_MONTHS.c.month).where(_MONTHS.c.month == bindparam("month"))


def signed_off_exists(month_parameter: str) -> Exists:
    """An expression: is the month given as `month_parameter` signed off?"""
    return exists().where(_MONTHS.c.month == bindparam(month_parameter))


def is_signed_off(session: Session, day: date) -> bool:
    return session.connection().execute(_SIGNED_OFF, {"month": month_of(day)}).first() is not None


def first_open_day(session: Session, day: date) -> date:
    """Return `day` if its month is open, else the first day of the first open month after."""
    closed = set(
        session.scalars(select(SignedOffMonth.month).where(SignedOffMonth.month >= month_of(day)))
    )
    if month_of(day) not in closed:
        return day
    month = next_month(month_of(day))
    while month in closed:
        month = next_month(month)
    return month


def ensure_open(session: Session, day: date, field: str | None = None) -> None:
    """Raise ConflictError (naming `field`) when `day` falls in a signed-off month."""
    if is_signed_off(session, day):
        raise ConflictError(
            _l(
                "%(month)s is signed off by the ministry's reviewers and can no longer change; "
                "record a correction in %(open)s, the first open month.",
                month=month_of(day).strftime("%Y-%m"),
                open=first_open_day(session, day).strftime("%Y-%m"),
            ),
            field,
        )
