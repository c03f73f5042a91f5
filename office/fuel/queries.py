"""Read models of the operations pages: the day's history, what its receipts drew on the ledger,
and tanks as they stood on a day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from office.auth.models import User
from office.fuel.models import DailyLogEvent, DipReading
from office.stock import queries as stock_queries
from office.stock import services as stock
from office.stock.models import MovementKind, StockLot, StockMovement, Store
from office.waivers.models import DrawdownEntry, EntryScreening, Source, Waiver, WaiverLine

# Hourly readings put hundreds of these in a day's history; each meter's are shown as one line.
FOLDED_ACTIONS = frozenset({"meter_reading"})


@dataclass
class HistoryLine:
    """One line of a day's history: one event, or a meter's plain readings taken together."""

    at: datetime
    by: User | None
    action: str
    reason: str | None
    subject: str = ""  # the meter of folded readings
    last_at: datetime | None = None  # the last of folded readings
    count: int = 1


def history_lines(events: list[DailyLogEvent]) -> list[HistoryLine]:
    """The day's history in time order, with the readings of each meter by one person folded
    into one line where the first was (a correction always keeps its own line)."""
    lines: list[HistoryLine] = []
    folds: dict[tuple[str, str, int | None], HistoryLine] = {}
    for event in events:
        if event.action in FOLDED_ACTIONS and not event.reason:
            key = (event.action, str(event.detail.get("meter", "")), event.by_id)
            line = folds.get(key)
            if line is not None:
                line.count += 1
                line.last_at = event.at
                continue
            line = folds[key] = HistoryLine(event.at, event.by, event.action, None, key[1])
        else:
            line = HistoryLine(event.at, event.by, event.action, event.reason)
        lines.append(line)
    return lines


def receipt_drawdowns(
    session: Session, movements: Sequence[StockMovement]
) -> dict[int, DrawdownEntry]:
    """The ledger entry each fuel receipt among `movements` drew (by the receipt's id), with
    its screening under each regime and the line drawn on there: the coverage as it was
    recorded, not as the waivers stand now."""
    receipts = [m.id for m in movements if m.kind is MovementKind.RECEIPT]
    if not receipts:
        return {}
    entries = session.scalars(
        select(DrawdownEntry)
        .where(
            DrawdownEntry.source == Source.FUEL_RECEIPT,
            DrawdownEntry.source_id.in_(receipts),
            DrawdownEntry.reverses_id.is_(None),  # a voided receipt keeps what it drew
        )
        .options(
            selectinload(DrawdownEntry.screenings).selectinload(EntryScreening.regime),
            selectinload(DrawdownEntry.screenings)
            .selectinload(EntryScreening.waiver_line)
            .selectinload(WaiverLine.waiver),
        )
    )
    return {entry.source_id: entry for entry in entries if entry.source_id is not None}


@dataclass(frozen=True)
class TankOnDay:
    """A tank as its books stood at the end of a day."""

    tank: Store
    book: Decimal
    lots: list[stock_queries.LotAsOf]
    dips: list[DipReading]


def tank_book_on(session: Session, tanks: list[Store], day: date) -> list[tuple[Store, Decimal]]:
    """Each of `tanks` with its book stock at the end of `day`."""
    return [(tank, stock.book_stock_on(session, tank, day)) for tank in tanks]


def tank_on(session: Session, tank: Store, day: date, *, limit: int = 200) -> TankOnDay:
    """`tank` at the end of `day`: its book stock, the lots it had received by then with what
    had been used and returned of each, and the dips taken by then (voided ones left out)."""
    lots = list(
        session.scalars(
            stock_queries.lots_received_by(day)
            .where(StockLot.store_id == tank.id)
            .order_by(StockLot.received_on.desc(), StockLot.id.desc())
            .limit(limit)
            .options(
                selectinload(StockLot.waiver_line)
                .selectinload(WaiverLine.waiver)
                .selectinload(Waiver.history)
            )
        )
    )
    dips = list(
        session.scalars(
            select(DipReading)
            .where(
                DipReading.store_id == tank.id,
                DipReading.read_on <= day,
                DipReading.voided_at.is_(None),
            )
            .order_by(DipReading.read_at.desc(), DipReading.id.desc())
            .limit(50)
        )
    )
    return TankOnDay(
        tank,
        stock.book_stock_on(session, tank, day),
        stock_queries.lots_as_of(session, lots, day),
        dips,
    )
