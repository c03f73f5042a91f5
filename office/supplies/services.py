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
from office.errors import ConflictError, DomainError, InvalidInput
from office.i18n import (
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
    DEFAULT_CROSSING_POINT,
    ApprovalType,
    Delivery,
    DeliveryLine,
    DeliveryStatus,
    Direction,
)
from office.waivers import ledger, units
from office.waivers.models import (
    Classification,
    Control,
    Purpose,
    Resource,
    Source,
    Waiver,
    WaiverLine,
)
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
    approval_number: str = "",
    approval_type: ApprovalType | str = ApprovalType.INDIVIDUAL,
    customs_declaration: str = "",
    note: str = "",
    actor: User | None,
    now: datetime,
    delivery: Delivery | None = None,
) -> Delivery:
    """Add a delivery as a draft, or change one that is still a draft."""
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
    if delivery is None:
        delivery = Delivery(status=DeliveryStatus.DRAFT, direction=Direction(direction))
        session.add(delivery)
    else:
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
    delivery.approval_number = _text(approval_number, 60)
    delivery.approval_type = ApprovalType(approval_type)
    delivery.customs_declaration = _text(customs_declaration, 60)
    delivery.note = _text(note, 2000)
    session.flush()
    record_event(
        session, "delivery.saved", actor=actor, target=delivery, at=now, reference=reference
    )
    return delivery


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


# --- screening ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Screening:
    """What a manifest line would meet at the border now."""

    line: DeliveryLine
    control: Control
    classification: Classification | None
    message: Any | None
    remaining_before: Decimal | None  # on the waiver line, in the waiver line's unit
    remaining_after: Decimal | None

    @property
    def passes(self) -> bool:
        return self.classification in (Classification.COVERED, Classification.NOT_REQUIRED) or (
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


def screen(delivery: Delivery, day: date) -> list[Screening]:
    """Screen each line as if crossing on `day`, counting earlier lines on the same waiver
    line."""
    pending: dict[int, Decimal] = defaultdict(Decimal)
    results = []
    for line in delivery.lines:
        resource, waiver_line = line.resource, line.waiver_line
        if line.return_lot_id is not None:
            results.append(Screening(line, resource.control, None, None, None, None))
            continue
        base = convert(
            line.quantity, line.unit, resource.unit, resource.effective_barrels_per_tonne
        )
        waiver = waiver_line.waiver if waiver_line is not None else None
        earlier = pending[waiver_line.id] if waiver_line is not None else Decimal(0)
        classification = ledger.classify(resource, waiver, waiver_line, base + earlier, day)
        message = None
        if classification is Classification.OVER_CAP and waiver_line is not None:
            message = _over_cap(waiver_line, resource, base, earlier)
        elif classification not in ledger.RECORDED_PLAINLY:
            message = ledger.refusal_message(
                classification, resource, waiver, waiver_line, base, day
            )
        before = after = None
        if waiver_line is not None and waiver_line.granted_base is not None:
            left = waiver_line.granted_base - waiver_line.used_base - earlier
            before = convert(
                left, resource.unit, waiver_line.unit, resource.effective_barrels_per_tonne
            )
            after = convert(
                left - base, resource.unit, waiver_line.unit, resource.effective_barrels_per_tonne
            )
            pending[waiver_line.id] += base
        results.append(Screening(line, resource.control, classification, message, before, after))
    return results


# --- the delivery's way -------------------------------------------------------------------


def approve(session: Session, delivery: Delivery, *, actor: User | None, now: datetime) -> Delivery:
    """Record the ministry's carry-out approval: the manifest is then fixed."""
    lock_delivery(session, delivery)
    _refuse_unless(delivery, DeliveryStatus.DRAFT, action=_l("only a draft can be approved."))
    if not delivery.lines:
        raise ConflictError(_l("A delivery without manifest lines cannot be approved."))
    if not delivery.approval_number:
        raise InvalidInput(
            _l("Enter the ministry's carry-out approval number first."), "approval_number"
        )
    delivery.status = DeliveryStatus.APPROVED
    session.flush()
    record_event(
        session,
        "delivery.approved",
        actor=actor,
        target=delivery,
        at=now,
        approval=delivery.approval_number,
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


def _lock_in_order(session: Session, delivery: Delivery) -> None:
    # Two crossings that share waiver lines (or stores, going south) and list them in another
    # order would each lock its first and wait for the other's: a deadlock. Taking every lock
    # up front, in one order, makes the second wait for the first instead.
    if delivery.direction is Direction.NORTH:
        drawn = [line.waiver_line for line in delivery.lines if line.waiver_line is not None]
        waiver_ids = sorted({line.waiver_id for line in drawn})
        line_ids = sorted({line.id for line in drawn})
        session.execute(
            select(Waiver.id)
            .where(Waiver.id.in_(waiver_ids))
            .order_by(Waiver.id)
            .with_for_update(read=True)
        )
        session.execute(
            select(WaiverLine.id)
            .where(WaiverLine.id.in_(line_ids))
            .order_by(WaiverLine.id)
            .with_for_update()
        )
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
    """Mark the delivery crossed. North-bound, every line is drawn on the ledger (overrides
    as given on the line); south-bound, every line takes its lot back. If any line is
    refused, the whole crossing is refused: the caller rolls back and nothing is recorded.
    """
    lock_delivery(session, delivery)
    _refuse_unless(
        delivery, DeliveryStatus.APPROVED, action=_l("only an approved delivery can cross.")
    )
    if not FIRST_DAY <= crossed_on <= office_date(now):
        raise InvalidInput(_l("Enter the day it crossed, not in the future."), "crossed_on")
    _lock_in_order(session, delivery)
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
                    waiver_line=line.waiver_line,
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
