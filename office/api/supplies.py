"""The API's routes for deliveries across the border (their manifests, screening, approval,
crossing, receipt or rejection), the on-site stock lots they become, and the repair works that
use them (their steps, materials, costs and equipment).

Each calls the service the page calls (`office.supplies.services`, `office.repairs.services`),
under the page's permission, so a crossing sent by another system is refused or recorded
exactly as one made on the page: whole or not at all, every refused line named, the attempt
kept for the reviewers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, TypeVar

from flask import Response, url_for
from flask_login import current_user
from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from office.api import schemas
from office.api import supplies_schemas as shapes
from office.api.idempotency import commit
from office.api.operations import _keyset, _Page, _query, lot_draw_out
from office.api.views import MAX_ID, _get, _resource, _unit, bp, invalid, parse_body, respond
from office.audit.models import AuditEvent
from office.auth.access import permission_required
from office.auth.permissions import Permission
from office.db import db, utcnow
from office.errors import DomainError, NotFoundError, problem
from office.i18n import _, office_date
from office.repairs import services as repairs
from office.repairs.models import WorkOrder, WorkStatus
from office.stock import queries as stock_queries
from office.stock.models import StockLot, Store
from office.supplies import services
from office.supplies.models import Delivery, DeliveryLine, DeliveryStatus, Direction
from office.waivers.models import (
    DrawdownEntry,
    EntryScreening,
    Resource,
    Waiver,
    WaiverLine,
)
from office.waivers.units import format_quantity
from office.web import RECORDS_BEGIN

T = TypeVar("T")

# --- representations ----------------------------------------------------------------------


def delivery_out(delivery: Delivery) -> shapes.DeliveryOut:
    return shapes.DeliveryOut.model_validate(
        {
            "id": delivery.id,
            "reference": delivery.reference,
            "direction": delivery.direction,
            "status": delivery.status,
            "planned_on": delivery.planned_on,
            "crossing_point": delivery.crossing_point,
            "carrier": delivery.carrier,
            "vehicles": delivery.vehicles,
            "approval_waiver_id": delivery.approval_waiver_id,
            "approval_number": delivery.approval_number,
            "approval_type": delivery.approval_kind,
            "customs_declaration": delivery.customs_declaration,
            "crossed_on": delivery.crossed_on,
            "received_on": delivery.received_on,
            "rejected_reason": delivery.rejected_reason,
            "note": delivery.note,
            "created_at": delivery.created_at,
            "line_count": len(delivery.lines),
        }
    )


def _badges(screening: services.Screening) -> list[shapes.RegimeScreeningOut]:
    return [
        shapes.RegimeScreeningOut(
            regime=badge.regime.code,
            control=badge.control,
            line_id=badge.line.id if badge.line is not None else None,
            standing=badge.standing,
            classification=badge.classification,
            message=str(badge.message) if badge.refuses and badge.message is not None else None,
            remaining_before=badge.remaining_before,
            remaining_after=badge.remaining_after,
        )
        for badge in screening.regimes
    ]


def _entry_regimes(entry: DrawdownEntry | None) -> list[shapes.RegimeScreeningOut]:
    if entry is None:
        return []
    return [
        shapes.RegimeScreeningOut(
            regime=s.regime.code,
            control=s.control,
            line_id=s.waiver_line_id,
            standing=None,
            classification=s.classification,
            message=None,
            remaining_before=None,
            remaining_after=None,
        )
        for s in sorted(entry.screenings, key=lambda s: s.position)
    ]


def _line_out(screening: services.Screening, on_ledger: bool) -> shapes.DeliveryLineOut:
    line = screening.line
    entry = line.drawdown_entry
    classification = entry.classification if on_ledger and entry else screening.classification
    return shapes.DeliveryLineOut(
        id=line.id,
        line_no=line.line_no,
        resource=line.resource.code,
        description=line.description,
        hs_code=line.hs_code,
        hs_code_reason=line.hs_code_reason,
        quantity=line.quantity,
        unit=line.unit.value,
        gross_weight_kg=line.gross_weight_kg,
        unit_value_krw=line.unit_value_krw,
        unit_value_usd=format_quantity(Decimal(line.unit_value_usd_cents) / 100) or "0",
        purpose=line.purpose,
        waiver_line_id=line.waiver_line_id,
        override_reason=line.override_reason,
        must_return=line.must_return,
        return_due_on=line.return_due_on,
        return_lot_id=line.return_lot_id,
        drawdown_entry_id=line.drawdown_entry_id,
        lot_id=line.lot_id,
        classification=classification,
        passes=None if on_ledger or not screening.regimes else screening.passes,
        message=None if on_ledger or screening.message is None else str(screening.message),
        regimes=_entry_regimes(entry) if on_ledger else _badges(screening),
    )


def delivery_detail(delivery: Delivery) -> shapes.DeliveryDetailOut:
    """The delivery as its page shows it: before crossing, each north-bound line screened
    as it would meet the border on the day planned; after, as its entry was screened."""
    on_ledger = delivery.status not in (DeliveryStatus.DRAFT, DeliveryStatus.APPROVED)
    screening = (
        [services.Screening(line) for line in delivery.lines]
        if on_ledger
        else services.screen(db.session, delivery, delivery.planned_on)
    )
    refused = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "delivery.crossing_refused",
            AuditEvent.object_id == str(delivery.id),
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return shapes.DeliveryDetailOut(
        **delivery_out(delivery).model_dump(),
        lines=[_line_out(s, on_ledger) for s in screening],
        refused_crossings=[
            shapes.RefusedCrossingOut(
                at=event.occurred_at,
                lines=[
                    shapes.LineRefusalOut(line_no=int(n), message=str(why))
                    for n, why in event.detail.get("lines", [])
                ],
            )
            for event in refused
        ],
    )


def _load(delivery_id: int) -> Delivery:
    delivery = (
        db.session.scalar(
            select(Delivery)
            .where(Delivery.id == delivery_id)
            .options(
                selectinload(Delivery.lines).selectinload(DeliveryLine.resource),
                selectinload(Delivery.lines)
                .selectinload(DeliveryLine.waiver_line)
                .selectinload(WaiverLine.waiver),
                selectinload(Delivery.lines)
                .selectinload(DeliveryLine.drawdown_entry)
                .selectinload(DrawdownEntry.screenings)
                .selectinload(EntryScreening.regime),
                selectinload(Delivery.approval_waiver)
                .selectinload(Waiver.lines)
                .selectinload(WaiverLine.waiver),
            )
        )
        if 0 < delivery_id <= MAX_ID
        else None
    )
    if delivery is None:
        raise NotFoundError(_("No delivery has the id %(id)d.", id=delivery_id))
    return delivery


def _answer(delivery_id: int, status: int = 200) -> Response:
    """The delivery as it now stands, read afresh, with its writes committed."""
    db.session.expire_all()
    delivery = _load(delivery_id)
    location = url_for("api.delivery", delivery_id=delivery_id) if status == 201 else None
    return commit(respond(delivery_detail(delivery), status, location))


# --- deliveries ---------------------------------------------------------------------------


class DeliveryQuery(_Page):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    direction: Direction | None = None
    status: DeliveryStatus | None = None


@bp.get("/deliveries")
@permission_required(Permission.VIEW_SUPPLIES)
def deliveries() -> Response:
    """Deliveries, newest created first, a page at a time (keyset on the id)."""
    query = _query(DeliveryQuery)
    statement = select(Delivery).options(selectinload(Delivery.lines))
    if query.direction is not None:
        statement = statement.where(Delivery.direction == query.direction)
    if query.status is not None:
        statement = statement.where(Delivery.status == query.status)
    found, cursor = _keyset(statement, Delivery.id, query)  # type: ignore[type-var]
    return respond(shapes.DeliveryPage(items=[delivery_out(d) for d in found], next_cursor=cursor))


@bp.get("/deliveries/<int:delivery_id>")
@permission_required(Permission.VIEW_SUPPLIES)
def delivery(delivery_id: int) -> Response:
    return respond(delivery_detail(_load(delivery_id)))


def _approval(waiver_id: int | None) -> Waiver | None:
    if waiver_id is None:
        return None
    waiver = _get(Waiver, waiver_id)
    if waiver is None:
        raise invalid("approval_waiver_id", _("No waiver has the id %(id)d.", id=waiver_id))
    return waiver


@bp.post("/deliveries")
@permission_required(Permission.MANAGE_SUPPLIES)
def create_delivery() -> Response:
    body = parse_body(shapes.DeliveryIn)
    today = office_date(utcnow())
    reference = body.reference or services.next_reference(
        db.session, body.direction, year=today.year
    )
    delivery = services.save_delivery(
        db.session,
        reference=reference,
        direction=body.direction,
        planned_on=body.planned_on or today,
        crossing_point=body.crossing_point or services.DEFAULT_CROSSING_POINT,
        carrier=body.carrier,
        vehicles=body.vehicles,
        approval=_approval(body.approval_waiver_id),
        approval_number=body.approval_number,
        approval_type=body.approval_type,
        customs_declaration=body.customs_declaration,
        note=body.note,
        actor=current_user,
        now=utcnow(),
    )
    return _answer(delivery.id, 201)


@bp.post("/deliveries/<int:delivery_id>")
@permission_required(Permission.MANAGE_SUPPLIES)
def update_delivery(delivery_id: int) -> Response:
    """Change a draft's header; a field left out keeps its value."""
    delivery = _load(delivery_id)
    body = parse_body(shapes.DeliveryIn)
    given = body.model_fields_set
    approval = (
        _approval(body.approval_waiver_id)
        if "approval_waiver_id" in given
        else delivery.approval_waiver
    )

    def kept(field: str) -> object:
        return getattr(body, field) if field in given else getattr(delivery, field)

    services.save_delivery(
        db.session,
        reference=str(kept("reference")),
        direction=kept("direction"),  # type: ignore[arg-type]
        planned_on=kept("planned_on") or delivery.planned_on,  # type: ignore[arg-type]
        crossing_point=str(kept("crossing_point")),
        carrier=str(kept("carrier")),
        vehicles=str(kept("vehicles")),
        approval=approval,
        approval_number=str(kept("approval_number")),
        approval_type=body.approval_type
        if "approval_type" in given
        else delivery.approval_type or body.approval_type,
        customs_declaration=str(kept("customs_declaration")),
        note=str(kept("note")),
        actor=current_user,
        now=utcnow(),
        delivery=delivery,
    )
    return _answer(delivery_id)


def _waiver_line(line_id: int | None) -> WaiverLine | None:
    if line_id is None:
        return None
    line = _get(WaiverLine, line_id)
    if line is None:
        raise invalid("waiver_line_id", _("No waiver line has the id %(id)d.", id=line_id))
    return line


@bp.post("/deliveries/<int:delivery_id>/lines")
@permission_required(Permission.MANAGE_SUPPLIES)
def add_delivery_line(delivery_id: int) -> Response:
    """Add a line to a north-bound draft's manifest."""
    delivery = _load(delivery_id)
    body = parse_body(shapes.DeliveryLineIn)
    resource: Resource = _resource(body.resource, "resource")
    services.add_line(
        db.session,
        delivery,
        services.LineInput(
            resource=resource,
            quantity=body.quantity,
            unit=_unit(body.unit, "unit") if body.unit is not None else resource.unit,
            purpose=body.purpose,
            description=body.description,
            hs_code=body.hs_code,
            hs_code_reason=body.hs_code_reason,
            gross_weight_kg=body.gross_weight_kg,
            unit_value_krw=body.unit_value_krw,
            unit_value_usd=body.unit_value_usd,
            waiver_line=_waiver_line(body.waiver_line_id),
            must_return=body.must_return,
            return_due_on=body.return_due_on,
            override_reason=body.override_reason,
        ),
        actor=current_user,
        now=utcnow(),
    )
    return _answer(delivery_id, 201)


def _lot(lot_id: int) -> StockLot:
    """The stock lot a body names in `lot_id`: an unknown id is a field's error (422)."""
    lot = _get(StockLot, lot_id)
    if lot is None:
        raise invalid("lot_id", _("No stock lot has the id %(id)d.", id=lot_id))
    return lot


@bp.post("/deliveries/<int:delivery_id>/return-lines")
@permission_required(Permission.MANAGE_SUPPLIES)
def add_delivery_return_line(delivery_id: int) -> Response:
    """Add to a south-bound draft a quantity of an on-site lot to carry back."""
    delivery = _load(delivery_id)
    body = parse_body(shapes.ReturnLineIn)
    lot = _lot(body.lot_id)
    try:
        services.add_return_line(
            db.session, delivery, lot, body.quantity, actor=current_user, now=utcnow()
        )
    except DomainError as exc:
        if exc.field == "lot":
            exc.field = "lot_id"
        raise
    return _answer(delivery_id, 201)


@bp.post("/delivery-lines/<int:line_id>/remove")
@permission_required(Permission.MANAGE_SUPPLIES)
def remove_delivery_line(line_id: int) -> Response:
    """Remove a line from a draft's manifest; the rest are numbered as they were."""
    line = _get(DeliveryLine, line_id)
    if line is None:
        raise NotFoundError(_("No manifest line has the id %(id)d.", id=line_id))
    delivery_id = line.delivery_id
    services.remove_line(db.session, line, actor=current_user, now=utcnow())
    return _answer(delivery_id)


@bp.post("/deliveries/<int:delivery_id>/approve")
@permission_required(Permission.MANAGE_SUPPLIES)
def approve_delivery(delivery_id: int) -> Response:
    services.approve(db.session, _load(delivery_id), actor=current_user, now=utcnow())
    return _answer(delivery_id)


@bp.post("/deliveries/<int:delivery_id>/cross")
@permission_required(Permission.MANAGE_SUPPLIES)
def cross_delivery(delivery_id: int) -> Response:
    """Cross: every north-bound line drawn on the ledger, every south-bound line taking its
    lot back; if any line is refused, nothing is recorded and each refused line is named."""
    delivery = _load(delivery_id)
    body = parse_body(shapes.CrossIn)
    try:
        # A refused crossing goes back to this savepoint only: the request keeps its
        # transaction (on SQLite, its place as the writer) to note the attempt.
        with db.session.begin_nested():
            services.cross(
                db.session,
                delivery,
                crossed_on=body.crossed_on,
                actor=current_user,
                now=utcnow(),
            )
    except services.CrossingRefused as exc:
        # Rolled back to the savepoint: the attempt is noted for the reviewers, as the page
        # does, and that note is the request's one write.
        services.note_refused_crossing(
            db.session, _load(delivery_id), exc, actor=current_user, now=utcnow()
        )
        refusals = [
            shapes.LineRefusalOut(line_no=n, message=str(why)).model_dump()
            for n, why in exc.refusals
        ]
        return commit(problem(409, str(exc), refusals=refusals))
    return _answer(delivery_id)


@bp.post("/deliveries/<int:delivery_id>/receive")
@permission_required(Permission.MANAGE_SUPPLIES)
def receive_delivery(delivery_id: int) -> Response:
    """Receive a crossed delivery: each north-bound line becomes an on-site lot."""
    delivery = _load(delivery_id)
    body = parse_body(shapes.ReceiveIn)
    lines = {line.id: line for line in delivery.lines}
    stores: dict[int, Store | None] = {}
    for n, chosen in enumerate(body.stores):
        if chosen.line_id not in lines:
            raise invalid(
                f"stores.{n}.line_id",
                _("The delivery has no line with the id %(id)d.", id=chosen.line_id),
            )
        store = _get(Store, chosen.store_id)
        if store is None:
            raise invalid(
                f"stores.{n}.store_id", _("No store has the id %(id)d.", id=chosen.store_id)
            )
        stores[chosen.line_id] = store
    try:
        services.receive(
            db.session,
            delivery,
            received_on=body.received_on,
            stores=stores,
            actor=current_user,
            now=utcnow(),
        )
    except DomainError as exc:
        # The service names a line's store `store_<line id>`: here, the line's place in
        # `stores`, or `stores` when the line was left to the office's suggestion.
        if exc.field is not None and exc.field.startswith("store_"):
            line_id = int(exc.field.removeprefix("store_"))
            places = [n for n, c in enumerate(body.stores) if c.line_id == line_id]
            exc.field = f"stores.{places[-1]}.store_id" if places else "stores"
        raise
    return _answer(delivery_id)


@bp.post("/deliveries/<int:delivery_id>/reject")
@permission_required(Permission.MANAGE_SUPPLIES)
def reject_delivery(delivery_id: int) -> Response:
    """Record that the border turned an approved delivery back."""
    delivery = _load(delivery_id)
    body = parse_body(shapes.RejectIn)
    services.reject(db.session, delivery, reason=body.reason, actor=current_user, now=utcnow())
    return _answer(delivery_id)


# --- on-site stock lots -------------------------------------------------------------------


class LotQuery(_Page):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    resource: Annotated[schemas.Line, Field(max_length=40)] | None = None
    store_id: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    as_of: schemas.IsoDate | None = None
    open: Annotated[str, Field(pattern="^(true|false)$")] | None = None


@bp.get("/stock-lots")
@permission_required(Permission.VIEW_SUPPLIES)
def stock_lots() -> Response:
    """On-site lots, newest first (keyset on the id), as the stock page lists them: now, or
    as they stood on `as_of` by their movements up to that day."""
    query = _query(LotQuery)
    as_of = query.as_of
    today = office_date(utcnow())
    if as_of is not None and not RECORDS_BEGIN <= as_of <= today:
        raise invalid(
            "as_of",
            _(
                "The office's records run from %(begin)s to today (%(today)s); choose a day "
                "in between.",
                begin=RECORDS_BEGIN.isoformat(),
                today=today.isoformat(),
            ),
        )
    statement = select(StockLot) if as_of is None else stock_queries.lots_received_by(as_of)
    statement = statement.options(selectinload(StockLot.store), selectinload(StockLot.resource))
    if query.resource is not None:
        resource = _resource(query.resource, "resource")
        statement = statement.where(StockLot.resource_id == resource.id)
    if query.store_id is not None:
        statement = statement.where(StockLot.store_id == query.store_id)
    if query.open is not None and as_of is None:
        statement = statement.where(
            StockLot.remaining > 0 if query.open == "true" else StockLot.remaining <= 0
        )
    found, cursor = _keyset(statement, StockLot.id, query)  # type: ignore[type-var]
    rows = (
        [stock_queries.LotAsOf(lot, lot.used, lot.returned, lot.remaining) for lot in found]
        if as_of is None
        else stock_queries.lots_as_of(db.session, found, as_of)
    )
    return respond(
        shapes.StockLotPage(
            items=[
                shapes.StockLotOut(
                    id=row.lot.id,
                    resource=row.lot.resource.code,
                    unit=row.lot.resource.unit.value,
                    store_id=row.lot.store_id,
                    store=row.lot.store.shown_name,
                    received_on=row.lot.received_on,
                    source=row.lot.source,
                    source_ref=row.lot.source_ref,
                    quantity=row.lot.quantity,
                    used=row.used,
                    returned=row.returned,
                    remaining=row.remaining,
                    waiver_line_id=row.lot.waiver_line_id,
                    drawdown_entry_id=row.lot.drawdown_entry_id,
                    must_return_by=row.lot.must_return_by,
                )
                for row in rows
            ],
            next_cursor=cursor,
            as_of=as_of,
        )
    )


# --- repair works -------------------------------------------------------------------------


def work_order_out(order: WorkOrder) -> shapes.WorkOrderOut:
    return shapes.WorkOrderOut.model_validate(
        {
            "id": order.id,
            "number": order.number,
            "area": order.area,
            "room": order.room,
            "description": order.description,
            "contractor": order.contractor,
            "budget_krw": order.budget_krw,
            "funding_decision": order.funding_decision,
            "planned_start": order.planned_start,
            "planned_end": order.planned_end,
            "actual_start": order.actual_start,
            "actual_end": order.actual_end,
            "status": order.status,
            "progress": order.progress,
            "next_statuses": [s for s in WorkStatus if s in repairs.TRANSITIONS[order.status]],
            "created_at": order.created_at,
        }
    )


def work_order_detail(order: WorkOrder) -> shapes.WorkOrderDetailOut:
    """The work order as its page shows it: its costs, the materials it drew (with each
    lot's waiver cover), the equipment serving it, and what it all came to."""
    spent = repairs.summary(db.session, order)
    return shapes.WorkOrderDetailOut(
        **work_order_out(order).model_dump(),
        costs=[
            shapes.WorkCostOut(
                id=cost.id,
                spent_on=cost.spent_on,
                description=cost.description,
                amount_krw=cost.amount_krw,
            )
            for cost in sorted(order.costs, key=lambda c: (c.spent_on, c.id))
        ],
        materials=[
            shapes.MaterialUseOut(
                movement_id=use.movement.id,
                resource=use.movement.resource.code,
                used_on=use.movement.occurred_on,
                quantity=use.movement.quantity,
                unit=use.movement.resource.unit.value,
                value_krw=use.value_krw,
                draws=[lot_draw_out(draw) for draw in use.draws],
            )
            for use in spent.materials
        ],
        equipment=[
            shapes.EquipmentOut(
                lot_id=item.lot_id,
                resource=item.lot.resource.code,
                must_return_by=item.lot.must_return_by,
                note=item.note,
            )
            for item in sorted(order.equipment, key=lambda e: e.id)
        ],
        materials_krw=spent.materials_krw,
        costs_krw=spent.costs_krw,
        spent_krw=spent.spent_krw,
        flagged=spent.flagged,
    )


def _work_order(work_order_id: int) -> WorkOrder:
    order = _get(WorkOrder, work_order_id)
    if order is None:
        raise NotFoundError(_("No work order has the id %(id)d.", id=work_order_id))
    return order


def _work_answer(work_order_id: int, status: int = 200) -> Response:
    db.session.expire_all()
    order = _work_order(work_order_id)
    location = url_for("api.work_order", work_order_id=order.id) if status == 201 else None
    return commit(respond(work_order_detail(order), status, location))


class WorkOrderQuery(_Page):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: WorkStatus | None = None


@bp.get("/work-orders")
@permission_required(Permission.VIEW_SUPPLIES)
def work_orders() -> Response:
    """Work orders, newest created first, a page at a time (keyset on the id)."""
    query = _query(WorkOrderQuery)
    statement = select(WorkOrder)
    if query.status is not None:
        statement = statement.where(WorkOrder.status == query.status)
    found, cursor = _keyset(statement, WorkOrder.id, query)  # type: ignore[type-var]
    return respond(
        shapes.WorkOrderPage(items=[work_order_out(o) for o in found], next_cursor=cursor)
    )


@bp.get("/work-orders/<int:work_order_id>")
@permission_required(Permission.VIEW_SUPPLIES)
def work_order(work_order_id: int) -> Response:
    return respond(work_order_detail(_work_order(work_order_id)))


def _required(value: T | None, field: str) -> T:
    if value is None:
        raise invalid(field, _("This field is required."))
    return value


@bp.post("/work-orders")
@permission_required(Permission.MANAGE_SUPPLIES)
def create_work_order() -> Response:
    body = parse_body(shapes.WorkOrderIn)
    number = body.number or repairs.next_number(db.session, year=office_date(utcnow()).year)
    order = repairs.save_work_order(
        db.session,
        number=number,
        area=_required(body.area, "area"),
        room=body.room,
        description=body.description,
        contractor=body.contractor,
        budget_krw=_required(body.budget_krw, "budget_krw"),
        funding_decision=body.funding_decision,
        planned_start=_required(body.planned_start, "planned_start"),
        planned_end=_required(body.planned_end, "planned_end"),
        actor=current_user,
        now=utcnow(),
    )
    return _work_answer(order.id, 201)


@bp.post("/work-orders/<int:work_order_id>")
@permission_required(Permission.MANAGE_SUPPLIES)
def update_work_order(work_order_id: int) -> Response:
    """Change a work order's details; a field left out keeps its value."""
    order = _work_order(work_order_id)
    body = parse_body(shapes.WorkOrderIn)
    given = body.model_fields_set

    def kept(field: str) -> Any:
        value = getattr(body, field)
        return value if field in given and value is not None else getattr(order, field)

    repairs.save_work_order(
        db.session,
        number=kept("number"),
        area=kept("area"),
        room=kept("room"),
        description=kept("description"),
        contractor=kept("contractor"),
        budget_krw=kept("budget_krw"),
        funding_decision=kept("funding_decision"),
        planned_start=kept("planned_start"),
        planned_end=kept("planned_end"),
        actor=current_user,
        now=utcnow(),
        work_order=order,
    )
    return _work_answer(work_order_id)


@bp.post("/work-orders/<int:work_order_id>/status")
@permission_required(Permission.MANAGE_SUPPLIES)
def change_work_order_status(work_order_id: int) -> Response:
    """A step of the work: planned -> approved -> in progress -> completed, or cancelled."""
    order = _work_order(work_order_id)
    body = parse_body(shapes.WorkStatusIn)
    repairs.change_status(
        db.session, order, body.status, on=body.on, actor=current_user, now=utcnow()
    )
    return _work_answer(work_order_id)


@bp.post("/work-orders/<int:work_order_id>/progress")
@permission_required(Permission.MANAGE_SUPPLIES)
def set_work_order_progress(work_order_id: int) -> Response:
    order = _work_order(work_order_id)
    body = parse_body(shapes.WorkProgressIn)
    repairs.set_progress(db.session, order, body.progress, actor=current_user, now=utcnow())
    return _work_answer(work_order_id)


@bp.post("/work-orders/<int:work_order_id>/materials")
@permission_required(Permission.MANAGE_SUPPLIES)
def use_work_order_material(work_order_id: int) -> Response:
    """Draw material for the work from the materials store, oldest lots first."""
    order = _work_order(work_order_id)
    body = parse_body(shapes.MaterialIn)
    resource = _resource(body.resource, "resource")
    repairs.use_material(
        db.session,
        order,
        resource=resource,
        quantity=body.quantity,
        unit=_unit(body.unit, "unit") if body.unit is not None else resource.unit,
        used_on=body.used_on,
        actor=current_user,
        now=utcnow(),
    )
    return _work_answer(work_order_id, 201)


@bp.post("/work-orders/<int:work_order_id>/costs")
@permission_required(Permission.MANAGE_SUPPLIES)
def add_work_order_cost(work_order_id: int) -> Response:
    order = _work_order(work_order_id)
    body = parse_body(shapes.CostIn)
    repairs.add_cost(
        db.session,
        order,
        spent_on=body.spent_on,
        description=body.description,
        amount_krw=body.amount_krw,
        actor=current_user,
        now=utcnow(),
    )
    return _work_answer(work_order_id, 201)


@bp.post("/work-orders/<int:work_order_id>/equipment")
@permission_required(Permission.MANAGE_SUPPLIES)
def assign_work_order_equipment(work_order_id: int) -> Response:
    """Note that equipment taken in (a lot that must go back) serves this work."""
    order = _work_order(work_order_id)
    body = parse_body(shapes.EquipmentIn)
    lot = _lot(body.lot_id)
    try:
        repairs.assign_equipment(
            db.session, order, lot, note=body.note, actor=current_user, now=utcnow()
        )
    except DomainError as exc:
        if exc.field == "lot":
            exc.field = "lot_id"
        raise
    return _work_answer(work_order_id, 201)
