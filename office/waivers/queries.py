"""Read models of the ledger: filtered, newest first, paged by key so page 1 of a million
entries costs what page 1 of a thousand does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import RowMapping, Select, func, select
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

PAGE_SIZE = 50


@dataclass(frozen=True)
class LedgerFilters:
    waiver_id: int | None = None
    resource_id: int | None = None
    classification: Classification | None = None
    flagged: bool | None = None
    date_from: date | None = None
    date_to: date | None = None


def ledger_select(filters: LedgerFilters) -> Select[DrawdownEntry]:
    query = select(DrawdownEntry)
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
    if filters.date_from is not None:
        query = query.where(DrawdownEntry.occurred_on >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(DrawdownEntry.occurred_on <= filters.date_to)
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


def iter_ledger_rows(
    session: Session, filters: LedgerFilters, batch: int = 2000
) -> Iterator[RowMapping]:
    """Yield every matching entry as a flat row, newest first, a key-ranged batch at a time,
    without filling the session (for exports of any size)."""
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
        yield from rows
        if len(rows) < batch:
            return
        cursor = rows[-1]["seq"]


def waivers_with_lines(session: Session) -> list[Waiver]:
    return list(
        session.scalars(
            select(Waiver)
            .order_by(Waiver.created_at.desc(), Waiver.id.desc())
            .options(selectinload(Waiver.lines).selectinload(WaiverLine.resource))
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
    screened = {s.regime_id: s for s in entry.screenings}
    regimes = {r.id: r for r in session.scalars(select(Regime).where(Regime.in_force.is_(True)))}
    regimes.update((s.regime_id, s.regime) for s in entry.screenings)
    return [
        (regime, screened.get(regime.id))
        for regime in sorted(regimes.values(), key=lambda regime: regime.position)
    ]
