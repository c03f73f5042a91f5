"""Every flagged record of every feature as one list, joined to its review's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from office import inputs
from office.auth.models import User
from office.documents.models import RecordType
from office.fuel.models import DailyLog, DipReading, Meter, MeterReading
from office.i18n import LazyText, _l, current_locale_code, format_date, format_number, label
from office.periods.services import next_month
from office.reviews.models import ItemKind, ReviewItem, ReviewState
from office.stock.models import (
    LotDraw,
    MovementKind,
    StockLot,
    StockMovement,
    Store,
    StoreKind,
    reference_label,
)
from office.supplies.models import DeliveryLine
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    EntryScreening,
    Regime,
    Source,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.queries import CLEARED, entry_screenings
from office.waivers.regimes import all_regimes
from office.waivers.services import LineUsage, line_usage
from office.waivers.units import amount

PAGE_SIZE = 50
CLOSED = ReviewState.ACKNOWLEDGED


@dataclass(frozen=True)
class QueueFilters:
    kind: ItemKind | None = None
    state: ReviewState | None = None
    awaiting: bool = False  # every state but acknowledged
    month: date | None = None  # its first day
    waiver_id: int | None = None
    # Refused under this regime (by id): drawdowns recorded anyway that it did not clear,
    # and uses no longer covered by a line under it.
    regime_id: int | None = None


# What the queue's filters take, as its page offers them: "awaiting" (the default), "all"
# or one state.
QUEUE_STATES = ("awaiting", "all", *(state.value for state in ReviewState))


def _choices(values: Any) -> str:
    return ", ".join(values)


def queue_filters(
    session: Session,
    *,
    kind: str = "",
    state: str = "",
    month: str = "",
    waiver: str = "",
    regime: str = "",
) -> tuple[QueueFilters, dict[str, LazyText]]:
    """The queue's filters as a reader wrote them (blank: not filtered), the page's and the
    API's alike; each value it cannot take is left out, with the message that says why, by
    the filter's name."""
    refused: dict[str, LazyText] = {}
    if kind and kind not in set(ItemKind):
        refused["kind"] = _l(
            "There is no kind of flagged item called %(value)s; choose one of: %(choices)s.",
            value=kind[:40],
            choices=_choices(k.value for k in ItemKind),
        )
    if state and state not in QUEUE_STATES:
        refused["state"] = _l(
            "There is no state called %(value)s; choose one of: %(choices)s.",
            value=state[:40],
            choices=_choices(QUEUE_STATES),
        )
    month_on = inputs.month_from(month) if month else None
    if month and month_on is None:
        refused["month"] = _l(
            "Write the month as YYYY-MM, from %(first)s to %(last)s.",
            first=inputs.FIRST_DAY.strftime("%Y-%m"),
            last=inputs.LAST_DAY.strftime("%Y-%m"),
        )
    waiver_id = inputs.id_from(waiver) if waiver else None
    if waiver and waiver_id is None:
        refused["waiver"] = _l("Choose the waiver by its id, a whole number from 1.")
    regime_id = None
    if regime:
        regimes = all_regimes(session)
        regime_id = next((r.id for r in regimes if r.code == regime), None)
        if regime_id is None:
            refused["regime"] = _l(
                "There is no regime called %(value)s; choose one of: %(choices)s.",
                value=regime[:40],
                choices=_choices(r.code for r in regimes),
            )
    state = state if state and "state" not in refused else "awaiting"
    return QueueFilters(
        kind=ItemKind(kind) if kind and "kind" not in refused else None,
        state=ReviewState(state) if state in set(ReviewState) else None,
        awaiting=state == "awaiting",
        month=month_on,
        waiver_id=waiver_id,
        regime_id=regime_id,
    ), refused


def bad_cursor_message() -> LazyText:
    return _l("The queue cannot continue from that point; start again from its first page.")


def _part(
    kind: ItemKind,
    source_id: Any,
    occurred_on: Any,
    waiver_id: Any,
    resource_id: Any,
    filters: QueueFilters,
) -> Select[Any]:
    query = select(
        literal(kind.value).label("kind"),
        source_id.label("source_id"),
        occurred_on.label("occurred_on"),
        waiver_id.label("waiver_id"),
        resource_id.label("resource_id"),
    )
    if filters.month is not None:
        query = query.where(occurred_on >= filters.month, occurred_on < next_month(filters.month))
    if filters.waiver_id is not None:
        query = query.where(waiver_id == filters.waiver_id)
    return query


def flagged_records(filters: QueueFilters, today: date) -> Select[Any] | CompoundSelect[Any] | None:
    """A UNION of every feature's flagged rows as (kind, source_id, occurred_on, waiver_id,
    resource_id); None when the filters leave no kind."""
    no_waiver = literal(None).cast(DrawdownEntry.waiver_id.type)
    parts: list[Select[Any]] = []
    wanted = {filters.kind} if filters.kind else set(ItemKind)
    if filters.regime_id is not None:
        # Only these are a regime's refusals; a dip, a meter or a return date is no regime's.
        wanted &= {ItemKind.OVERRIDE, ItemKind.FLAGGED_USE}
    if ItemKind.OVERRIDE in wanted:
        override = _part(
            ItemKind.OVERRIDE,
            DrawdownEntry.id,
            DrawdownEntry.occurred_on,
            DrawdownEntry.waiver_id,
            DrawdownEntry.resource_id,
            filters,
        ).where(DrawdownEntry.flagged.is_(True))
        if filters.regime_id is not None:
            override = override.where(refused_under(filters.regime_id))
        parts.append(override)
    if ItemKind.FLAGGED_USE in wanted:
        use = (
            _part(
                ItemKind.FLAGGED_USE,
                LotDraw.id,
                StockMovement.occurred_on,
                WaiverLine.waiver_id,
                StockMovement.resource_id,
                filters,
            )
            .select_from(LotDraw)
            .join(StockMovement, StockMovement.id == LotDraw.movement_id)
            .outerjoin(WaiverLine, WaiverLine.id == LotDraw.waiver_line_id)
            .where(LotDraw.flagged.is_(True), StockMovement.voided_at.is_(None))
        )
        if filters.regime_id is not None:
            under = select(Waiver.id).where(Waiver.regime_id == filters.regime_id)
            use = use.where(WaiverLine.waiver_id.in_(under))
        parts.append(use)
    if ItemKind.DIP_VARIANCE in wanted:
        parts.append(
            _part(
                ItemKind.DIP_VARIANCE,
                DipReading.id,
                DipReading.read_on,
                no_waiver,
                Store.resource_id,
                filters,
            )
            .select_from(DipReading)
            .join(Store, Store.id == DipReading.store_id)
            .where(DipReading.flagged.is_(True), DipReading.voided_at.is_(None))
        )
    if ItemKind.METER_ANOMALY in wanted:
        parts.append(
            _part(
                ItemKind.METER_ANOMALY,
                MeterReading.id,
                MeterReading.read_on,
                WaiverLine.waiver_id,
                WaiverLine.resource_id,
                filters,
            )
            .select_from(MeterReading)
            .join(Meter, Meter.id == MeterReading.meter_id)
            .outerjoin(WaiverLine, WaiverLine.id == Meter.waiver_line_id)
            .where(MeterReading.flagged.is_(True), MeterReading.voided_at.is_(None))
        )
    if ItemKind.OVERDUE_RETURN in wanted:
        # Overdue while still on site; once a reviewer took it up it stays in the list.
        taken_up = select(ReviewItem.source_id).where(ReviewItem.kind == ItemKind.OVERDUE_RETURN)
        parts.append(
            _part(
                ItemKind.OVERDUE_RETURN,
                StockLot.id,
                StockLot.must_return_by,
                WaiverLine.waiver_id,
                StockLot.resource_id,
                filters,
            )
            .select_from(StockLot)
            .outerjoin(WaiverLine, WaiverLine.id == StockLot.waiver_line_id)
            .where(
                StockLot.must_return_by.is_not(None),
                or_(
                    and_(StockLot.must_return_by < today, StockLot.remaining > 0),
                    StockLot.id.in_(taken_up),
                ),
            )
        )
    if not parts:
        return None
    return union_all(*parts) if len(parts) > 1 else parts[0]


def refused_under(regime_id: int) -> ColumnElement[bool]:
    """Entries screened under `regime_id` and not cleared there (recorded anyway)."""
    return (
        select(EntryScreening.id)
        .where(
            EntryScreening.entry_id == DrawdownEntry.id,
            EntryScreening.regime_id == regime_id,
            EntryScreening.classification.not_in(CLEARED),
        )
        .exists()
    )


@dataclass(frozen=True)
class QueueRow:
    kind: ItemKind
    source_id: int
    occurred_on: date
    waiver_id: int | None
    resource_id: int | None
    state: ReviewState
    item_id: int | None


def _queue(filters: QueueFilters, today: date) -> tuple[Select[Any], Any] | None:
    records = flagged_records(filters, today)
    if records is None:
        return None
    flagged = records.subquery("flagged")
    state = func.coalesce(ReviewItem.state, ReviewState.OPEN.value)
    query = select(
        flagged.c.kind,
        flagged.c.source_id,
        flagged.c.occurred_on,
        flagged.c.waiver_id,
        flagged.c.resource_id,
        state.label("state"),
        ReviewItem.id.label("item_id"),
    ).outerjoin(
        ReviewItem,
        and_(ReviewItem.kind == flagged.c.kind, ReviewItem.source_id == flagged.c.source_id),
    )
    condition: ColumnElement[bool] | None = None
    if filters.state is not None:
        condition = state == filters.state.value
    elif filters.awaiting:
        condition = state != CLOSED.value
    if condition is not None:
        query = query.where(condition)
    return query, flagged


def _row(values: Any) -> QueueRow:
    return QueueRow(
        kind=ItemKind(values.kind),
        source_id=values.source_id,
        occurred_on=values.occurred_on,
        waiver_id=values.waiver_id,
        resource_id=values.resource_id,
        state=ReviewState(values.state),
        item_id=values.item_id,
    )


def encode_cursor(row: QueueRow) -> str:
    return f"{row.occurred_on.isoformat()}.{row.kind.value}.{row.source_id}"


def decode_cursor(text: str) -> tuple[date, ItemKind, int] | None:
    try:
        day, kind, source_id = text.split(".")
        parsed = inputs.day_from(day), ItemKind(kind), inputs.id_from(source_id)
    except ValueError:
        return None
    if parsed[0] is None or parsed[2] is None:
        return None  # not a cursor this page wrote
    return parsed[0], parsed[1], parsed[2]


def queue_page(
    session: Session,
    filters: QueueFilters,
    *,
    today: date,
    after: tuple[date, ItemKind, int] | None = None,
    size: int = PAGE_SIZE,
) -> tuple[list[QueueRow], str | None]:
    """Return up to `size` flagged records, newest first, after the cursor, and the next
    cursor."""
    built = _queue(filters, today)
    if built is None:
        return [], None
    query, flagged = built
    if after is not None:
        query = query.where(_after(flagged, after))
    query = query.order_by(*_newest_first(flagged)).limit(size + 1)
    rows = [_row(values) for values in session.execute(query)]
    more = len(rows) > size
    rows = rows[:size]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


def _newest_first(flagged: Any) -> tuple[Any, ...]:
    """The queue's order: newest first, then by kind, then the latest record first."""
    return flagged.c.occurred_on.desc(), flagged.c.kind, flagged.c.source_id.desc()


def _after(flagged: Any, key: tuple[date, ItemKind, int]) -> ColumnElement[bool]:
    """The records that come after `key` in the queue's order."""
    day, kind, source_id = key
    return or_(
        flagged.c.occurred_on < day,
        and_(
            flagged.c.occurred_on == day,
            or_(
                flagged.c.kind > kind.value,
                and_(flagged.c.kind == kind.value, flagged.c.source_id < source_id),
            ),
        ),
    )


def _before(flagged: Any, key: tuple[date, ItemKind, int]) -> ColumnElement[bool]:
    """The records that come before `key` in the queue's order."""
    day, kind, source_id = key
    return or_(
        flagged.c.occurred_on > day,
        and_(
            flagged.c.occurred_on == day,
            or_(
                flagged.c.kind < kind.value,
                and_(flagged.c.kind == kind.value, flagged.c.source_id > source_id),
            ),
        ),
    )


def neighbours(
    session: Session, filters: QueueFilters, row: QueueRow, *, today: date
) -> tuple[QueueRow | None, QueueRow | None]:
    """The items just before and just after `row` in the queue under `filters`, whether or
    not `row` itself still matches them (an item just acknowledged leaves the awaiting ones,
    and the reviewer moves on from where it was)."""
    built = _queue(filters, today)
    if built is None:
        return None, None
    query, flagged = built
    key = (row.occurred_on, row.kind, row.source_id)
    oldest_first = (flagged.c.occurred_on, flagged.c.kind.desc(), flagged.c.source_id)
    before = session.execute(
        query.where(_before(flagged, key)).order_by(*oldest_first).limit(1)
    ).first()
    after = session.execute(
        query.where(_after(flagged, key)).order_by(*_newest_first(flagged)).limit(1)
    ).first()
    return (
        _row(before) if before is not None else None,
        _row(after) if after is not None else None,
    )


def count_by_state(
    session: Session, filters: QueueFilters, *, today: date
) -> dict[ReviewState, int]:
    """How many flagged records are in each review state."""
    built = _queue(
        QueueFilters(
            kind=filters.kind,
            month=filters.month,
            waiver_id=filters.waiver_id,
            regime_id=filters.regime_id,
        ),
        today,
    )
    counts = dict.fromkeys(ReviewState, 0)
    if built is None:
        return counts
    query, _flagged = built
    inner = query.subquery()
    for state, number in session.execute(
        select(inner.c.state, func.count()).group_by(inner.c.state)
    ):
        counts[ReviewState(state)] += number
    return counts


def count_by_kind(
    session: Session, *, today: date, month: date | None = None
) -> dict[ItemKind, dict[ReviewState, int]]:
    """How many flagged records of each kind are in each state (of one month, or all)."""
    built = _queue(QueueFilters(month=month), today)
    counts = {kind: dict.fromkeys(ReviewState, 0) for kind in ItemKind}
    if built is None:
        return counts
    inner = built[0].subquery()
    for kind, state, number in session.execute(
        select(inner.c.kind, inner.c.state, func.count()).group_by(inner.c.kind, inner.c.state)
    ):
        counts[ItemKind(kind)][ReviewState(state)] += number
    return counts


def find_record(
    session: Session, kind: ItemKind, source_id: int, *, today: date
) -> QueueRow | None:
    """The flagged record `kind` `source_id` with its review state, or None if it is not
    (or no longer) flagged."""
    built = _queue(QueueFilters(kind=kind), today)
    if built is None:
        return None
    query, flagged = built
    values = session.execute(query.where(flagged.c.source_id == source_id)).first()
    return _row(values) if values is not None else None


# --- what an item's page shows besides ---------------------------------------------------


@dataclass(frozen=True)
class ItemFacts:
    """Who recorded the flagged record and when, and the waiver line it draws on, with the
    line's cap and what is left of it now; for a drawdown recorded anyway, what each regime
    made of it at recording (None: not checked then)."""

    recorded_by: User | None
    recorded_at: datetime | None
    line: WaiverLine | None
    usage: LineUsage | None
    screenings: list[tuple[Regime, EntryScreening | None]] = field(default_factory=list)


def item_facts(session: Session, row: QueueRow) -> ItemFacts:
    """Load the facts of the flagged record `row` that its page shows beside its words."""
    recorded_by_id: int | None = None
    recorded_at: datetime | None = None
    line_id: int | None = None
    screenings: list[tuple[Regime, EntryScreening | None]] = []
    if row.kind is ItemKind.OVERRIDE:
        entry = session.get(DrawdownEntry, row.source_id)
        if entry is not None:
            recorded_by_id, recorded_at = entry.recorded_by_id, entry.recorded_at
            line_id = entry.waiver_line_id
            screenings = entry_screenings(session, entry)
    elif row.kind is ItemKind.FLAGGED_USE:
        draw = session.get(LotDraw, row.source_id)
        if draw is not None:
            recorded_by_id, recorded_at = draw.movement.recorded_by_id, draw.movement.recorded_at
            line_id = draw.waiver_line_id
    elif row.kind is ItemKind.DIP_VARIANCE:
        dip = session.get(DipReading, row.source_id)
        if dip is not None:
            recorded_by_id, recorded_at = dip.recorded_by_id, dip.read_at
    elif row.kind is ItemKind.METER_ANOMALY:
        reading = session.get(MeterReading, row.source_id)
        if reading is not None:
            recorded_by_id, recorded_at = reading.recorded_by_id, reading.recorded_at
            line_id = reading.meter.waiver_line_id
    else:  # an overdue return: who received the lot it came with
        lot = session.get(StockLot, row.source_id)
        receipt = session.scalar(
            select(StockMovement)
            .where(
                StockMovement.lot_id == row.source_id, StockMovement.kind == MovementKind.RECEIPT
            )
            .order_by(StockMovement.id)
            .limit(1)
        )
        if receipt is not None:
            recorded_by_id, recorded_at = receipt.recorded_by_id, receipt.recorded_at
        line_id = lot.waiver_line_id if lot is not None else None
    line = session.get(WaiverLine, line_id) if line_id is not None else None
    return ItemFacts(
        session.get(User, recorded_by_id) if recorded_by_id is not None else None,
        recorded_at,
        line,
        line_usage(line) if line is not None else None,
        screenings,
    )


# --- what each flagged record is, in words, with a link to where it lives ------------------


@dataclass(frozen=True)
class Described:
    title: Any
    detail: Any
    endpoint: str
    args: dict[str, Any]
    # The regimes that refused it (a drawdown recorded anyway, a use no longer covered),
    # each with its classification there.
    refused: tuple[tuple[Regime, Classification], ...] = ()


def _quantity(quantity: Any, unit: Any) -> Any:
    return amount(quantity, unit)


def _describe_overrides(session: Session, ids: list[int]) -> dict[int, Described]:
    entries = session.scalars(
        select(DrawdownEntry)
        .where(DrawdownEntry.id.in_(ids))
        .options(
            selectinload(DrawdownEntry.resource),
            selectinload(DrawdownEntry.waiver),
            selectinload(DrawdownEntry.screenings).selectinload(EntryScreening.regime),
        )
    )
    return {
        entry.id: Described(
            _l(
                "Entry %(seq)d: %(quantity)s of %(resource)s, %(classification)s",
                seq=entry.seq,
                quantity=_quantity(entry.quantity, entry.unit),
                resource=entry.resource.name(current_locale_code()),
                classification=label(entry.classification),
            ),
            _l("Recorded anyway: %(reason)s", reason=entry.override_reason or ""),
            "ledger.detail",
            {"entry_id": entry.id},
            tuple(
                (s.regime, s.classification)
                for s in entry.screenings
                if s.classification not in CLEARED
            ),
        )
        for entry in entries
    }


def _store_link(store: Store, resource_id: int) -> tuple[str, dict[str, Any]]:
    if store.kind is StoreKind.TANK:
        return "operations.tank", {"tank_id": store.id}
    return "deliveries.stock", {"resource": resource_id}


def _describe_uses(session: Session, ids: list[int]) -> dict[int, Described]:
    draws = session.scalars(
        select(LotDraw)
        .where(LotDraw.id.in_(ids))
        .options(
            selectinload(LotDraw.movement).selectinload(StockMovement.resource),
            selectinload(LotDraw.movement).selectinload(StockMovement.store),
            selectinload(LotDraw.lot),
        )
    ).all()
    lines = {
        line.id: line
        for line in session.scalars(
            select(WaiverLine)
            .where(WaiverLine.id.in_({d.waiver_line_id for d in draws if d.waiver_line_id}))
            .options(selectinload(WaiverLine.waiver).selectinload(Waiver.regime))
        )
    }
    described = {}
    for draw in draws:
        movement = draw.movement
        endpoint, args = _store_link(movement.store, movement.resource_id)
        described[draw.id] = Described(
            _l(
                "%(quantity)s of %(resource)s used from lot #%(lot)d, %(classification)s",
                quantity=_quantity(draw.quantity, movement.resource.unit),
                resource=movement.resource.name(current_locale_code()),
                lot=draw.lot_id,
                classification=label(draw.classification),
            ),
            _l(
                "%(store)s, for %(use)s: %(why)s",
                store=movement.store.shown_name,
                use=reference_label(movement.use_ref) or movement.use or "-",
                why=_not_covered(draw, lines.get(draw.waiver_line_id or 0), movement.occurred_on),
            ),
            endpoint,
            args,
            ((line.waiver.regime, draw.classification),)
            if (line := lines.get(draw.waiver_line_id or 0)) is not None
            else (),
        )
    return described


def _not_covered(draw: LotDraw, line: WaiverLine | None, day: date) -> LazyText:
    """Why a use is no longer covered, in the terms of its classification (the waiver's
    status alone says "granted" for a use dated after a granted waiver's validity)."""
    status = label(draw.waiver_status) if draw.waiver_status else "-"
    if line is None:
        return _l("no waiver line covers it")
    waiver = line.waiver
    if draw.classification is Classification.OUTSIDE_VALIDITY:
        if draw.waiver_status is WaiverStatus.EXPIRED:
            return _l(
                "waiver %(ref)s had expired by %(date)s",
                ref=waiver.reference,
                date=format_date(day),
            )
        return _l(
            "%(date)s is outside the validity of waiver %(ref)s, %(start)s to %(end)s",
            date=format_date(day),
            ref=waiver.reference,
            start=format_date(waiver.valid_from) or "…",
            end=format_date(waiver.valid_until) or "…",
        )
    if draw.classification is Classification.DENIED and line.granted_quantity == 0:
        return _l(
            "waiver %(ref)s line %(n)d was granted nothing", ref=waiver.reference, n=line.line_no
        )
    if draw.classification is Classification.PENDING:
        return _l(
            "waiver %(ref)s was still %(status)s, not granted, on %(date)s",
            ref=waiver.reference,
            status=status,
            date=format_date(day),
        )
    return _l(
        "waiver %(ref)s was %(status)s on %(date)s",
        ref=waiver.reference,
        status=status,
        date=format_date(day),
    )


def _describe_dips(session: Session, ids: list[int]) -> dict[int, Described]:
    dips = session.scalars(
        select(DipReading)
        .where(DipReading.id.in_(ids))
        .options(selectinload(DipReading.store).selectinload(Store.resource))
    )
    return {
        dip.id: Described(
            _l(
                "%(tank)s measured %(measured)s against %(book)s on the books",
                tank=dip.store.name,
                measured=_quantity(dip.measured, dip.store.product.unit),
                book=_quantity(dip.book, dip.store.product.unit),
            ),
            _l("Variance %(variance)s", variance=_quantity(dip.variance, dip.store.product.unit)),
            "operations.tank",
            {"tank_id": dip.store_id},
        )
        for dip in dips
    }


def _describe_readings(session: Session, ids: list[int]) -> dict[int, Described]:
    readings = session.scalars(
        select(MeterReading)
        .where(MeterReading.id.in_(ids))
        .options(selectinload(MeterReading.meter))
    )
    return {
        reading.id: Described(
            _l(
                "%(meter)s read %(value)s, %(consumption)s since the last reading",
                meter=reading.meter.name,
                value=format_number(reading.value),
                consumption=_quantity(reading.consumption or 0, "kWh"),
            ),
            reading.flag_message,
            "operations.equipment",
            {},
        )
        for reading in readings
    }


def _describe_overdue(session: Session, ids: list[int]) -> dict[int, Described]:
    lots = session.scalars(
        select(StockLot).where(StockLot.id.in_(ids)).options(selectinload(StockLot.resource))
    )
    return {
        lot.id: Described(
            _l(
                "Lot #%(lot)d, %(resource)s: due back south by %(date)s",
                lot=lot.id,
                resource=lot.resource.name(current_locale_code()),
                date=format_date(lot.must_return_by),
            ),
            _l(
                "%(remaining)s still on site; came in with %(origin)s",
                remaining=_quantity(lot.remaining, lot.resource.unit),
                origin=reference_label(lot.source_ref) or "-",
            ),
            "deliveries.stock",
            {"resource": lot.resource_id},
        )
        for lot in lots
    }


DESCRIBERS = {
    ItemKind.OVERRIDE: _describe_overrides,
    ItemKind.FLAGGED_USE: _describe_uses,
    ItemKind.DIP_VARIANCE: _describe_dips,
    ItemKind.METER_ANOMALY: _describe_readings,
    ItemKind.OVERDUE_RETURN: _describe_overdue,
}


def describe(session: Session, rows: list[QueueRow]) -> dict[tuple[ItemKind, int], Described]:
    """Load what each row points at, a few queries per kind, and say what it is."""
    by_kind: dict[ItemKind, list[int]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.source_id)
    described = {}
    for kind, ids in by_kind.items():
        for source_id, text in DESCRIBERS[kind](session, ids).items():
            described[(kind, source_id)] = text
    return described


def count_by_month(session: Session, *, today: date) -> dict[date, dict[ReviewState, int]]:
    """How many flagged records of each month are in each state."""
    built = _queue(QueueFilters(), today)
    counts: dict[date, dict[ReviewState, int]] = {}
    if built is None:
        return counts
    inner = built[0].subquery()
    for day, state, number in session.execute(
        select(inner.c.occurred_on, inner.c.state, func.count()).group_by(
            inner.c.occurred_on, inner.c.state
        )
    ):
        month = day.replace(day=1)
        counts.setdefault(month, dict.fromkeys(ReviewState, 0))[ReviewState(state)] += number
    return counts


# --- the records behind a flagged one, whose documents its page shows ------------------------


def related_records(session: Session, row: QueueRow) -> list[tuple[RecordType, int]]:
    """The records whose documents a reviewer checks a flagged record against: the waivers it
    drew on, the manifest line and delivery it came with, the day's log it was recorded in;
    in that order, each once."""
    waivers: list[int | None] = []
    line: DeliveryLine | None = None
    day: date | None = None
    if row.kind is ItemKind.OVERRIDE:
        entry = session.get(DrawdownEntry, row.source_id)
        if entry is not None:
            waivers = [entry.waiver_id, *(s.waiver_id for s in entry.screenings)]
            if entry.source is Source.DELIVERY and entry.source_id is not None:
                line = session.get(DeliveryLine, entry.source_id)
            elif entry.source in (Source.FUEL_RECEIPT, Source.METER, Source.FUEL_ISSUE):
                day = entry.occurred_on
    elif row.kind in (ItemKind.FLAGGED_USE, ItemKind.OVERDUE_RETURN):
        lot_id: int | None = row.source_id
        if row.kind is ItemKind.FLAGGED_USE:
            draw = session.get(LotDraw, row.source_id)
            lot_id = draw.lot_id if draw is not None else None
            if draw is not None:
                day = draw.movement.occurred_on
        lot = session.get(StockLot, lot_id) if lot_id is not None else None
        if lot is not None and lot.waiver_line_id is not None:
            waiver_line = session.get(WaiverLine, lot.waiver_line_id)
            waivers = [waiver_line.waiver_id if waiver_line is not None else None]
        if lot is not None:
            line = session.scalar(select(DeliveryLine).where(DeliveryLine.lot_id == lot.id))
    elif row.kind is ItemKind.DIP_VARIANCE:
        dip = session.get(DipReading, row.source_id)
        day = dip.read_on if dip is not None else None
    else:  # a meter reading out of line
        reading = session.get(MeterReading, row.source_id)
        if reading is not None:
            day = reading.read_on
            if reading.meter.waiver_line is not None:
                waivers = [reading.meter.waiver_line.waiver_id]
    related: list[tuple[RecordType, int]] = []
    for waiver_id in waivers:
        if waiver_id is not None and (RecordType.WAIVER, waiver_id) not in related:
            related.append((RecordType.WAIVER, waiver_id))
    if line is not None:
        related += [(RecordType.DELIVERY_LINE, line.id), (RecordType.DELIVERY, line.delivery_id)]
    if day is not None:
        log_id = session.scalar(select(DailyLog.id).where(DailyLog.log_on == day))
        if log_id is not None:
            related.append((RecordType.DAILY_LOG, log_id))
    return related
