"""On-site stock as it stood at the end of any day: lots received by then, less what was
issued or carried back by then (voided movements left out)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session, aliased

from office.stock.models import LotDraw, MovementKind, StockLot, StockMovement
from office.waivers.models import Resource


def _receipt_kept() -> ColumnElement[bool]:
    receipt = aliased(StockMovement)
    return ~exists().where(
        receipt.lot_id == StockLot.id,
        receipt.kind == MovementKind.RECEIPT,
        receipt.voided_at.is_not(None),
    )


@dataclass(frozen=True)
class Totals:
    resource: Resource
    lots: int
    received: Decimal
    used: Decimal
    returned: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.received - self.used - self.returned


def totals_as_of(session: Session, day: date) -> list[Totals]:
    """Per resource: lots received up to `day`, and how much of them was used and returned."""
    received = session.execute(
        select(StockLot.resource_id, func.count(StockLot.id), func.sum(StockLot.quantity))
        .where(StockLot.received_on <= day, _receipt_kept())
        .group_by(StockLot.resource_id)
    ).all()
    drawn: dict[tuple[int, MovementKind], Decimal] = defaultdict(Decimal)
    for resource_id, kind, quantity in session.execute(
        select(StockMovement.resource_id, StockMovement.kind, func.sum(LotDraw.quantity))
        .join(StockMovement, StockMovement.id == LotDraw.movement_id)
        .where(StockMovement.occurred_on <= day, StockMovement.voided_at.is_(None))
        .group_by(StockMovement.resource_id, StockMovement.kind)
    ):
        drawn[(resource_id, MovementKind(kind))] += Decimal(quantity)
    resources = {
        r.id: r
        for r in session.scalars(select(Resource).where(Resource.id.in_([r[0] for r in received])))
    }
    totals = [
        Totals(
            resources[resource_id],
            count,
            Decimal(quantity),
            drawn[(resource_id, MovementKind.ISSUE)],
            drawn[(resource_id, MovementKind.RETURN)],
        )
        for resource_id, count, quantity in received
    ]
    return sorted(totals, key=lambda t: t.resource.code)


@dataclass(frozen=True)
class LotAsOf:
    lot: StockLot
    used: Decimal
    returned: Decimal
    remaining: Decimal


def lots_as_of(session: Session, lots: list[StockLot], day: date) -> list[LotAsOf]:
    """`lots` (received by `day`) with what had been used and returned of each by then."""
    drawn: dict[tuple[int, MovementKind], Decimal] = defaultdict(Decimal)
    for lot_id, kind, quantity in session.execute(
        select(LotDraw.lot_id, StockMovement.kind, func.sum(LotDraw.quantity))
        .join(StockMovement, StockMovement.id == LotDraw.movement_id)
        .where(
            LotDraw.lot_id.in_([lot.id for lot in lots]),
            StockMovement.occurred_on <= day,
            StockMovement.voided_at.is_(None),
        )
        .group_by(LotDraw.lot_id, StockMovement.kind)
    ):
        drawn[(lot_id, MovementKind(kind))] += Decimal(quantity)
    rows = []
    for lot in lots:
        used, returned = drawn[(lot.id, MovementKind.ISSUE)], drawn[(lot.id, MovementKind.RETURN)]
        rows.append(LotAsOf(lot, used, returned, lot.quantity - used - returned))
    return rows


def lots_received_by(day: date) -> Select[StockLot]:
    return select(StockLot).where(StockLot.received_on <= day, _receipt_kept())
