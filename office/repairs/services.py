"""Rules for repair works: work orders and their statuses, materials drawn from on-site lots
first in, first out (each use keeping its lot's waiver coverage), equipment and spend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from office.audit.services import record_event
from office.auth.models import User
from office.errors import ConflictError, InvalidInput
from office.i18n import _l, label, office_date
from office.inputs import check_day, decimal_from
from office.repairs import labels as _labels  # noqa: F401 (registers the on-screen names)
from office.repairs.models import Area, WorkCost, WorkEquipment, WorkOrder, WorkStatus
from office.stock import services as stock
from office.stock.models import LotDraw, MovementKind, StockLot, StockMovement
from office.supplies import services as supplies
from office.supplies.models import DeliveryLine
from office.waivers.models import Resource
from office.waivers.units import Unit, convert, parse_quantity

TRANSITIONS = {
    WorkStatus.PLANNED: {WorkStatus.APPROVED, WorkStatus.CANCELLED},
    WorkStatus.APPROVED: {WorkStatus.IN_PROGRESS, WorkStatus.CANCELLED},
    WorkStatus.IN_PROGRESS: {WorkStatus.COMPLETED, WorkStatus.CANCELLED},
    WorkStatus.COMPLETED: set(),
    WorkStatus.CANCELLED: set(),
}
WORKING = frozenset({WorkStatus.APPROVED, WorkStatus.IN_PROGRESS})


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def _check_date(value: date | None, field: str) -> None:
    check_day(value, field)


def lock_work_order(session: Session, work_order: WorkOrder) -> WorkOrder:
    """Lock a work order, read afresh: its status and what it draws change one at a time."""
    session.refresh(work_order, with_for_update=True)
    return work_order


def _won(value: object, field: str) -> int:
    number = (
        Decimal(value)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool)
        else decimal_from(str(value).strip(), grouping=True)
    )
    if number is None:
        number = Decimal(-1)
    if not number.is_finite() or number < 0 or number >= 10**15 or number != number.to_integral():
        raise InvalidInput(_l("Enter an amount of 0 or more, in whole won."), field)
    return int(number)


WORK_ORDER_SERIES = "KLO-W"  # KLO-W-2018-01, by year


def next_number(session: Session, *, year: int) -> str:
    """Return the next free work order number of the office's series for `year`."""
    return supplies.next_free(session, WorkOrder.number, f"{WORK_ORDER_SERIES}-{year}-")


def save_work_order(
    session: Session,
    *,
    number: str,
    area: Area | str,
    room: str,
    description: str,
    contractor: str,
    budget_krw: object,
    funding_decision: str,
    planned_start: date,
    planned_end: date,
    actor: User | None,
    now: datetime,
    work_order: WorkOrder | None = None,
) -> WorkOrder:
    """Add a work order (planned), or change one's details."""
    number = _text(number, 40)
    if not number:
        raise InvalidInput(_l("Enter the work order's number."), "number")
    # Said plainly here; the unique index refuses the same number saved twice at once (the
    # request then runs again and says so here).
    clash = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    if clash is not None and clash is not work_order:
        series = supplies.series_of(number)
        free = supplies.next_free(session, WorkOrder.number, series) if series is not None else None
        raise InvalidInput(
            _l(
                "Work order %(number)s already exists; the next free number is %(next)s.",
                number=number,
                next=free,
            )
            if free is not None
            else _l("Work order %(number)s already exists.", number=number),
            "number",
        )
    if not _text(description, 4000):
        raise InvalidInput(_l("Describe the work."), "description")
    _check_date(planned_start, "planned_start")
    _check_date(planned_end, "planned_end")
    if planned_end < planned_start:
        raise InvalidInput(_l("The work cannot end before it starts."), "planned_end")
    if work_order is None:
        work_order = WorkOrder(status=WorkStatus.PLANNED, progress=0)
        session.add(work_order)
    else:
        lock_work_order(session, work_order)
    work_order.number, work_order.area, work_order.room = number, Area(area), _text(room, 80)
    work_order.description = _text(description, 4000)
    work_order.contractor = _text(contractor, 120)
    work_order.budget_krw = _won(budget_krw, "budget_krw")
    work_order.funding_decision = _text(funding_decision, 80)
    work_order.planned_start, work_order.planned_end = planned_start, planned_end
    session.flush()
    record_event(session, "work_order.saved", actor=actor, target=work_order, at=now, number=number)
    return work_order


def suggested_day(work_order: WorkOrder, *, today: date, status: WorkStatus | None = None) -> date:
    """Return the day to offer for a record of the work order: its planned start for its
    approval or start, its planned end for its completion (not before it actually started),
    else the day of its planned period nearest `today`; never after `today`."""
    if status in (WorkStatus.APPROVED, WorkStatus.IN_PROGRESS):
        day = work_order.planned_start
    elif status is WorkStatus.COMPLETED:
        day = max(work_order.planned_end, work_order.actual_start or work_order.planned_end)
    else:
        day = min(max(today, work_order.planned_start), work_order.planned_end)
    return min(day, today)


def change_status(
    session: Session,
    work_order: WorkOrder,
    status: WorkStatus | str,
    *,
    on: date,
    actor: User | None,
    now: datetime,
) -> WorkOrder:
    """Move a work order along planned -> approved -> in progress -> completed (or cancelled)."""
    status = WorkStatus(status)
    lock_work_order(session, work_order)
    if status not in TRANSITIONS[work_order.status]:
        raise ConflictError(
            _l(
                "Work order %(number)s cannot go from %(old)s to %(new)s.",
                number=work_order.number,
                old=label(work_order.status),
                new=label(status),
            ),
            "status",
        )
    _check_date(on, "on")
    if (
        status is WorkStatus.COMPLETED
        and work_order.actual_start is not None
        and on < work_order.actual_start
    ):
        raise InvalidInput(_l("The work cannot end before it starts."), "on")
    if status is WorkStatus.IN_PROGRESS and work_order.actual_start is None:
        work_order.actual_start = on
    if status is WorkStatus.COMPLETED:
        work_order.actual_end, work_order.progress = on, 100
    work_order.status = status
    session.flush()
    record_event(
        session,
        "work_order.status",
        actor=actor,
        target=work_order,
        at=now,
        status=status.value,
        on=on.isoformat(),
    )
    return work_order


def set_progress(
    session: Session, work_order: WorkOrder, progress: int, *, actor: User | None, now: datetime
) -> WorkOrder:
    lock_work_order(session, work_order)
    if work_order.status not in WORKING:
        raise ConflictError(_l("Progress is recorded while the work is approved or under way."))
    if not 0 <= progress <= 100:
        raise InvalidInput(_l("Progress is a percentage from 0 to 100."), "progress")
    work_order.progress = progress
    session.flush()
    record_event(
        session, "work_order.progress", actor=actor, target=work_order, at=now, progress=progress
    )
    return work_order


def use_material(
    session: Session,
    work_order: WorkOrder,
    *,
    resource: Resource,
    quantity: object,
    unit: Unit | str,
    used_on: date,
    actor: User | None,
    now: datetime,
) -> StockMovement:
    """Draw material for the work from the materials store, oldest lots first.

    Raises ConflictError when less is on site than asked for.
    """
    lock_work_order(session, work_order)
    if work_order.status not in WORKING:
        raise ConflictError(
            _l(
                "Work order %(number)s is %(status)s; materials are used while it is approved "
                "or under way.",
                number=work_order.number,
                status=label(work_order.status),
            ),
        )
    try:
        unit = Unit(unit)
    except ValueError:
        raise InvalidInput(_l("Unknown unit %(unit)s.", unit=str(unit)[:20]), "unit") from None
    amount = convert(
        parse_quantity(quantity, unit=unit),
        unit,
        resource.unit,
        resource.effective_barrels_per_tonne,
    )
    _check_date(used_on, "used_on")
    if used_on > office_date(now):
        raise InvalidInput(_l("Enter the day it was used, not in the future."), "used_on")
    store = supplies.materials_store(session, actor=actor, today=used_on, now=now)
    movement = stock.draw(
        session,
        store,
        resource=resource,
        quantity=amount,
        kind=MovementKind.ISSUE,
        occurred_on=used_on,
        use="work_order",
        use_ref=f"work order {work_order.id}",
        actor=actor,
        now=now,
    )
    record_event(
        session,
        "work_order.material",
        actor=actor,
        target=work_order,
        at=now,
        resource=resource.code,
        quantity=amount,
    )
    return movement


def add_cost(
    session: Session,
    work_order: WorkOrder,
    *,
    spent_on: date,
    description: str,
    amount_krw: object,
    actor: User | None,
    now: datetime,
) -> WorkCost:
    """Record money spent on the work besides its materials (labour, invoices)."""
    lock_work_order(session, work_order)
    try:
        amount = _won(amount_krw, "amount_krw")
    except InvalidInput:
        amount = 0  # a cost is more than nothing: said so below
    if amount <= 0:
        raise InvalidInput(_l("Enter an amount greater than 0, in whole won."), "amount_krw")
    if not _text(description, 200):
        raise InvalidInput(_l("Say what it was for."), "description")
    _check_date(spent_on, "spent_on")
    cost = WorkCost(
        work_order=work_order,
        spent_on=spent_on,
        description=_text(description, 200),
        amount_krw=amount,
    )
    session.add(cost)
    session.flush()
    record_event(
        session, "work_order.cost", actor=actor, target=work_order, at=now, amount_krw=amount
    )
    return cost


def assign_equipment(
    session: Session,
    work_order: WorkOrder,
    lot: StockLot,
    *,
    note: str = "",
    actor: User | None,
    now: datetime,
) -> WorkEquipment:
    """Note that equipment taken in (a must-return lot) serves this work order."""
    lock_work_order(session, work_order)
    if lot.must_return_by is None:
        raise InvalidInput(_l("Only equipment that must come back is assigned."), "lot")
    if any(item.lot_id == lot.id for item in work_order.equipment):
        raise ConflictError(_l("This equipment is already on the work order."), "lot")
    item = WorkEquipment(work_order=work_order, lot=lot, note=_text(note, 200))
    session.add(item)
    session.flush()
    record_event(
        session, "work_order.equipment", actor=actor, target=work_order, at=now, lot=lot.id
    )
    return item


# --- what a work order used and cost ------------------------------------------------------


@dataclass
class MaterialUse:
    movement: StockMovement
    draws: list[LotDraw]
    value_krw: int


@dataclass
class WorkSummary:
    materials: list[MaterialUse] = field(default_factory=list)
    materials_krw: int = 0
    costs_krw: int = 0
    flagged: int = 0

    @property
    def spent_krw(self) -> int:
        return self.materials_krw + self.costs_krw


def summary(session: Session, work_order: WorkOrder) -> WorkSummary:
    """The work order's materials (with their waiver coverage), spend and flags."""
    result = WorkSummary(costs_krw=sum(cost.amount_krw for cost in work_order.costs))
    movements = session.scalars(
        select(StockMovement)
        .where(
            StockMovement.use_ref == f"work order {work_order.id}",
            StockMovement.voided_at.is_(None),
        )
        .order_by(StockMovement.occurred_on, StockMovement.id)
        .options(
            selectinload(StockMovement.draws).selectinload(LotDraw.lot),
            selectinload(StockMovement.resource),
        )
    ).all()
    lines = {
        line.lot_id: line
        for line in session.scalars(
            select(DeliveryLine).where(
                DeliveryLine.lot_id.in_(
                    [part.lot_id for movement in movements for part in movement.draws]
                )
            )
        )
    }
    for movement in movements:
        value = Decimal(0)
        for part in movement.draws:
            line = lines.get(part.lot_id)
            if line is not None and part.lot.quantity:
                # The line's value is per line unit; the lot counts the resource's unit.
                per_unit = Decimal(line.unit_value_krw) * line.quantity / part.lot.quantity
                value += per_unit * part.quantity
            result.flagged += part.flagged
        use = MaterialUse(movement, list(movement.draws), int(value.to_integral_value()))
        result.materials.append(use)
        result.materials_krw += use.value_krw
    return result
