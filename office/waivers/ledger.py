"""The drawdown ledger's one door.

Every quantity drawn north, from a manual entry, a delivery crossing, a fuel receipt or
issue, a meter reading or a work order, is recorded by `record_drawdown` (many at once, a
head-end's batch, by `record_drawdowns`, the same door). It screens the drawdown under every
regime in force: each regime that controls the resource needs a line of an authorisation
under it (named by the caller, or the regime's standing blanket approval), classified against
its waiver's status at that moment with its cap enforced under a lock. The entry is
classified as the worst of its regimes, chained to the previous entry's hash with every
regime's line, status and classification, and each line's usage is updated, all in the
caller's transaction. No other code writes ledger rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, func, insert, select
from sqlalchemy.orm import Session

from office.alerts.models import NoticeKind
from office.alerts.services import raise_notice
from office.audit.services import record_event
from office.auth.models import User
from office.auth.permissions import Permission, has_permission
from office.concurrency import transaction_memo
from office.errors import ConflictError, InvalidInput
from office.i18n import LazyText, _l, format_hs_code, office_date
from office.periods import services as periods
from office.waivers.labels import STATUS_LABELS
from office.waivers.models import (
    Classification,
    Control,
    DrawdownEntry,
    EntryScreening,
    LedgerHead,
    Purpose,
    Regime,
    Resource,
    Source,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.regimes import control_under, regimes_in_force, standing_line
from office.waivers.services import EARLIEST_DATE
from office.waivers.units import MAX_QUANTITY, Unit, amount, convert, parse_quantity, unit_name

GENESIS_HASH = "0" * 64
RECORDED_PLAINLY = frozenset({Classification.COVERED, Classification.NOT_REQUIRED})
_DENYING = frozenset({WaiverStatus.DENIED, WaiverStatus.REVOKED, WaiverStatus.WITHDRAWN})
_PENDING = frozenset({WaiverStatus.DRAFT, WaiverStatus.REQUESTED})
REASON_MAX_LENGTH = 2000


# Worst first: an entry's classification is the first of these any of its regimes has.
WORST_FIRST = (
    Classification.UNCOVERED,
    Classification.DENIED,
    Classification.PENDING,
    Classification.OUTSIDE_VALIDITY,
    Classification.OVER_CAP,
    Classification.COVERED,
    Classification.NOT_REQUIRED,
)


def worst(classifications: Collection[Classification]) -> Classification:
    """The overall classification of an entry classified `classifications` by its regimes."""
    return min(classifications, key=WORST_FIRST.index, default=Classification.NOT_REQUIRED)


class DrawdownRefused(ConflictError):
    """The drawdown is not covered under every regime and was not overridden; nothing was
    recorded. `regimes` holds each regime's screening."""

    def __init__(
        self,
        message: Any,
        classification: Classification,
        regimes: Collection[RegimeScreening] = (),
    ) -> None:
        super().__init__(message, field="quantity")
        self.classification = classification
        self.regimes = list(regimes)
        self.checked: CheckedDrawdown | None = None

    def message_of(self, screening: RegimeScreening) -> Any | None:
        """What refuses the drawdown under one regime (None if that regime does not)."""
        return screening.message(self.checked) if self.checked is not None else None


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
    return classify_line(waiver, line, base_quantity, occurred_on)


def classify_line(
    waiver: Waiver, line: WaiverLine, base_quantity: Decimal, occurred_on: date
) -> Classification:
    """Classify a drawdown of `base_quantity` on `line` (of `waiver`) on `occurred_on`."""
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
    control: Control | None = None,
) -> Any:
    """Name the waiver, the line and the numbers behind a refusal, and what would fix it."""
    if classification is Classification.UNCOVERED:
        control = control or resource.control
        if control is Control.APPROVAL:
            return _l(
                "%(name)s (HS %(hs)s) needs an approval: choose the line that covers it, "
                "or give a reason to record it uncovered.",
                name=resource.shown_name,
                hs=format_hs_code(resource.hs_code),
            )
        control = _l("prohibited") if control is Control.PROHIBITED else _l("capped")
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
        resource.effective_barrels_per_tonne,
    )
    asked = convert(base_quantity, resource.unit, line.unit, resource.effective_barrels_per_tonne)
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
    # The lines named, at most one per regime.
    lines: tuple[WaiverLine, ...] = ()

    @property
    def line(self) -> WaiverLine | None:
        return self.lines[0] if self.lines else None


def check_drawdown_input(
    resource: Resource,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    line: WaiverLine | None,
    *,
    today: date,
    authorisations: Sequence[WaiverLine] = (),
) -> CheckedDrawdown:
    """Validate a drawdown's input; raise InvalidInput naming the field at fault.

    `line` is the short form of `authorisations` (the lines named, one per regime)."""
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
    lines = list(authorisations)
    if line is not None and line not in lines:
        lines.insert(0, line)
    by_regime: dict[int, WaiverLine] = {}
    for named in lines:
        # Named beside the line: the short form's field, or the regime's in `authorisations`.
        field = (
            "waiver_line_id" if not authorisations else f"authorisations.{named.waiver.regime.code}"
        )
        if named.resource_id != resource.id:
            raise InvalidInput(
                _l(
                    "Waiver %(ref)s line %(n)d is for %(other)s, not %(name)s.",
                    ref=named.waiver.reference,
                    n=named.line_no,
                    other=named.resource.shown_name,
                    name=resource.shown_name,
                ),
                field=field,
            )
        other = by_regime.setdefault(named.waiver.regime_id, named)
        if other is not named:
            raise InvalidInput(
                _l(
                    "Name one line under %(regime)s, not two (%(a)s line %(n)d and %(b)s "
                    "line %(m)d).",
                    regime=named.waiver.regime.shown_name,
                    a=other.waiver.reference,
                    n=other.line_no,
                    b=named.waiver.reference,
                    m=named.line_no,
                ),
                field=field,
            )
    base = convert(quantity, unit, resource.unit, resource.effective_barrels_per_tonne)
    if base <= 0:
        raise InvalidInput(
            _l("The quantity is too small to record in %(unit)s.", unit=unit_name(resource.unit)),
            field="quantity",
        )
    if base >= MAX_QUANTITY:
        raise InvalidInput(_l("The quantity is too large."), field="quantity")
    return CheckedDrawdown(resource, quantity, unit, base, occurred_on, tuple(lines))


# --- screening under every regime -----------------------------------------------------------


@dataclass(frozen=True)
class RegimeScreening:
    """A drawdown under one regime: the resource's control there, the line it draws on (named,
    or the regime's standing approval) and the classification."""

    regime: Regime
    control: Control
    line: WaiverLine | None
    standing: bool
    classification: Classification

    @property
    def waiver(self) -> Waiver | None:
        return self.line.waiver if self.line is not None else None

    @property
    def refuses(self) -> bool:
        return self.classification not in RECORDED_PLAINLY

    def message(self, checked: CheckedDrawdown) -> Any | None:
        """What refuses the drawdown under this regime, with the numbers; None if nothing."""
        if not self.refuses:
            return None
        return refusal_message(
            self.classification,
            checked.resource,
            self.waiver,
            self.line,
            checked.base_quantity,
            checked.occurred_on,
            self.control,
        )

    def remaining(self, checked: CheckedDrawdown) -> tuple[Decimal | None, Decimal | None]:
        """What the line has left before and after the drawdown, in the line's unit."""
        line = self.line
        if line is None or line.granted_base is None:
            return None, None
        resource = checked.resource
        left = line.granted_base - line.used_base
        return (
            convert(left, resource.unit, line.unit, resource.effective_barrels_per_tonne),
            convert(
                left - checked.base_quantity,
                resource.unit,
                line.unit,
                resource.effective_barrels_per_tonne,
            ),
        )


def share_waivers(session: Session, waiver_ids: Collection[int]) -> None:
    """Lock waivers shared, in id order, and read them afresh: while it is held, none of
    them changes (status, validity, standing), and drawdowns do not wait for each other."""
    session.scalars(
        select(Waiver)
        .where(Waiver.id.in_(sorted(waiver_ids)))
        .order_by(Waiver.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).all()


def locked_standing_line(
    session: Session, regime: Regime, resource: Resource, day: date, base_quantity: Decimal
) -> WaiverLine | None:
    """`standing_line`, chosen under its waiver's shared lock: a waiver drawn on as standing
    stays standing, granted and valid until the drawdown commits.

    The line is chosen, its waiver locked, then chosen again, until the line chosen is of a
    waiver locked already: the second choice reads the waiver as last committed, under the
    lock, so a change that committed between the first choice and the lock (no longer
    standing, revoked, its validity moved) makes it choose another waiver's line, or none
    (the regime is then uncovered), and a change that comes later waits for the commit
    (`services.update_waiver` locks the waiver exclusively).

    Why this order and not a check after `lock_lines`: the lines are locked in one round, in
    id order, so that two drawdowns never wait for each other in a circle; a second round
    for a line chosen again after holding others would break that order. Waivers are locked
    shared only, which no drawdown's lock conflicts with; those who lock one exclusively (a
    change of its status, lines or standing) hold nothing else a drawdown takes, so taking
    waivers one by one here, and before the lines, makes no circle either. A waiver locked
    and then not chosen stays locked to the commit: a change of it waits that long."""
    held: set[int] = set()
    while True:
        line = standing_line(session, regime, resource, day, base_quantity)
        if line is None or line.waiver_id in held:
            return line
        share_waivers(session, [line.waiver_id])
        held.add(line.waiver_id)


def lock_lines(session: Session, lines: Collection[WaiverLine]) -> None:
    """Lock waiver lines and, shared, their waivers (a status change waits for drawdowns in
    flight, and they for it), each in id order so that two drawdowns on the same lines never
    wait for each other in a circle; every line and waiver is read afresh."""
    held = transaction_memo(session).get("locked_lines", frozenset())
    lines = [line for line in lines if line.id not in held]  # held, and current, until the end
    if not lines:
        return
    share_waivers(session, {line.waiver_id for line in lines})
    session.scalars(
        select(WaiverLine)
        .where(WaiverLine.id.in_(sorted({line.id for line in lines})))
        .order_by(WaiverLine.id)
        .with_for_update(of=WaiverLine)
        .execution_options(populate_existing=True)
    ).all()
    memo = transaction_memo(session)
    memo["locked_lines"] = memo.get("locked_lines", frozenset()) | {line.id for line in lines}


def lock_line(session: Session, line: WaiverLine) -> WaiverLine:
    """Lock one waiver line (and, shared, its waiver); return it read afresh."""
    lock_lines(session, [line])
    return line


def screen(session: Session, checked: CheckedDrawdown, *, lock: bool) -> list[RegimeScreening]:
    """Screen a drawdown under every regime in force (and under the regime of each line
    named, in force or not: a line named holds whatever the resource's control), in the
    regimes' order. With `lock`, the lines are locked before they are classified."""
    resource, base, day = checked.resource, checked.base_quantity, checked.occurred_on
    named = {line.waiver.regime_id: line for line in checked.lines}
    regimes = {regime.id: regime for regime in _regimes_in_force(session)}
    regimes.update((line.waiver.regime_id, line.waiver.regime) for line in checked.lines)
    chosen: list[tuple[Regime, Control, WaiverLine | None, bool]] = []
    for regime in sorted(regimes.values(), key=lambda regime: regime.position):
        control = control_under(regime, resource)
        line = named.get(regime.id)
        standing = False
        if line is None and control is not Control.NONE:
            choose = locked_standing_line if lock else standing_line
            line = choose(session, regime, resource, day, base)
            standing = line is not None
        chosen.append((regime, control, line, standing))
    if lock:
        lock_lines(session, [line for _, _, line, _ in chosen if line is not None])
        # Chosen under its waiver's lock, still held: the waiver as read afresh still stands.
        assert all(line and line.waiver.standing for _, _, line, standing in chosen if standing)
    return [
        RegimeScreening(
            regime,
            control,
            line,
            standing,
            Classification.NOT_REQUIRED
            if line is None and control is Control.NONE
            else Classification.UNCOVERED
            if line is None
            else classify_line(line.waiver, line, base, day),
        )
        for regime, control, line, standing in chosen
    ]


def _regimes_in_force(session: Session) -> list[Regime]:
    """The regimes in force, read once a transaction: the drawdowns a delivery's crossing
    records together are screened under the same regimes."""
    memo = transaction_memo(session)
    if "regimes_in_force" not in memo:
        memo["regimes_in_force"] = regimes_in_force(session)
    return list(memo["regimes_in_force"])


def refusal(screenings: Sequence[RegimeScreening], checked: CheckedDrawdown) -> Any:
    """Name each regime that refuses, its line and the numbers (the regime itself only when
    more than one is screened)."""
    parts = [(s, s.message(checked)) for s in screenings if s.refuses]
    if len(screenings) == 1:
        return parts[0][1]
    messages = [
        _l("%(regime)s: %(refusal)s", regime=s.regime.shown_name, refusal=m) for s, m in parts
    ]
    return LazyText(lambda: " ".join(str(message) for message in messages))


# --- preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    classification: Classification
    base_quantity: Decimal
    message: Any | None
    remaining_before: Decimal | None  # in the first line's unit
    remaining_after: Decimal | None
    regimes: tuple[RegimeScreening, ...] = ()

    @property
    def needs_override(self) -> bool:
        return self.classification not in RECORDED_PLAINLY


def preview_drawdown(session: Session, checked: CheckedDrawdown) -> Preview:
    """Tell what recording `checked` now would give, without recording or locking anything."""
    screenings = screen(session, checked, lock=False)
    classification = worst([s.classification for s in screenings])
    message = refusal(screenings, checked) if classification not in RECORDED_PLAINLY else None
    # What is left on the line named first (else the first regime's line).
    first = next((s for s in screenings if s.line is not None and s.line is checked.line), None)
    first = first or next((s for s in screenings if s.line is not None), None)
    before, after = first.remaining(checked) if first is not None else (None, None)
    return Preview(classification, checked.base_quantity, message, before, after, tuple(screenings))


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
HASHED_WHEN_SET = ("source_id", "regimes")


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


def _chain(session: Session, values: dict[str, Any]) -> DrawdownEntry:
    """An entry of `values` chained after the ledger's head (the head moved on), not yet added
    to the session."""
    # Held to the commit: it orders every ledger write (taken once a transaction).
    memo = transaction_memo(session)
    head = memo.get("ledger_head") or session.get(
        LedgerHead, 1, with_for_update=True, populate_existing=True
    )
    assert head is not None, "the ledger's head is created by the migrations"
    memo["ledger_head"] = head
    head.last_seq += 1
    values = {**values, "seq": head.last_seq, "prev_hash": head.last_hash}
    values["hash"] = head.last_hash = entry_digest(values)
    return DrawdownEntry(**values)


# --- recording ----------------------------------------------------------------------------


def regimes_record(rows: Sequence[Mapping[str, Any]]) -> str:
    """The canonical JSON of an entry's screenings, as hashed: one object per regime, in the
    regimes' order."""
    return json.dumps(
        [
            {
                "regime": row["regime"],
                "control": _canonical(row["control"]),
                "line_id": row["line_id"],
                "waiver_id": row["waiver_id"],
                "waiver_status": _canonical(row["waiver_status"]),
                "classification": _canonical(row["classification"]),
            }
            for row in rows
        ],
        sort_keys=True,
        separators=(",", ":"),
    )


Screened = tuple[Regime, Control | None, WaiverLine | None, Classification]


@dataclass(frozen=True)
class _Staged:
    """An entry ready to be written: its values, each regime's screening and the line named
    first (the entry's own)."""

    values: dict[str, Any]
    screenings: Sequence[Screened]
    principal: WaiverLine | None = None


def _draw_on(screenings: Sequence[Screened], base_quantity: Decimal) -> None:
    """Move the use of each line screened by `base_quantity`: the next drawdown of the
    transaction is classified against it."""
    for _regime, _control, line, _classification in screenings:
        if line is not None:
            line.used_base += base_quantity


def _write_entries(session: Session, staged: Sequence[_Staged]) -> list[DrawdownEntry]:
    """Append the entries, chained in order, with their screenings (each regime, its control,
    line and classification): the entries in one flush and the screenings in one statement,
    beside the unit of work, so that a crossing or a head-end's batch writes its hundreds or
    thousands of entries in a few statements."""
    entries: list[DrawdownEntry] = []
    screened: list[list[dict[str, Any]]] = []
    for item in staged:
        rows = [
            {
                "regime": regime.code,
                "regime_id": regime.id,
                "position": regime.position,
                "control": control,
                "line_id": line.id if line is not None else None,
                "waiver_id": line.waiver_id if line is not None else None,
                "waiver_status": line.waiver.status if line is not None else None,
                "classification": classification,
            }
            for regime, control, line, classification in item.screenings
        ]
        # The entry's own waiver and line, which lists show: the line named first (the short
        # form's), else the first regime's that has one; every regime's is in its screenings.
        first = item.principal or next(
            (line for _, _, line, _ in item.screenings if line is not None), None
        )
        entries.append(
            _chain(
                session,
                {
                    **item.values,
                    "waiver_id": first.waiver_id if first is not None else None,
                    "waiver_line_id": first.id if first is not None else None,
                    "waiver_status": first.waiver.status if first is not None else None,
                    "regimes": regimes_record(rows),
                },
            )
        )
        screened.append(rows)
    session.add_all(entries)
    session.flush()
    values = [
        {
            "entry_id": entry.id,
            "regime_id": row["regime_id"],
            "position": row["position"],
            "seq": entry.seq,
            "occurred_on": entry.occurred_on,
            "base_quantity": entry.base_quantity,
            "control": row["control"],
            "waiver_id": row["waiver_id"],
            "waiver_line_id": row["line_id"],
            "waiver_status": row["waiver_status"],
            "classification": row["classification"],
        }
        for entry, rows in zip(entries, screened, strict=True)
        for row in rows
    ]
    if values:
        # Nulls kept: every row has the same keys, so all go in one executemany.
        session.execute(insert(EntryScreening).execution_options(render_nulls=True), values)
    for entry in entries:
        session.expire(entry, ["screenings"])  # read from the rows just written
    return entries


@dataclass(frozen=True)
class Drawdown:
    """A drawdown to record: what `record_drawdown` takes, for `record_drawdowns`."""

    resource: Resource
    quantity: object
    unit: Unit | str
    occurred_on: date
    purpose: Purpose | str
    waiver_line: WaiverLine | None = None
    authorisations: Sequence[WaiverLine] = ()
    source: Source | str = Source.MANUAL
    source_id: int | None = None
    source_ref: str | None = None
    note: str = ""
    override_reason: str | None = None


@dataclass(frozen=True)
class _Screened:
    """A drawdown staged, with what its audit event and notice tell."""

    staged: _Staged
    drawdown: Drawdown
    checked: CheckedDrawdown
    regimes: tuple[RegimeScreening, ...]
    reason: str | None


def _stage(session: Session, drawdown: Drawdown, *, actor: User | None, now: datetime) -> _Screened:
    """Check and screen a drawdown and draw it on its lines; raise as `record_drawdown` says."""
    checked = check_drawdown_input(
        drawdown.resource,
        drawdown.quantity,
        drawdown.unit,
        drawdown.occurred_on,
        drawdown.waiver_line,
        today=office_date(now),
        authorisations=drawdown.authorisations,
    )
    reason = (drawdown.override_reason or "").strip()[:REASON_MAX_LENGTH] or None
    periods.ensure_open(session, drawdown.occurred_on, "occurred_on")
    screenings = screen(session, checked, lock=True)
    classification = worst([s.classification for s in screenings])
    flagged = classification not in RECORDED_PLAINLY
    if flagged:
        message = refusal(screenings, checked)
        if reason is None:
            refused = DrawdownRefused(message, classification, screenings)
        elif actor is None or not has_permission(actor, Permission.OVERRIDE_DRAWDOWN):
            refused = DrawdownRefused(
                _l(
                    "%(refusal)s Only an office administrator can record it anyway.",
                    refusal=message,
                ),
                classification,
                screenings,
            )
        else:
            refused = None
        if refused is not None:
            refused.checked = checked
            raise refused
    rows: list[Screened] = [(s.regime, s.control, s.line, s.classification) for s in screenings]
    _draw_on(rows, checked.base_quantity)
    staged = _Staged(
        values=dict(
            resource_id=drawdown.resource.id,
            quantity=checked.quantity,
            unit=checked.unit,
            base_quantity=checked.base_quantity,
            occurred_on=drawdown.occurred_on,
            recorded_at=now,
            recorded_by_id=actor.id if actor else None,
            purpose=Purpose(drawdown.purpose),
            source=Source(drawdown.source),
            source_id=drawdown.source_id,
            source_ref=drawdown.source_ref,
            note=(drawdown.note or "").strip(),
            classification=classification,
            flagged=flagged,
            override_reason=reason if flagged else None,
            reverses_id=None,
            reversal_reason=None,
        ),
        screenings=rows,
        principal=checked.line,
    )
    return _Screened(staged, drawdown, checked, tuple(screenings), reason)


def record_drawdown(
    session: Session,
    *,
    resource: Resource,
    quantity: object,
    unit: Unit | str,
    occurred_on: date,
    waiver_line: WaiverLine | None = None,
    authorisations: Sequence[WaiverLine] = (),
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

    `authorisations` names the line drawn on under each regime (at most one per regime);
    `waiver_line` is its short form, one line. A regime that controls the resource and has no
    line named draws on its standing approval, if one covers it. `source_id` names the record
    it is drawn for (a manifest line, a fuel receipt, a meter reading): the database holds
    one entry per source. Raises InvalidInput for input that makes no sense, ConflictError
    for a month signed off, and DrawdownRefused when the drawdown is not covered under every
    regime and no override (a reason, by a user allowed to override) was given.
    """
    drawdown = Drawdown(
        resource=resource,
        quantity=quantity,
        unit=unit,
        occurred_on=occurred_on,
        purpose=purpose,
        waiver_line=waiver_line,
        authorisations=authorisations,
        source=source,
        source_id=source_id,
        source_ref=source_ref,
        note=note,
        override_reason=override_reason,
    )
    [entry] = record_drawdowns(session, [drawdown], actor=actor, now=now)
    return entry


def record_drawdowns(
    session: Session, drawdowns: Sequence[Drawdown], *, actor: User | None, now: datetime
) -> list[DrawdownEntry]:
    """Record drawdowns in their order, each as `record_drawdown` records one (screened after
    those before it, whose use counts against the caps), and return their entries, written
    together. Raises as `record_drawdown` does, for the first drawdown refused; the caller's
    transaction (or savepoint) is then to be rolled back."""
    staged = [_stage(session, drawdown, actor=actor, now=now) for drawdown in drawdowns]
    entries = _write_entries(session, [item.staged for item in staged])
    for item, entry in zip(staged, entries, strict=True):
        _tell(session, item, entry, actor=actor, now=now)
    session.flush()
    return entries


def _tell(
    session: Session, item: _Screened, entry: DrawdownEntry, *, actor: User | None, now: datetime
) -> None:
    """Put an entry on the audit trail and, recorded anyway, tell the reviewers."""
    resource, checked, reason = item.drawdown.resource, item.checked, item.reason
    # Every entry is on the audit trail, whichever door it came through: a manual or API
    # drawdown has no other event, and one drawn for a receipt or a crossing is its own record.
    record_event(
        session,
        "drawdown.overridden" if entry.flagged else "drawdown.recorded",
        actor=actor,
        target=entry,
        at=now,
        seq=entry.seq,
        resource=resource.code,
        quantity=checked.quantity,
        unit=checked.unit.value,
        source=entry.source.value,
        classification=entry.classification.value,
        regimes=[f"{s.regime.code}: {s.classification.value}" for s in item.regimes],
        **({"reason": reason} if entry.flagged else {}),
    )
    if entry.flagged:
        # The reviewers hear of it in this transaction: the entry and its notice are one.
        raise_notice(
            session,
            NoticeKind.RECORDED_ANYWAY,
            f"recorded_anyway:{entry.id}",
            {
                "who": actor.display_name if actor is not None else "",
                "quantity": format(checked.quantity.normalize(), "f"),
                "unit": checked.unit.value,
                "resource": resource.code,
                "on": entry.occurred_on.isoformat(),
                "reason": reason or "",
            },
            "reviews.item",
            {"kind": "override", "source_id": entry.id},
            now=now,
            actor=actor,
        )


def reverse_entry(
    session: Session, entry: DrawdownEntry, *, reason: str, actor: User | None, now: datetime
) -> DrawdownEntry:
    """Record the reversal of `entry` (its negative, linked to it, on the same lines under
    the same regimes) and return it.

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
    screened = list(entry.screenings)
    lock_lines(session, [s.waiver_line for s in screened if s.waiver_line is not None])
    # One reversal at a time looks for an earlier one.
    session.get(LedgerHead, 1, with_for_update=True, populate_existing=True)
    earlier = session.scalar(select(DrawdownEntry).where(DrawdownEntry.reverses_id == entry.id))
    if earlier is not None:
        raise ConflictError(
            _l("Entry %(seq)d was already reversed by entry %(by)d.", seq=entry.seq, by=earlier.seq)
        )
    screenings: list[Screened] = [
        (s.regime, s.control, s.waiver_line, s.classification) for s in screened
    ]
    values = dict(
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
        classification=entry.classification,
        flagged=False,
        override_reason=None,
        reverses_id=entry.id,
        reversal_reason=reason,
    )
    _draw_on(screenings, -entry.base_quantity)
    [reversal] = _write_entries(session, [_Staged(values, screenings, entry.waiver_line)])
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
    """Recompute every line's use from the ledger (each entry's line under each regime);
    return the lines whose stored use differs."""
    sums = dict(
        session.execute(
            select(EntryScreening.waiver_line_id, func.sum(EntryScreening.base_quantity))
            .where(EntryScreening.waiver_line_id.is_not(None))
            .group_by(EntryScreening.waiver_line_id)
        ).all()
    )
    differences = []
    for line in session.scalars(select(WaiverLine).order_by(WaiverLine.id)):
        actual = Decimal(sums.get(line.id) or 0)
        if actual != line.used_base:
            differences.append(UsageDifference(line, line.used_base, actual))
    return differences


@dataclass(frozen=True)
class ScreeningDifference:
    seq: int
    reason: str


def check_screenings(session: Session, batch: int = 5000) -> list[ScreeningDifference]:
    """Compare every entry's screenings (the rows the reports read) with what the entry holds
    under its hash: its `regimes` record, or for an entry written before regimes, its own
    line, status and classification under the one regime it was screened under."""
    differences: list[ScreeningDifference] = []
    last_id = 0
    regime_codes = dict(session.execute(select(Regime.id, Regime.code)).all())
    while True:
        entries = session.execute(
            select(
                DrawdownEntry.id,
                DrawdownEntry.seq,
                DrawdownEntry.regimes,
                DrawdownEntry.waiver_id,
                DrawdownEntry.waiver_line_id,
                DrawdownEntry.waiver_status,
                DrawdownEntry.classification,
                DrawdownEntry.base_quantity,
                DrawdownEntry.occurred_on,
            )
            .where(DrawdownEntry.id > last_id)
            .order_by(DrawdownEntry.id)
            .limit(batch)
        ).all()
        if not entries:
            return differences
        last_id = entries[-1].id
        rows: dict[int, list[EntryScreening]] = {}
        for row in session.scalars(
            select(EntryScreening)
            .where(EntryScreening.entry_id.in_([e.id for e in entries]))
            .order_by(EntryScreening.entry_id, EntryScreening.position)
        ):
            rows.setdefault(row.entry_id, []).append(row)
        for e in entries:
            kept = rows.get(e.id, [])
            if any(
                (r.seq, r.base_quantity, r.occurred_on) != (e.seq, e.base_quantity, e.occurred_on)
                for r in kept
            ):
                differences.append(ScreeningDifference(e.seq, "its screenings' copy differs"))
                continue
            record = [
                {
                    "regime": regime_codes[r.regime_id],
                    "control": r.control,
                    "line_id": r.waiver_line_id,
                    "waiver_id": r.waiver_id,
                    "waiver_status": r.waiver_status,
                    "classification": r.classification,
                }
                for r in kept
            ]
            if e.regimes is not None:
                same = regimes_record(record) == e.regimes
            else:
                same = len(kept) == 1 and (
                    kept[0].waiver_id,
                    kept[0].waiver_line_id,
                    kept[0].waiver_status,
                    kept[0].classification,
                ) == (e.waiver_id, e.waiver_line_id, e.waiver_status, e.classification)
            if not same:
                differences.append(
                    ScreeningDifference(e.seq, "its screenings differ from its hashed record")
                )


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
