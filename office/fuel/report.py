"""The UN petroleum notification (UNSCR 2397, paragraph 5): the gross refined petroleum (HS
2710) transferred north in a 30-day period, per product, in litres, tonnes and barrels, with
the parties to each transfer. Returns south are listed apart and never netted: the UN counts
transfers by territory, not possession.

Each product converts by its own barrels per tonne, else its kind's UNSD default, and its line
says which. A product with neither is still listed, in the units it can be given in: one
product never stops the report of the others."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from office import exports, inputs
from office.errors import InvalidInput
from office.i18n import _, format_hs_code
from office.stock.models import MovementKind, StockLot, StockMovement
from office.waivers.labels import factor_text
from office.waivers.models import (
    AUTHORITY_REGIMES,
    Authority,
    DrawdownEntry,
    EntryScreening,
    Regime,
    Resource,
    Waiver,
)
from office.waivers.units import Unit, can_convert, convert, format_quantity, unit_name

PERIOD_DAYS = 30
PETROLEUM_PREFIX = "2710"
UN_REGIME = AUTHORITY_REGIMES[Authority.UN_1718_COMMITTEE]


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


def period_asked(text: str, today: date) -> tuple[date, date]:
    """The period a reader asked for by `?start=` (blank for the one that holds `today`), as
    the page and the API read it.

    Raises InvalidInput (field `start`) when `text` is not a day written YYYY-MM-DD.
    """
    text = text.strip()
    day = inputs.day_from(text) if text else None
    if text and day is None:
        raise InvalidInput(_("Choose the period by a date written YYYY-MM-DD."), "start")
    return period_from(day, today)


def period_of(day: date) -> tuple[date, date]:
    """The 30-day period (counted from 1 January) that `day` falls in."""
    start = date(day.year, 1, 1) + timedelta(
        days=(day - date(day.year, 1, 1)).days // PERIOD_DAYS * PERIOD_DAYS
    )
    return start, period_end(start)


# Each unit the report gives, and the places it is rounded to.
PLACES = {Unit.L: Decimal("0.1"), Unit.T: Decimal("0.001"), Unit.BBL: Decimal("0.01")}


@dataclass(frozen=True)
class Amounts:
    """A quantity in litres, tonnes and barrels; None in a unit it cannot be given in (a
    product without a barrels-per-tonne factor, own or default)."""

    litres: Decimal | None
    tonnes: Decimal | None
    barrels: Decimal | None


def _in(quantity: Decimal, resource: Resource, unit: Unit) -> Decimal | None:
    factor = resource.effective_barrels_per_tonne
    if not can_convert(resource.unit, unit, factor):
        return None
    return convert(quantity, resource.unit, unit, factor).quantize(PLACES[unit])


def amounts(quantity: Decimal, resource: Resource) -> Amounts:
    return Amounts(
        litres=_in(quantity, resource, Unit.L),
        tonnes=_in(quantity, resource, Unit.T),
        barrels=_in(quantity, resource, Unit.BBL),
    )


def missing_units(resource: Resource) -> list[Unit]:
    """The report's units that `resource` cannot be given in, for want of a factor."""
    factor = resource.effective_barrels_per_tonne
    return [unit for unit in PLACES if not can_convert(resource.unit, unit, factor)]


def factor_shown(resource: Resource) -> str:
    """The factor a product's line was converted by, and whose it is: "7.5, the product's
    own", "7.23, UNSD default for gas/diesel oil", or that it has none."""
    if resource.effective_barrels_per_tonne is None:
        return _("none (see the note below the table)")
    if resource.barrels_per_tonne_is_default:
        return factor_text(resource)
    return _("%(factor)s, the product's own", factor=factor_text(resource))


def factor_note(resource: Resource) -> str | None:
    """What a product without a factor cannot be given in, and how to mend that; None for a
    product that is given in every unit."""
    missing = set(missing_units(resource))
    named = {"code": resource.code, "hs": format_hs_code(resource.hs_code)}
    if not missing:
        return None
    if missing == {Unit.T}:
        return _(
            "%(code)s (HS %(hs)s): no barrels per tonne of its own and no kind of petroleum "
            "product with a UNSD default, so its tonnes cannot be given; set either on its "
            "resource page.",
            **named,
        )
    if missing == {Unit.L, Unit.BBL}:
        return _(
            "%(code)s (HS %(hs)s): no barrels per tonne of its own and no kind of petroleum "
            "product with a UNSD default, so its litres and barrels cannot be given; set "
            "either on its resource page.",
            **named,
        )
    return _(
        "%(code)s (HS %(hs)s): counted in %(unit)s, which cannot be given in litres, tonnes "
        "or barrels.",
        unit=unit_name(resource.unit),
        **named,
    )


@dataclass(frozen=True)
class Transfer:
    day: date
    resource: Resource
    amounts: Amounts
    waiver: str | None  # the UN authorisation the transfer was drawn on, as recorded
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
    """A product's gross transfers in each unit it can be given in (None in the others)."""

    resource: Resource
    litres: Decimal | None = Decimal(0)
    tonnes: Decimal | None = Decimal(0)
    barrels: Decimal | None = Decimal(0)
    returned_litres: Decimal | None = Decimal(0)

    def add(self, moved: Amounts) -> None:
        self.litres = _plus(self.litres, moved.litres)
        self.tonnes = _plus(self.tonnes, moved.tonnes)
        self.barrels = _plus(self.barrels, moved.barrels)

    @property
    def factor(self) -> str:
        return factor_shown(self.resource)

    @property
    def note(self) -> str | None:
        return factor_note(self.resource)


def _plus(total: Decimal | None, more: Decimal | None) -> Decimal | None:
    return None if total is None or more is None else total + more


@dataclass
class Report:
    start: date
    end: date
    transfers: list[Transfer] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    products: dict[int, ProductTotal] = field(default_factory=dict)

    def total(self, resource: Resource) -> ProductTotal:
        if resource.id not in self.products:
            given = amounts(Decimal(0), resource)  # zero where it can be given, else None
            self.products[resource.id] = ProductTotal(
                resource, given.litres, given.tonnes, given.barrels, given.litres
            )
        return self.products[resource.id]

    @property
    def notes(self) -> list[str]:
        """What the products without a factor cannot be given in."""
        return [note for total in self.products.values() if (note := total.note)]


def petroleum_report(session: Session, start: date, end: date) -> Report:
    """Every HS 2710 transfer north and every return south from `start` to `end`, each
    transfer with the UN authorisation it was drawn on as recorded (its UN screening: the
    ministry's approval of the same entry is not the UN's concern)."""
    report = Report(start, end)
    reversal = aliased(DrawdownEntry)
    petroleum = Resource.hs_code.startswith(PETROLEUM_PREFIX)
    un_regime = select(Regime.id).where(Regime.code == UN_REGIME).scalar_subquery()
    rows = session.execute(
        select(DrawdownEntry, Resource, Waiver.reference, StockMovement.parties)
        .join(Resource, Resource.id == DrawdownEntry.resource_id)
        .outerjoin(
            EntryScreening,
            (EntryScreening.entry_id == DrawdownEntry.id) & (EntryScreening.regime_id == un_regime),
        )
        .outerjoin(Waiver, Waiver.id == EntryScreening.waiver_id)
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
        report.total(resource).add(moved)
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
        total = report.total(resource)
        total.returned_litres = _plus(total.returned_litres, moved.litres)
    return report


CSV_HEADER = [
    "period_start",
    "period_end",
    "kind",
    "date",
    "product",
    "hs_code",
    "litres",
    "tonnes",
    "barrels",
    "barrels_per_tonne",
    "un_authorisation",
    "parties",
    "ledger_entry",
    "petroleum_kind",
    "factor_source",
    "factor_note",
]


def _factor_cells(resource: Resource) -> list[str]:
    """The product's kind, whose factor converted it (own, unsd_default or none) and, in the
    reader's words, the factor shown on the page or why some units are missing."""
    source = (
        "none"
        if resource.effective_barrels_per_tonne is None
        else "unsd_default"
        if resource.barrels_per_tonne_is_default
        else "own"
    )
    note = factor_note(resource) or factor_shown(resource)
    kind = resource.petroleum_kind.value if resource.petroleum_kind else ""
    return [kind, source, note]


def _row(report: Report, kind: str, moved: Transfer | Return) -> list[object]:
    transfer = moved if isinstance(moved, Transfer) else None
    return [
        report.start,
        report.end,
        kind,
        moved.day,
        moved.resource.code,
        moved.resource.hs_code,
        moved.amounts.litres,
        moved.amounts.tonnes,
        moved.amounts.barrels,
        format_quantity(moved.resource.effective_barrels_per_tonne),
        (transfer.waiver or "") if transfer is not None else "",
        moved.parties,
        transfer.ledger_seq if transfer is not None else "",
        *_factor_cells(moved.resource),
    ]


def csv_text(report: Report) -> str:
    """The report as the CSV the page and the API give: a row per transfer, then per return,
    with a byte-order mark so that spreadsheets read it as UTF-8."""
    out = io.StringIO()
    writer = exports.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows(_row(report, "transfer", t) for t in report.transfers)
    writer.writerows(_row(report, "return", r) for r in report.returns)
    return "\ufeff" + out.getvalue()


def csv_name(report: Report) -> str:
    return f"petroleum-{report.start}-{report.end}.csv"
