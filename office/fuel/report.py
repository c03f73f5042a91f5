"""The UN petroleum notification (UNSCR 2397, paragraph 5): the gross refined petroleum (HS
2710) transferred north in a 30-day period, per product, in litres, tonnes and barrels, with
the parties to each transfer. Returns south are listed apart and never netted: the UN counts
transfers by territory, not possession."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from office.stock.models import MovementKind, StockLot, StockMovement
from office.waivers.models import DrawdownEntry, Resource, Waiver
from office.waivers.units import Unit, convert

PERIOD_DAYS = 30
PETROLEUM_PREFIX = "2710"


def periods(year: int) -> list[tuple[date, date]]:
    """Consecutive 30-day periods from 1 January (the last one runs into the next year)."""
    start, found = date(year, 1, 1), []
    while start.year == year:
        found.append((start, period_end(start)))
        start += timedelta(days=PERIOD_DAYS)
    return found


def period_end(start: date) -> date:
    """The last day of the 30-day period that begins on `start`."""
    return start + timedelta(days=PERIOD_DAYS - 1)


def period_from(start: date | None, today: date) -> tuple[date, date]:
    """The report's period: the 30 days from `start`, any day, or without one the period
    counted from 1 January that holds `today`."""
    return (start, period_end(start)) if start is not None else period_of(today)


def period_of(day: date) -> tuple[date, date]:
    """The 30-day period (counted from 1 January) that `day` falls in."""
    start = date(day.year, 1, 1) + timedelta(
        days=(day - date(day.year, 1, 1)).days // PERIOD_DAYS * PERIOD_DAYS
    )
    return start, period_end(start)


@dataclass(frozen=True)
class Amounts:
    litres: Decimal
    tonnes: Decimal
    barrels: Decimal


def amounts(quantity: Decimal, resource: Resource) -> Amounts:
    factor = resource.effective_barrels_per_tonne
    return Amounts(
        litres=convert(quantity, resource.unit, Unit.L, factor).quantize(Decimal("0.1")),
        tonnes=convert(quantity, resource.unit, Unit.T, factor).quantize(Decimal("0.001")),
        barrels=convert(quantity, resource.unit, Unit.BBL, factor).quantize(Decimal("0.01")),
    )


@dataclass(frozen=True)
class Transfer:
    day: date
    resource: Resource
    amounts: Amounts
    waiver: str | None
    parties: str
    ledger_seq: int


@dataclass(frozen=True)
class Return:
    day: date
    resource: Resource
    amounts: Amounts
    parties: str


@dataclass
class ProductTotal:
    resource: Resource
    litres: Decimal = Decimal(0)
    tonnes: Decimal = Decimal(0)
    barrels: Decimal = Decimal(0)
    returned_litres: Decimal = Decimal(0)


@dataclass
class Report:
    start: date
    end: date
    transfers: list[Transfer] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    products: dict[int, ProductTotal] = field(default_factory=dict)

    def total(self, resource: Resource) -> ProductTotal:
        return self.products.setdefault(resource.id, ProductTotal(resource))


def petroleum_report(session: Session, start: date, end: date) -> Report:
    """Every HS 2710 transfer north and every return south from `start` to `end`."""
    report = Report(start, end)
    reversal = aliased(DrawdownEntry)
    petroleum = Resource.hs_code.startswith(PETROLEUM_PREFIX)
    rows = session.execute(
        select(DrawdownEntry, Resource, Waiver.reference, StockMovement.parties)
        .join(Resource, Resource.id == DrawdownEntry.resource_id)
        .outerjoin(Waiver, Waiver.id == DrawdownEntry.waiver_id)
        .outerjoin(reversal, reversal.reverses_id == DrawdownEntry.id)
        .outerjoin(StockLot, StockLot.drawdown_entry_id == DrawdownEntry.id)
        .outerjoin(
            StockMovement,
            (StockMovement.lot_id == StockLot.id) & (StockMovement.kind == MovementKind.RECEIPT),
        )
        .where(
            petroleum,
            DrawdownEntry.occurred_on >= start,
            DrawdownEntry.occurred_on <= end,
            DrawdownEntry.reverses_id.is_(None),
            reversal.id.is_(None),
        )
        .order_by(DrawdownEntry.occurred_on, DrawdownEntry.seq)
    )
    for entry, resource, reference, parties in rows:
        moved = amounts(entry.base_quantity, resource)
        report.transfers.append(
            Transfer(entry.occurred_on, resource, moved, reference, parties or "", entry.seq)
        )
        total = report.total(resource)
        total.litres += moved.litres
        total.tonnes += moved.tonnes
        total.barrels += moved.barrels
    for movement, resource in session.execute(
        select(StockMovement, Resource)
        .join(Resource)
        .where(
            petroleum,
            StockMovement.kind == MovementKind.RETURN,
            StockMovement.voided_at.is_(None),
            StockMovement.occurred_on >= start,
            StockMovement.occurred_on <= end,
        )
        .order_by(StockMovement.occurred_on, StockMovement.id)
    ):
        moved = amounts(movement.quantity, resource)
        report.returns.append(Return(movement.occurred_on, resource, moved, movement.parties))
        report.total(resource).returned_litres += moved.litres
    return report
