"""The drawdown ledger's one door.

Every quantity drawn on a waiver, from a manual entry, a delivery crossing, a fuel receipt or
issue, a meter reading or a work order, is recorded by `record_drawdown`. It classifies the
drawdown against the waiver's status at that moment, enforces the line's cap under a lock,
chains the entry's hash to the previous one and updates the line's usage, all in the caller's
transaction. No other code writes ledger rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Literal, Protocol, overload

from sqlalchemy import Connection, bindparam, func, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from office.audit.services import record_event
from office.auth.models import User
from office.auth.permissions import Permission, has_permission
from office.db import Prepared
from office.errors import ConflictError, InvalidInput
from office.i18n import _l, format_hs_code, format_number, office_date
from office.periods import services as periods
from office.waivers.labels import STATUS_LABELS
from office.waivers.models import (
    Classification,
    Control,
    DrawdownEntry,
    LedgerHead,
    Purpose,
    Resource,
    Source,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.services import EARLIEST_DATE, LineRef, ResourceTerms
from office.waivers.units import MAX_QUANTITY, Quantity, Unit, convert, parse_quantity

# A drawdown names its resource and line as loaded objects or as rows of what it reads.
ResourceLike = Resource | ResourceTerms
LineLike = WaiverLine | LineRef

GENESIS_HASH = "0" * 64
RECORDED_PLAINLY = frozenset({Classification.COVERED, Classification.NOT_REQUIRED})
_DENYING = frozenset({WaiverStatus.DENIED, WaiverStatus.REVOKED, WaiverStatus.WITHDRAWN})
_PENDING = frozenset({WaiverStatus.DRAFT, WaiverStatus.REQUESTED})
REASON_MAX_LENGTH = 2000


class DrawdownRefused(ConflictError):
    """The drawdown is not covered and was not overridden; nothing was recorded."""

    def __init__(self, message: Any, classification: Classification) -> None:
        super().__init__(message, field="quantity")
        self.classification = classification


# --- classification -----------------------------------------------------------------------


class WaiverTerms(Protocol):
    """What classifying reads of a waiver: a loaded `Waiver`, or a row of those columns."""

    reference: str
    status: WaiverStatus
    valid_from: date | None
    valid_until: date | None


class LineTerms(Protocol):
    """What classifying reads of a waiver line: a loaded `WaiverLine`, or a row."""

    id: int
    line_no: int
    unit: Unit
    granted_quantity: Decimal | None
    granted_base: Decimal | None
    used_base: Decimal


def classify(
    resource: ResourceLike,
    waiver: WaiverTerms | None,
    line: LineTerms | None,
    base_quantity: Decimal,
    occurred_on: date,
) -> Classification:
    """Return the classification of a drawdown; the first matching rule wins.

    A drawdown that names a waiver line is held to that line whatever the resource's control
    class: the office chose to draw on it, and a waiver's cap holds always.
    """
    if line is None or waiver is None:
        return (
            Classification.NOT_REQUIRED
            if resource.control is Control.NONE
            else (Classification.UNCOVERED)
        )
    if waiver.status in _DENYING or line.granted_quantity == 0:
        return Classification.DENIED
    if waiver.status in _PENDING:
        return Classification.PENDING
    if (
        waiver.status is WaiverStatus.EXPIRED
        or (waiver.valid_from is not None and occurred_on < waiver.valid_from)
        or (waiver.valid_until is not None and occurred_on > waiver.valid_until)
    ):
        return Classification.OUTSIDE_VALIDITY
    if line.used_base + base_quantity > (line.granted_base or Decimal(0)):
        return Classification.OVER_CAP
    return Classification.COVERED


def _amount(quantity: Decimal, unit: Unit) -> str:
    return f"{format_number(quantity)} {unit.value}"


def refusal_message(
    classification: Classification,
    resource: ResourceLike,
    waiver: WaiverTerms | None,
    line: LineTerms | None,
    base_quantity: Decimal,
    occurred_on: date,
) -> Any:
    """Name the waiver, the line and the numbers behind a refusal, and what would fix it."""
    if classification is Classification.UNCOVERED:
        control = _l("prohibited") if resource.control is Control.PROHIBITED else _l("capped")
        return _l(
            "%(name)s (HS %(hs)s) is %(control)s: choose the waiver line that covers it, "
            "or give a reason to record it uncovered.",
            name=resource.name_en,
            hs=format_hs_code(resource.hs_code),
            control=control,
        )
    assert waiver is not None and line is not None
    where = {"ref": waiver.reference, "n": line.line_no}
    if classification is Classification.DENIED:
        if line.granted_quantity == 0:
            return _l(
                "Waiver %(ref)s line %(n)d was granted nothing; it cannot be drawn on.", **where
            )
        return _l(
            "Waiver %(ref)s is %(status)s; line %(n)d cannot be drawn on.",
            status=STATUS_LABELS[waiver.status],
            **where,
        )
    if classification is Classification.PENDING:
        return _l(
            "Waiver %(ref)s is still %(status)s, not granted; line %(n)d cannot be drawn on yet.",
            status=STATUS_LABELS[waiver.status],
            **where,
        )
    if classification is Classification.OUTSIDE_VALIDITY:
        if waiver.status is WaiverStatus.EXPIRED:
            return _l("Waiver %(ref)s has expired; line %(n)d cannot be drawn on.", **where)
        return _l(
            "Waiver %(ref)s is valid from %(start)s to %(end)s; this drawdown is dated %(date)s.",
            ref=waiver.reference,
            start=waiver.valid_from.isoformat() if waiver.valid_from else "-",
            end=waiver.valid_until.isoformat() if waiver.valid_until else "-",
            date=occurred_on.isoformat(),
        )
    # over the cap: in the line's own unit
    left = convert(
        max((line.granted_base or Decimal(0)) - line.used_base, Decimal(0)),
        resource.unit,
        line.unit,
        resource.barrels_per_tonne,
    )
    asked = convert(base_quantity, resource.unit, line.unit, resource.barrels_per_tonne)
    return _l(
        "Waiver %(ref)s line %(n)d has %(left)s left; this drawdown asks for %(asked)s.",
        left=_amount(left, line.unit),
        asked=_amount(asked, line.unit),
        **where,
    )


# --- checking the input -------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedDrawdown:
    resource: ResourceLike
    quantity: Decimal
    unit: Unit
    base_quantity: Decimal
    occurred_on: date
    line: LineLike | None


def check_drawdown_input(
    resource: ResourceLike,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    line: LineLike | None,
    *,
    today: date,
) -> CheckedDrawdown:
    """Validate a drawdown's input; raise InvalidInput naming the field at fault."""
    try:
        unit = Unit(unit)
    except ValueError:
        raise InvalidInput(_l("Unknown unit %(unit)s.", unit=str(unit)[:20]), "unit") from None
    quantity = parse_quantity(quantity, unit=unit)
    if occurred_on > today:
        raise InvalidInput(
            _l(
                "%(date)s is in the future; record a drawdown once it has happened.",
                date=occurred_on.isoformat(),
            ),
            field="occurred_on",
        )
    if occurred_on < EARLIEST_DATE:
        raise InvalidInput(_l("Enter a date from 2000-01-01 on."), field="occurred_on")
    if line is not None and line.resource_id != resource.id:
        raise InvalidInput(
            _l(
                "Waiver %(ref)s line %(n)d is for %(other)s, not %(name)s.",
                ref=line.waiver_reference,
                n=line.line_no,
                other=line.resource_name,
                name=resource.name_en,
            ),
            field="waiver_line_id",
        )
    base = convert(quantity, unit, resource.unit, resource.barrels_per_tonne)
    if base <= 0:
        raise InvalidInput(
            _l("The quantity is too small to record in %(unit)s.", unit=resource.unit.value),
            field="quantity",
        )
    if base >= MAX_QUANTITY:
        raise InvalidInput(_l("The quantity is too large."), field="quantity")
    return CheckedDrawdown(resource, quantity, unit, base, occurred_on, line)


# --- preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    classification: Classification
    base_quantity: Decimal
    message: Any | None
    remaining_before: Decimal | None  # in the line's unit
    remaining_after: Decimal | None

    @property
    def needs_override(self) -> bool:
        return self.classification not in RECORDED_PLAINLY


def preview_drawdown(checked: CheckedDrawdown) -> Preview:
    """Tell what recording `checked` now would give, without recording or locking anything."""
    line = checked.line
    waiver = line.waiver if line is not None else None
    classification = classify(
        checked.resource, waiver, line, checked.base_quantity, checked.occurred_on
    )
    message = None
    if classification not in RECORDED_PLAINLY:
        message = refusal_message(
            classification,
            checked.resource,
            waiver,
            line,
            checked.base_quantity,
            checked.occurred_on,
        )
    before = after = None
    if line is not None and line.granted_base is not None:
        resource = checked.resource
        before = convert(
            line.granted_base - line.used_base, resource.unit, line.unit, resource.barrels_per_tonne
        )
        after = convert(
            line.granted_base - line.used_base - checked.base_quantity,
            resource.unit,
            line.unit,
            resource.barrels_per_tonne,
        )
    return Preview(classification, checked.base_quantity, message, before, after)


# --- the hash chain -----------------------------------------------------------------------

HASHED_FIELDS = (
    "seq",
    "resource_id",
    "quantity",
    "unit",
    "base_quantity",
    "occurred_on",
    "recorded_at",
    "recorded_by_id",
    "purpose",
    "source",
    "source_ref",
    "note",
    "waiver_id",
    "waiver_line_id",
    "waiver_status",
    "classification",
    "flagged",
    "override_reason",
    "reverses_id",
    "reversal_reason",
    "prev_hash",
)


_PLAIN = frozenset({str, int, bool, type(None)})


def _canonical(value: Any) -> Any:
    if type(value) in _PLAIN:  # most fields: as they are (not enums, whose type is their own)
        return value
    if isinstance(value, Decimal):
        return f"{value:.6f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def entry_digest(values: Mapping[str, Any]) -> str:
    """Return the SHA-256 of an entry's content, which includes the previous entry's hash."""
    payload = {name: _canonical(values[name]) for name in HASHED_FIELDS}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- writing -----------------------------------------------------------------------------
# Every drawdown of every feature runs these statements, so they are built and compiled once
# and run on the driver's cursor (see `Prepared`).

_HEAD = LedgerHead.__table__
_WAIVERS = Waiver.__table__
_LINES = WaiverLine.__table__
_ENTRIES = DrawdownEntry.__table__
_ENTRY_COLUMNS = tuple(column.key for column in _ENTRIES.c if column.key != "id")
_INSERT_ENTRY = Prepared(
    _ENTRIES.insert()
    .values({name: bindparam(name) for name in _ENTRY_COLUMNS})
    .returning(_ENTRIES.c.id)
)
# The waiver is shared-locked so a status change waits for drawdowns in flight (and the other
# way round); the line is locked so two drawdowns never both pass its cap. Both are read as
# rows of the columns classifying needs: loading them as objects would cost more.
_LOCK_WAIVER = Prepared(
    select(
        _WAIVERS.c.id,
        _WAIVERS.c.reference,
        _WAIVERS.c.status,
        _WAIVERS.c.valid_from,
        _WAIVERS.c.valid_until,
    )
    .where(_WAIVERS.c.id == bindparam("id"))
    .with_for_update(read=True)
)
_LOCK_LINE = Prepared(
    select(
        _LINES.c.id,
        _LINES.c.line_no,
        _LINES.c.unit,
        _LINES.c.granted_quantity,
        _LINES.c.granted_base,
        _LINES.c.used_base,
    )
    .where(_LINES.c.id == bindparam("id"))
    .with_for_update()
)
# SQLite serialises every write transaction, so there is no row to lock and no order to keep
# between these reads: each pair is one statement there.
_READ_TERMS = Prepared(
    select(
        *_LOCK_LINE.statement.selected_columns,  # type: ignore[attr-defined]
        *(
            column
            for column in _LOCK_WAIVER.statement.selected_columns  # type: ignore[attr-defined]
            if column.key != "id"
        ),
    )
    .join_from(_LINES, _WAIVERS, _LINES.c.waiver_id == _WAIVERS.c.id)
    .where(_LINES.c.id == bindparam("id"))
)
_LOCK_HEAD = select(_HEAD.c.last_seq).where(_HEAD.c.id == 1).with_for_update()
# Moving the head locks it until commit, which orders every ledger write.
_NEXT_SEQ = (
    _HEAD.update()
    .where(_HEAD.c.id == 1)
    .values(last_seq=_HEAD.c.last_seq + 1)
    .returning(_HEAD.c.last_seq, _HEAD.c.last_hash)
)
_MOVE_HEAD = Prepared(_NEXT_SEQ)
_MOVE_HEAD_SEEING_MONTH = Prepared(
    _NEXT_SEQ.returning(periods.signed_off_exists("month").label("closed"))
)
_SEAL_HEAD = Prepared(_HEAD.update().where(_HEAD.c.id == 1).values(last_hash=bindparam("hash")))
_LINE_MAPPER = inspect(WaiverLine)
_ADD_USE = Prepared(
    _LINES.update()
    .where(_LINES.c.id == bindparam("line_id"))
    .values(used_base=_LINES.c.used_base + bindparam("amount", type_=Quantity()))
)
_REVERSAL_OF = select(DrawdownEntry).where(DrawdownEntry.reverses_id == bindparam("id"))


def _lock_line(
    connection: Connection, waiver_id: int, line_id: int
) -> tuple[WaiverTerms, LineTerms]:
    """Lock a waiver line and its waiver; return their current terms."""
    if connection.dialect.name == "sqlite":
        terms = _READ_TERMS.one(connection, {"id": line_id})
        return terms, terms
    waiver = _LOCK_WAIVER.one(connection, {"id": waiver_id})
    line = _LOCK_LINE.one(connection, {"id": line_id})
    return waiver, line  # type: ignore[return-value]


def _add_use(session: Session, connection: Connection, line: LineTerms, amount: Decimal) -> None:
    """Add `amount` to the locked line's kept use, also on the line the session has loaded."""
    _ADD_USE.rows(connection, {"line_id": line.id, "amount": amount})
    loaded = session.identity_map.get(_LINE_MAPPER.identity_key_from_primary_key([line.id]))
    if loaded is not None:
        set_committed_value(loaded, "used_base", line.used_base + amount)


def _append(
    session: Session, connection: Connection, values: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Chain an entry of `values` after the current head and insert it; return its id and
    its values, the chain's among them.

    The row is written by one INSERT rather than by the session's flush, whose unit of work
    costs more than all the rest of a drawdown.
    """
    day = values["occurred_on"]
    if connection.dialect.name == "sqlite":
        month = {"month": periods.month_of(day)}
        seq, prev_hash, closed = _MOVE_HEAD_SEEING_MONTH.one(connection, month)
        if closed:
            periods.ensure_open(session, day, "occurred_on")  # refuses, naming the open month
    else:
        seq, prev_hash = _MOVE_HEAD.one(connection)
        # Checked under the head's lock, which a month's sign-off takes too.
        periods.ensure_open(session, day, "occurred_on")
    values = {**values, "seq": seq, "prev_hash": prev_hash}
    values["hash"] = entry_digest(values)
    _SEAL_HEAD.rows(connection, {"hash": values["hash"]})
    (entry_id,) = _INSERT_ENTRY.one(connection, values)
    return entry_id, values


def _attached(
    session: Session, entry_id: int, values: dict[str, Any], resource: ResourceLike
) -> DrawdownEntry:
    """Return the entry just inserted as a `DrawdownEntry` the session holds as that row."""
    entry = DrawdownEntry(id=entry_id, **values)
    if isinstance(resource, Resource):  # not a row of its terms: the entry holds it loaded
        entry.resource = resource
    make_transient_to_detached(entry)
    # An object left in the session by a rolled-back insert may hold this id: it was never
    # a row, so it gives way.
    stale = session.identity_map.get(session.identity_key(DrawdownEntry, entry_id))
    if stale is not None:
        session.expunge(stale)
    session.add(entry)
    return entry


# --- recording ----------------------------------------------------------------------------


class RecordedEntry(SimpleNamespace):
    """An entry as `record_drawdown(..., attach=False)` wrote it: the attributes of its
    `DrawdownEntry`, its resource among them, for a caller that only reports it (the API).
    Building the mapped object and attaching it to the session costs a fifth of recording."""


@overload
def record_drawdown(
    session: Session,
    *,
    resource: ResourceLike,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    waiver_line: LineLike | None,
    purpose: Purpose | str,
    source: Source | str = ...,
    source_ref: str | None = ...,
    note: str = ...,
    override_reason: str | None = ...,
    actor: User | None,
    now: datetime,
    attach: Literal[True] = ...,
) -> DrawdownEntry: ...


@overload
def record_drawdown(
    session: Session,
    *,
    resource: ResourceLike,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    waiver_line: LineLike | None,
    purpose: Purpose | str,
    source: Source | str = ...,
    source_ref: str | None = ...,
    note: str = ...,
    override_reason: str | None = ...,
    actor: User | None,
    now: datetime,
    attach: Literal[False],
) -> RecordedEntry: ...


def record_drawdown(
    session: Session,
    *,
    resource: ResourceLike,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    waiver_line: LineLike | None,
    purpose: Purpose | str,
    source: Source | str = Source.MANUAL,
    source_ref: str | None = None,
    note: str = "",
    override_reason: str | None = None,
    actor: User | None,
    now: datetime,
    attach: bool = True,
) -> DrawdownEntry | RecordedEntry:
    """Record a drawdown on the ledger and return its entry (with `attach=False`, only its
    values: see `RecordedEntry`).

    Raises InvalidInput for input that makes no sense, and DrawdownRefused when the drawdown
    is not covered and no override (a reason, by a user allowed to override) was given.
    """
    checked = check_drawdown_input(
        resource, quantity, unit, occurred_on, waiver_line, today=office_date(now)
    )
    reason = (override_reason or "").strip()[:REASON_MAX_LENGTH] or None
    session.flush()  # the statements below see what the caller has pending, as queries would
    connection = session.connection()
    waiver = line = None
    if waiver_line is not None:
        waiver, line = _lock_line(connection, waiver_line.waiver_id, waiver_line.id)
    classification = classify(resource, waiver, line, checked.base_quantity, occurred_on)
    flagged = classification not in RECORDED_PLAINLY
    if flagged:
        message = refusal_message(
            classification, resource, waiver, line, checked.base_quantity, occurred_on
        )
        if reason is None:
            raise DrawdownRefused(message, classification)
        if actor is None or not has_permission(actor, Permission.OVERRIDE_DRAWDOWN):
            raise DrawdownRefused(
                _l(
                    "%(refusal)s Only an office administrator can record it anyway.",
                    refusal=message,
                ),
                classification,
            )
    values = dict(
        resource_id=resource.id,
        quantity=checked.quantity,
        unit=checked.unit,
        base_quantity=checked.base_quantity,
        occurred_on=occurred_on,
        recorded_at=now,
        recorded_by_id=actor.id if actor else None,
        purpose=Purpose(purpose),
        source=Source(source),
        source_ref=source_ref,
        note=(note or "").strip(),
        waiver_id=waiver_line.waiver_id if waiver_line else None,
        waiver_line_id=line.id if line else None,
        waiver_status=waiver.status if waiver else None,
        classification=classification,
        flagged=flagged,
        override_reason=reason if flagged else None,
        reverses_id=None,
        reversal_reason=None,
    )
    entry_id, values = _append(session, connection, values)
    if line is not None:
        _add_use(session, connection, line, checked.base_quantity)
    if flagged or attach:
        entry = _attached(session, entry_id, values, resource)
    if flagged:
        record_event(
            session,
            "drawdown.overridden",
            actor=actor,
            target=entry,
            classification=classification.value,
            reason=reason,
        )
        session.flush()
    return entry if attach else RecordedEntry(id=entry_id, resource=resource, **values)


def reverse_entry(
    session: Session, entry: DrawdownEntry, *, reason: str, actor: User | None, now: datetime
) -> DrawdownEntry:
    """Record the reversal of `entry` (its negative, linked to it) and return it.

    Raises InvalidInput without a reason, ConflictError for a reversal or an entry already
    reversed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_l("Give the reason for the reversal."), field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput(
            _l("The reason can have at most %(n)d characters.", n=REASON_MAX_LENGTH), "reason"
        )
    if entry.reverses_id is not None:
        raise ConflictError(
            _l(
                "Entry %(seq)d is itself a reversal and cannot be reversed; record a new "
                "drawdown instead.",
                seq=entry.seq,
            )
        )
    session.flush()  # the statements below see what the caller has pending, as queries would
    connection = session.connection()
    waiver = line = None
    if entry.waiver_line_id is not None:
        assert entry.waiver_id is not None
        waiver, line = _lock_line(connection, entry.waiver_id, entry.waiver_line_id)
    session.execute(_LOCK_HEAD)  # one reversal at a time looks for an earlier one
    earlier = session.execute(_REVERSAL_OF, {"id": entry.id}).scalar()
    if earlier is not None:
        raise ConflictError(
            _l("Entry %(seq)d was already reversed by entry %(by)d.", seq=entry.seq, by=earlier.seq)
        )
    values = dict(
        resource_id=entry.resource_id,
        quantity=-entry.quantity,
        unit=entry.unit,
        base_quantity=-entry.base_quantity,
        # Dated with the entry, unless its month is signed off: then in the first open month.
        occurred_on=periods.first_open_day(session, entry.occurred_on),
        recorded_at=now,
        recorded_by_id=actor.id if actor else None,
        purpose=entry.purpose,
        source=entry.source,
        source_ref=entry.source_ref,
        note="",
        waiver_id=entry.waiver_id,
        waiver_line_id=entry.waiver_line_id,
        waiver_status=waiver.status if waiver else None,
        classification=entry.classification,
        flagged=False,
        override_reason=None,
        reverses_id=entry.id,
        reversal_reason=reason,
    )
    reversal = _attached(session, *_append(session, connection, values), entry.resource)
    if line is not None:
        _add_use(session, connection, line, -entry.base_quantity)
    record_event(
        session,
        "drawdown.reversed",
        actor=actor,
        target=entry,
        reversal_seq=reversal.seq,
        reason=reason,
    )
    session.flush()
    return reversal


# --- checking the whole ledger ------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    reason: str


def verify_chain(session: Session, batch: int = 5000) -> tuple[int, ChainProblem | None]:
    """Walk the hash chain; return how many entries were checked and the first problem."""
    table = DrawdownEntry.__table__
    previous, expected, checked = GENESIS_HASH, 1, 0
    # The result streams through a server-side cursor on PostgreSQL: close it on every exit,
    # the early returns included, so the cursor does not outlive the walk.
    with session.execute(
        select(table).order_by(table.c.seq).execution_options(yield_per=batch)
    ) as result:
        row: Mapping[str, Any]
        for row in result.mappings():
            if row["seq"] != expected:
                return checked, ChainProblem(expected, f"entry {expected} is missing")
            if row["prev_hash"] != previous:
                return checked, ChainProblem(row["seq"], "does not follow the previous entry")
            if entry_digest(row) != row["hash"]:
                return checked, ChainProblem(row["seq"], "its content does not match its hash")
            previous, expected, checked = row["hash"], expected + 1, checked + 1
    head = session.get(LedgerHead, 1, populate_existing=True)
    if head is None or head.last_seq != checked or head.last_hash != previous:
        return checked, ChainProblem(
            checked + 1, f"the ledger head records {head.last_seq if head else 0} entries"
        )
    return checked, None


@dataclass(frozen=True)
class UsageDifference:
    line: WaiverLine
    stored: Decimal
    actual: Decimal


def check_usage(session: Session) -> list[UsageDifference]:
    """Recompute every line's use from the ledger; return the lines whose stored use differs."""
    sums = dict(
        session.execute(
            select(DrawdownEntry.waiver_line_id, func.sum(DrawdownEntry.base_quantity))
            .where(DrawdownEntry.waiver_line_id.is_not(None))
            .group_by(DrawdownEntry.waiver_line_id)
        ).all()
    )
    differences = []
    for line in session.scalars(select(WaiverLine).order_by(WaiverLine.id)):
        actual = Decimal(sums.get(line.id) or 0)
        if actual != line.used_base:
            differences.append(UsageDifference(line, line.used_base, actual))
    return differences
