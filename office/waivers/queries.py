"""Read models of the ledger: filtered, newest first, paged by key so page 1 of a million
entries costs what page 1 of a thousand does."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session, selectinload

from office.auth.models import User
from office.periods.services import RECORDS_BEGIN
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    EntryScreening,
    Regime,
    Resource,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.regimes import all_regimes

PAGE_SIZE = 50
# Under a regime, an entry with no screening there: written before the regime was in force
# (or before regimes), so it was not checked at the time; never counted as covered.
NOT_CHECKED: Literal["not_checked"] = "not_checked"
# What stands as cover under a regime: a line that covers it, or no need of one.
CLEARED = (Classification.COVERED, Classification.NOT_REQUIRED)

RegimeClassification = Classification | Literal["not_checked"]


@dataclass(frozen=True)
class LedgerFilters:
    waiver_id: int | None = None
    resource_id: int | None = None
    classification: Classification | None = None
    flagged: bool | None = None
    date_from: date | None = None
    date_to: date | None = None
    # Screened under this regime (by id), classified there as `regime_classification`, or
    # (NOT_CHECKED) not screened under it at all.
    regime_id: int | None = None
    regime_classification: RegimeClassification | None = None
    # Covered under one regime (a line covered it) and not under another (anything but
    # covered or not required there, not checked at the time included).
    covered_under: int | None = None
    not_covered_under: int | None = None


def _screened(regime_id: int, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether the entry has a screening under `regime_id` that meets `conditions`.

    Correlated on the entry's `seq`, which each screening copies: with the classification
    named, ix_entry_screenings_regime_class_seq answers it from the index alone, in the
    ledger's own order."""
    return (
        select(EntryScreening.id)
        .where(
            EntryScreening.regime_id == regime_id,
            *conditions,
            EntryScreening.seq == DrawdownEntry.seq,
        )
        .exists()
    )


def _checked_under(regime_id: int) -> ColumnElement[bool]:
    """Whether the entry was screened under `regime_id` at all (by its unique entry and
    regime)."""
    return (
        select(EntryScreening.id)
        .where(EntryScreening.entry_id == DrawdownEntry.id, EntryScreening.regime_id == regime_id)
        .exists()
    )


def covered(regime_id: int) -> ColumnElement[bool]:
    """Entries a line covered under `regime_id`."""
    return _screened(regime_id, EntryScreening.classification == Classification.COVERED)


def not_covered(regime_id: int) -> ColumnElement[bool]:
    """Entries not covered under `regime_id`: refused there, or not checked at the time."""
    return ~_screened(regime_id, EntryScreening.classification.in_(CLEARED))


def under_regime(
    regime_id: int, classification: RegimeClassification | None
) -> ColumnElement[bool]:
    """Entries classified `classification` under `regime_id` (any, when None; none at all,
    when NOT_CHECKED)."""
    if classification == NOT_CHECKED:
        return ~_checked_under(regime_id)
    if classification is None:
        return _checked_under(regime_id)
    return _screened(regime_id, EntryScreening.classification == classification)


def ledger_select(filters: LedgerFilters) -> Select[DrawdownEntry]:
    query = select(DrawdownEntry)
    if filters.regime_id is not None:
        query = query.where(under_regime(filters.regime_id, filters.regime_classification))
    if filters.covered_under is not None:
        query = query.where(covered(filters.covered_under))
    if filters.not_covered_under is not None:
        query = query.where(not_covered(filters.not_covered_under))
    if filters.waiver_id is not None:
        # Drawn on the waiver under its regime, whichever regime's line the entry lists first.
        query = query.where(
            select(EntryScreening.id)
            .where(
                EntryScreening.entry_id == DrawdownEntry.id,
                EntryScreening.waiver_id == filters.waiver_id,
            )
            .exists()
        )
    if filters.resource_id is not None:
        query = query.where(DrawdownEntry.resource_id == filters.resource_id)
    if filters.classification is not None:
        query = query.where(DrawdownEntry.classification == filters.classification)
    if filters.flagged is not None:
        query = query.where(DrawdownEntry.flagged.is_(filters.flagged))
    dated = []
    if filters.date_from is not None:
        dated.append(DrawdownEntry.occurred_on >= filters.date_from)
    if filters.date_to is not None:
        dated.append(DrawdownEntry.occurred_on <= filters.date_to)
    if dated:
        # The entries of those days lie between the least and the greatest seq among them,
        # read from the (occurred_on, seq) index (`seq + 0`: PostgreSQL would otherwise look
        # for them walking the whole seq index). Said outright, the walk down the ledger in
        # seq order stops there, rather than reading every older entry when the other
        # filters leave fewer than a page.
        span = select(DrawdownEntry.seq + 0).where(*dated).subquery("span")
        query = query.where(
            *dated,
            DrawdownEntry.seq >= select(func.min(span.c[0])).scalar_subquery(),
            DrawdownEntry.seq <= select(func.max(span.c[0])).scalar_subquery(),
        )
    return query


def ledger_page(
    session: Session,
    filters: LedgerFilters,
    *,
    before_seq: int | None = None,
    size: int = PAGE_SIZE,
) -> tuple[list[DrawdownEntry], int | None]:
    """Return up to `size` entries older than `before_seq`, newest first, and the next cursor."""
    query = ledger_select(filters)
    if before_seq is not None:
        query = query.where(DrawdownEntry.seq < before_seq)
    query = (
        query.order_by(DrawdownEntry.seq.desc())
        .limit(size + 1)
        .options(
            selectinload(DrawdownEntry.resource),
            selectinload(DrawdownEntry.waiver),
            selectinload(DrawdownEntry.waiver_line),
            selectinload(DrawdownEntry.recorded_by),
            selectinload(DrawdownEntry.screenings),
        )
    )
    entries = list(session.scalars(query))
    more = len(entries) > size
    entries = entries[:size]
    return entries, (entries[-1].seq if more and entries else None)


EXPORT_COLUMNS = (
    "seq",
    "id",
    "occurred_on",
    "recorded_at",
    "resource",
    "quantity",
    "unit",
    "base_quantity",
    "base_unit",
    "purpose",
    "source",
    "source_ref",
    "waiver",
    "line_no",
    "waiver_status",
    "classification",
    "flagged",
    "override_reason",
    "reverses_id",
    "reversal_reason",
    "recorded_by",
    "note",
    "hash",
)


# Each regime's columns in the export, after the entry's, as `<code>_<part>`.
REGIME_EXPORT_PARTS = ("classification", "waiver", "line_no")


def export_columns(regimes: Sequence[Regime]) -> tuple[str, ...]:
    """The export's header: the entry's columns, then each regime's classification (or
    not_checked), waiver and line number."""
    return EXPORT_COLUMNS + tuple(
        f"{regime.code}_{part}" for regime in regimes for part in REGIME_EXPORT_PARTS
    )


def iter_ledger_rows(
    session: Session, filters: LedgerFilters, regimes: Sequence[Regime] = (), batch: int = 2000
) -> Iterator[dict[str, Any]]:
    """Yield every matching entry as a flat row, newest first, a key-ranged batch at a time,
    without filling the session (for exports of any size); with each of `regimes`' columns
    (`export_columns`)."""
    entry = DrawdownEntry
    base = (
        ledger_select(filters)
        .with_only_columns(
            entry.seq,
            entry.id,
            entry.occurred_on,
            entry.recorded_at,
            Resource.code.label("resource"),
            entry.quantity,
            entry.unit,
            entry.base_quantity,
            Resource.unit.label("base_unit"),
            entry.purpose,
            entry.source,
            entry.source_ref,
            Waiver.reference.label("waiver"),
            WaiverLine.line_no,
            entry.waiver_status,
            entry.classification,
            entry.flagged,
            entry.override_reason,
            entry.reverses_id,
            entry.reversal_reason,
            User.email.label("recorded_by"),
            entry.note,
            entry.hash,
        )
        .join(Resource, Resource.id == entry.resource_id)
        .outerjoin(Waiver, Waiver.id == entry.waiver_id)
        .outerjoin(WaiverLine, WaiverLine.id == entry.waiver_line_id)
        .outerjoin(User, User.id == entry.recorded_by_id)
        .order_by(entry.seq.desc())
        .limit(batch)
    )
    cursor = None
    while True:
        query = base if cursor is None else base.where(entry.seq < cursor)
        rows = session.execute(query).mappings().all()
        screened = _screenings_of(session, [row["id"] for row in rows]) if regimes else {}
        for row in rows:
            values = dict(row)
            for regime in regimes:
                found = screened.get((row["id"], regime.id))
                values[f"{regime.code}_classification"] = (
                    found[0] if found is not None else NOT_CHECKED
                )
                values[f"{regime.code}_waiver"] = found[1] if found is not None else None
                values[f"{regime.code}_line_no"] = found[2] if found is not None else None
            yield values
        if len(rows) < batch:
            return
        cursor = rows[-1]["seq"]


def _screenings_of(
    session: Session, entry_ids: list[int]
) -> dict[tuple[int, int], tuple[Classification, str | None, int | None]]:
    """Each entry's classification, waiver and line number under each regime it was
    screened under, by (entry id, regime id)."""
    if not entry_ids:
        return {}
    rows = session.execute(
        select(
            EntryScreening.entry_id,
            EntryScreening.regime_id,
            EntryScreening.classification,
            Waiver.reference,
            WaiverLine.line_no,
        )
        .outerjoin(Waiver, Waiver.id == EntryScreening.waiver_id)
        .outerjoin(WaiverLine, WaiverLine.id == EntryScreening.waiver_line_id)
        .where(EntryScreening.entry_id.in_(entry_ids))
    )
    return {
        (entry_id, regime_id): (classification, reference, line_no)
        for entry_id, regime_id, classification, reference, line_no in rows
    }


def waivers_with_lines(session: Session) -> list[Waiver]:
    return list(
        session.scalars(
            select(Waiver)
            .order_by(Waiver.created_at.desc(), Waiver.id.desc())
            .options(selectinload(Waiver.lines).selectinload(WaiverLine.resource))
        )
    )


def lines_under(
    session: Session, regime: Regime, resources: Collection[Resource] | None = None
) -> list[WaiverLine]:
    """The lines of the waivers under `regime` (of `resources` only, if given), with
    their waivers and resources: what a form offers to draw on under that regime."""
    query = select(WaiverLine).join(Waiver).where(Waiver.regime_id == regime.id)
    if resources is not None:
        query = query.where(WaiverLine.resource_id.in_([resource.id for resource in resources]))
    return list(
        session.scalars(
            query.order_by(Waiver.reference, WaiverLine.line_no).options(
                selectinload(WaiverLine.resource), selectinload(WaiverLine.waiver)
            )
        )
    )


def used_as_of(
    session: Session, lines: list[WaiverLine], day: date, *, today: date
) -> dict[int, Decimal]:
    """Each line's use (in its resource's unit) counting the entries dated up to `day`.

    Today or later is the kept totals themselves (no entry is dated in the future); a recent
    day is counted back from them, so it reads only the entries after it; an early day is
    summed from the start. Both read the (line, day) index, never a line's whole history.
    """
    if not lines:
        return {}
    if day >= today:
        return {line.id: line.used_base for line in lines}
    ids = [line.id for line in lines]
    # Each entry's line under each regime (an entry draws on one line per regime).
    total = (
        select(EntryScreening.waiver_line_id, func.sum(EntryScreening.base_quantity))
        .where(EntryScreening.waiver_line_id.in_(ids))
        .group_by(EntryScreening.waiver_line_id)
    )
    if (today - day) * 2 < today - RECORDS_BEGIN:
        used = {line.id: line.used_base for line in lines}
        for line_id, quantity in session.execute(total.where(EntryScreening.occurred_on > day)):
            assert line_id is not None, "the query names its lines"
            used[line_id] -= Decimal(quantity)
        return used
    used = dict.fromkeys(ids, Decimal(0))
    for line_id, quantity in session.execute(total.where(EntryScreening.occurred_on <= day)):
        assert line_id is not None, "the query names its lines"
        used[line_id] = Decimal(quantity)
    return used


def status_on(waiver: Waiver, day: date) -> WaiverStatus | None:
    """The waiver's status on `day` by its history (None before its first status)."""
    changes = [change for change in waiver.history if change.effective_on <= day]
    if not changes:
        return None
    return max(
        changes, key=lambda change: (change.effective_on, change.changed_at, change.id)
    ).to_status


def entry_screenings(
    session: Session, entry: DrawdownEntry
) -> list[tuple[Regime, EntryScreening | None]]:
    """The entry under each regime: its screening at recording, or None for a regime in force
    that it was not checked against at the time (entries written before that regime)."""
    return under_each_regime(
        entry, session.scalars(select(Regime).where(Regime.in_force.is_(True))).all()
    )


def under_each_regime(
    entry: DrawdownEntry, regimes: Sequence[Regime]
) -> list[tuple[Regime, EntryScreening | None]]:
    """The entry under each of `regimes` (the regimes in force) and under any other it was
    screened under, in the regimes' order: its screening, or None where it was not checked
    at the time."""
    screened = {s.regime_id: s for s in entry.screenings}
    listed = {regime.id: regime for regime in regimes}
    listed.update((s.regime_id, s.regime) for s in entry.screenings)
    return [
        (regime, screened.get(regime.id))
        for regime in sorted(listed.values(), key=lambda regime: regime.position)
    ]


# --- the ledger by regime: what each regime made of a period's entries ----------------------

# The order a regime's classifications are listed in: cover first, then each refusal, worst
# first, then what was not checked.
REGIME_CLASSIFICATIONS: tuple[RegimeClassification, ...] = (
    Classification.COVERED,
    Classification.NOT_REQUIRED,
    Classification.UNCOVERED,
    Classification.DENIED,
    Classification.PENDING,
    Classification.OUTSIDE_VALIDITY,
    Classification.OVER_CAP,
    NOT_CHECKED,
)


@dataclass(frozen=True)
class RegimeCounts:
    """How many of a period's entries a regime classified each way, and how many it did not
    check at the time."""

    regime: Regime
    counts: dict[RegimeClassification, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def refused(self) -> int:
        """Entries screened under it and not cleared (each recorded anyway, flagged)."""
        return sum(
            n
            for classification, n in self.counts.items()
            if classification != NOT_CHECKED and classification not in CLEARED
        )


@dataclass(frozen=True)
class Gap:
    """Entries covered under one regime and not under another (refused there, or not
    checked at the time): the ministry's approval without the UN's exemption."""

    covered: Regime
    missing: Regime
    entries: int


@dataclass(frozen=True)
class RegimeSummary:
    """A period's entries by regime: each listed regime's classifications of them, and for
    each ordered pair of regimes in force, how many were covered under the first and not
    under the second (pairs with none left out; the regime not covering first, in the
    regimes' order)."""

    counts: list[RegimeCounts]
    gaps: list[Gap]


def regime_summary(session: Session, date_from: date, date_to: date) -> RegimeSummary:
    """Summarise the entries dated from `date_from` to `date_to` under each regime, in one
    pass over them: from drawdown_entries' indexed day, each entry's screenings by
    (entry_id, regime_id), one row per entry with its classification under each regime
    (NULL: not checked at the time), then the counts of those rows."""
    regimes = all_regimes(session)
    screening = EntryScreening
    under = {
        regime.id: func.max(case((screening.regime_id == regime.id, screening.classification)))
        for regime in regimes
    }
    per_entry = (
        select(*(column.label(f"r{regime_id}") for regime_id, column in under.items()))
        .select_from(DrawdownEntry)
        .outerjoin(screening, screening.entry_id == DrawdownEntry.id)
        .where(DrawdownEntry.occurred_on >= date_from, DrawdownEntry.occurred_on <= date_to)
        # One group per entry, in the order of the (occurred_on, seq) index that finds them.
        .group_by(DrawdownEntry.occurred_on, DrawdownEntry.seq)
        .subquery("per_entry")
    )

    def number(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counted: list[tuple[int, RegimeClassification]] = []
    columns = []
    for regime in regimes:
        column = per_entry.c[f"r{regime.id}"]
        for classification in REGIME_CLASSIFICATIONS:
            counted.append((regime.id, classification))
            columns.append(
                number(column.is_(None))
                if classification == NOT_CHECKED
                else number(column == classification)
            )
    in_force = [regime for regime in regimes if regime.in_force]
    pairs = [(a, b) for a in in_force for b in in_force if a.id != b.id]
    for a, b in pairs:
        missing = per_entry.c[f"r{b.id}"]
        columns.append(
            number(
                (per_entry.c[f"r{a.id}"] == Classification.COVERED)
                & (missing.is_(None) | missing.not_in(CLEARED))
            )
        )
    row = session.execute(select(*columns).select_from(per_entry)).one()
    found: dict[int, dict[RegimeClassification, int]] = {r.id: {} for r in regimes}
    for (regime_id, classification), value in zip(counted, row, strict=False):
        found[regime_id][classification] = int(value)
    counts = [
        RegimeCounts(regime, found[regime.id])
        for regime in regimes
        # A regime out of force is listed while the period's entries were screened under it.
        if regime.in_force or any(n for c, n in found[regime.id].items() if c != NOT_CHECKED)
    ]
    gaps = [
        Gap(a, b, int(value))
        for (a, b), value in zip(pairs, row[len(counted) :], strict=True)
        if value
    ]
    gaps.sort(key=lambda gap: (gap.missing.position, gap.covered.position))
    return RegimeSummary(counts, gaps)


def listed_regimes(session: Session, screened: Collection[int] = ()) -> list[Regime]:
    """The regimes in force, and those of `screened` (ids: the regimes a period's entries were
    screened under), in their order."""
    return list(
        session.scalars(
            select(Regime)
            .where(Regime.in_force.is_(True) | Regime.id.in_(list(screened)))
            .order_by(Regime.position)
        )
    )
