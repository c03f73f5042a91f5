"""Rules for deliveries: manifests screened against their waivers, crossings drawn through the
ledger all or nothing, receipt into on-site lots, returns south and overdue equipment."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from office.audit.services import record_event
from office.auth.models import User
from office.documents.models import Document, RecordType
from office.errors import ConflictError, DomainError, InvalidInput
from office.i18n import (
    LazyText,
    _l,
    format_date,
    format_hs_code,
    in_english,
    label,
    office_date,
)
from office.inputs import FIRST_DAY, check_day, decimal_from
from office.stock import services as stock
from office.stock.models import LotSource, MovementKind, StockLot, Store, StoreKind
from office.supplies import labels as _labels  # noqa: F401 (registers the on-screen names)
from office.supplies.models import (
    APPROVAL_AUTHORITIES,
    DEFAULT_CROSSING_POINT,
    ApprovalType,
    Delivery,
    DeliveryLine,
    DeliveryStatus,
    Direction,
)
from office.waivers import ledger, units
from office.waivers.models import (
    AUTHORITY_REGIMES,
    GRANTED_STATUSES,
    Authority,
    Classification,
    Control,
    Purpose,
    Regime,
    Resource,
    Source,
    Waiver,
    WaiverLine,
)
from office.waivers.regimes import STRICTNESS
from office.waivers.services import normalise_hs_code
from office.waivers.units import Unit, can_convert, convert, parse_quantity, unit_name

MATERIALS_STORE = "Materials store"
TRANSITIONS = {
    DeliveryStatus.DRAFT: {DeliveryStatus.APPROVED},
    DeliveryStatus.APPROVED: {DeliveryStatus.CROSSED, DeliveryStatus.REJECTED},
    DeliveryStatus.CROSSED: {DeliveryStatus.RECEIVED},
    DeliveryStatus.RECEIVED: set(),
    DeliveryStatus.REJECTED: set(),
}


def status_label(status: DeliveryStatus) -> str:
    return label(status)


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def lock_delivery(session: Session, delivery: Delivery) -> Delivery:
    """Lock a delivery, read afresh: its manifest and its way change one request at a time."""
    session.refresh(delivery, with_for_update=True)
    return delivery


def _refuse_unless(delivery: Delivery, *statuses: DeliveryStatus, action: Any) -> None:
    if delivery.status not in statuses:
        raise ConflictError(
            _l(
                "Delivery %(ref)s is %(status)s; %(action)s",
                ref=delivery.reference,
                status=status_label(delivery.status),
                action=action,
            ),
            "status",
        )


# --- deliveries and their manifests -------------------------------------------------------


# The office's series: KLO-D-2018-01 north-bound, KLO-S-2018-01 south-bound, by year.
REFERENCE_SERIES = {Direction.NORTH: "KLO-D", Direction.SOUTH: "KLO-S"}
_NUMBERED = re.compile(r"(.*?)([0-9]+)")


def series_of(name: str) -> str | None:
    """Return the prefix of the series that `name` continues (all before its last number),
    or None if it does not end in a number."""
    numbered = _NUMBERED.fullmatch(name)
    return numbered[1] if numbered is not None else None


def next_free(session: Session, column: InstrumentedAttribute[str], prefix: str) -> str:
    """Return `prefix` followed by the number after the highest that continues it in
    `column` (two digits at least): KLO-D-2018-14 after KLO-D-2018-13."""
    numbers = [
        int(rest)
        for name in session.scalars(select(column).where(column.startswith(prefix)))
        if name.startswith(prefix)  # LIKE ignores case on SQLite
        and (rest := name[len(prefix) :]).isascii()
        and rest.isdigit()
        and len(rest) < 10
    ]
    return f"{prefix}{max(numbers, default=0) + 1:02d}"


def next_reference(session: Session, direction: Direction | str, *, year: int) -> str:
    """Return the next free reference of the office's series for `direction` and `year`."""
    prefix = f"{REFERENCE_SERIES[Direction(direction)]}-{year}-"
    return next_free(session, Delivery.reference, prefix)


def save_delivery(
    session: Session,
    *,
    reference: str,
    direction: Direction | str,
    planned_on: date,
    carrier: str = "",
    vehicles: str = "",
    crossing_point: str = "",
    approval: Waiver | None = None,
    approval_number: str = "",
    approval_type: ApprovalType | str = ApprovalType.INDIVIDUAL,
    customs_declaration: str = "",
    note: str = "",
    actor: User | None,
    now: datetime,
    delivery: Delivery | None = None,
) -> Delivery:
    """Add a delivery as a draft, or change one that is still a draft.

    North-bound, `approval` is its carry-out approval, one of the ministry's (its lines are
    what the manifest draws on under the ministry's regime); south-bound, `approval_number`
    and `approval_type` are the carry-in approval's, as typed. Raises InvalidInput naming the
    field for an approval of the other kind.
    """
    reference = _text(reference, 60)
    if not reference:
        raise InvalidInput(_l("Enter the delivery's reference."), "reference")
    # Checked here to say so plainly; the unique index refuses the same number saved twice at
    # once, and the request then runs again and says so here.
    clash = session.scalar(select(Delivery).where(Delivery.reference == reference))
    if clash is not None and clash is not delivery:
        series = series_of(reference)
        free = next_free(session, Delivery.reference, series) if series is not None else None
        raise InvalidInput(
            _l(
                "A delivery %(ref)s already exists; the next free number is %(next)s.",
                ref=reference,
                next=free,
            )
            if free is not None
            else _l("A delivery %(ref)s already exists.", ref=reference),
            "reference",
        )
    check_day(planned_on, "planned_on")
    was: Direction | None = None
    if delivery is None:
        delivery = Delivery(status=DeliveryStatus.DRAFT, direction=Direction(direction))
        session.add(delivery)
    else:
        was = delivery.direction
        lock_delivery(session, delivery)
        _refuse_unless(delivery, DeliveryStatus.DRAFT, action=_l("only a draft can be changed."))
    delivery.reference, delivery.planned_on = reference, planned_on
    if delivery.lines and Direction(direction) is not delivery.direction:
        raise InvalidInput(
            _l("A delivery with manifest lines keeps its direction; remove the lines first."),
            "direction",
        )
    delivery.direction = Direction(direction)
    delivery.carrier, delivery.vehicles = _text(carrier, 120), _text(vehicles, 200)
    delivery.crossing_point = _text(crossing_point, 80) or DEFAULT_CROSSING_POINT
    _set_approval(delivery, approval, _text(approval_number, 60), approval_type, was=was)
    delivery.customs_declaration = _text(customs_declaration, 60)
    delivery.note = _text(note, 2000)
    session.flush()
    record_event(
        session, "delivery.saved", actor=actor, target=delivery, at=now, reference=reference
    )
    return delivery


def _set_approval(
    delivery: Delivery,
    approval: Waiver | None,
    number: str,
    approval_type: ApprovalType | str | None,
    *,
    was: Direction | None,
) -> None:
    if delivery.direction is Direction.SOUTH:
        if approval is not None:
            raise InvalidInput(
                _l(
                    "A south-bound delivery names no carry-out approval; enter the number of "
                    "its carry-in approval."
                ),
                "approval_waiver_id",
            )
        delivery.approval_waiver = None
        delivery.approval_number = number
        delivery.approval_type = ApprovalType(approval_type or ApprovalType.INDIVIDUAL)
        return
    if approval is not None and approval.authority not in APPROVAL_AUTHORITIES:
        raise InvalidInput(
            _l(
                "%(ref)s is not a ministry carry-out approval; choose one of the ministry's "
                "approvals.",
                ref=approval.reference,
            ),
            "approval_waiver_id",
        )
    # A number typed before approvals were named (migration 0032) stays until one is named;
    # a new one is not typed but chosen.
    kept = delivery.approval_number if was is Direction.NORTH else ""
    if number and number != kept:
        raise InvalidInput(
            _l(
                "A north-bound delivery's carry-out approval is chosen from the ministry's "
                "approvals, not typed."
            ),
            "approval_waiver_id",
        )
    delivery.approval_waiver = approval
    if approval is not None or not kept:
        delivery.approval_number, delivery.approval_type = "", None


def _money(value: object, field: str, *, cents: bool) -> int:
    if value in (None, ""):
        return 0
    number = (
        value if isinstance(value, Decimal) else decimal_from(str(value).strip(), grouping=True)
    )
    if number is None:
        number = Decimal(-1)
    places = Decimal("0.01") if cents else Decimal(1)
    if (
        not number.is_finite()
        or number < 0
        or number >= 10**13
        or number != number.quantize(places)
    ):
        raise InvalidInput(
            _l("Enter a value of 0 or more, in US dollars and cents.")
            if cents
            else _l("Enter a value of 0 or more, in whole won."),
            field,
        )
    return int(number * 100) if cents else int(number)


@dataclass(frozen=True)
class LineInput:
    resource: Resource | None
    quantity: object
    unit: Unit | str
    purpose: Purpose | str
    description: str = ""
    hs_code: str = ""
    hs_code_reason: str = ""
    gross_weight_kg: object = None
    unit_value_krw: object = None
    unit_value_usd: object = None
    waiver_line: WaiverLine | None = None
    must_return: bool = False
    return_due_on: date | None = None
    override_reason: str = ""


def add_line(
    session: Session, delivery: Delivery, data: LineInput, *, actor: User | None, now: datetime
) -> DeliveryLine:
    """Add a line to a north-bound draft's manifest; raise InvalidInput naming the field."""
    lock_delivery(session, delivery)
    _refuse_unless(delivery, DeliveryStatus.DRAFT, action=_l("only a draft can be changed."))
    if delivery.direction is not Direction.NORTH:
        raise ConflictError(
            _l("A south-bound delivery takes lots back; choose the lot to return."), "resource"
        )
    resource = data.resource
    if resource is None:
        raise InvalidInput(_l("Choose the resource."), "resource")
    try:
        unit = Unit(data.unit)
    except ValueError:
        raise InvalidInput(_l("Unknown unit %(unit)s.", unit=str(data.unit)[:20]), "unit") from None
    if not can_convert(unit, resource.unit, resource.effective_barrels_per_tonne):
        raise InvalidInput(
            _l(
                "%(unit)s does not convert to %(base)s, the unit of %(code)s.",
                unit=unit_name(unit),
                base=unit_name(resource.unit),
                code=resource.code,
            ),
            "unit",
        )
    quantity = parse_quantity(data.quantity, unit=unit)
    hs_code = normalise_hs_code(data.hs_code) if data.hs_code else resource.hs_code
    reason = _text(data.hs_code_reason, 2000) or None
    if hs_code != resource.hs_code and reason is None:
        raise InvalidInput(
            _l(
                "The HS code differs from the resource's (%(hs)s); give the reason.",
                hs=format_hs_code(resource.hs_code),
            ),
            "hs_code_reason",
        )
    weight = None
    if data.gross_weight_kg not in (None, ""):
        try:
            weight = parse_quantity(data.gross_weight_kg)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, "gross_weight_kg") from None
    if data.waiver_line is not None and data.waiver_line.resource_id != resource.id:
        raise InvalidInput(
            _l(
                "Waiver %(ref)s line %(n)d is for %(other)s, not %(name)s.",
                ref=data.waiver_line.waiver.reference,
                n=data.waiver_line.line_no,
                other=data.waiver_line.resource.shown_name,
                name=resource.shown_name,
            ),
            "waiver_line_id",
        )
    if data.must_return and (
        data.return_due_on is None or data.return_due_on < delivery.planned_on
    ):
        raise InvalidInput(
            _l(
                "Equipment that must come back needs a due date on or after %(date)s.",
                date=delivery.planned_on.isoformat(),
            ),
            "return_due_on",
        )
    line = DeliveryLine(
        delivery=delivery,
        line_no=len(delivery.lines) + 1,
        resource=resource,
        description=_text(data.description, 200),
        hs_code=hs_code,
        hs_code_reason=reason if hs_code != resource.hs_code else None,
        quantity=quantity,
        unit=unit,
        gross_weight_kg=weight,
        unit_value_krw=_money(data.unit_value_krw, "unit_value_krw", cents=False),
        unit_value_usd_cents=_money(data.unit_value_usd, "unit_value_usd", cents=True),
        purpose=Purpose(data.purpose),
        waiver_line=data.waiver_line,
        must_return=data.must_return,
        return_due_on=data.return_due_on if data.must_return else None,
        override_reason=_text(data.override_reason, 2000) or None,
    )
    session.add(line)
    session.flush()
    record_event(
        session,
        "delivery.line_added",
        actor=actor,
        target=delivery,
        at=now,
        line_no=line.line_no,
        resource=resource.code,
        quantity=quantity,
        unit=unit.value,
    )
    return line


def add_return_line(
    session: Session,
    delivery: Delivery,
    lot: StockLot,
    quantity: object,
    *,
    actor: User | None,
    now: datetime,
) -> DeliveryLine:
    """Add to a south-bound draft a quantity of an on-site lot to carry back."""
    lock_delivery(session, delivery)
    _refuse_unless(delivery, DeliveryStatus.DRAFT, action=_l("only a draft can be changed."))
    if delivery.direction is not Direction.SOUTH:
        raise ConflictError(_l("Only a south-bound delivery carries lots back."), "lot")
    amount = parse_quantity(quantity, unit=lot.resource.unit)
    already = sum(
        (line.quantity for line in delivery.lines if line.return_lot_id == lot.id), Decimal(0)
    )
    if amount + already > lot.remaining:
        raise InvalidInput(
            _l(
                "Lot %(lot)d has %(left)s on site; this return asks for %(asked)s.",
                lot=lot.id,
                left=units.amount(lot.remaining - already, lot.resource.unit),
                asked=units.amount(amount, lot.resource.unit),
            ),
            "quantity",
        )
    # Declared as it came in: the purpose and value of the manifest line that brought it.
    origin = session.scalar(select(DeliveryLine).where(DeliveryLine.lot_id == lot.id))
    krw = usd_cents = 0
    if origin is not None and lot.quantity:
        per_lot_unit = origin.quantity / lot.quantity
        krw = int((origin.unit_value_krw * per_lot_unit).to_integral_value())
        usd_cents = int((origin.unit_value_usd_cents * per_lot_unit).to_integral_value())
    line = DeliveryLine(
        delivery=delivery,
        line_no=len(delivery.lines) + 1,
        resource=lot.resource,
        description=str(_l("return of lot %(lot)d", lot=lot.id)),
        hs_code=origin.hs_code if origin is not None else lot.resource.hs_code,
        quantity=amount,
        unit=lot.resource.unit,
        purpose=origin.purpose if origin is not None else Purpose.SUPPLIES,
        unit_value_krw=krw,
        unit_value_usd_cents=usd_cents,
        return_lot_id=lot.id,
    )
    session.add(line)
    session.flush()
    record_event(
        session,
        "delivery.line_added",
        actor=actor,
        target=delivery,
        at=now,
        line_no=line.line_no,
        resource=lot.resource.code,
        quantity=amount,
        unit=lot.resource.unit.value,
        lot=lot.id,
    )
    return line


def remove_line(session: Session, line: DeliveryLine, *, actor: User | None, now: datetime) -> None:
    delivery = lock_delivery(session, line.delivery)
    _refuse_unless(delivery, DeliveryStatus.DRAFT, action=_l("only a draft can be changed."))
    # Documents are kept for good, and name their line: a line with any stays. (Attaching
    # takes the delivery's lock too, so none lands after this look.)
    if session.scalar(
        select(Document.id)
        .where(Document.record_type == RecordType.DELIVERY_LINE, Document.record_id == line.id)
        .limit(1)
    ):
        raise ConflictError(
            _l(
                "Line %(n)d has documents attached, which are kept for good: it stays on the "
                "manifest.",
                n=line.line_no,
            )
        )
    delivery.lines.remove(line)
    session.delete(line)
    # Gone before the lines after it move up: (delivery, line number) is unique.
    session.flush()
    for number, other in enumerate(delivery.lines, start=1):
        other.line_no = number
    session.flush()
    record_event(
        session,
        "delivery.line_removed",
        actor=actor,
        target=delivery,
        at=now,
        resource=line.resource.code,
    )


# --- screening under every regime -------------------------------------------------------


def authorisations(line: DeliveryLine) -> list[WaiverLine]:
    """The lines a north-bound manifest line draws on besides its own (`waiver_line`, the
    line the office chose, usually the UN exemption's): its delivery's carry-out approval's
    line for its resource, unless its own line is under the approval's regime already (a
    line of the approval itself, named once, or of another approval chosen for this line).
    A resource the approval has no line for draws on nothing under it here, and the ledger
    looks for a standing approval."""
    drawn = line.delivery.approval_line(line.resource)
    own = line.waiver_line
    if drawn is None or (own is not None and own.waiver.regime_id == drawn.waiver.regime_id):
        return []
    return [drawn]


def _is_ministrys(regime: Regime) -> bool:
    return regime.code == AUTHORITY_REGIMES[Authority.ROK_MOU_INDIVIDUAL]


def regime_message(
    delivery: Delivery,
    screening: ledger.RegimeScreening,
    classification: Classification,
    checked: ledger.CheckedDrawdown,
    earlier: Decimal = Decimal(0),
) -> Any | None:
    """What refuses a manifest line under one regime, with the line and the numbers, as the
    crossing says it (`earlier`: what the delivery's lines before it draw on the same line,
    drawn by then); None if that regime lets it cross."""
    if classification in ledger.RECORDED_PLAINLY:
        return None
    resource, line = checked.resource, screening.line
    if classification is Classification.OVER_CAP and line is not None:
        return _over_cap(line, resource, checked.base_quantity, earlier)
    if classification is Classification.UNCOVERED and _is_ministrys(screening.regime):
        approval = delivery.approval_waiver
        if approval is None:
            return _l(
                "%(name)s needs the ministry's approval: name the delivery's carry-out "
                "approval, or give a reason to record it uncovered.",
                name=resource.shown_name,
            )
        return _l(
            "The delivery's approval %(ref)s has no line for %(name)s, and no standing "
            "approval covers it: give a reason to record it uncovered.",
            ref=approval.reference,
            name=resource.shown_name,
        )
    return ledger.refusal_message(
        classification,
        resource,
        screening.waiver,
        line,
        checked.base_quantity,
        checked.occurred_on,
        screening.control,
    )


def _joined(parts: list[tuple[Regime, Any]], screened: int) -> Any:
    # As the ledger words a refusal: each regime named, when more than one was screened.
    if screened == 1:
        return parts[0][1]
    messages = [
        _l("%(regime)s: %(refusal)s", regime=regime.shown_name, refusal=message)
        for regime, message in parts
    ]
    return LazyText(lambda: " ".join(str(message) for message in messages))


@dataclass(frozen=True)
class RegimeBadge:
    """A manifest line under one regime: the resource's control there, the line it would
    draw on (named, the delivery's approval's, or a standing approval's) and what it would
    meet at the border."""

    regime: Regime
    control: Control
    line: WaiverLine | None
    standing: bool
    classification: Classification
    message: Any | None
    remaining_before: Decimal | None  # on the line, in the line's unit
    remaining_after: Decimal | None

    @property
    def refuses(self) -> bool:
        return self.classification not in ledger.RECORDED_PLAINLY


@dataclass(frozen=True)
class Screening:
    """What a manifest line would meet at the border, under each regime (none for a line
    going south)."""

    line: DeliveryLine
    regimes: tuple[RegimeBadge, ...] = ()

    @property
    def classification(self) -> Classification | None:
        """The worst of its regimes' (None for a line going south)."""
        if not self.regimes:
            return None
        return ledger.worst([badge.classification for badge in self.regimes])

    @property
    def control(self) -> Control | None:
        """The strictest of its regimes' controls."""
        controls = [badge.control for badge in self.regimes]
        return min(controls, key=STRICTNESS.index) if controls else None

    @property
    def message(self) -> Any | None:
        """What refuses it, each regime that does named (when more than one is screened)."""
        parts = [(badge.regime, badge.message) for badge in self.regimes if badge.refuses]
        return _joined(parts, len(self.regimes)) if parts else None

    @property
    def _first_line(self) -> RegimeBadge | None:
        return next((badge for badge in self.regimes if badge.line is not None), None)

    @property
    def remaining_before(self) -> Decimal | None:
        """What the first regime's line it draws on has left before it (its own unit)."""
        first = self._first_line
        return first.remaining_before if first is not None else None

    @property
    def remaining_after(self) -> Decimal | None:
        first = self._first_line
        return first.remaining_after if first is not None else None

    @property
    def passes(self) -> bool:
        return self.classification in ledger.RECORDED_PLAINLY or (
            self.classification is not None and bool(self.line.override_reason)
        )


def _over_cap(line: WaiverLine, resource: Resource, base: Decimal, earlier: Decimal) -> Any:
    # The ledger's own refusal as the crossing will give it: by then the earlier lines of the
    # delivery on this waiver line are drawn, and this line asks for its own quantity only.
    left = max((line.granted_base or Decimal(0)) - line.used_base - earlier, Decimal(0))

    def amount(quantity: Decimal) -> Any:
        value = convert(quantity, resource.unit, line.unit, resource.effective_barrels_per_tonne)
        return units.amount(value, line.unit)

    return _l(
        "Waiver %(ref)s line %(n)d has %(left)s left; this drawdown asks for %(asked)s.",
        ref=line.waiver.reference,
        n=line.line_no,
        left=amount(left),
        asked=amount(base),
    )


def _checked(line: DeliveryLine, day: date) -> ledger.CheckedDrawdown:
    """The drawdown a north-bound line makes when it crosses on `day` (checked when the line
    was added; the date may be ahead, as a draft is screened for the day it is planned)."""
    resource = line.resource
    base = convert(line.quantity, line.unit, resource.unit, resource.effective_barrels_per_tonne)
    named = [x for x in (line.waiver_line, *authorisations(line)) if x is not None]
    return ledger.CheckedDrawdown(resource, line.quantity, line.unit, base, day, tuple(named))


def screen(session: Session, delivery: Delivery, day: date) -> list[Screening]:
    """Screen each north-bound line under every regime as if crossing on `day`, counting on
    each authorisation line what the delivery's earlier lines draw on it; nothing is locked
    or recorded."""
    pending: dict[int, Decimal] = defaultdict(Decimal)
    results = []
    for line in delivery.lines:
        if delivery.direction is not Direction.NORTH or line.return_lot_id is not None:
            results.append(Screening(line))
            continue
        checked = _checked(line, day)
        resource, base = checked.resource, checked.base_quantity
        badges = []
        for screened in ledger.screen(session, checked, lock=False):
            drawn = screened.line
            if drawn is None:
                classification, earlier = screened.classification, Decimal(0)
                before = after = None
            else:
                earlier = pending[drawn.id]
                classification = ledger.classify_line(drawn.waiver, drawn, base + earlier, day)
                before = after = None
                if drawn.granted_base is not None:
                    left = drawn.granted_base - drawn.used_base - earlier
                    before, after = (
                        convert(x, resource.unit, drawn.unit, resource.effective_barrels_per_tonne)
                        for x in (left, left - base)
                    )
                pending[drawn.id] += base
            badges.append(
                RegimeBadge(
                    screened.regime,
                    screened.control,
                    drawn,
                    screened.standing,
                    classification,
                    regime_message(delivery, screened, classification, checked, earlier),
                    before,
                    after,
                )
            )
        results.append(Screening(line, tuple(badges)))
    return results


def crossing_refusal(
    delivery: Delivery, line: DeliveryLine, refused: ledger.DrawdownRefused
) -> Any:
    """Why the ledger refused a manifest line at its crossing: each regime that refuses,
    its line and the numbers, in the screening's words."""
    checked = refused.checked
    if checked is None:
        return refused.message
    parts = [
        (s.regime, regime_message(delivery, s, s.classification, checked))
        for s in refused.regimes
        if s.refuses
    ]
    if not parts:
        return refused.message
    message = _joined(parts, len(refused.regimes))
    if line.override_reason:  # given, by someone who may not record it anyway
        return _l("%(refusal)s Only an office administrator can record it anyway.", refusal=message)
    return message


# --- the delivery's way -------------------------------------------------------------------


def approve(session: Session, delivery: Delivery, *, actor: User | None, now: datetime) -> Delivery:
    """Record the ministry's carry-out approval: the manifest is then fixed."""
    lock_delivery(session, delivery)
    _refuse_unless(delivery, DeliveryStatus.DRAFT, action=_l("only a draft can be approved."))
    if not delivery.lines:
        raise ConflictError(_l("A delivery without manifest lines cannot be approved."))
    if delivery.direction is Direction.NORTH and delivery.approval_waiver is None:
        raise InvalidInput(
            _l("Choose the ministry's carry-out approval first."), "approval_waiver_id"
        )
    if delivery.direction is Direction.SOUTH and not delivery.approval_number:
        raise InvalidInput(
            _l("Enter the ministry's carry-in approval number first."), "approval_number"
        )
    delivery.status = DeliveryStatus.APPROVED
    session.flush()
    record_event(
        session,
        "delivery.approved",
        actor=actor,
        target=delivery,
        at=now,
        approval=delivery.approval_waiver.reference
        if delivery.approval_waiver is not None
        else delivery.approval_number,
    )
    return delivery


class CrossingRefused(ConflictError):
    """At least one line was refused: nothing of the crossing is recorded."""

    def __init__(self, delivery: Delivery, refusals: list[tuple[int, Any]]) -> None:
        super().__init__(
            _l(
                "The crossing of %(ref)s is refused; nothing was recorded. %(lines)s",
                ref=delivery.reference,
                lines=" ".join(str(_l("Line %(n)d: %(why)s", n=n, why=why)) for n, why in refusals),
            )
        )
        self.refusals = refusals


def _lock_in_order(
    session: Session, delivery: Delivery, named: Mapping[int, list[WaiverLine]]
) -> None:
    # Two crossings that share waiver lines (or stores, going south) and list them in another
    # order would each lock its first and wait for the other's: a deadlock. Taking every lock
    # up front, in one order, makes the second wait for the first instead: the lines named
    # (each line's own and its approval's, `named` by line id) and the standing approvals'
    # lines the manifest's resources may draw on.
    if delivery.direction is Direction.NORTH:
        drawn = {
            line
            for item in delivery.lines
            for line in (item.waiver_line, *named[item.id])
            if line is not None
        }
        resources = {line.resource_id for line in delivery.lines}
        standing = session.scalars(
            select(WaiverLine)
            .join(Waiver, Waiver.id == WaiverLine.waiver_id)
            .where(
                Waiver.standing.is_(True),
                Waiver.status.in_(GRANTED_STATUSES),
                WaiverLine.resource_id.in_(resources),
            )
        )
        ledger.lock_lines(session, drawn | set(standing))
    else:
        stock.lock_stores(session, [line.lot_back.store for line in delivery.lines])


def suggested_day(delivery: Delivery, *, today: date) -> date:
    """Return the day to offer for the delivery's next step: the day it is planned for (the
    day its page screens it for), or, once it has crossed, the day it crossed (the office is
    minutes from the border); never after `today`."""
    day = delivery.crossed_on if delivery.crossed_on is not None else delivery.planned_on
    return min(day, today)


def cross(
    session: Session, delivery: Delivery, *, crossed_on: date, actor: User | None, now: datetime
) -> Delivery:
    """Mark the delivery crossed. North-bound, every line is drawn on the ledger under every
    regime: on its own waiver line and on its delivery's approval's line (`authorisations`),
    overrides as given on the line; south-bound, every line takes its lot back. If any line
    is refused, the whole crossing is refused: the caller rolls back and nothing is recorded.
    """
    lock_delivery(session, delivery)
    _refuse_unless(
        delivery, DeliveryStatus.APPROVED, action=_l("only an approved delivery can cross.")
    )
    if not FIRST_DAY <= crossed_on <= office_date(now):
        raise InvalidInput(_l("Enter the day it crossed, not in the future."), "crossed_on")
    # Worked out once: locking reads the approval afresh, and its lines with it.
    north = delivery.direction is Direction.NORTH
    named = {line.id: authorisations(line) for line in delivery.lines} if north else {}
    _lock_in_order(session, delivery, named)
    refusals: list[tuple[int, str]] = []
    for line in delivery.lines:
        try:
            if delivery.direction is Direction.NORTH:
                entry = ledger.record_drawdown(
                    session,
                    resource=line.resource,
                    quantity=line.quantity,
                    unit=line.unit,
                    occurred_on=crossed_on,
                    waiver_line=line.waiver_line,
                    authorisations=named[line.id],
                    purpose=line.purpose,
                    source=Source.DELIVERY,
                    source_id=line.id,
                    source_ref=f"{delivery.reference}/{line.line_no}",
                    note=line.description,
                    override_reason=line.override_reason,
                    actor=actor,
                    now=now,
                )
                line.drawdown_entry_id = entry.id
            else:
                lot = line.lot_back
                stock.draw(
                    session,
                    lot.store,
                    resource=lot.resource,
                    quantity=line.quantity,
                    kind=MovementKind.RETURN,
                    occurred_on=crossed_on,
                    use="delivery",
                    use_ref=delivery.reference,
                    parties=delivery.carrier,
                    lots=[lot],
                    actor=actor,
                    now=now,
                )
        except ledger.DrawdownRefused as refused:
            refusals.append((line.line_no, crossing_refusal(delivery, line, refused)))
        except DomainError as exc:
            refusals.append((line.line_no, exc.message))
    if refusals:
        raise CrossingRefused(delivery, refusals)
    delivery.status, delivery.crossed_on = DeliveryStatus.CROSSED, crossed_on
    session.flush()
    record_event(
        session,
        "delivery.crossed",
        actor=actor,
        target=delivery,
        at=now,
        on=crossed_on.isoformat(),
        lines=len(delivery.lines),
    )
    return delivery


def note_refused_crossing(
    session: Session,
    delivery: Delivery,
    refused: CrossingRefused,
    *,
    actor: User | None,
    now: datetime,
) -> None:
    """Keep, for the reviewers, that a crossing was attempted and refused (after the caller
    rolled the attempt back: nothing else of it remains)."""
    record_event(
        session,
        "delivery.crossing_refused",
        actor=actor,
        target=delivery,
        at=now,
        reference=delivery.reference,
        # Kept in one language, as the rest of the audit trail.
        lines=[[n, in_english(why)] for n, why in refused.refusals],
    )


def materials_store(session: Session, *, actor: User | None, today: date, now: datetime) -> Store:
    """Return the materials store, opening it on `today` the first time it is needed."""
    store = session.scalar(select(Store).where(Store.name == MATERIALS_STORE))
    if store is None:
        store = stock.create_store(
            session,
            name=MATERIALS_STORE,
            kind=StoreKind.WAREHOUSE,
            location="Office building, basement",
            opened_on=today,
            actor=actor,
            now=now,
        )
    return store


def store_choices(session: Session, resource: Resource) -> list[Store]:
    """Return the stores in use that can hold `resource`: its tanks, then the warehouses (any
    goods, fuel in drums included), each by name."""
    tanks = session.scalars(
        select(Store)
        .where(Store.kind == StoreKind.TANK, Store.is_active, Store.resource_id == resource.id)
        .order_by(Store.name, Store.id)
    )
    warehouses = session.scalars(
        select(Store)
        .where(Store.kind == StoreKind.WAREHOUSE, Store.is_active)
        .order_by(Store.name, Store.id)
    )
    return [*tanks, *warehouses]


def _base_quantity(line: DeliveryLine) -> Decimal:
    resource = line.resource
    return convert(line.quantity, line.unit, resource.unit, resource.effective_barrels_per_tonne)


def suggested_stores(session: Session, delivery: Delivery) -> dict[int, Store | None]:
    """Return, by line id, the store each north-bound line goes into unless the user chooses
    another: the tank of its product with the most room left (after the lines before it),
    else the materials store (None while there is none: it is opened on receipt)."""
    materials = session.scalar(select(Store).where(Store.name == MATERIALS_STORE))
    room: dict[int, Decimal] = {}
    suggested: dict[int, Store | None] = {}
    for line in delivery.lines if delivery.direction is Direction.NORTH else []:
        choices = store_choices(session, line.resource)
        tanks = [store for store in choices if store.kind is StoreKind.TANK]
        if tanks:
            for tank in tanks:
                room.setdefault(tank.id, tank.full - stock.book_stock(session, tank))
            best = max(tanks, key=lambda tank: (room[tank.id], -tank.id))
            room[best.id] -= _base_quantity(line)
            suggested[line.id] = best
        elif materials is None or materials in choices:
            suggested[line.id] = materials
        else:  # the materials store is retired: another warehouse, if there is one
            suggested[line.id] = choices[0] if choices else materials
    return suggested


def lot_line(line: DeliveryLine) -> WaiverLine | None:
    """The waiver line a received line's lot came north under, which its use is checked
    against: the line's own, else the one it drew on under its delivery's approval."""
    if line.waiver_line is not None:
        return line.waiver_line
    drawn = authorisations(line)
    return drawn[0] if drawn else None


def store_field(line: DeliveryLine) -> str:
    """The name under which a line's store is chosen (and a refusal of it is reported)."""
    return f"store_{line.id}"


def _check_store(store: Store, line: DeliveryLine) -> None:
    # Read after the store's lock: a store retired, or given to another product, since the
    # page was shown is refused here, not only by the form.
    if not store.is_active:
        raise InvalidInput(
            _l(
                "%(store)s is no longer in use; choose another store for line %(n)d.",
                store=store.name,
                n=line.line_no,
            ),
            store_field(line),
        )
    if store.kind is StoreKind.TANK and store.resource_id != line.resource_id:
        raise InvalidInput(
            _l(
                "%(store)s holds %(product)s, not %(resource)s; choose another store for line "
                "%(n)d.",
                store=store.name,
                product=store.product.name_en,
                resource=line.resource.name_en,
                n=line.line_no,
            ),
            store_field(line),
        )


def receive(
    session: Session,
    delivery: Delivery,
    *,
    received_on: date,
    stores: Mapping[int, Store | None] | None = None,
    actor: User | None,
    now: datetime,
) -> Delivery:
    """Receive a crossed delivery: each north-bound line becomes an on-site lot in the store
    chosen for it in `stores` (by line id; for a line not named or named with None, the one
    `suggested_stores` gives).

    Raises InvalidInput naming `store_<line id>` for a store that is retired or a tank of
    another product, ConflictError naming it for a tank the line would overfill; nothing is
    received then.
    """
    lock_delivery(session, delivery)
    if delivery.status is DeliveryStatus.RECEIVED:
        raise ConflictError(
            _l(
                "Delivery %(ref)s was already received on %(date)s.",
                ref=delivery.reference,
                date=format_date(delivery.received_on),
            )
        )
    _refuse_unless(
        delivery, DeliveryStatus.CROSSED, action=_l("only a delivery that crossed can be received.")
    )
    crossed_on = delivery.crossed_on
    assert crossed_on is not None, "a delivery that crossed has the day it crossed"
    if received_on < crossed_on:
        raise InvalidInput(
            _l(
                "It cannot be received before it crossed (%(date)s).",
                date=crossed_on.isoformat(),
            ),
            "received_on",
        )
    if received_on > office_date(now):
        raise InvalidInput(_l("Enter the day it was received, not in the future."), "received_on")
    placed: list[tuple[int, str]] = []
    if delivery.direction is Direction.NORTH:
        chosen = suggested_stores(session, delivery)
        chosen.update((key, store) for key, store in (stores or {}).items() if store is not None)
        targets = [
            chosen.get(line.id) or materials_store(session, actor=actor, today=received_on, now=now)
            for line in delivery.lines
        ]
        stock.lock_stores(session, targets)  # in one order: two receipts never wait on each other
        for line, store in zip(delivery.lines, targets, strict=True):
            _check_store(store, line)
            try:
                _movement, lot = stock.receive(
                    session,
                    store,
                    resource=line.resource,
                    quantity=_base_quantity(line),
                    received_on=received_on,
                    source=LotSource.DELIVERY,
                    waiver_line=lot_line(line),
                    drawdown_entry_id=line.drawdown_entry_id,
                    source_ref=f"{delivery.reference}/{line.line_no}",
                    parties=delivery.carrier,
                    note=line.description,
                    must_return_by=line.return_due_on,
                    actor=actor,
                    now=now,
                )
            except DomainError as exc:
                if exc.field not in ("quantity", "resource"):
                    raise
                # Said beside the line's store: the one thing on the form to change.
                raise type(exc)(exc.message, store_field(line)) from None
            line.lot_id = lot.id
            placed.append((line.line_no, store.name))
    delivery.status, delivery.received_on = DeliveryStatus.RECEIVED, received_on
    session.flush()
    record_event(
        session,
        "delivery.received",
        actor=actor,
        target=delivery,
        at=now,
        on=received_on.isoformat(),
        stores=[[n, name] for n, name in placed],
    )
    return delivery


def reject(
    session: Session, delivery: Delivery, *, reason: str, actor: User | None, now: datetime
) -> Delivery:
    """Record that the border turned the delivery back; nothing went north."""
    lock_delivery(session, delivery)
    _refuse_unless(
        delivery,
        DeliveryStatus.APPROVED,
        action=_l("only an approved delivery can be turned back."),
    )
    reason = _text(reason, 2000)
    if not reason:
        raise InvalidInput(_l("Give the reason."), "reason")
    delivery.status, delivery.rejected_reason = DeliveryStatus.REJECTED, reason
    session.flush()
    record_event(session, "delivery.rejected", actor=actor, target=delivery, at=now, reason=reason)
    return delivery


def overdue_returns(session: Session, today: date) -> list[StockLot]:
    """Equipment that had to come back by now and is still on site."""
    return list(
        session.scalars(
            select(StockLot)
            .where(StockLot.must_return_by < today, StockLot.remaining > 0)
            .order_by(StockLot.must_return_by, StockLot.id)
        )
    )
