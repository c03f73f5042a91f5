"""Rules for fuel tanks, generators, electricity meters and the daily operations log.

Every litre and kWh drawn on a waiver goes through the ledger's one door
(`office.waivers.ledger.record_drawdown`): a fuel receipt records its own drawdown (until the
deliveries feature brings fuel in), and each interval of a grid meter is one drawdown on the
electricity waiver line. Once a day's log is signed off, any change to that day is a correction
that needs a reason and is kept in the day's history.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import Date, Numeric, func, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from office.audit.services import record_event
from office.auth.models import User
from office.concurrency import transaction_memo
from office.errors import ConflictError, DomainError, InvalidInput
from office.fuel.models import (
    DailyLog,
    DailyLogEvent,
    DipReading,
    FuelUse,
    Generator,
    GeneratorReading,
    LogStatus,
    Meter,
    MeterReading,
    MeterSource,
    ReadingKind,
    anomaly_reason,
)
from office.i18n import SEOUL, _l, _ln, format_datetime, format_number, office_date
from office.inputs import FIRST_DAY
from office.periods import services as periods
from office.staffing import services as staffing
from office.staffing.checks import days
from office.stock import services as stock
from office.stock.models import LotSource, MovementKind, StockLot, StockMovement, Store, StoreKind
from office.waivers import ledger
from office.waivers.models import Purpose, Resource, Source, WaiverLine
from office.waivers.units import Unit, convert, parse_quantity

GENERATOR_TOLERANCE = Decimal("0.15")  # burn more than 15% off the rated consumption: flagged
IMPLAUSIBLE_FACTOR = 3  # above 3x a meter's usual rate: flagged (see `implausibility`)
REASON_MAX = 2000


def _text(value: str | None, limit: int = REASON_MAX) -> str:
    return (value or "").strip()[:limit]


# --- the daily log and its corrections ----------------------------------------------------


def log_for(session: Session, day: date) -> DailyLog | None:
    return session.scalar(select(DailyLog).where(DailyLog.log_on == day))


def _lock_log(session: Session, day: date) -> DailyLog:
    """Lock the day's log, read afresh; the day's first write creates it.

    Two first writes of a day at once both insert it: the second meets the unique day, and
    its request is run again (`office.concurrency`), finding the log of the first.
    """
    memo = transaction_memo(session)
    key = ("daily_log", day)
    if key in memo:  # locked by this transaction already, and so as read then
        held: DailyLog = memo[key]
        return held
    log = session.scalar(
        select(DailyLog)
        .where(DailyLog.log_on == day)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if log is None:
        log = DailyLog(log_on=day, status=LogStatus.DRAFT, incidents="", notes="")
        session.add(log)
        session.flush()
    memo[key] = log
    return log


def log_to_attach(session: Session, day: date, *, now: datetime) -> DailyLog:
    """The day's log, to attach a document (a dip's or a meter's photo) to: made if the day has
    none yet, locked until the transaction ends. A document changes no figure of the day, so
    it may be attached after the day's sign-off and the month's.

    Raises InvalidInput for a day in the future.
    """
    _check_day(day, now)
    return _lock_log(session, day)


def guard_day(
    session: Session,
    day: date,
    action: str,
    *,
    reason: str | None,
    actor: User | None,
    now: datetime,
    target: Any | None = None,
    **detail: Any,
) -> DailyLog:
    """Note `action` in the day's history and on the audit trail (as `day.<action>`, on
    `target`, else on the day's log); once the day is signed off it needs a reason.
    The day's log stays locked until the transaction ends, so a sign-off of the day comes
    before the change or after it, never in between; return the log.

    Raises ConflictError (field `correction_reason`) for a change to a signed-off day without
    one, and for any change to a month the ministry's reviewers signed off.
    """
    periods.ensure_open(session, day)
    log = _lock_log(session, day)
    reason = _text(reason) or None
    if log.status is LogStatus.SIGNED_OFF and reason is None:
        raise ConflictError(
            _l(
                "The log of %(date)s is signed off; a change to it is a correction: give the "
                "reason.",
                date=day.isoformat(),
            ),
            "correction_reason",
        )
    session.add(
        DailyLogEvent(
            log=log,
            at=now,
            by_id=actor.id if actor else None,
            action=action,
            reason=reason if log.status is LogStatus.SIGNED_OFF else None,
            detail={key: str(value) for key, value in detail.items()},
        )
    )
    if reason is not None:
        detail["reason"] = reason
    record_event(
        session,
        f"day.{action}",
        actor=actor,
        target=target if target is not None else log,
        at=now,
        day=day.isoformat(),
        **detail,
    )
    return log


def save_log(
    session: Session,
    day: date,
    *,
    incidents: str,
    notes: str,
    actor: User | None,
    now: datetime,
    correction_reason: str | None = None,
) -> DailyLog:
    """Save the day's incidents and notes (a correction once it is signed off)."""
    _check_day(day, now)
    log = guard_day(session, day, "notes_saved", reason=correction_reason, actor=actor, now=now)
    log.incidents, log.notes = _text(incidents, 10_000), _text(notes, 10_000)
    session.flush()
    return log


def sign_off(session: Session, day: date, *, actor: User | None, now: datetime) -> DailyLog:
    """Sign the day off: from now on every change to it is a correction with a reason."""
    _check_day(day, now)
    periods.ensure_open(session, day)
    log = _lock_log(session, day)
    if log.status is LogStatus.SIGNED_OFF:
        raise ConflictError(
            _l(
                "The log of %(date)s was already signed off on %(when)s.",
                date=day.isoformat(),
                when=format_datetime(log.signed_off_at),
            ),
        )
    log.status, log.signed_off_at = LogStatus.SIGNED_OFF, now
    log.signed_off_by_id = actor.id if actor else None
    session.add(
        DailyLogEvent(log=log, at=now, by_id=log.signed_off_by_id, action="signed_off", detail={})
    )
    session.flush()
    record_event(session, "day.signed_off", actor=actor, target=log, at=now, day=day.isoformat())
    return log


def missing_days(session: Session, start: date, end: date) -> list[date]:
    """The days from `start` to `end` whose log is not signed off."""
    signed = set(
        session.scalars(
            select(DailyLog.log_on).where(
                DailyLog.log_on >= start,
                DailyLog.log_on <= end,
                DailyLog.status == LogStatus.SIGNED_OFF,
            )
        )
    )
    return [day for day in days(start, end) if day not in signed]


def _check_day(day: date, now: datetime) -> None:
    if not FIRST_DAY <= day <= office_date(now):
        raise InvalidInput(
            _l("Enter a date between %(first)s and today.", first=FIRST_DAY.isoformat()), "day"
        )


def _seoul_instant(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=SEOUL).astimezone(UTC)


class _SeoulDay(FunctionElement[date]):
    """The day in Seoul of a UTC timestamp column, computed by the database."""

    type = Date()
    inherit_cache = True


# Seoul has kept UTC+9 without daylight saving since 1988, long before any record here, so a
# fixed shift agrees with `office_date` and needs no time zone database in SQLite.
@compiles(_SeoulDay, "sqlite")
def _seoul_day_sqlite(element: _SeoulDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+9 hours')"


@compiles(_SeoulDay, "postgresql")
def _seoul_day_postgresql(element: _SeoulDay, compiler: SQLCompiler, **kw: Any) -> str:
    timestamp = compiler.process(element.clauses, **kw)
    return f"CAST(({timestamp} AT TIME ZONE 'UTC') + INTERVAL '9 hours' AS DATE)"


# --- tanks and fuel -----------------------------------------------------------------------


def create_tank(
    session: Session,
    *,
    name: str,
    product: Resource,
    capacity: object,
    tolerance: object,
    location: str,
    opening: object,
    opened_on: date,
    actor: User | None,
    now: datetime,
) -> Store:
    """Add a fuel tank for one product (capacity and tolerance in the product's unit)."""
    return stock.create_store(
        session,
        name=name,
        kind=StoreKind.TANK,
        location=location,
        resource=product,
        capacity=capacity,
        tolerance=tolerance,
        opening=opening,
        opened_on=opened_on,
        actor=actor,
        now=now,
    )


def _tank_quantity(tank: Store, quantity: object, unit: Unit | str) -> Decimal:
    resource = tank.product
    try:
        unit = Unit(unit)
    except ValueError:
        raise InvalidInput(_l("Unknown unit %(unit)s.", unit=str(unit)[:20]), "unit") from None
    amount = parse_quantity(quantity, unit=unit)
    return convert(amount, unit, resource.unit, resource.effective_barrels_per_tonne)


def receive_fuel(
    session: Session,
    tank: Store,
    *,
    quantity: object,
    unit: Unit | str,
    received_on: date,
    waiver_line: WaiverLine | None = None,
    authorisations: Sequence[WaiverLine] = (),
    parties: str = "",
    note: str = "",
    override_reason: str | None = None,
    correction_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> StockMovement:
    """Receive fuel into a tank: its drawdown goes on the ledger, then it becomes a lot.

    `authorisations` names the line drawn on under each regime, one per regime at most
    (`waiver_line` is its short form, one line); a regime left without one draws on its
    standing authorisation (`ledger.record_drawdown`). The lot keeps the entry's principal
    line: the first named, else the first regime's (the UN's).

    Raises InvalidInput for a line of another product or two lines under one regime (its
    field `authorisations.<regime code>`, or `waiver_line_id` for the short form alone),
    ConflictError for a receipt that would overfill the tank, DrawdownRefused when the
    ledger refuses it; nothing is recorded then.
    """
    checked = ledger.check_drawdown_input(
        tank.product,
        quantity,
        unit,
        received_on,
        waiver_line,
        today=office_date(now),
        authorisations=authorisations,
    )
    guard_day(
        session,
        received_on,
        "fuel_received",
        reason=correction_reason,
        actor=actor,
        now=now,
        target=tank,
        tank=tank.name,
        quantity=checked.base_quantity,
    )
    # The receipt first (it locks the tank and checks its room), then its drawdown, which
    # names it: the database holds one ledger entry per receipt.
    movement, lot = stock.receive(
        session,
        tank,
        resource=tank.product,
        quantity=checked.base_quantity,
        received_on=received_on,
        source=LotSource.FUEL_RECEIPT,
        waiver_line=checked.line,
        drawdown_entry_id=None,
        parties=_text(parties, 200),
        note=_text(note),
        actor=actor,
        now=now,
    )
    entry = ledger.record_drawdown(
        session,
        resource=tank.product,
        quantity=quantity,
        unit=unit,
        occurred_on=received_on,
        authorisations=checked.lines,
        purpose=Purpose.FUEL,
        source=Source.FUEL_RECEIPT,
        source_id=movement.id,
        source_ref=f"tank {tank.id}",
        note=_text(note),
        override_reason=override_reason,
        actor=actor,
        now=now,
    )
    lot.drawdown_entry_id = entry.id
    lot.waiver_line = entry.waiver_line
    lot.source_ref = movement.use_ref = f"ledger {entry.seq}"
    session.flush()
    return movement


def issue_fuel(
    session: Session,
    tank: Store,
    *,
    quantity: object,
    unit: Unit | str = Unit.L,
    issued_on: date,
    use: FuelUse | str,
    generator: Generator | None = None,
    note: str = "",
    correction_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> StockMovement:
    """Issue fuel from a tank for a use, oldest lots first; refuse more than the book stock."""
    use = FuelUse(use)
    if use is FuelUse.GENERATOR and generator is None:
        raise InvalidInput(_l("Choose the generator the fuel went to."), "generator")
    base = _tank_quantity(tank, quantity, unit)
    _check_day(issued_on, now)
    guard_day(
        session,
        issued_on,
        "fuel_issued",
        reason=correction_reason,
        actor=actor,
        now=now,
        target=tank,
        tank=tank.name,
        quantity=base,
        use=use.value,
    )
    return stock.draw(
        session,
        tank,
        resource=tank.product,
        quantity=base,
        kind=MovementKind.ISSUE,
        occurred_on=issued_on,
        use=use.value,
        use_ref=f"generator {generator.id}" if generator is not None else None,
        note=_text(note),
        actor=actor,
        now=now,
    )


def return_fuel(
    session: Session,
    tank: Store,
    *,
    quantity: object,
    unit: Unit | str = Unit.L,
    returned_on: date,
    parties: str = "",
    note: str = "",
    correction_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> StockMovement:
    """Carry fuel back south from a tank (oldest lots first). The cap is not freed."""
    base = _tank_quantity(tank, quantity, unit)
    _check_day(returned_on, now)
    guard_day(
        session,
        returned_on,
        "fuel_returned",
        reason=correction_reason,
        actor=actor,
        now=now,
        target=tank,
        tank=tank.name,
        quantity=base,
    )
    return stock.draw(
        session,
        tank,
        resource=tank.product,
        quantity=base,
        kind=MovementKind.RETURN,
        occurred_on=returned_on,
        use="return",
        parties=_text(parties, 200),
        note=_text(note),
        actor=actor,
        now=now,
    )


def record_dip(
    session: Session,
    tank: Store,
    *,
    measured: object,
    read_at: datetime,
    correction_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> DipReading:
    """Record a dip reading; beyond the tank's tolerance from book stock it is flagged."""
    amount = parse_quantity(measured, unit=tank.product.unit, allow_zero=True)
    if amount > tank.full:
        raise InvalidInput(
            _l(
                "A dip of %(dip)s is more than %(store)s holds (%(capacity)s).",
                dip=format_number(amount),
                store=tank.name,
                capacity=format_number(tank.full),
            ),
            "measured",
        )
    day = office_date(read_at)
    _check_day(day, now)
    guard_day(
        session,
        day,
        "dip_reading",
        reason=correction_reason,
        actor=actor,
        now=now,
        target=tank,
        tank=tank.name,
        measured=amount,
    )
    stock.lock_store(session, tank)  # its books do not move while they are read
    # A dip entered later for an earlier day is set against that day's books, not today's.
    book = stock.book_stock_on(session, tank, day)
    variance = amount - book
    reading = DipReading(
        store_id=tank.id,
        read_at=read_at,
        read_on=day,
        measured=amount,
        book=book,
        variance=variance,
        flagged=abs(variance) > (tank.tolerance or Decimal(0)),
        recorded_by_id=actor.id if actor else None,
    )
    session.add(reading)
    session.flush()
    return reading


def void_movement(
    session: Session,
    movement: StockMovement,
    *,
    reason: str,
    actor: User | None,
    now: datetime,
) -> None:
    """Void a fuel receipt, issue or return with a reason, undoing what it did.

    Raises ConflictError for a movement already voided, or a receipt whose fuel was drawn.
    """
    reason = _text(reason)
    if not reason:
        raise InvalidInput(_l("Give the reason."), "reason")
    guard_day(
        session,
        movement.occurred_on,
        f"{movement.kind.value}_voided",
        reason=reason,
        actor=actor,
        now=now,
        target=movement,
        movement=movement.id,
    )
    if movement.kind is MovementKind.RECEIPT:
        lot = stock.void_receipt(session, movement, reason=reason, now=now)
        if lot.drawdown_entry is not None:
            ledger.reverse_entry(
                session,
                lot.drawdown_entry,
                reason=reason,
                actor=actor,
                now=now,
            )
    else:
        stock.undo_draw(session, movement, reason=reason, now=now)


# --- generators ---------------------------------------------------------------------------


def add_generator(
    session: Session,
    *,
    name: str,
    rated_lph: object,
    tank: Store | None,
    actor: User | None,
    now: datetime,
) -> Generator:
    """Add a generator burning `rated_lph` litres an hour, fed from `tank`."""
    name = _text(name, 80)
    if not name:
        raise InvalidInput(_l("Enter a name of at most 80 characters."), "name")
    if session.scalar(select(Generator.id).where(Generator.name == name)) is not None:
        raise InvalidInput(_l("A generator named %(name)s already exists.", name=name), "name")
    generator = Generator(name=name, rated_lph=parse_quantity(rated_lph), tank=tank)
    session.add(generator)
    session.flush()
    record_event(
        session,
        "generator.added",
        actor=actor,
        target=generator,
        at=now,
        name=name,
        rated_lph=generator.rated_lph,
        tank=tank.name if tank is not None else None,
    )
    return generator


def _last_hours(session: Session, generator: Generator) -> GeneratorReading | None:
    return session.scalar(
        select(GeneratorReading)
        .where(GeneratorReading.generator_id == generator.id, GeneratorReading.voided_at.is_(None))
        .order_by(GeneratorReading.read_at.desc(), GeneratorReading.id.desc())
        .limit(1)
    )


def record_generator_hours(
    session: Session,
    generator: Generator,
    *,
    hours: object,
    read_at: datetime,
    correction_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> GeneratorReading:
    """Record the run-hour meter; it never goes back, nor before the last reading."""
    value = parse_quantity(hours, allow_zero=True)
    day = office_date(read_at)
    _check_day(day, now)
    guard_day(
        session,
        day,
        "generator_hours",
        reason=correction_reason,
        actor=actor,
        now=now,
        target=generator,
        generator=generator.name,
        hours=value,
    )
    session.refresh(generator, with_for_update=True)  # its readings, one at a time
    last = _last_hours(session, generator)
    if last is not None and read_at <= last.read_at:
        raise InvalidInput(
            _l(
                "The last reading of %(name)s was at %(when)s; a new one must be later.",
                name=generator.name,
                when=format_datetime(last.read_at),
            ),
            "read_at",
        )
    if last is not None and value < last.hours:
        raise InvalidInput(
            _l(
                "%(name)s's run-hour meter read %(last)s; it cannot go back to %(value)s.",
                name=generator.name,
                last=format_number(last.hours),
                value=format_number(value),
            ),
            "hours",
        )
    reading = GeneratorReading(
        generator_id=generator.id,
        read_at=read_at,
        read_on=day,
        hours=value,
        recorded_by_id=actor.id if actor else None,
    )
    session.add(reading)
    session.flush()
    return reading


@dataclass(frozen=True)
class BurnCheck:
    """Fuel issued to a generator between two readings against its rated consumption."""

    start: GeneratorReading
    end: GeneratorReading
    hours: Decimal
    expected: Decimal
    issued: Decimal

    @property
    def deviation(self) -> Decimal | None:
        if not self.expected:
            return None
        return (self.issued - self.expected) / self.expected

    @property
    def flagged(self) -> bool:
        deviation = self.deviation
        return deviation is not None and abs(deviation) > GENERATOR_TOLERANCE


def generator_checks(
    session: Session, generator: Generator, start: date, end: date
) -> list[BurnCheck]:
    """Expected burn (hours x rate) against the fuel issued to it, per reading interval."""
    readings = list(
        session.scalars(
            select(GeneratorReading)
            .where(
                GeneratorReading.generator_id == generator.id,
                GeneratorReading.voided_at.is_(None),
                GeneratorReading.read_on >= start - timedelta(days=31),
                GeneratorReading.read_on <= end,
            )
            .order_by(GeneratorReading.read_at, GeneratorReading.id)
        )
    )
    issued_by_day: dict[date, Decimal] = defaultdict(Decimal)
    for day, quantity in session.execute(
        select(StockMovement.occurred_on, StockMovement.quantity).where(
            StockMovement.kind == MovementKind.ISSUE,
            StockMovement.voided_at.is_(None),
            StockMovement.use_ref == f"generator {generator.id}",
            StockMovement.occurred_on >= start - timedelta(days=31),
            StockMovement.occurred_on <= end,
        )
    ):
        issued_by_day[day] += quantity
    checks = []
    for previous, current in pairwise(readings):
        if current.read_on < start:
            continue
        hours = current.hours - previous.hours
        # Readings are taken in the morning: a day's fuel burns before the next reading.
        issued = sum(
            (q for day, q in issued_by_day.items() if previous.read_on <= day < current.read_on),
            Decimal(0),
        )
        checks.append(BurnCheck(previous, current, hours, hours * generator.rated_lph, issued))
    return checks


def days_of_fuel_left(
    session: Session, tank: Store, today: date, *, book: Decimal | None = None
) -> Decimal | None:
    """Book stock (`book`, or the tank's now) divided by the 7 days to `today`'s average
    daily issue; None without issues."""
    issued = session.scalar(
        select(func.sum(StockMovement.quantity)).where(
            StockMovement.store_id == tank.id,
            StockMovement.kind == MovementKind.ISSUE,
            StockMovement.voided_at.is_(None),
            StockMovement.occurred_on > today - timedelta(days=7),
            StockMovement.occurred_on <= today,
        )
    )
    if not issued:
        return None
    if book is None:
        book = stock.book_stock(session, tank)
    return (book / (Decimal(issued) / 7)).quantize(Decimal("0.1"))


# --- electricity meters -------------------------------------------------------------------


def last_reading(session: Session, meter: Meter) -> MeterReading | None:
    return session.scalar(
        select(MeterReading)
        .where(MeterReading.meter_id == meter.id, MeterReading.voided_at.is_(None))
        .order_by(MeterReading.read_at.desc(), MeterReading.id.desc())
        .limit(1)
    )


def _register(meter: Meter, value: object, unit: str | None) -> Decimal:
    if unit not in (None, "", "kWh"):
        raise InvalidInput(
            _l("An electricity meter is read in kWh, not %(unit)s.", unit=str(unit)[:10]),
            "unit",
        )
    number = parse_quantity(value, allow_zero=True)
    if number >= Decimal(10) ** meter.digits:
        raise InvalidInput(
            _l(
                "%(name)s has %(digits)d digits; %(value)s cannot be on its register.",
                name=meter.name,
                digits=meter.digits,
                value=format_number(number),
            ),
            "value",
        )
    return number


def add_meter(
    session: Session,
    *,
    name: str,
    source: MeterSource | str,
    waiver_line: WaiverLine | None,
    digits: int,
    multiplier: object,
    installed_at: datetime,
    first_value: object,
    actor: User | None,
    now: datetime,
    replaces: Meter | None = None,
    correction_reason: str | None = None,
) -> Meter:
    """Install a meter with its first reading; a grid meter draws on a waiver line."""
    source = MeterSource(source)
    name = _text(name, 80)
    if not name:
        raise InvalidInput(_l("Enter a name of at most 80 characters."), "name")
    if not 1 <= digits <= 12:
        raise InvalidInput(_l("A register has 1 to 12 digits."), "digits")
    if source is MeterSource.GRID_SOUTH and waiver_line is None:
        raise InvalidInput(
            _l("Power from the South's grid is drawn on a waiver line; choose it."),
            "waiver_line_id",
        )
    if waiver_line is not None and waiver_line.resource.unit.value not in ("kWh", "MWh"):
        raise InvalidInput(_l("Choose a waiver line for electricity."), "waiver_line_id")
    meter = Meter(
        name=name,
        source=source,
        waiver_line=waiver_line,
        digits=digits,
        multiplier=parse_quantity(multiplier),
        installed_at=installed_at,
        replaces=replaces,
    )
    session.add(meter)
    session.flush()
    value = _register(meter, first_value, None)
    day = office_date(installed_at)
    _check_day(day, now)
    if replaces is None:  # a replacement was noted with the old meter's final reading
        guard_day(
            session,
            day,
            "meter_installed",
            reason=correction_reason,
            actor=actor,
            now=now,
            target=meter,
            meter=name,
        )
    session.add(
        MeterReading(
            meter_id=meter.id,
            read_at=installed_at,
            read_on=day,
            value=value,
            kind=ReadingKind.FIRST,
            consumption=None,
            recorded_by_id=actor.id if actor else None,
            recorded_at=now,
        )
    )
    session.flush()
    return meter


class _Seconds(FunctionElement[Decimal]):
    """The seconds from one UTC timestamp column to another, computed by the database."""

    type = Numeric()
    inherit_cache = True


@compiles(_Seconds, "sqlite")
def _seconds_sqlite(element: _Seconds, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    # julianday() is a float of days: rounded to the millisecond, as the timestamps are kept.
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(_Seconds, "postgresql")
def _seconds_postgresql(element: _Seconds, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


_Interval = tuple[datetime, datetime, Decimal]  # from, to, kWh counted


@dataclass
class _Sums:
    covered: timedelta = timedelta(0)
    counted: Decimal = Decimal(0)


class _History:
    """A meter's standing intervals of the 30 days before a reading, summed as its readings
    are recorded one after another: read from the database once, then each new reading's
    interval added. Its sums are those of the intervals not flagged and not voided that end
    in the 30 days to `before`; a meter read every 15 minutes has some 3,000 of them. A
    meter's first reading covers no interval and counts nothing."""

    WINDOW = timedelta(days=30)

    def __init__(self, session: Session, meter: Meter, before: datetime) -> None:
        rows: Sequence[Any] = session.execute(
            select(MeterReading.previous_at, MeterReading.read_at, MeterReading.consumption)
            .where(
                MeterReading.meter_id == meter.id,
                MeterReading.voided_at.is_(None),
                MeterReading.previous_at.is_not(None),
                MeterReading.consumption.is_not(None),
                MeterReading.flagged.is_(False),
                MeterReading.read_at > before - self.WINDOW,
                MeterReading.read_at <= before,
            )
            .order_by(MeterReading.read_at, MeterReading.id)
        ).all()
        self.ahead: deque[_Interval] = deque(
            (_aware(previous_at), _aware(read_at), Decimal(consumption))
            for previous_at, read_at, consumption in rows
        )
        self.inside: deque[_Interval] = deque()
        # Over all the intervals inside, and over those in which the meter counted anything.
        self.all, self.running = _Sums(), _Sums()

    def add(self, previous_at: datetime, read_at: datetime, consumption: Decimal) -> None:
        """A reading just recorded, later than every one before."""
        self.ahead.append((previous_at, read_at, consumption))

    def _move(self, interval: _Interval, sign: int) -> None:
        previous_at, read_at, consumption = interval
        for sums in [self.all, self.running] if consumption > 0 else [self.all]:
            sums.covered += sign * (read_at - previous_at)
            sums.counted += sign * consumption

    def counted(self, before: datetime, *, running: bool) -> tuple[float, Decimal]:
        """The seconds covered and the kWh counted in the 30 days to `before` (only the
        intervals that counted anything, if `running`); `before` never moves back."""
        while self.ahead and self.ahead[0][1] <= before:
            interval = self.ahead.popleft()
            self.inside.append(interval)
            self._move(interval, 1)
        while self.inside and self.inside[0][1] <= before - self.WINDOW:
            self._move(self.inside.popleft(), -1)
        sums = self.running if running else self.all
        return sums.covered.total_seconds(), sums.counted


def _aware(moment: datetime) -> datetime:
    """A time read back from SQLite, which keeps no zone: UTC, as stored."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def implausibility(
    history: _History, meter: Meter, previous_at: datetime, read_at: datetime, consumption: Decimal
) -> str | None:
    """Why the kWh counted from `previous_at` to `read_at` look implausible, or None.

    A grid meter counts all day: an interval above three times its 30-day daily average is
    flagged. A generator's meter counts only while the generator runs, a few hours on most
    days and all day in an outage, so against a daily average every hour of running read
    hourly looked like a spike. It is held instead to three times its own usual output per
    hour of running (over the last 30 days' intervals in which it counted anything). Read
    hourly, a longer run than usual then passes as the normal use it is, while an hour
    counting far more than the generator delivers (a misread or mistyped register) is still
    flagged; read once a day, a day of over three times its usual output is flagged, as on
    the grid. Whether the generator burnt what it should for its run hours is the burn
    check's business (`generator_checks`).
    """
    seconds = (read_at - previous_at).total_seconds()
    if seconds <= 0 or consumption <= 0:
        return None
    if meter.source is MeterSource.GENERATOR:
        covered, total = history.counted(previous_at, running=True)
        usual = total / Decimal(covered / 3600) if covered > 0 else None
        rate = consumption / Decimal(seconds / 3600)
        if usual and rate > IMPLAUSIBLE_FACTOR * usual:
            return anomaly_reason(
                "generator", rate=format_number(rate, 1), usual=format_number(usual, 1)
            )
        return None
    covered, total = history.counted(previous_at, running=False)
    average = total / Decimal(covered / 86400) if covered > 0 else None
    elapsed = Decimal(seconds / 86400)
    if average and consumption / elapsed > IMPLAUSIBLE_FACTOR * average:
        return anomaly_reason(
            "daily",
            rate=format_number(consumption / elapsed, 1),
            average=format_number(average, 1),
        )
    return None


def record_meter_reading(
    session: Session,
    meter: Meter,
    *,
    value: object,
    read_at: datetime,
    unit: str | None = "kWh",
    rolled_over: bool = False,
    final: bool = False,
    override_reason: str | None = None,
    correction_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> MeterReading:
    """Record a meter reading and the kWh since the last one (correct across a rollover).

    A reading lower than the last is refused unless it rolled over; an implausible one (see
    `implausibility`) is flagged. A grid meter's interval is drawn on its waiver line.
    """
    spec = ReadingSpec(
        meter,
        value,
        read_at,
        unit=unit,
        rolled_over=rolled_over,
        final=final,
        override_reason=override_reason,
        correction_reason=correction_reason,
    )
    [reading] = _record_readings(session, [spec], actor=actor, now=now)
    return reading


@dataclass(frozen=True)
class ReadingSpec:
    """One reading of a batch, as `record_meter_reading` takes it."""

    meter: Meter
    value: object
    read_at: datetime
    unit: str | None = "kWh"
    rolled_over: bool = False
    final: bool = False
    override_reason: str | None = None
    correction_reason: str | None = None


def _lock_meter(session: Session, meter: Meter) -> None:
    """Lock the meter, read afresh, once a transaction: its readings are taken one at a time,
    each counting from the last."""
    key = ("meter", meter.id)
    memo = transaction_memo(session)
    if key not in memo:
        session.refresh(meter, with_for_update=True)
        memo[key] = True


def _record_readings(
    session: Session, specs: Sequence[ReadingSpec], *, actor: User | None, now: datetime
) -> list[MeterReading]:
    """Record readings in their order, each counting from the one before it; then draw their
    intervals on the ledger together (`ledger.record_drawdowns`, its one door). Raises the
    first refusal; the caller's transaction (or savepoint) is then to be rolled back."""
    last: dict[int, MeterReading] = {}
    histories: dict[int, _History] = {}
    readings: list[MeterReading] = []
    for spec in specs:
        meter, read_at = spec.meter, spec.read_at
        number = _register(meter, spec.value, spec.unit)
        day = office_date(read_at)
        _check_day(day, now)
        guard_day(
            session,
            day,
            "meter_reading",
            reason=spec.correction_reason,
            actor=actor,
            now=now,
            target=meter,
            meter=meter.name,
            value=number,
        )
        _lock_meter(session, meter)
        if not meter.is_active:
            raise ConflictError(
                _l(
                    "%(name)s was taken out of service on %(when)s.",
                    name=meter.name,
                    when=format_datetime(meter.removed_at),
                ),
                "meter",
            )
        if read_at < meter.installed_at:
            raise InvalidInput(
                _l(
                    "%(name)s was installed on %(when)s; a reading cannot be earlier.",
                    name=meter.name,
                    when=format_datetime(meter.installed_at),
                ),
                "read_at",
            )
        previous = last.get(meter.id) or last_reading(session, meter)
        assert previous is not None, "a meter is installed with its first reading"
        if read_at <= previous.read_at:
            raise InvalidInput(
                _l(
                    "The last reading of %(name)s was at %(when)s; a new one must be later.",
                    name=meter.name,
                    when=format_datetime(previous.read_at),
                ),
                "read_at",
            )
        delta = number - previous.value
        if spec.rolled_over:
            if number >= previous.value:
                raise InvalidInput(
                    _l(
                        "A meter that rolled over reads less than before (%(last)s).",
                        last=format_number(previous.value),
                    ),
                    "rolled_over",
                )
            delta += Decimal(10) ** meter.digits
        elif delta < 0:
            raise InvalidInput(
                _l(
                    "%(value)s is lower than the last reading of %(name)s (%(last)s). If the "
                    "register rolled over, say so; if the meter was replaced, record the "
                    "replacement.",
                    value=format_number(number),
                    name=meter.name,
                    last=format_number(previous.value),
                ),
                "value",
            )
        consumption = delta * meter.multiplier
        reading = MeterReading(
            meter_id=meter.id,
            meter=meter,
            read_at=read_at,
            read_on=day,
            value=number,
            kind=ReadingKind.FINAL if spec.final else ReadingKind.REGULAR,
            rolled_over=spec.rolled_over,
            consumption=consumption,
            previous_at=previous.read_at,
            recorded_by_id=actor.id if actor else None,
            recorded_at=now,
        )
        history = histories.get(meter.id)
        if history is None:
            history = histories[meter.id] = _History(session, meter, previous.read_at)
        reason = implausibility(history, meter, previous.read_at, read_at, consumption)
        if reason is not None:
            reading.flagged, reading.flag_reason = True, reason
        else:
            history.add(previous.read_at, read_at, consumption)
        last[meter.id] = reading
        readings.append(reading)
    session.add_all(readings)
    session.flush()
    drawn = [
        (reading, spec, line, reading.consumption)
        for reading, spec in zip(readings, specs, strict=True)
        if (line := reading.meter.waiver_line) is not None
        and reading.consumption is not None
        and reading.consumption > 0
    ]
    entries = ledger.record_drawdowns(
        session,
        [
            ledger.Drawdown(
                resource=line.resource,
                quantity=consumption.quantize(Decimal("0.001")),
                unit=Unit.KWH,
                occurred_on=reading.read_on,
                waiver_line=line,
                purpose=Purpose.OPERATION,
                source=Source.METER,
                source_id=reading.id,
                source_ref=f"meter {reading.meter_id}",
                override_reason=spec.override_reason,
            )
            for reading, spec, line, consumption in drawn
        ],
        actor=actor,
        now=now,
    )
    for (reading, *_drawn), entry in zip(drawn, entries, strict=True):
        reading.drawdown_entry_id = entry.id
    session.flush()
    return readings


class ReadingsRejected(InvalidInput):
    """Some readings of a batch were refused, so none was recorded; `rows` holds each
    refused reading's index in the batch and the refusal."""

    def __init__(self, rows: list[tuple[int, DomainError]]) -> None:
        super().__init__(
            _ln(
                "%(num)d reading of the batch was refused, so none was recorded.",
                "%(num)d readings of the batch were refused, so none was recorded.",
                len(rows),
            )
        )
        self.rows = rows


def _hold_for_readings(session: Session, specs: Sequence[ReadingSpec], now: datetime) -> None:
    """Take the locks a batch's readings need, in the order of `office.concurrency`: their
    months, their days' logs, then their meters in id order. Taken one reading at a time,
    a batch crossing midnight would take a day's log while holding a meter and the
    ledger's head, out of order."""
    days_read = sorted({office_date(spec.read_at) for spec in specs})
    days_read = [day for day in days_read if FIRST_DAY <= day <= office_date(now)]
    for day in days_read:
        periods.ensure_open(session, day)
    for day in days_read:
        _lock_log(session, day)
    meters = {spec.meter.id: spec.meter for spec in specs}
    for meter_id in sorted(meters):
        _lock_meter(session, meters[meter_id])


def record_meter_readings(
    session: Session, specs: Sequence[ReadingSpec], *, actor: User | None, now: datetime
) -> list[MeterReading]:
    """Record a batch of readings (a head-end catching up) in their order, each as
    `record_meter_reading` records one: all of them, or none.

    Raises ReadingsRejected listing every refused reading, each tried as if the refused ones
    before it had not been sent, and the months signed off as ConflictError.
    """
    try:
        with session.begin_nested():
            _hold_for_readings(session, specs, now)
            return _record_readings(session, specs, actor=actor, now=now)
    except DomainError as exc:
        refused = exc
    # Something was refused: find every refusal, each reading in a savepoint of its own,
    # then undo them all.
    rejected: list[tuple[int, DomainError]] = []
    with session.begin_nested() as batch:
        for index, spec in enumerate(specs):
            try:
                with session.begin_nested():
                    _record_readings(session, [spec], actor=actor, now=now)
            except DomainError as exc:
                rejected.append((index, exc))
        batch.rollback()
    if not rejected:  # refused as a whole (its locks), not for any one reading
        raise refused
    raise ReadingsRejected(rejected)


def replace_meter(
    session: Session,
    old: Meter,
    *,
    final_value: object,
    final_rolled_over: bool,
    at: datetime,
    name: str,
    digits: int,
    multiplier: object,
    first_value: object,
    override_reason: str | None = None,
    correction_reason: str | None = None,
    actor: User | None,
    now: datetime,
) -> Meter:
    """Take a meter out with its final reading and put a new one in with its first."""
    record_meter_reading(
        session,
        old,
        value=final_value,
        read_at=at,
        rolled_over=final_rolled_over,
        final=True,
        override_reason=override_reason,
        correction_reason=correction_reason,
        actor=actor,
        now=now,
    )
    old.removed_at = at
    new = add_meter(
        session,
        name=name,
        source=old.source,
        waiver_line=old.waiver_line,
        digits=digits,
        multiplier=multiplier,
        installed_at=at,
        first_value=first_value,
        actor=actor,
        now=now,
        replaces=old,
    )
    record_event(
        session,
        "meter.replaced",
        actor=actor,
        target=new,
        at=now,
        meter=new.name,
        replaces=old.name,
        replaced_at=at.isoformat(),
    )
    return new


def voidable_readings(session: Session, meter_ids: set[int]) -> set[int]:
    """The readings of these meters that `void_meter_reading` would accept: each in-service
    meter's latest reading, unless it is the meter's first."""
    if not meter_ids:
        return set()
    latest = (
        select(MeterReading.id)
        .where(MeterReading.meter_id == Meter.id, MeterReading.voided_at.is_(None))
        .order_by(MeterReading.read_at.desc(), MeterReading.id.desc())
        .limit(1)
        .correlate(Meter)
        .scalar_subquery()
    )
    return set(
        session.scalars(
            select(MeterReading.id).where(
                MeterReading.id.in_(
                    select(latest).where(Meter.id.in_(meter_ids), Meter.removed_at.is_(None))
                ),
                MeterReading.kind != ReadingKind.FIRST,
            )
        )
    )


def voidable_movements(session: Session, movements: Sequence[StockMovement]) -> set[int]:
    """The movements among these that `void_movement` would accept: issues and returns not
    voided yet, and receipts whose lot is still untouched."""
    kept = [m for m in movements if m.voided_at is None]
    untouched = set(
        session.scalars(
            select(StockLot.id).where(
                StockLot.id.in_([m.lot_id for m in kept if m.kind is MovementKind.RECEIPT]),
                StockLot.remaining == StockLot.quantity,
            )
        )
    )
    return {m.id for m in kept if m.kind is not MovementKind.RECEIPT or m.lot_id in untouched}


def void_meter_reading(
    session: Session, reading: MeterReading, *, reason: str, actor: User | None, now: datetime
) -> None:
    """Void the latest reading of a meter (and reverse its drawdown)."""
    reason = _text(reason)
    if not reason:
        raise InvalidInput(_l("Give the reason."), "reason")
    guard_day(
        session,
        reading.read_on,
        "meter_reading_voided",
        reason=reason,
        actor=actor,
        now=now,
        target=reading,
        meter=reading.meter.name,
    )
    session.refresh(reading.meter, with_for_update=True)
    session.refresh(reading)
    if reading.voided_at is not None or reading.kind is ReadingKind.FIRST:
        raise ConflictError(_l("This reading cannot be voided."))
    last = last_reading(session, reading.meter)
    if last is None or last.id != reading.id or not reading.meter.is_active:
        raise ConflictError(
            _l(
                "Only the latest reading of a meter in service can be voided; later readings "
                "were counted from it."
            ),
            "reading",
        )
    if reading.drawdown_entry is not None:
        ledger.reverse_entry(session, reading.drawdown_entry, reason=reason, actor=actor, now=now)
    reading.voided_at, reading.void_reason = now, reason
    session.flush()


# --- per day and per person ---------------------------------------------------------------


def _spread(
    day_totals: dict[date, Decimal], start_at: datetime, end_at: datetime, amount: Decimal
) -> None:
    """Share an interval's amount among the Seoul days it covers, in proportion to time."""
    seconds = (end_at - start_at).total_seconds()
    cursor = start_at
    while cursor < end_at:
        day = office_date(cursor)
        next_midnight = _seoul_instant(day + timedelta(days=1), time())
        stop = min(next_midnight, end_at)
        day_totals[day] += amount * Decimal((stop - cursor).total_seconds() / seconds)
        cursor = stop


def electricity_per_day(
    session: Session, start: date, end: date, *, source: MeterSource | None = None
) -> dict[date, Decimal]:
    """kWh used each day from `start` to `end`, from the meters' readings."""
    since = _seoul_instant(start, time())
    until = _seoul_instant(end + timedelta(days=1), time())
    columns = (MeterReading.previous_at, MeterReading.read_at, MeterReading.consumption)
    kept = (MeterReading.voided_at.is_(None), MeterReading.consumption.is_not(None))
    meters = select(Meter.id)
    if source is not None:
        meters = meters.where(Meter.source == source)
    # The meters by their ids, not joined: PostgreSQL then reads each meter's range of the
    # read_at index too, where a join made it scan every reading.
    meter_ids = list(session.scalars(meters))
    # The intervals that end within the period, found by both ends of the meter's read_at
    # index (bounding only the start made an old month read every later reading) ...
    within = select(*columns).where(
        *kept,
        MeterReading.meter_id.in_(meter_ids),
        MeterReading.read_at > since,
        MeterReading.read_at < until,
    )
    # ... and, per meter, the one interval that may straddle the period's end: the first
    # reading at or after it. No later one can, since each reading counts from the last.
    later = aliased(MeterReading)
    first_after = (
        select(later.id)
        .where(later.meter_id == Meter.id, later.voided_at.is_(None), later.read_at >= until)
        .order_by(later.read_at, later.id)
        .limit(1)
        .correlate(Meter)
        .scalar_subquery()
    )
    ends = select(first_after).select_from(Meter).where(Meter.id.in_(meter_ids))
    straddling = select(*columns).where(
        *kept, MeterReading.previous_at < until, MeterReading.id.in_(ends)
    )
    # Nearly every interval begins and ends on one day in Seoul, so lies whole on that day:
    # the database sums those by day. Only the rest (over a midnight, or ending on one, or
    # over the period's start or end) are read one by one and shared by time below.
    read_day = _SeoulDay(MeterReading.read_at)
    one_day = _SeoulDay(MeterReading.previous_at) == read_day
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for day, consumption in session.execute(
        within.with_only_columns(read_day, func.sum(MeterReading.consumption))
        .where(MeterReading.previous_at < MeterReading.read_at, one_day)
        .group_by(read_day)
    ):
        totals[day] += consumption or 0  # a sum of counted readings: never NULL
    period = list(days(start, end))
    midnights = [*(_seoul_instant(day, time()) for day in period), until]
    for previous_at, read_at, consumption in session.execute(
        union_all(within.where(~one_day), straddling)
    ):
        # Every reading but a meter's first has both; the first is not among them (`kept`).
        if previous_at is None or consumption is None or previous_at >= read_at:
            continue
        lo, hi = max(previous_at, since), min(read_at, until)
        amount = consumption
        if (lo, hi) != (previous_at, read_at):
            amount = consumption * Decimal(
                (hi - lo).total_seconds() / (read_at - previous_at).total_seconds()
            )
        n = bisect_right(midnights, lo) - 1
        if hi <= midnights[n + 1]:  # within one day in Seoul: it ends on a midnight
            totals[period[n]] += amount
        else:
            _spread(totals, lo, hi, amount)
    return {day: totals.get(day, Decimal(0)).quantize(Decimal("0.001")) for day in period}


def fuel_issued_per_day(session: Session, start: date, end: date) -> dict[date, Decimal]:
    """Litres issued from the tanks each day (other units converted to litres)."""
    totals: dict[date, Decimal] = defaultdict(Decimal)
    rows = session.execute(
        select(StockMovement.occurred_on, StockMovement.quantity, Resource)
        .join(Store, Store.id == StockMovement.store_id)
        .join(Resource, Resource.id == StockMovement.resource_id)
        .where(
            Store.kind == StoreKind.TANK,
            StockMovement.kind == MovementKind.ISSUE,
            StockMovement.voided_at.is_(None),
            StockMovement.occurred_on >= start,
            StockMovement.occurred_on <= end,
        )
    )
    for day, quantity, resource in rows:
        totals[day] += convert(
            quantity, resource.unit, Unit.L, resource.effective_barrels_per_tonne
        )
    return {day: totals.get(day, Decimal(0)) for day in days(start, end)}


@dataclass(frozen=True)
class PersonDay:
    day: date
    people: int
    litres: Decimal
    kwh: Decimal

    @property
    def litres_per_person(self) -> Decimal | None:
        return (self.litres / self.people).quantize(Decimal("0.1")) if self.people else None

    @property
    def kwh_per_person(self) -> Decimal | None:
        return (self.kwh / self.people).quantize(Decimal("0.1")) if self.people else None


def per_person_day(session: Session, start: date, end: date) -> list[PersonDay]:
    """Litres of fuel and kWh per South person on site, day by day."""
    people = staffing.person_days(session, start, end)
    litres = fuel_issued_per_day(session, start, end)
    kwh = electricity_per_day(session, start, end)
    return [
        PersonDay(day, sum(people[day].values()), litres[day], kwh[day]) for day in days(start, end)
    ]


def lots_of(session: Session, tank: Store) -> list[StockLot]:
    return list(
        session.scalars(
            select(StockLot)
            .where(StockLot.store_id == tank.id)
            .order_by(StockLot.received_on.desc(), StockLot.id.desc())
        )
    )
