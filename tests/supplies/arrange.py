"""Small functions that take a delivery or a work order along its way, through the services."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office.audit.models import AuditEvent
from office.auth.models import User
from office.repairs import services as repairs
from office.repairs.models import WorkOrder, WorkStatus
from office.stock.models import LotDraw, StockLot, StockMovement, Store
from office.supplies import services
from office.supplies.models import Delivery, DeliveryLine
from office.waivers.models import DrawdownEntry, LedgerHead, Resource, Waiver, WaiverLine
from tests.factories import NOW, make_approval

CROSSED_ON = date(2018, 10, 1)
_references = itertools.count(1)


def line(
    resource: Resource, quantity: object, waiver_line: WaiverLine | None = None, **fields: Any
) -> services.LineInput:
    """A manifest line in the resource's own unit, for repairs, unless told otherwise."""
    fields.setdefault("unit", resource.unit)
    fields.setdefault("purpose", "repair")
    return services.LineInput(
        resource=resource, quantity=quantity, waiver_line=waiver_line, **fields
    )


# A north-bound draft's carry-out approval unless told otherwise: a ministry approval with no
# lines (the suite screens under the UN's regime alone, where it changes nothing).
APPROVAL = "MOU-CO-2018-117"


def draft(
    session: Session,
    lines: Iterable[services.LineInput] = (),
    *,
    reference: str | None = None,
    direction: str = "north",
    planned_on: date = CROSSED_ON,
    approval: Waiver | str | None = APPROVAL,
    approval_number: str = "MOU-CI-2018-117",
    carrier: str = "Hyundai Logistics",
) -> Delivery:
    """A draft: north-bound, naming `approval` (a waiver, or the reference of a ministry
    approval, made with no lines if there is none); south-bound, `approval_number`."""
    north = direction == "north"
    if isinstance(approval, str):
        approval = make_approval(session, reference=approval) if north else None
    delivery = services.save_delivery(
        session,
        reference=reference or f"KLO-T-{next(_references):03d}",
        direction=direction,
        planned_on=planned_on,
        carrier=carrier,
        approval=approval,
        approval_number="" if north else approval_number,
        actor=None,
        now=NOW,
    )
    for data in lines:
        services.add_line(session, delivery, data, actor=None, now=NOW)
    session.commit()
    return delivery


def approved(session: Session, lines: Iterable[services.LineInput], **header: Any) -> Delivery:
    delivery = draft(session, lines, **header)
    services.approve(session, delivery, actor=None, now=NOW)
    session.commit()
    return delivery


def crossed(
    session: Session,
    lines: Iterable[services.LineInput],
    *,
    on: date = CROSSED_ON,
    actor: User | None = None,
    **header: Any,
) -> Delivery:
    delivery = approved(session, lines, **header)
    services.cross(session, delivery, crossed_on=on, actor=actor, now=NOW)
    session.commit()
    return delivery


def received(
    session: Session,
    lines: Iterable[services.LineInput],
    *,
    on: date = CROSSED_ON,
    actor: User | None = None,
    **header: Any,
) -> Delivery:
    delivery = crossed(session, lines, on=on, actor=actor, **header)
    services.receive(session, delivery, received_on=on, actor=actor, now=NOW)
    session.commit()
    return delivery


def lots_of(session: Session, delivery: Delivery) -> list[StockLot]:
    return [session.get(StockLot, item.lot_id) for item in delivery.lines]


def returned(
    session: Session, parts: Iterable[tuple[StockLot, object]], *, on: date, **header: Any
) -> Delivery:
    """A south-bound delivery carrying `parts` (lot, quantity) back, crossed on `on`."""
    delivery = draft(session, direction="south", planned_on=on, **header)
    for lot, quantity in parts:
        services.add_return_line(session, delivery, lot, quantity, actor=None, now=NOW)
    services.approve(session, delivery, actor=None, now=NOW)
    services.cross(session, delivery, crossed_on=on, actor=None, now=NOW)
    session.commit()
    return delivery


def work_order(
    session: Session,
    status: WorkStatus = WorkStatus.PLANNED,
    *,
    number: str | None = None,
    budget_krw: object = "10000000",
) -> WorkOrder:
    """A work order on the 2nd floor, moved along to `status` (1 August 2018 each step)."""
    order = repairs.save_work_order(
        session,
        number=number or f"WO-T-{next(_references):03d}",
        area="floor_2",
        room="South office, room 201",
        description="Replace the heating pipes",
        contractor="Hanil Construction",
        budget_krw=budget_krw,
        funding_decision="Council decision 294",
        planned_start=date(2018, 8, 1),
        planned_end=date(2018, 9, 30),
        actor=None,
        now=NOW,
    )
    path = [WorkStatus.APPROVED, WorkStatus.IN_PROGRESS, WorkStatus.COMPLETED]
    for step in path[: path.index(status) + 1] if status in path else []:
        repairs.change_status(session, order, step, on=date(2018, 8, 1), actor=None, now=NOW)
    if status is WorkStatus.CANCELLED:
        repairs.change_status(session, order, status, on=date(2018, 8, 1), actor=None, now=NOW)
    session.commit()
    return order


def lot_ids(session: Session) -> list[int]:
    return list(session.scalars(select(StockLot.id).order_by(StockLot.id)))


# Everything a crossing, a receipt or a return may write.
RECORDS = (
    DrawdownEntry,
    LedgerHead,
    WaiverLine,
    Store,
    StockLot,
    StockMovement,
    LotDraw,
    Delivery,
    DeliveryLine,
    AuditEvent,
)


def snapshot(session: Session, models: Iterable[type] = RECORDS) -> dict[str, list[tuple]]:
    """Every row of `models`' tables, read from the database, in primary-key order."""
    tables = [model.__table__ for model in models]
    return {
        table.name: [
            tuple(row)
            for row in session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in tables
    }


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))
