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
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, func, select
from sqlalchemy.orm import Session

from office.audit.services import record_event
from office.auth.models import User
from office.auth.permissions import Permission, has_permission
from office.errors import ConflictError, InvalidInput
from office.i18n import _l, format_hs_code, office_date
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
from office.waivers.services import EARLIEST_DATE
from office.waivers.units import MAX_QUANTITY, Unit, amount, convert, parse_quantity, unit_name

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


def classify(
    resource: Resource,
    waiver: Waiver | None,
    line: WaiverLine | None,
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
    if waiver.status is WaiverStatus.EXPIRED or waiver.lapse_on(occurred_on) is not None:
        return Classification.OUTSIDE_VALIDITY
    if line.used_base + base_quantity > (line.granted_base or Decimal(0)):
        return Classification.OVER_CAP
    return Classification.COVERED


def refusal_message(
    classification: Classification,
    resource: Resource,
    waiver: Waiver | None,
    line: WaiverLine | None,
    base_quantity: Decimal,
    occurred_on: date,
) -> Any:
    """Name the waiver, the line and the numbers behind a refusal, and what would fix it."""
    if classification is Classification.UNCOVERED:
        control = _l("prohibited") if resource.control is Control.PROHIBITED else _l("capped")
        return _l(
            "%(name)s (HS %(hs)s) is %(control)s: choose the waiver line that covers it, "
            "or give a reason to record it uncovered.",
            name=resource.shown_name,
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
        left=amount(left, line.unit),
        asked=amount(asked, line.unit),
        **where,
    )


# --- checking the input -------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedDrawdown:
    resource: Resource
    quantity: Decimal
    unit: Unit
    base_quantity: Decimal
    occurred_on: date
    line: WaiverLine | None


def check_drawdown_input(
    resource: Resource,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    line: WaiverLine | None,
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
                ref=line.waiver.reference,
                n=line.line_no,
                other=line.resource.shown_name,
                name=resource.shown_name,
            ),
            field="waiver_line_id",
        )
    base = convert(quantity, unit, resource.unit, resource.barrels_per_tonne)
    if base <= 0:
        raise InvalidInput(
            _l("The quantity is too small to record in %(unit)s.", unit=unit_name(resource.unit)),
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


# Fields added after the first entries were written: hashed only when set, so that every
# entry written before them keeps its hash.
HASHED_WHEN_SET = ("source_id",)


def entry_digest(values: Mapping[str, Any] | RowMapping) -> str:
    """Return the SHA-256 of an entry's content (its values, or its row as read), which
    includes the previous entry's hash."""
    payload = {name: _canonical(values[name]) for name in HASHED_FIELDS}
    payload.update(
        (name, _canonical(values[name])) for name in HASHED_WHEN_SET if values.get(name) is not None
    )
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- writing -----------------------------------------------------------------------------


def lock_line(session: Session, line: WaiverLine) -> WaiverLine:
    """Lock a waiver line and, shared, its waiver (a status change waits for drawdowns in
    flight, and they for it); return the line with both read afresh."""
    session.get(Waiver, line.waiver_id, with_for_update={"read": True}, populate_existing=True)
    session.refresh(line, with_for_update=True)
    return line


def _append(session: Session, values: dict[str, Any]) -> DrawdownEntry:
    """Chain an entry of `values` after the ledger's head and add it to the session."""
    # Held to the commit: it orders every ledger write.
    head = session.get(LedgerHead, 1, with_for_update=True, populate_existing=True)
    assert head is not None, "the ledger's head is created by the migrations"
    head.last_seq += 1
    values = {**values, "seq": head.last_seq, "prev_hash": head.last_hash}
    values["hash"] = head.last_hash = entry_digest(values)
    entry = DrawdownEntry(**values)
    session.add(entry)
    session.flush()
    return entry


# --- recording ----------------------------------------------------------------------------


def record_drawdown(
    session: Session,
    *,
    resource: Resource,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    waiver_line: WaiverLine | None,
    purpose: Purpose | str,
    source: Source | str = Source.MANUAL,
    source_id: int | None = None,
    source_ref: str | None = None,
    note: str = "",
    override_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> DrawdownEntry:
    """Record a drawdown on the ledger and return its entry.

    `source_id` names the record it is drawn for (a manifest line, a fuel receipt, a meter
    reading): the database holds one entry per source. Raises InvalidInput for input that
    makes no sense, ConflictError for a month signed off, and DrawdownRefused when the
    drawdown is not covered and no override (a reason, by a user allowed to override) was
    given.
    """
    checked = check_drawdown_input(
        resource, quantity, unit, occurred_on, waiver_line, today=office_date(now)
    )
    reason = (override_reason or "").strip()[:REASON_MAX_LENGTH] or None
    periods.ensure_open(session, occurred_on, "occurred_on")
    line = lock_line(session, waiver_line) if waiver_line is not None else None
    waiver = line.waiver if line is not None else None
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
    entry = _append(
        session,
        dict(
            resource_id=resource.id,
            quantity=checked.quantity,
            unit=checked.unit,
            base_quantity=checked.base_quantity,
            occurred_on=occurred_on,
            recorded_at=now,
            recorded_by_id=actor.id if actor else None,
            purpose=Purpose(purpose),
            source=Source(source),
            source_id=source_id,
            source_ref=source_ref,
            note=(note or "").strip(),
            waiver_id=waiver.id if waiver else None,
            waiver_line_id=line.id if line else None,
            waiver_status=waiver.status if waiver else None,
            classification=classification,
            flagged=flagged,
            override_reason=reason if flagged else None,
            reverses_id=None,
            reversal_reason=None,
        ),
    )
    if line is not None:
        line.used_base += checked.base_quantity
    # Every entry is on the audit trail, whichever door it came through: a manual or API
    # drawdown has no other event, and one drawn for a receipt or a crossing is its own record.
    record_event(
        session,
        "drawdown.overridden" if flagged else "drawdown.recorded",
        actor=actor,
        target=entry,
        at=now,
        seq=entry.seq,
        resource=resource.code,
        quantity=checked.quantity,
        unit=checked.unit.value,
        source=entry.source.value,
        classification=classification.value,
        **({"reason": reason} if flagged else {}),
    )
    session.flush()
    return entry


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
    # Dated with the entry, unless its month is signed off: then in the first open month.
    occurred_on = periods.first_open_day(session, entry.occurred_on)
    periods.ensure_open(session, occurred_on, "occurred_on")
    line = lock_line(session, entry.waiver_line) if entry.waiver_line is not None else None
    # One reversal at a time looks for an earlier one.
    session.get(LedgerHead, 1, with_for_update=True, populate_existing=True)
    earlier = session.scalar(select(DrawdownEntry).where(DrawdownEntry.reverses_id == entry.id))
    if earlier is not None:
        raise ConflictError(
            _l("Entry %(seq)d was already reversed by entry %(by)d.", seq=entry.seq, by=earlier.seq)
        )
    reversal = _append(
        session,
        dict(
            resource_id=entry.resource_id,
            quantity=-entry.quantity,
            unit=entry.unit,
            base_quantity=-entry.base_quantity,
            occurred_on=occurred_on,
            recorded_at=now,
            recorded_by_id=actor.id if actor else None,
            purpose=entry.purpose,
            source=entry.source,
            source_id=entry.source_id,
            source_ref=entry.source_ref,
            note="",
            waiver_id=entry.waiver_id,
            waiver_line_id=entry.waiver_line_id,
            waiver_status=line.waiver.status if line is not None else None,
            classification=entry.classification,
            flagged=False,
            override_reason=None,
            reverses_id=entry.id,
            reversal_reason=reason,
        ),
    )
    if line is not None:
        line.used_base -= entry.base_quantity
    record_event(
        session,
        "drawdown.reversed",
        actor=actor,
        target=entry,
        at=now,
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


@dataclass(frozen=True)
class ChainWalk:
    checked: int  # entries found whole, from the first
    problem: ChainProblem | None
    hashes: dict[int, str]  # the chain's hash after each entry count asked for, when reached


def walk_chain(session: Session, at: Collection[int] = (), batch: int = 5000) -> ChainWalk:
    """Walk the hash chain; return how many entries were checked, the first problem, and the
    chain's hash after each entry count in `at` that the walk reached whole (0: the genesis)."""
    table = DrawdownEntry.__table__
    wanted = set(at)
    hashes = {0: GENESIS_HASH} if 0 in wanted else {}
    previous, expected, checked = GENESIS_HASH, 1, 0
    # The result streams through a server-side cursor on PostgreSQL: close it on every exit,
    # the early returns included, so the cursor does not outlive the walk.
    with session.execute(
        select(table).order_by(table.c.seq).execution_options(yield_per=batch)
    ) as result:
        for row in result.mappings():
            if row["seq"] != expected:
                return ChainWalk(
                    checked, ChainProblem(expected, f"entry {expected} is missing"), hashes
                )
            if row["prev_hash"] != previous:
                problem = ChainProblem(row["seq"], "does not follow the previous entry")
                return ChainWalk(checked, problem, hashes)
            if entry_digest(row) != row["hash"]:
                problem = ChainProblem(row["seq"], "its content does not match its hash")
                return ChainWalk(checked, problem, hashes)
            previous, expected, checked = row["hash"], expected + 1, checked + 1
            if checked in wanted:
                hashes[checked] = previous
    head = session.get(LedgerHead, 1, populate_existing=True)
    if head is None or head.last_seq != checked or head.last_hash != previous:
        return ChainWalk(
            checked,
            ChainProblem(
                checked + 1, f"the ledger head records {head.last_seq if head else 0} entries"
            ),
            hashes,
        )
    return ChainWalk(checked, None, hashes)


def verify_chain(session: Session, batch: int = 5000) -> tuple[int, ChainProblem | None]:
    """Walk the hash chain; return how many entries were checked and the first problem."""
    walk = walk_chain(session, batch=batch)
    return walk.checked, walk.problem


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


@dataclass(frozen=True)
class DrawnTwice:
    """A record drawn on the ledger by more than one entry."""

    source: Source
    source_ref: str
    seqs: list[int]


def drawn_twice(session: Session) -> list[DrawnTwice]:
    """Return every source with more than one entry drawn for it (reversals aside): by the
    id of the record drawn for, and for manifest lines drawn before entries kept that id, by
    their reference (delivery/line)."""
    standing = DrawdownEntry.reverses_id.is_(None)
    by_id = (
        select(DrawdownEntry.source, DrawdownEntry.source_id)
        .where(standing, DrawdownEntry.source_id.is_not(None))
        .group_by(DrawdownEntry.source, DrawdownEntry.source_id)
        .having(func.count() > 1)
    )
    by_ref = (
        select(DrawdownEntry.source_ref)
        .where(standing, DrawdownEntry.source == Source.DELIVERY)
        .group_by(DrawdownEntry.source_ref)
        .having(func.count() > 1)
    )
    groups: dict[tuple[int, ...], DrawnTwice] = {}
    for source, source_id in session.execute(by_id):
        entries = session.scalars(
            select(DrawdownEntry)
            .where(standing, DrawdownEntry.source == source, DrawdownEntry.source_id == source_id)
            .order_by(DrawdownEntry.seq)
        ).all()
        seqs = [entry.seq for entry in entries]
        groups[tuple(seqs)] = DrawnTwice(source, entries[0].source_ref or f"#{source_id}", seqs)
    for (source_ref,) in session.execute(by_ref):
        seqs = list(
            session.scalars(
                select(DrawdownEntry.seq)
                .where(
                    standing,
                    DrawdownEntry.source == Source.DELIVERY,
                    DrawdownEntry.source_ref == source_ref,
                )
                .order_by(DrawdownEntry.seq)
            )
        )
        assert source_ref is not None, "a crossing's entry names its manifest line"
        groups.setdefault(tuple(seqs), DrawnTwice(Source.DELIVERY, source_ref, seqs))
    return sorted(groups.values(), key=lambda group: group.seqs)
