"""What several people writing at once may rely on: the contract every service follows.

PostgreSQL, the production database, runs every transaction at READ COMMITTED, its default.
A service that checks something and then acts on it (a state, a stock, a cap, the last
reading, whether a day has its log) first locks the row that the check is about, with
`SELECT ... FOR UPDATE` and the session's copy refreshed (`populate_existing`), and checks
after the lock. PostgreSQL returns a locked row as last committed, so the check still holds
when the write lands. Two requests that want one row wait in line; neither fails.

Locks are taken in this order, each service from its root down, never a higher one after a
lower one:

0. the request's form token or Idempotency-Key (`office.once`, `office.api.idempotency`),
   recorded before the view runs, under a unique index: a second request with the same one
   waits there, holding nothing yet, until the first ends, then is run again and finds it;
1. the month of the date written (a PostgreSQL advisory lock: shared by every write dated
   in it, exclusive by its sign-off, `office.periods.services`); and the email of a login
   attempt, then its client network (exclusive, `office.auth.services.lock_login`);
2. the day's log (`daily_logs`, one row per day, created on the first write of the day);
3. the record acted on: a delivery (also when a document is attached to one of its lines),
   a stock movement being voided, a meter, a generator, a work order, a review item (also
   when its thread's first document opens it), a document replaced or withdrawn, a waiver
   whose lines or status change, the catalogue (an
   advisory lock: resources and HS rules, whose control classes follow each other), the
   active superusers, a user's two-factor credential (then the recovery code spent); for
   staffing, the side's rules row (every change to a side's roster,
   stays, duty, plans and crossing lists), then its people in id order;
4. stores (tanks, the materials store), in id order, then their lots, oldest first;
5. waivers (shared: a change of status, validity or standing waits for drawdowns in
   flight), then waiver lines, in id order; a drawdown that draws on a standing
   authorisation takes its waiver shared as it chooses the line, before the others
   (`office.waivers.ledger.locked_standing_line`): a shared lock waits only for a waiver's
   exclusive holder (3.), who takes nothing after it that a drawdown holds;
6. the ledger's head, which orders every ledger write (shared: a signed checkpoint of it).

The month lock is the one exception to "in order": its only exclusive holder, the sign-off,
takes no other lock but the ledger's head, shared, to sign it (`office.waivers.checkpoints`);
so a service may take the month lock wherever it checks the month, as long as it does not
hold the ledger's head then (a crossing's later lines take again the month it already holds).

Why not SERIALIZABLE: every drawdown moves the ledger's head, a single row. Under
SERIALIZABLE every two drawdowns that overlap conflict, one is rolled back and run again, so
ten at once cost some fifty attempts, and a limit on retries turns ordinary load into
refusals. In line behind a row lock, each runs once.

What must never happen twice is also refused by the database, whatever the code above it
does: one ledger entry per source (a manifest line, a fuel receipt, a meter reading), one lot
per ledger entry, one reversal per entry, one log per day, one void per movement or reading.

A request that still meets a deadlock, a serialization failure or a unique violation (two
requests inserting the same day's log, say) is rolled back and run again whole, up to
`ATTEMPTS` times; the second run sees what the other committed. If it still fails, the user
reads that someone else changed the same thing at the same moment (HTML 409, or a 409
problem detail from the API), and nothing of the request was written.

SQLite, the embedded default, runs one writing transaction at a time (BEGIN IMMEDIATE, see
`office.db`): the same code is correct there, its locks are no-ops.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import zlib
from collections.abc import Hashable
from enum import IntEnum
from typing import Any

from flask import Flask, request
from flask.typing import RouteCallable
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from office.db import SAFE_METHODS, db
from office.errors import ConflictError
from office.i18n import _l

logger = logging.getLogger(__name__)

ATTEMPTS = 3
# PostgreSQL's codes for a serialization failure, a deadlock and a unique violation.
_PG_CONFLICTS = frozenset({"40001", "40P01", "23505"})
# SQLite's: the database stayed locked past the busy timeout; a unique or primary key clash.
_SQLITE_CONFLICTS = frozenset(
    {"SQLITE_BUSY", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
)


class LockSpace(IntEnum):
    """The first key of an advisory lock: what its second key counts."""

    MONTH = 1  # months since year 0
    LOGIN = 2  # the CRC-32 of a normalised email, or of "network " and a client network
    CATALOGUE = 3  # 0: the resources and HS rules, whose control classes follow each other
    JOB = 4  # the CRC-32 of a job's owner and kind: one job asked for at a time


class ConcurrentChange(ConflictError):
    """Another request changed the same records at the same moment, again and again."""

    def __init__(self) -> None:
        super().__init__(
            _l(
                "Someone else changed the same records at the same moment, so nothing of "
                "yours was saved. Check the page as it is now and try again."
            )
        )


def advisory_lock(session: Session, space: LockSpace, key: int, *, shared: bool = False) -> None:
    """Hold a PostgreSQL advisory lock on (`space`, `key`) until the transaction ends.

    SQLite runs one writer at a time, so there it does nothing.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    session.execute(select(lock(int(space), key)))


def transaction_memo(session: Session) -> dict[Hashable, Any]:
    """What the session's current transaction has taken (locks, held until it ends) or read
    once, noted so that a write repeated within it (a crossing's hundreds of drawdowns) does
    not take it again. Kept per innermost transaction: a savepoint rolled back releases the
    locks taken under it, and a new transaction starts with nothing noted."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    kept = session.info.get("office.transaction_memo")
    if kept is None or kept[0] is not transaction or transaction is None:
        kept = (transaction, {})
        session.info["office.transaction_memo"] = kept
    memo: dict[Hashable, Any] = kept[1]
    return memo


def text_key(value: str) -> int:
    """An advisory lock's second key for a string: a 32-bit signed integer."""
    return zlib.crc32(value.encode("utf-8")) - 2**31


def is_conflict(exc: BaseException) -> bool:
    """Whether `exc` is the database refusing a write because of another one at once."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_CONFLICTS
    return getattr(orig, "sqlite_errorname", None) in _SQLITE_CONFLICTS


def retrying(view: RouteCallable) -> RouteCallable:
    """Wrap a view so that a writing request is run again whole after a conflict.

    Raises ConcurrentChange when the last attempt meets one too.
    """

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            return view(*args, **kwargs)
        attempt = 1
        while True:
            try:
                return view(*args, **kwargs)
            except DBAPIError as exc:
                if not is_conflict(exc):
                    raise
                db.session.rollback()
                logger.info(
                    "%s %s: conflict on attempt %d: %s",
                    request.method,
                    request.path,
                    attempt,
                    exc.orig,
                )
                if attempt == ATTEMPTS:
                    raise ConcurrentChange() from exc
            # A few milliseconds apart, so requests that met once do not meet again.
            time.sleep(random.uniform(0.005, 0.02) * attempt)
            attempt += 1

    return run


def retry_writes(app: Flask) -> None:
    """Make every view of `app` run again whole after a conflict, when it writes."""
    for endpoint, view in app.view_functions.items():
        if endpoint != "static":
            app.view_functions[endpoint] = retrying(view)
