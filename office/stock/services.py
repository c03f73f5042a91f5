"""Stock on site, held in lots and drawn first in, first out.

Fuel tanks and the materials store keep their stock here. A lot remembers the waiver line it
came north under; every draw records, per lot, that waiver's status and coverage at the moment,
and is flagged when the waiver no longer covers it (expired, revoked...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office.audit.services import record_event
from office.auth.models import User
from office.errors import ConflictError, InvalidInput
from office.i18n import LazyText, _l
from office.periods import services as periods
from office.stock import labels as _labels  # noqa: F401 (registers the on-screen names)
from office.stock import queries
from office.stock.models import (
    LotDraw,
    LotSource,
    MovementKind,
    StockLot,
    StockMovement,
    Store,
    StoreKind,
)
from office.waivers import ledger
from office.waivers.models import Classification, Control, Resource, WaiverLine, WaiverStatus
from office.waivers.units import amount, parse_quantity

# A lot's coverage that no longer holds: the issue from it is flagged for review.
NO_LONGER_COVERED = frozenset(
    {Classification.DENIED, Classification.OUTSIDE_VALIDITY, Classification.PENDING}
)


def _amount(quantity: Decimal, resource: Resource) -> LazyText:
    return amount(quantity, resource.unit)


def lock_store(session: Session, store: Store) -> Store:
    """Lock the store's row, read afresh: stock changes of one store happen one at a time."""
    session.refresh(store, with_for_update=True)
    return store


def lock_stores(session: Session, stores: list[Store]) -> None:
    """Lock several stores' rows, in the order of their ids (see `office.concurrency`)."""
    for store in sorted({store.id: store for store in stores}.values(), key=lambda s: s.id):
        lock_store(session, store)


def book_stock(session: Session, store: Store, resource: Resource | None = None) -> Decimal:
    """What the books say is in `store` now (of `resource`): the sum of its lots' remainders."""
    query = select(func.sum(StockLot.remaining)).where(StockLot.store_id == store.id)
    if resource is not None:
        query = query.where(StockLot.resource_id == resource.id)
    return Decimal(session.scalar(query) or 0)


def book_stock_on(
    session: Session, store: Store, day: date, resource: Resource | None = None
) -> Decimal:
    """What the books said was in `store` (of `resource`) at the end of `day`: its lots
    received by then (receipts not voided), less what was issued or returned by then."""
    received = (
        queries.lots_received_by(day)
        .with_only_columns(func.sum(StockLot.quantity))
        .where(StockLot.store_id == store.id)
    )
    drawn = (
        select(func.sum(LotDraw.quantity))
        .join(StockMovement, StockMovement.id == LotDraw.movement_id)
        .where(
            StockMovement.store_id == store.id,
            StockMovement.occurred_on <= day,
            StockMovement.voided_at.is_(None),
        )
    )
    if resource is not None:
        received = received.where(StockLot.resource_id == resource.id)
        drawn = drawn.where(StockMovement.resource_id == resource.id)
    return Decimal(session.scalar(received) or 0) - Decimal(session.scalar(drawn) or 0)


def create_store(
    session: Session,
    *,
    name: str,
    kind: StoreKind,
    location: str = "",
    resource: Resource | None = None,
    capacity: object = None,
    tolerance: object = None,
    opening: object = None,
    opened_on: date,
    actor: User | None,
    now: datetime,
) -> Store:
    """Add a store; a tank holds one product, has a capacity and a dip tolerance (default 1%
    of the capacity), and may start with an opening stock."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise InvalidInput(_l("Enter a name of at most 80 characters."), "name")
    if session.scalar(select(Store.id).where(Store.name == name)) is not None:
        raise InvalidInput(_l("A store named %(name)s already exists.", name=name), "name")
    store = Store(name=name, kind=StoreKind(kind), location=(location or "").strip()[:120])
    if store.kind is StoreKind.TANK:
        if resource is None:
            raise InvalidInput(_l("Choose the product the tank holds."), "resource")
        store.resource = resource
        store.capacity = parse_quantity(capacity, unit=resource.unit)
        store.tolerance = (
            (store.capacity / 100).quantize(Decimal("0.001"))
            if tolerance in (None, "")
            else parse_quantity(tolerance, unit=resource.unit, allow_zero=True)
        )
    session.add(store)
    session.flush()
    opening_quantity = (
        Decimal(0) if opening in (None, "") else parse_quantity(opening, allow_zero=True)
    )
    if opening_quantity:
        if resource is None:
            raise InvalidInput(_l("Opening stock needs a product."), "opening")
        if store.capacity is not None and opening_quantity > store.capacity:
            raise InvalidInput(_l("The opening stock is more than the tank holds."), "opening")
        session.add(
            StockLot(
                store=store,
                resource=resource,
                received_on=opened_on,
                source=LotSource.OPENING,
                quantity=opening_quantity,
                remaining=opening_quantity,
                used=Decimal(0),
                returned=Decimal(0),
            )
        )
        session.flush()
    record_event(
        session,
        "store.created",
        actor=actor,
        target=store,
        at=now,
        name=name,
        kind=store.kind.value,
        resource=resource.code if resource is not None else None,
        capacity=store.capacity,
        opening=opening_quantity,
        opened_on=opened_on.isoformat(),
    )
    return store


def receive(
    session: Session,
    store: Store,
    *,
    resource: Resource,
    quantity: Decimal,
    received_on: date,
    source: LotSource,
    waiver_line: WaiverLine | None,
    drawdown_entry_id: int | None,
    source_ref: str | None = None,
    parties: str = "",
    note: str = "",
    must_return_by: date | None = None,
    actor: User | None,
    now: datetime,
) -> tuple[StockMovement, StockLot]:
    """Put a new lot into `store`; refuse one that would overfill a tank. The movement keeps
    who recorded it; the audit event is the caller's (a fuel receipt, a delivery received)."""
    periods.ensure_open(session, received_on, "received_on")
    store = lock_store(session, store)
    if store.kind is StoreKind.TANK:
        if store.resource_id != resource.id:
            raise InvalidInput(
                _l(
                    "%(store)s holds %(product)s, not %(resource)s.",
                    store=store.name,
                    product=store.product.shown_name,
                    resource=resource.shown_name,
                ),
                "resource",
            )
        held = book_stock(session, store)
        if held + quantity > store.full:
            raise ConflictError(
                _l(
                    "%(store)s holds %(capacity)s and has %(held)s; receiving %(quantity)s "
                    "would overfill it.",
                    store=store.name,
                    capacity=_amount(store.full, resource),
                    held=_amount(held, resource),
                    quantity=_amount(quantity, resource),
                ),
                "quantity",
            )
    lot = StockLot(
        store_id=store.id,
        resource_id=resource.id,
        received_on=received_on,
        source=source,
        source_ref=source_ref,
        quantity=quantity,
        remaining=quantity,
        used=Decimal(0),
        returned=Decimal(0),
        waiver_line_id=waiver_line.id if waiver_line else None,
        drawdown_entry_id=drawdown_entry_id,
        must_return_by=must_return_by,
    )
    session.add(lot)
    session.flush()
    movement = StockMovement(
        store_id=store.id,
        resource_id=resource.id,
        kind=MovementKind.RECEIPT,
        occurred_on=received_on,
        quantity=quantity,
        lot_id=lot.id,
        parties=parties[:200],
        note=note,
        recorded_at=now,
        recorded_by_id=actor.id if actor else None,
        use_ref=source_ref,
    )
    session.add(movement)
    session.flush()
    return movement, lot


@dataclass(frozen=True)
class Coverage:
    waiver_status: WaiverStatus | None
    classification: Classification
    flagged: bool


def coverage_now(resource: Resource, line: WaiverLine | None, day: date) -> Coverage:
    """How the waiver a lot came under covers its use on `day`, as things stand now."""
    if line is None:
        classification = (
            Classification.NOT_REQUIRED
            if resource.control is Control.NONE
            else Classification.UNCOVERED
        )
        return Coverage(None, classification, False)
    waiver = line.waiver
    classification = ledger.classify(resource, waiver, line, Decimal(0), day)
    if classification is Classification.OVER_CAP:
        classification = Classification.COVERED  # the cap was held when it came north
    return Coverage(waiver.status, classification, classification in NO_LONGER_COVERED)


def draw(
    session: Session,
    store: Store,
    *,
    resource: Resource,
    quantity: Decimal,
    kind: MovementKind,
    occurred_on: date,
    use: str | None = None,
    use_ref: str | None = None,
    parties: str = "",
    note: str = "",
    lots: list[StockLot] | None = None,
    actor: User | None,
    now: datetime,
) -> StockMovement:
    """Take `quantity` out of `store`, oldest lots first (or from `lots`, in that order). The
    movement keeps who recorded it; the audit event is the caller's (a fuel issue or return,
    a delivery carried back, a work order's material).

    Raises ConflictError when the store holds less than asked for.
    """
    if kind not in (MovementKind.ISSUE, MovementKind.RETURN):
        raise ValueError(kind)
    periods.ensure_open(session, occurred_on, "occurred_on")
    store = lock_store(session, store)
    query = (
        select(StockLot)
        .where(
            StockLot.store_id == store.id,
            StockLot.resource_id == resource.id,
            StockLot.remaining > 0,
            StockLot.received_on <= occurred_on,  # nothing is used before it arrives
        )
        .order_by(StockLot.received_on, StockLot.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if lots is not None:
        query = query.where(StockLot.id.in_([lot.id for lot in lots]))
    available = list(session.scalars(query))
    if lots is not None:
        order = {lot.id: n for n, lot in enumerate(lots)}
        available.sort(key=lambda lot: order[lot.id])
    held = sum((lot.remaining for lot in available), Decimal(0))
    if quantity > held:
        message = (
            _l(
                "%(store)s has %(held)s of %(resource)s; this issue asks for %(quantity)s.",
                store=store.name,
                held=_amount(held, resource),
                resource=resource.shown_name,
                quantity=_amount(quantity, resource),
            )
            if kind is MovementKind.ISSUE
            else _l(
                "%(store)s has %(held)s of %(resource)s to return; this return asks for "
                "%(quantity)s.",
                store=store.name,
                held=_amount(held, resource),
                resource=resource.shown_name,
                quantity=_amount(quantity, resource),
            )
        )
        raise ConflictError(message, "quantity")
    movement = StockMovement(
        store_id=store.id,
        resource_id=resource.id,
        kind=kind,
        occurred_on=occurred_on,
        quantity=quantity,
        use=use,
        use_ref=use_ref,
        parties=parties[:200],
        note=note,
        recorded_at=now,
        recorded_by_id=actor.id if actor else None,
    )
    session.add(movement)
    session.flush()
    left = quantity
    for lot in available:
        if left <= 0:
            break
        taken = min(lot.remaining, left)
        left -= taken
        lot.remaining -= taken
        if kind is MovementKind.ISSUE:
            lot.used += taken
        else:
            lot.returned += taken
        cover = coverage_now(resource, lot.waiver_line, occurred_on)
        session.add(
            LotDraw(
                movement_id=movement.id,
                lot_id=lot.id,
                quantity=taken,
                waiver_line_id=lot.waiver_line_id,
                waiver_status=cover.waiver_status,
                classification=cover.classification,
                flagged=cover.flagged and kind is MovementKind.ISSUE,
            )
        )
    session.flush()
    return movement


def lock_movement(session: Session, movement: StockMovement) -> StockMovement:
    """Lock a movement to void it, read afresh; raise ConflictError if it is already void."""
    session.refresh(movement, with_for_update=True)
    if movement.voided_at is not None:
        raise ConflictError(_l("This movement was already voided."))
    return movement


def undo_draw(session: Session, movement: StockMovement, *, reason: str, now: datetime) -> None:
    """Void an issue or a return: its quantities go back into the lots they came from.

    Raises ConflictError for a movement already voided or dated in a signed-off month.
    """
    periods.ensure_open(session, movement.occurred_on)
    lock_movement(session, movement)
    lock_store(session, movement.store)
    for part in movement.draws:
        lot = part.lot
        session.refresh(lot)  # as it stands under the store's lock
        lot.remaining += part.quantity
        if movement.kind is MovementKind.ISSUE:
            lot.used -= part.quantity
        else:
            lot.returned -= part.quantity
    movement.voided_at, movement.void_reason = now, reason
    session.flush()


def void_receipt(
    session: Session, movement: StockMovement, *, reason: str, now: datetime
) -> StockLot:
    """Void a receipt whose lot is untouched; the caller reverses its ledger entry.

    Raises ConflictError for a movement already voided, dated in a signed-off month, or whose
    lot was drawn from.
    """
    periods.ensure_open(session, movement.occurred_on)
    lock_movement(session, movement)
    lock_store(session, movement.store)
    lot = session.get(StockLot, movement.lot_id, populate_existing=True)
    assert lot is not None, "a receipt has its lot"
    if lot.remaining != lot.quantity:
        raise ConflictError(
            _l(
                "Part of this receipt was already used or returned; record a correcting issue "
                "instead."
            ),
            "movement",
        )
    lot.remaining = Decimal(0)
    movement.voided_at, movement.void_reason = now, reason
    session.flush()
    return lot


def fifo_flagged(movement: StockMovement) -> bool:
    return any(part.flagged for part in movement.draws)
