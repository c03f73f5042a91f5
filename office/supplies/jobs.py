"""The on-site stock's export as a job: every lot (of one resource, when the page shows one),
as it stands or as it stood at the end of a day, as CSV or XLSX. Safe to run again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from office.auth.permissions import Permission
from office.db import utcnow
from office.i18n import _l, office_date
from office.jobs.exports import export_rows
from office.jobs.kinds import JobKind, register
from office.jobs.runner import JobContext
from office.stock import queries as stock_queries
from office.stock.models import StockLot
from office.waivers.models import WaiverLine
from office.waivers.units import format_quantity

KIND = "stock_export"
COLUMNS = (
    "lot",
    "resource",
    "unit",
    "received_on",
    "store",
    "source",
    "source_ref",
    "waiver",
    "line_no",
    "received",
    "used",
    "returned",
    "remaining",
    "must_return_by",
)
BATCH = 1000


def _lots(
    session: Session, resource_id: int | None, as_of: date | None
) -> Iterator[stock_queries.LotAsOf]:
    base = select(StockLot) if as_of is None else stock_queries.lots_received_by(as_of)
    if resource_id is not None:
        base = base.where(StockLot.resource_id == resource_id)
    base = (
        base.order_by(StockLot.id)
        .limit(BATCH)
        .options(
            selectinload(StockLot.store),
            selectinload(StockLot.resource),
            selectinload(StockLot.waiver_line).selectinload(WaiverLine.waiver),
        )
    )
    after = 0
    while True:
        found = list(session.scalars(base.where(StockLot.id > after)))
        if as_of is None:
            yield from (
                stock_queries.LotAsOf(lot, lot.used, lot.returned, lot.remaining) for lot in found
            )
        else:
            yield from stock_queries.lots_as_of(session, found, as_of)
        if len(found) < BATCH:
            return
        after = found[-1].id
        session.expunge_all()  # keep the session small on any number of lots


def run_stock_export(context: JobContext) -> None:
    params = context.params
    fmt = params["format"]
    as_of = date.fromisoformat(params["as_of"]) if params.get("as_of") else None
    resource_id = params.get("resource_id")

    def amount(value: Decimal) -> Any:
        return format_quantity(value) if fmt == "csv" else value

    context.progress(stage="reading", force=True)
    with context.read_session() as session:
        counted = select(func.count()).select_from(StockLot)
        if resource_id is not None:
            counted = counted.where(StockLot.resource_id == resource_id)
        total = session.scalar(counted) if as_of is None else None
        rows = (
            [
                row.lot.id,
                row.lot.resource.code,
                row.lot.resource.unit.value,
                row.lot.received_on.isoformat(),
                row.lot.store.shown_name,
                row.lot.source.value,
                row.lot.source_ref or "",
                row.lot.waiver_line.waiver.reference if row.lot.waiver_line else "",
                row.lot.waiver_line.line_no if row.lot.waiver_line else "",
                amount(row.lot.quantity),
                amount(row.used),
                amount(row.returned),
                amount(row.remaining),
                row.lot.must_return_by.isoformat() if row.lot.must_return_by else "",
            ]
            for row in _lots(session, resource_id, as_of)
        )
        day = (as_of or office_date(utcnow())).isoformat()
        export_rows(
            context,
            name=f"stock-{day}",
            fmt=fmt,
            columns=COLUMNS,
            rows=rows,
            total=total,
            sheet="stock",
        )


def describe(params: dict[str, Any]) -> str:
    parts = [str(params.get("format", "")).upper()]
    if params.get("as_of"):
        parts.append(str(params["as_of"]))
    return ", ".join(parts)


register(
    JobKind(
        name=KIND,
        label=_l("On-site stock export"),
        run=run_stock_export,
        retry_safe=True,
        permission=Permission.VIEW_SUPPLIES,
        describe=describe,
    )
)
