"""The API's routes for the office's daily operations: meters and their readings, generators'
run hours, the fuel received into tanks, issued, returned south and dipped, and the daily log.

Each calls the service its page calls (`office.fuel.services`), under the page's permission,
so a reading sent by a head-end is refused or recorded exactly as one typed on the day's
page, and each interval of a grid meter is drawn through the ledger's one door.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from flask import Response, request, url_for
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from office import inputs
from office.api import schemas
from office.api.idempotency import commit
from office.api.views import (
    MAX_ID,
    InvalidRequest,
    _authorisation,
    _errors,
    _get,
    _resource,
    bp,
    found,
    invalid,
    parse_body,
    respond,
)
from office.auth.access import permission_required
from office.auth.permissions import Permission
from office.db import db, utcnow
from office.errors import DomainError, InvalidInput, NotFoundError, problem
from office.fuel import services
from office.fuel.models import (
    DailyLog,
    DailyLogEvent,
    DipReading,
    Generator,
    GeneratorReading,
    LogStatus,
    Meter,
    MeterReading,
)
from office.i18n import _, office_date
from office.stock.models import LotDraw, MovementKind, StockLot, StockMovement, Store, StoreKind
from office.waivers.models import WaiverLine
from office.waivers.units import parse_quantity

MAX_PAGE = 1000


def meter_out(meter: Meter, last: MeterReading | None) -> schemas.MeterOut:
    return schemas.MeterOut(
        id=meter.id,
        name=meter.name,
        source=meter.source,
        waiver_line_id=meter.waiver_line_id,
        digits=meter.digits,
        multiplier=meter.multiplier,
        installed_at=meter.installed_at,
        removed_at=meter.removed_at,
        last_read_at=last.read_at if last is not None else None,
        last_value=last.value if last is not None else None,
    )


def reading_out(reading: MeterReading) -> schemas.MeterReadingOut:
    return schemas.MeterReadingOut(
        id=reading.id,
        meter_id=reading.meter_id,
        meter=reading.meter.name,
        read_at=reading.read_at,
        read_on=reading.read_on,
        value=reading.value,
        kind=reading.kind,
        rolled_over=reading.rolled_over,
        consumption=reading.consumption,
        previous_at=reading.previous_at,
        flagged=reading.flagged,
        flag_message=reading.flag_message if reading.flagged else None,
        drawdown_entry_id=reading.drawdown_entry_id,
        recorded_at=reading.recorded_at,
        voided_at=reading.voided_at,
        void_reason=reading.void_reason,
    )


@bp.errorhandler(services.ReadingsRejected)
def _readings_rejected(exc: services.ReadingsRejected) -> Response:
    db.session.rollback()
    return _rejected_problem(
        str(exc),
        [
            schemas.RejectedRow(
                index=index, field=refusal.field, status=refusal.status_code, message=str(refusal)
            )
            for index, refusal in exc.rows
        ],
    )


def _rejected_problem(detail: str, rows: list[schemas.RejectedRow]) -> Response:
    errors: dict[str, list[str]] = {}
    for row in rows:
        key = f"readings.{row.index}" + (f".{row.field}" if row.field else "")
        errors.setdefault(key, []).append(row.message)
    return problem(
        422, detail, errors=errors, rejected=[row.model_dump(mode="json") for row in rows]
    )


def _meter(meter_id: int, field: str) -> Meter:
    meter = _get(Meter, meter_id)
    if meter is None:
        raise invalid(field, _("No meter has the id %(id)d.", id=meter_id))
    return meter


def _spec(given: schemas.MeterReadingFields, meter: Meter) -> services.ReadingSpec:
    return services.ReadingSpec(
        meter=meter,
        value=given.value,
        read_at=given.read_at,
        unit=given.unit,
        rolled_over=given.rolled_over,
        override_reason=given.override_reason,
        correction_reason=given.correction_reason,
    )


@bp.get("/meters")
@permission_required(Permission.VIEW_OPERATIONS)
def meters() -> Response:
    rows = db.session.scalars(select(Meter).order_by(Meter.name, Meter.id))
    return respond(
        schemas.MeterList(items=[meter_out(m, services.last_reading(db.session, m)) for m in rows])
    )


def _quantity(value: Decimal, field: str, *, allow_zero: bool = False) -> Decimal:
    """`value` read as the page's form reads that field (`office.fuel.forms.IsQuantity`): a
    refusal is the service's message, under the request's own field."""
    try:
        return parse_quantity(value, allow_zero=allow_zero)
    except InvalidInput as exc:
        raise invalid(field, str(exc)) from None


@contextmanager
def _fields(names: Callable[[str], str]) -> Iterator[None]:
    """Name a service's refusal by the request's field (the service's `value` is the body's
    `first_value`, say)."""
    try:
        yield
    except DomainError as exc:
        if exc.field is not None:
            exc.field = names(exc.field)
        raise


def _meter_created(meter: Meter) -> Response:
    answer = meter_out(meter, services.last_reading(db.session, meter))
    return commit(respond(answer, 201, url_for("api.meters")))


@bp.post("/meters")
@permission_required(Permission.LOG_OPERATIONS)
def create_meter() -> Response:
    """Install a meter with its first reading, as the equipment page does."""
    body = parse_body(schemas.MeterIn)
    line = None
    if body.waiver_line_id is not None:
        line = _get(WaiverLine, body.waiver_line_id)
        if line is None:
            raise invalid(
                "waiver_line_id", _("No waiver line has the id %(id)d.", id=body.waiver_line_id)
            )
    multiplier = _quantity(body.multiplier, "multiplier")
    first_value = _quantity(body.first_value, "first_value", allow_zero=True)
    with _fields(lambda field: {"value": "first_value", "day": "installed_at"}.get(field, field)):
        meter = services.add_meter(
            db.session,
            name=body.name,
            source=body.source,
            waiver_line=line,
            digits=body.digits,
            multiplier=multiplier,
            installed_at=body.installed_at,
            first_value=first_value,
            correction_reason=body.correction_reason,
            actor=current_user,
            now=utcnow(),
        )
    return _meter_created(meter)


@bp.post("/meters/<int:meter_id>/replace")
@permission_required(Permission.LOG_OPERATIONS)
def replace_meter(meter_id: int) -> Response:
    """Take a meter out with its final reading (its last interval drawn on the ledger, as
    any reading's) and put a new one in with its first, as the equipment page does."""
    old = found(Meter, meter_id, _("No meter has the id %(id)d.", id=meter_id))
    body = parse_body(schemas.MeterReplacementIn)
    final_value = _quantity(body.final_value, "final_value", allow_zero=True)
    multiplier = _quantity(body.multiplier, "multiplier")
    first_value = _quantity(body.first_value, "first_value", allow_zero=True)

    def named(field: str) -> str:
        # The old meter's final reading is taken first: until it is, a register's refusal
        # is the final one's.
        new = "first_value" if old.removed_at is not None else "final_value"
        return {
            "value": new,
            "rolled_over": "final_rolled_over",
            "read_at": "replaced_at",
            "day": "replaced_at",
        }.get(field, field)

    with _fields(named):
        meter = services.replace_meter(
            db.session,
            old,
            final_value=final_value,
            final_rolled_over=body.final_rolled_over,
            at=body.replaced_at,
            name=body.name,
            digits=body.digits,
            multiplier=multiplier,
            first_value=first_value,
            override_reason=body.override_reason,
            correction_reason=body.correction_reason,
            actor=current_user,
            now=utcnow(),
        )
    return _meter_created(meter)


@bp.post("/meter-readings")
@permission_required(Permission.LOG_OPERATIONS)
def record_meter_reading() -> Response:
    body = parse_body(schemas.MeterReadingIn)
    spec = _spec(body, _meter(body.meter_id, "meter_id"))
    reading = services.record_meter_reading(
        db.session,
        spec.meter,
        value=spec.value,
        read_at=spec.read_at,
        unit=spec.unit,
        rolled_over=spec.rolled_over,
        override_reason=spec.override_reason,
        correction_reason=spec.correction_reason,
        actor=current_user,
        now=utcnow(),
    )
    location = url_for("api.meter_reading", reading_id=reading.id)
    return commit(respond(reading_out(reading), 201, location))


@bp.post("/meter-readings/batch")
@permission_required(Permission.LOG_OPERATIONS)
def record_meter_readings() -> Response:
    """Record a head-end's batch: all of it, or none, with every refused row listed."""
    try:
        body = schemas.MeterReadingBatchIn.model_validate_json(request.get_data() or b"")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise InvalidRequest(400, _("The request body is not valid JSON.")) from None
        rows = _rows_of(_errors(exc))
        if not rows:  # the batch itself is wrong (no list, too long), not one of its rows
            raise InvalidRequest(422, _("Some fields are not valid."), _errors(exc)) from None
        return _rejected_problem(_("Some readings are not valid, so none was recorded."), rows)
    meters = {
        meter.id: meter
        for meter in db.session.scalars(
            select(Meter).where(Meter.id.in_({given.meter_id for given in body.readings}))
        )
    }
    missing = [
        schemas.RejectedRow(
            index=index,
            field="meter_id",
            status=422,
            message=_("No meter has the id %(id)d.", id=given.meter_id),
        )
        for index, given in enumerate(body.readings)
        if given.meter_id not in meters
    ]
    if missing:
        return _rejected_problem(_("Some readings are not valid, so none was recorded."), missing)
    readings = services.record_meter_readings(
        db.session,
        [_spec(given, meters[given.meter_id]) for given in body.readings],
        actor=current_user,
        now=utcnow(),
    )
    answer = schemas.MeterReadingList(items=[reading_out(reading) for reading in readings])
    return commit(respond(answer, 201, url_for("api.meter_readings")))


def _rows_of(errors: dict[str, list[str]]) -> list[schemas.RejectedRow]:
    """The rows a batch's validation errors name (`readings.<index>.<field>`), in order."""
    rows = []
    for key, messages in errors.items():
        parts = key.split(".", 2)
        if len(parts) < 2 or parts[0] != "readings" or not parts[1].isdigit():
            return []
        field = parts[2] if len(parts) == 3 else None
        rows += [
            schemas.RejectedRow(index=int(parts[1]), field=field, status=422, message=message)
            for message in messages
        ]
    return sorted(rows, key=lambda row: row.index)


class ReadingQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    meter_id: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    read_from: Annotated[schemas.Instant | None, Field(alias="from")] = None
    read_to: Annotated[schemas.Instant | None, Field(alias="to")] = None
    voided: Annotated[str, Field(pattern="^(true|false)$")] | None = None
    # The id of the last page's last item: an id, within the database's integers.
    cursor: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    limit: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_PAGE)] = 100


@bp.get("/meter-readings")
@permission_required(Permission.VIEW_OPERATIONS)
def meter_readings() -> Response:
    """Readings, newest recorded first, a page at a time (keyset on the id)."""
    args = {key: value for key, value in request.args.items() if value != ""}
    try:
        query = ReadingQuery.model_validate(args)
    except ValidationError as exc:
        raise InvalidRequest(422, _("Some parameters are not valid."), _errors(exc)) from None
    statement = select(MeterReading)
    if query.meter_id is not None:
        statement = statement.where(MeterReading.meter_id == query.meter_id)
    if query.read_from is not None:
        statement = statement.where(MeterReading.read_at >= query.read_from)
    if query.read_to is not None:
        statement = statement.where(MeterReading.read_at <= query.read_to)
    if query.voided is not None:
        voided = MeterReading.voided_at.is_not(None)
        statement = statement.where(voided if query.voided == "true" else ~voided)
    if query.cursor is not None:
        statement = statement.where(MeterReading.id < int(query.cursor))
    found = list(
        db.session.scalars(
            statement.order_by(MeterReading.id.desc())
            .limit(query.limit + 1)
            .options(selectinload(MeterReading.meter))
        )
    )
    more = len(found) > query.limit
    found = found[: query.limit]
    return respond(
        schemas.MeterReadingPage(
            items=[reading_out(reading) for reading in found],
            next_cursor=str(found[-1].id) if more and found else None,
        )
    )


def _reading_or_404(reading_id: int) -> MeterReading:
    return found(MeterReading, reading_id, _("No meter reading has the id %(id)d.", id=reading_id))


@bp.get("/meter-readings/<int:reading_id>")
@permission_required(Permission.VIEW_OPERATIONS)
def meter_reading(reading_id: int) -> Response:
    return respond(reading_out(_reading_or_404(reading_id)))


@bp.post("/meter-readings/<int:reading_id>/void")
@permission_required(Permission.LOG_OPERATIONS)
def void_meter_reading(reading_id: int) -> Response:
    reading = _reading_or_404(reading_id)
    body = parse_body(schemas.VoidIn)
    services.void_meter_reading(
        db.session, reading, reason=body.reason, actor=current_user, now=utcnow()
    )
    return commit(respond(reading_out(reading)))


# --- generators, tanks and their fuel -------------------------------------------------------


def generator_reading_out(reading: GeneratorReading) -> schemas.GeneratorReadingOut:
    return schemas.GeneratorReadingOut(
        id=reading.id,
        generator_id=reading.generator_id,
        generator=reading.generator.name,
        read_at=reading.read_at,
        read_on=reading.read_on,
        hours=reading.hours,
        voided_at=reading.voided_at,
        void_reason=reading.void_reason,
    )


def lot_draw_out(draw: LotDraw) -> schemas.LotDrawOut:
    """What a movement drew from one lot, and under which line and classification."""
    return schemas.LotDrawOut(
        lot_id=draw.lot_id,
        quantity=draw.quantity,
        waiver_line_id=draw.waiver_line_id,
        classification=draw.classification,
        flagged=draw.flagged,
    )


def movement_out(movement: StockMovement) -> schemas.MovementOut:
    lot = db.session.get(StockLot, movement.lot_id) if movement.lot_id is not None else None
    return schemas.MovementOut(
        id=movement.id,
        kind=movement.kind,
        tank_id=movement.store_id,
        tank=movement.store.name,
        resource=movement.resource.code,
        occurred_on=movement.occurred_on,
        quantity=movement.quantity,
        unit=movement.resource.unit.value,
        use=movement.use,
        lot_id=movement.lot_id if movement.kind is MovementKind.RECEIPT else None,
        drawdown_entry_id=lot.drawdown_entry_id if lot is not None else None,
        draws=[lot_draw_out(draw) for draw in movement.draws],
        parties=movement.parties,
        note=movement.note,
        recorded_at=movement.recorded_at,
        voided_at=movement.voided_at,
        void_reason=movement.void_reason,
    )


def dip_out(dip: DipReading) -> schemas.DipOut:
    return schemas.DipOut(
        id=dip.id,
        tank_id=dip.store_id,
        tank=dip.store.name,
        read_at=dip.read_at,
        read_on=dip.read_on,
        measured=dip.measured,
        book=dip.book,
        variance=dip.variance,
        flagged=dip.flagged,
        voided_at=dip.voided_at,
        void_reason=dip.void_reason,
    )


def _tank(tank_id: int, field: str = "tank_id") -> Store:
    tank = _get(Store, tank_id)
    if tank is None or tank.kind is not StoreKind.TANK:
        raise invalid(field, _("No tank has the id %(id)d.", id=tank_id))
    return tank


def _generator(generator_id: int, field: str = "generator_id") -> Generator:
    generator = _get(Generator, generator_id)
    if generator is None:
        raise invalid(field, _("No generator has the id %(id)d.", id=generator_id))
    return generator


def generator_out(generator: Generator) -> schemas.GeneratorOut:
    return schemas.GeneratorOut(
        id=generator.id,
        name=generator.name,
        rated_lph=generator.rated_lph,
        tank_id=generator.tank_id,
        is_active=generator.is_active,
    )


def tank_out(tank: Store) -> schemas.TankOut:
    return schemas.TankOut(
        id=tank.id,
        name=tank.name,
        resource=tank.product.code,
        unit=tank.product.unit.value,
        capacity=tank.full,
        tolerance=tank.tolerance,
        location=tank.location,
        is_active=tank.is_active,
    )


@bp.get("/generators")
@permission_required(Permission.VIEW_OPERATIONS)
def generators() -> Response:
    rows = db.session.scalars(select(Generator).order_by(Generator.name, Generator.id))
    return respond(schemas.GeneratorList(items=[generator_out(g) for g in rows]))


@bp.post("/generators")
@permission_required(Permission.LOG_OPERATIONS)
def create_generator() -> Response:
    """Add a generator, as the equipment page does."""
    body = parse_body(schemas.GeneratorIn)
    tank = _tank(body.tank_id) if body.tank_id is not None else None
    generator = services.add_generator(
        db.session,
        name=body.name,
        rated_lph=_quantity(body.rated_lph, "rated_lph"),
        tank=tank,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(generator_out(generator), 201, url_for("api.generators")))


@bp.get("/tanks")
@permission_required(Permission.VIEW_OPERATIONS)
def tanks() -> Response:
    rows = db.session.scalars(
        select(Store).where(Store.kind == StoreKind.TANK).order_by(Store.name, Store.id)
    )
    return respond(schemas.TankList(items=[tank_out(t) for t in rows]))


@bp.post("/tanks")
@permission_required(Permission.LOG_OPERATIONS)
def create_tank() -> Response:
    """Add a fuel tank, with the stock in it now, as the tanks page does."""
    body = parse_body(schemas.TankIn)
    product = _resource(body.resource, "resource")
    tolerance, opening = body.tolerance, body.opening
    tank = services.create_tank(
        db.session,
        name=body.name,
        product=product,
        capacity=_quantity(body.capacity, "capacity"),
        tolerance=None if tolerance is None else _quantity(tolerance, "tolerance", allow_zero=True),
        location=body.location,
        opening=None if opening is None else _quantity(opening, "opening", allow_zero=True),
        opened_on=body.opened_on or office_date(utcnow()),
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(tank_out(tank), 201, url_for("api.tanks")))


@bp.post("/generator-readings")
@permission_required(Permission.LOG_OPERATIONS)
def record_generator_hours() -> Response:
    body = parse_body(schemas.GeneratorReadingIn)
    reading = services.record_generator_hours(
        db.session,
        _generator(body.generator_id),
        hours=body.hours,
        read_at=body.read_at,
        correction_reason=body.correction_reason,
        actor=current_user,
        now=utcnow(),
    )
    answer = generator_reading_out(reading)
    return commit(respond(answer, 201, url_for("api.generator_readings")))


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    # The id of the last page's last item: an id, within the database's integers.
    cursor: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    limit: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_PAGE)] = 100


class InstantQuery(_Page):
    read_from: Annotated[schemas.Instant | None, Field(alias="from")] = None
    read_to: Annotated[schemas.Instant | None, Field(alias="to")] = None


class GeneratorReadingQuery(InstantQuery):
    generator_id: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None


class DipQuery(InstantQuery):
    tank_id: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None


class MovementQuery(_Page):
    tank_id: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    kind: MovementKind | None = None
    date_from: Annotated[schemas.IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[schemas.IsoDate | None, Field(alias="to")] = None


Q = TypeVar("Q", bound=_Page)
Row = TypeVar("Row", GeneratorReading, StockMovement, DipReading)


def _query(model: type[Q]) -> Q:
    args = {key: value for key, value in request.args.items() if value != ""}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise InvalidRequest(422, _("Some parameters are not valid."), _errors(exc)) from None


def _keyset(statement: Select[Row], id_column: Any, query: _Page) -> tuple[list[Row], str | None]:
    """A page of `statement`'s rows, newest recorded (highest id) first, and the next cursor."""
    if query.cursor is not None:
        statement = statement.where(id_column < int(query.cursor))
    found = list(db.session.scalars(statement.order_by(id_column.desc()).limit(query.limit + 1)))
    more = len(found) > query.limit
    found = found[: query.limit]
    return found, str(found[-1].id) if more and found else None


@bp.get("/generator-readings")
@permission_required(Permission.VIEW_OPERATIONS)
def generator_readings() -> Response:
    query = _query(GeneratorReadingQuery)
    statement = select(GeneratorReading).options(selectinload(GeneratorReading.generator))
    if query.generator_id is not None:
        statement = statement.where(GeneratorReading.generator_id == query.generator_id)
    if query.read_from is not None:
        statement = statement.where(GeneratorReading.read_at >= query.read_from)
    if query.read_to is not None:
        statement = statement.where(GeneratorReading.read_at <= query.read_to)
    found, cursor = _keyset(statement, GeneratorReading.id, query)
    page = schemas.GeneratorReadingPage(
        items=[generator_reading_out(r) for r in found], next_cursor=cursor
    )
    return respond(page)


def _authorisations(given: list[schemas.AuthorisationIn]) -> list[WaiverLine]:
    return [_authorisation(line, f"authorisations.{n}") for n, line in enumerate(given)]


def _movement_created(movement: StockMovement) -> Response:
    location = url_for("api.fuel_movement", movement_id=movement.id)
    return commit(respond(movement_out(movement), 201, location))


@bp.post("/fuel/receipts")
@permission_required(Permission.LOG_OPERATIONS)
def receive_fuel() -> Response:
    body = parse_body(schemas.ReceiptIn)
    movement = services.receive_fuel(
        db.session,
        _tank(body.tank_id),
        quantity=body.quantity,
        unit=body.unit,
        received_on=body.received_on,
        authorisations=_authorisations(body.authorisations),
        parties=body.parties,
        note=body.note,
        override_reason=body.override_reason,
        correction_reason=body.correction_reason,
        actor=current_user,
        now=utcnow(),
    )
    return _movement_created(movement)


@bp.post("/fuel/issues")
@permission_required(Permission.LOG_OPERATIONS)
def issue_fuel() -> Response:
    body = parse_body(schemas.IssueIn)
    tank = _tank(body.tank_id)
    generator = _generator(body.generator_id) if body.generator_id is not None else None
    movement = services.issue_fuel(
        db.session,
        tank,
        quantity=body.quantity,
        issued_on=body.issued_on,
        use=body.use,
        generator=generator,
        note=body.note,
        correction_reason=body.correction_reason,
        actor=current_user,
        now=utcnow(),
    )
    return _movement_created(movement)


@bp.post("/fuel/returns")
@permission_required(Permission.LOG_OPERATIONS)
def return_fuel() -> Response:
    body = parse_body(schemas.ReturnIn)
    movement = services.return_fuel(
        db.session,
        _tank(body.tank_id),
        quantity=body.quantity,
        returned_on=body.returned_on,
        parties=body.parties,
        note=body.note,
        correction_reason=body.correction_reason,
        actor=current_user,
        now=utcnow(),
    )
    return _movement_created(movement)


def _fuel_movements() -> Select[StockMovement]:
    return (
        select(StockMovement)
        .join(Store, Store.id == StockMovement.store_id)
        .where(Store.kind == StoreKind.TANK)
        .options(
            selectinload(StockMovement.store),
            selectinload(StockMovement.resource),
            selectinload(StockMovement.draws),
        )
    )


@bp.get("/fuel/movements")
@permission_required(Permission.VIEW_OPERATIONS)
def fuel_movements() -> Response:
    query = _query(MovementQuery)
    statement = _fuel_movements()
    if query.tank_id is not None:
        statement = statement.where(StockMovement.store_id == query.tank_id)
    if query.kind is not None:
        statement = statement.where(StockMovement.kind == query.kind)
    if query.date_from is not None:
        statement = statement.where(StockMovement.occurred_on >= query.date_from)
    if query.date_to is not None:
        statement = statement.where(StockMovement.occurred_on <= query.date_to)
    found, cursor = _keyset(statement, StockMovement.id, query)
    return respond(schemas.MovementPage(items=[movement_out(m) for m in found], next_cursor=cursor))


def _movement_or_404(movement_id: int) -> StockMovement:
    movement = (
        db.session.scalar(_fuel_movements().where(StockMovement.id == movement_id))
        if 0 < movement_id <= MAX_ID
        else None
    )
    if movement is None:
        raise NotFoundError(_("No fuel movement has the id %(id)d.", id=movement_id))
    return movement


@bp.get("/fuel/movements/<int:movement_id>")
@permission_required(Permission.VIEW_OPERATIONS)
def fuel_movement(movement_id: int) -> Response:
    return respond(movement_out(_movement_or_404(movement_id)))


@bp.post("/fuel/movements/<int:movement_id>/void")
@permission_required(Permission.LOG_OPERATIONS)
def void_fuel_movement(movement_id: int) -> Response:
    movement = _movement_or_404(movement_id)
    body = parse_body(schemas.VoidIn)
    services.void_movement(
        db.session, movement, reason=body.reason, actor=current_user, now=utcnow()
    )
    db.session.refresh(movement)
    return commit(respond(movement_out(movement)))


@bp.post("/fuel/dips")
@permission_required(Permission.LOG_OPERATIONS)
def record_dip() -> Response:
    body = parse_body(schemas.DipIn)
    dip = services.record_dip(
        db.session,
        _tank(body.tank_id),
        measured=body.measured,
        read_at=body.read_at,
        correction_reason=body.correction_reason,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(dip_out(dip), 201, url_for("api.fuel_dips")))


@bp.get("/fuel/dips")
@permission_required(Permission.VIEW_OPERATIONS)
def fuel_dips() -> Response:
    query = _query(DipQuery)
    statement = select(DipReading).options(selectinload(DipReading.store))
    if query.tank_id is not None:
        statement = statement.where(DipReading.store_id == query.tank_id)
    if query.read_from is not None:
        statement = statement.where(DipReading.read_at >= query.read_from)
    if query.read_to is not None:
        statement = statement.where(DipReading.read_at <= query.read_to)
    found, cursor = _keyset(statement, DipReading.id, query)
    return respond(schemas.DipPage(items=[dip_out(d) for d in found], next_cursor=cursor))


# --- the daily log ------------------------------------------------------------------------


def _day_or_404(text: str) -> date:
    """The day a path names, as the day's page reads it: a real day, not in the future."""
    day = inputs.day_from(text)
    if day is None or day > office_date(utcnow()):
        raise NotFoundError(_("There is no log for %(day)s.", day=text[:20]))
    return day


def daily_log_out(day: date, log: DailyLog | None) -> schemas.DailyLogOut:
    if log is None:
        return schemas.DailyLogOut(
            day=day,
            status=LogStatus.DRAFT,
            incidents="",
            notes="",
            signed_off_at=None,
            signed_off_by=None,
            history=[],
        )
    events = db.session.scalars(
        select(DailyLogEvent)
        .where(DailyLogEvent.log_id == log.id)
        .order_by(DailyLogEvent.at, DailyLogEvent.id)
        .options(selectinload(DailyLogEvent.by))
    )
    return schemas.DailyLogOut(
        day=day,
        status=log.status,
        incidents=log.incidents,
        notes=log.notes,
        signed_off_at=log.signed_off_at,
        signed_off_by=log.signed_off_by.display_name if log.signed_off_by else None,
        history=[
            schemas.DailyLogEventOut(
                at=event.at,
                by=event.by.display_name if event.by else None,
                action=event.action,
                reason=event.reason,
                detail={key: str(value) for key, value in (event.detail or {}).items()},
            )
            for event in events
        ],
    )


@bp.get("/daily-logs/<day>")
@permission_required(Permission.VIEW_OPERATIONS)
def daily_log(day: str) -> Response:
    when = _day_or_404(day)
    return respond(daily_log_out(when, services.log_for(db.session, when)))


@bp.post("/daily-logs/<day>/notes")
@permission_required(Permission.LOG_OPERATIONS)
def save_daily_log(day: str) -> Response:
    when = _day_or_404(day)
    body = parse_body(schemas.DailyLogNotesIn)
    log = services.save_log(
        db.session,
        when,
        incidents=body.incidents,
        notes=body.notes,
        correction_reason=body.correction_reason,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(daily_log_out(when, log)))


@bp.post("/daily-logs/<day>/sign-off")
@permission_required(Permission.LOG_OPERATIONS)
def sign_off_daily_log(day: str) -> Response:
    when = _day_or_404(day)
    log = services.sign_off(db.session, when, actor=current_user, now=utcnow())
    return commit(respond(daily_log_out(when, log)))
