"""Which months are signed off, and the check every dated write makes before it lands."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.concurrency import LockSpace, advisory_lock, transaction_memo
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


def lock_month(session: Session, day: date, *, exclusive: bool = False) -> None:
    """Hold `day`'s month until the transaction ends: shared by every write dated in it,
    exclusively by its sign-off (see `office.concurrency`)."""
    month = month_of(day)
    advisory_lock(session, LockSpace.MONTH, month.year * 12 + month.month - 1, shared=not exclusive)


def is_signed_off(session: Session, day: date) -> bool:
    """Whether `day`'s month is signed off. A write that acts on the answer locks the month
    first (`lock_month`), or calls `ensure_open`."""
    return signed_off_month(session, day) is not None


def signed_off_month(session: Session, day: date) -> SignedOffMonth | None:
    """The sign-off of `day`'s month, or None while it is open (for pages: a write locks the
    month first, as `is_signed_off` says)."""
    return session.get(SignedOffMonth, month_of(day))


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
    """Raise ConflictError (naming `field`) when `day` falls in a signed-off month; else hold
    the month open (shared) until the transaction ends."""
    if ("open_month", month_of(day)) in transaction_memo(session):
        return  # held open by this transaction already
    lock_month(session, day)
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
    transaction_memo(session)[("open_month", month_of(day))] = True
