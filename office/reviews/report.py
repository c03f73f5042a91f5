"""The monthly supply-usage report: under each regime, what went north on which authorisation
and what was not covered there; what was used and carried back, what was on site at the end,
and every flag with its outcome."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from office import exports
from office.documents import queries as document_queries
from office.documents.models import Document, RecordType
from office.errors import NotFoundError
from office.i18n import _, _l
from office.periods import services as periods
from office.periods.models import SignedOffMonth

# The printer, shared with the UN petroleum report's PDF (office.fuel) and named here as before.
from office.printing import PdfFailed as PdfFailed
from office.printing import PdfUnavailable as PdfUnavailable
from office.printing import pdf as pdf
from office.printing import static_fetcher as static_fetcher
from office.reviews import queries
from office.reviews.models import ReviewItem, ReviewNote
from office.stock import queries as stock_queries
from office.stock.models import MovementKind, StockMovement
from office.supplies.models import Delivery
from office.waivers import checkpoints
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    EntryScreening,
    LedgerCheckpoint,
    Purpose,
    Regime,
    Resource,
    Waiver,
)
from office.waivers.queries import (
    CLEARED,
    NOT_CHECKED,
    REGIME_CLASSIFICATIONS,
    Gap,
    listed_regimes,
    regime_summary,
    under_regime,
)

# What stock issues were for, as the features that issue it name it.
USES = {
    "generator": _l("generators"),
    "boiler": _l("boilers"),
    "vehicle": _l("vehicles"),
    "work_order": _l("repair works"),
}


@dataclass(frozen=True)
class Transfer:
    """Entries of one resource and purpose under one regime, drawn on one authorisation (or
    none) and classified alike there; `classification` None: not checked at the time."""

    regime: Regime
    waiver: Waiver | None
    resource: Resource
    purpose: Purpose
    classification: Classification | None
    entries: int
    quantity: Decimal  # in the resource's unit
    flagged: int

    @property
    def covered(self) -> bool:
        """Whether it stands as cover under the regime (covered, or none needed)."""
        return self.classification in CLEARED

    @property
    def under(self) -> str:
        """Its classification under the regime as the CSV writes it."""
        return self.classification.value if self.classification else NOT_CHECKED


@dataclass(frozen=True)
class RegimeTransfers:
    regime: Regime
    transfers: list[Transfer]

    @property
    def covered(self) -> list[Transfer]:
        return [t for t in self.transfers if t.covered]

    @property
    def not_covered(self) -> list[Transfer]:
        return [t for t in self.transfers if not t.covered]


@dataclass(frozen=True)
class StockLine:
    resource: Resource
    opening: Decimal
    received: Decimal
    used: Decimal
    returned: Decimal
    closing: Decimal


@dataclass(frozen=True)
class FlagLine:
    row: queries.QueueRow
    described: queries.Described | None
    resolution: ReviewNote | None  # the last step of its thread


@dataclass(frozen=True)
class Papers:
    """The documents behind one waiver, delivery or manifest line of the month: the current
    ones and those withdrawn (which the report shows as withdrawn)."""

    record_type: RecordType
    name: str
    documents: list[Document]


@dataclass
class MonthReport:
    month: date
    # Under each regime listed (in force, or screening the month's entries), each entry of
    # the month once: on its authorisation there, refused there, or not checked then.
    transfers: list[Transfer]
    stock: list[StockLine]
    uses: list[tuple[Resource, str, Decimal]]  # resource, what for, quantity
    flags: list[FlagLine]
    signed_off: SignedOffMonth | None
    # The ledger's head as signed at the month's sign-off, else the latest signed.
    checkpoint: LedgerCheckpoint | None = None
    # Entries covered under one regime in force and not under another.
    gaps: list[Gap] = field(default_factory=list)
    regimes: list[Regime] = field(default_factory=list)
    # The documents behind the waivers drawn on and the deliveries of the month.
    papers: list[Papers] = field(default_factory=list)

    @property
    def by_regime(self) -> list[RegimeTransfers]:
        return [
            RegimeTransfers(regime, [t for t in self.transfers if t.regime.id == regime.id])
            for regime in self.regimes
        ]

    @property
    def last_day(self) -> date:
        return periods.next_month(self.month) - timedelta(days=1)

    @property
    def head_token(self) -> str | None:
        """The signed head as `flask ledger verify --head` takes it."""
        return checkpoints.head_token(self.checkpoint) if self.checkpoint else None


def check_month(month: date, *, today: date) -> date:
    """Return the first day of `month`, which has a report; raise NotFoundError for a month
    before the office's records begin or after `today`'s."""
    month = periods.month_of(month)
    if month > periods.month_of(today):
        raise NotFoundError(
            _l(
                "%(month)s has not begun: there is no report for it yet.",
                month=month.strftime("%Y-%m"),
            )
        )
    if month < periods.month_of(periods.RECORDS_BEGIN):
        raise NotFoundError(
            _l(
                "The office's records begin on %(first)s: there is no report for %(month)s.",
                first=periods.RECORDS_BEGIN.isoformat(),
                month=month.strftime("%Y-%m"),
            )
        )
    return month


def build(session: Session, month: date, *, today: date) -> MonthReport:
    """The report of `month` (its first day); a month in which nothing was recorded has one
    too, which says so.

    Raises NotFoundError for a month before the office's records begin or after `today`'s.
    """
    month = check_month(month, today=today)
    end = periods.next_month(month) - timedelta(days=1)
    resources = {r.id: r for r in session.scalars(select(Resource))}
    regimes, transfers = _transfers(session, month, end, resources)
    uses = [
        (resources[resource_id], str(USES.get(use, use)) if use else "-", Decimal(quantity))
        for resource_id, use, quantity in session.execute(
            select(StockMovement.resource_id, StockMovement.use, func.sum(StockMovement.quantity))
            .where(
                StockMovement.kind == MovementKind.ISSUE,
                StockMovement.voided_at.is_(None),
                StockMovement.occurred_on >= month,
                StockMovement.occurred_on <= end,
            )
            .group_by(StockMovement.resource_id, StockMovement.use)
        )
    ]
    uses.sort(key=lambda u: (u[0].code, u[1]))
    opening = {t.resource.id: t for t in stock_queries.totals_as_of(session, month - timedelta(1))}
    closing = {t.resource.id: t for t in stock_queries.totals_as_of(session, end)}
    stock = []
    for resource_id in sorted(set(opening) | set(closing), key=lambda i: resources[i].code):
        before, after = opening.get(resource_id), closing.get(resource_id)
        zero = Decimal(0)
        stock.append(
            StockLine(
                resources[resource_id],
                before.remaining if before else zero,
                (after.received if after else zero) - (before.received if before else zero),
                (after.used if after else zero) - (before.used if before else zero),
                (after.returned if after else zero) - (before.returned if before else zero),
                after.remaining if after else zero,
            )
        )
    stock = [s for s in stock if any((s.opening, s.received, s.used, s.returned, s.closing))]
    rows: list[queries.QueueRow] = []
    after_cursor = None
    while True:
        page, cursor = queries.queue_page(
            session, queries.QueueFilters(month=month), today=today, after=after_cursor, size=500
        )
        rows += page
        if cursor is None:
            break
        after_cursor = queries.decode_cursor(cursor)
    described = queries.describe(session, rows)
    items = {
        (item.kind, item.source_id): item
        for item in session.scalars(
            select(ReviewItem)
            .where(ReviewItem.id.in_([row.item_id for row in rows if row.item_id]))
            .options(selectinload(ReviewItem.notes))
        )
    }
    flags = [
        FlagLine(
            row,
            described.get((row.kind, row.source_id)),
            items[(row.kind, row.source_id)].notes[-1]
            if (row.kind, row.source_id) in items and items[(row.kind, row.source_id)].notes
            else None,
        )
        for row in reversed(rows)
    ]
    return MonthReport(
        month=month,
        transfers=transfers,
        stock=stock,
        uses=uses,
        flags=flags,
        signed_off=session.get(SignedOffMonth, month),
        checkpoint=checkpoints.for_report(session, month),
        gaps=regime_summary(session, month, end).gaps,
        regimes=regimes,
        papers=_papers(session, month, end, transfers),
    )


def _papers(session: Session, first: date, last: date, transfers: list[Transfer]) -> list[Papers]:
    """The documents behind each waiver drawn on in the month, each delivery that crossed in
    it (or is planned in it, not crossed) and each of its manifest lines; records without any
    are left out."""
    waivers = sorted({t.waiver.id: t.waiver for t in transfers if t.waiver}.values(), key=_ref)
    deliveries = session.scalars(
        select(Delivery)
        .where(func.coalesce(Delivery.crossed_on, Delivery.planned_on).between(first, last))
        .order_by(Delivery.reference, Delivery.id)
        .options(selectinload(Delivery.lines))
    ).all()
    lines = [line for delivery in deliveries for line in delivery.lines]
    shelves = {
        record_type: document_queries.shelves(session, record_type, ids)
        for record_type, ids in (
            (RecordType.WAIVER, [w.id for w in waivers]),
            (RecordType.DELIVERY, [d.id for d in deliveries]),
            (RecordType.DELIVERY_LINE, [line.id for line in lines]),
        )
    }
    named: list[tuple[RecordType, int, str]] = [
        (RecordType.WAIVER, w.id, w.reference) for w in waivers
    ]
    for delivery in deliveries:
        named.append((RecordType.DELIVERY, delivery.id, delivery.reference))
        named += [
            (
                RecordType.DELIVERY_LINE,
                line.id,
                _("%(ref)s, line %(n)d", ref=delivery.reference, n=line.line_no),
            )
            for line in delivery.lines
        ]
    papers = []
    for record_type, record_id, name in named:
        shelf = shelves[record_type].get(record_id)
        if shelf is not None and shelf.shown:
            papers.append(Papers(record_type, name, shelf.shown))
    return papers


def _ref(waiver: Waiver) -> str:
    return waiver.reference


# Within a regime: cover first (by authorisation), then each refusal, then not checked.
_ORDER = {c: n for n, c in enumerate(REGIME_CLASSIFICATIONS)}


def _transfers(
    session: Session, first: date, last: date, resources: dict[int, Resource]
) -> tuple[list[Regime], list[Transfer]]:
    """The regimes listed (in force, or screening entries dated `first` to `last`) and the
    entries so dated under each, grouped by authorisation, resource, purpose and
    classification there; an entry with no screening under a regime counts there as not
    checked at the time."""
    waivers = {w.id: w for w in session.scalars(select(Waiver))}
    screening, entry = EntryScreening, DrawdownEntry
    flagged = func.sum(case((entry.flagged.is_(True), 1), else_=0))
    # From the month's entries (their day is indexed), each one's screenings.
    screened = session.execute(
        select(
            screening.regime_id,
            screening.waiver_id,
            entry.resource_id,
            entry.purpose,
            screening.classification,
            func.count().label("entries"),
            func.sum(screening.base_quantity).label("quantity"),
            flagged.label("flags"),
        )
        .select_from(entry)
        .join(screening, screening.entry_id == entry.id)
        .where(entry.occurred_on >= first, entry.occurred_on <= last)
        .group_by(
            screening.regime_id,
            screening.waiver_id,
            entry.resource_id,
            entry.purpose,
            screening.classification,
        )
    ).all()
    regimes = listed_regimes(session, {row.regime_id for row in screened})
    listed = {regime.id: regime for regime in regimes}
    transfers = [
        Transfer(
            listed[row.regime_id],
            waivers.get(row.waiver_id) if row.waiver_id is not None else None,
            resources[row.resource_id],
            Purpose(row.purpose),
            Classification(row.classification),
            row.entries,
            Decimal(row.quantity),
            row.flags or 0,
        )
        for row in screened
    ]
    for regime in regimes:
        transfers += [
            Transfer(
                regime,
                None,
                resources[resource_id],
                Purpose(purpose),
                None,
                entries,
                Decimal(quantity),
                flags or 0,
            )
            for resource_id, purpose, entries, quantity, flags in session.execute(
                select(
                    entry.resource_id,
                    entry.purpose,
                    func.count(),
                    func.sum(entry.base_quantity),
                    flagged,
                )
                .where(
                    entry.occurred_on >= first,
                    entry.occurred_on <= last,
                    under_regime(regime.id, NOT_CHECKED),
                )
                .group_by(entry.resource_id, entry.purpose)
            )
        ]
    transfers.sort(
        key=lambda t: (
            t.regime.position,
            _ORDER[t.classification or NOT_CHECKED] > _ORDER[Classification.NOT_REQUIRED],
            t.waiver.reference if t.waiver else "~",
            t.resource.code,
            t.purpose.value,
            _ORDER[t.classification or NOT_CHECKED],
        )
    )
    return regimes, transfers


def csv_rows(report: MonthReport) -> Iterator[list[Any]]:
    """The report as one table: a section column, then that section's columns."""
    yield [
        "section",
        "waiver",
        "resource",
        "purpose_or_use",
        "entries",
        "quantity",
        "unit",
        "flagged",
        "opening",
        "received",
        "used",
        "returned",
        "closing",
        "state",
        "resolution",
        "regime",
        "classification",
        "not_covered_under",
    ]
    blank = ["", "", "", "", "", "", ""]  # opening ... resolution
    for t in report.transfers:
        yield [
            "transfer",
            t.waiver.reference if t.waiver else "",
            t.resource.code,
            t.purpose.value,
            t.entries,
            t.quantity,
            t.resource.unit.value,
            t.flagged,
            *blank,
            t.regime.code,
            t.under,
            "",
        ]
    for g in report.gaps:
        # Covered under `regime`, not under `not_covered_under`.
        yield ["gap", "", "", "", g.entries, "", "", "", *blank, g.covered.code, "", g.missing.code]
    for resource, use, quantity in report.uses:
        yield [
            "use",
            "",
            resource.code,
            use,
            "",
            quantity,
            resource.unit.value,
            "",
            *blank,
            "",
            "",
            "",
        ]
    for s in report.stock:
        yield [
            "stock",
            "",
            s.resource.code,
            "",
            "",
            "",
            s.resource.unit.value,
            "",
            s.opening,
            s.received,
            s.used,
            s.returned,
            s.closing,
            "",
            "",
            "",
            "",
            "",
        ]
    for f in report.flags:
        refused = f.described.refused if f.described else ()
        yield [
            "flag",
            "",
            "",
            f.row.kind.value,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            f.row.state.value,
            f.resolution.body if f.resolution else "",
            # The regimes that refused it, and what each made of it, in the same order.
            " ".join(regime.code for regime, _c in refused),
            " ".join(classification.value for _r, classification in refused),
            "",
        ]


def csv_text(report: MonthReport) -> str:
    out = io.StringIO()
    writer = exports.writer(out, lineterminator="\r\n")
    for row in csv_rows(report):
        writer.writerow(row)
    return out.getvalue()


def title(report: MonthReport) -> str:
    return _("Supply-usage report, %(month)s", month=report.month.strftime("%Y-%m"))
