from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from office import inputs
from office.audit.models import AuditEvent
from office.auth.access import permission_required
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.documents import panels
from office.documents import queries as document_queries
from office.documents import records as documents
from office.documents.models import RecordType
from office.errors import DomainError, NotFoundError
from office.i18n import _, _l, current_locale_code, format_number, label, office_date
from office.jobs.web import prepare_page, start_job
from office.stock import queries as stock_queries
from office.stock import services as stock
from office.stock.models import StockLot, Store, StoreKind, reference_label
from office.supplies import jobs as stock_jobs
from office.supplies import services
from office.supplies.forms import (
    DayForm,
    DeliveryForm,
    LineForm,
    ReasonForm,
    ReceiveForm,
    ReturnLineForm,
    receive_form,
)
from office.supplies.labels import DELIVERY_TONES
from office.supplies.models import (
    APPROVAL_AUTHORITIES,
    Delivery,
    DeliveryLine,
    DeliveryStatus,
    Direction,
)
from office.waivers.forms import chosen_unit, resource_choices, waiver_line_choices
from office.waivers.labels import PURPOSE_LABELS, ShownStatus, shown_status
from office.waivers.models import DrawdownEntry, EntryScreening, Resource, Waiver, WaiverLine
from office.waivers.queries import status_on
from office.web import form_status, get_or_404, read_as_of, show_domain_error


def _query() -> dict[str, Any]:
    """This request's query arguments, to carry over to another address."""
    return request.args.to_dict()


bp = Blueprint("deliveries", __name__, url_prefix="/deliveries")
LOTS_PAGE = 50


@bp.app_context_processor
def deliveries_vocabulary() -> dict[str, Any]:
    return {"delivery_tone": DELIVERY_TONES.get}


def _today() -> date:
    return office_date(utcnow())


def _may_manage() -> bool:
    return has_permission(current_user, Permission.MANAGE_SUPPLIES)


@bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_SUPPLIES)
def delivery_list() -> str:
    direction = request.args.get("direction")
    query = select(Delivery).order_by(Delivery.planned_on.desc(), Delivery.id.desc())
    if direction in ("north", "south"):
        query = query.where(Delivery.direction == Direction(direction))
    deliveries = db.session.scalars(query.options(selectinload(Delivery.lines))).all()
    overdue = services.overdue_returns(db.session, _today())
    return render_template(
        "supplies/index.html",
        deliveries=deliveries,
        overdue=overdue,
        direction=direction,
        today=_today(),
    )


def _fill_header_form(form: DeliveryForm) -> None:
    """Offer the ministry's carry-out approvals, each with its status today."""
    today = _today()
    approvals = db.session.scalars(
        select(Waiver)
        .where(Waiver.authority.in_(list(APPROVAL_AUTHORITIES)))
        .order_by(Waiver.reference, Waiver.id)
    )
    options = [SelectChoice("", "-")]
    for waiver in approvals:
        parts = [waiver.reference, label(APPROVAL_AUTHORITIES[waiver.authority]), waiver.title]
        shown = shown_status(waiver, today, waiver.status)
        if shown is not None:
            parts.append(shown.text)
        options.append(SelectChoice(str(waiver.id), " · ".join(str(part) for part in parts)))
    form.approval_waiver_id.choices = options


def _approval(form: DeliveryForm) -> Waiver | None:
    value = form.approval_waiver_id.data
    return get_or_404(Waiver, int(value)) if value else None


def _delivery_form_defaults(form: DeliveryForm) -> dict[str, str]:
    """Offer the next free reference of the direction asked for (north-bound unless
    ?direction=south), today and the usual crossing point; return the next free reference
    of each direction, which the page names and its script swaps as the direction changes."""
    today = _today()
    numbers = {
        direction.value: services.next_reference(db.session, direction, year=today.year)
        for direction in Direction
    }
    form.reference.render_kw = {
        "data-number-of": "direction",
        **{f"data-number-{direction}": number for direction, number in numbers.items()},
    }
    if request.method == "GET":
        direction = request.args.get("direction", "")
        direction = direction if direction in numbers else Direction.NORTH.value
        form.direction.data = direction
        form.reference.data = numbers[direction]
        form.planned_on.data = today
        form.crossing_point.data = services.DEFAULT_CROSSING_POINT
    return numbers


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@permission_required(Permission.MANAGE_SUPPLIES)
def new_delivery() -> Any:
    form = DeliveryForm()
    _fill_header_form(form)
    numbers = _delivery_form_defaults(form)
    if form.validate_on_submit():
        try:
            delivery = services.save_delivery(
                db.session, actor=current_user, now=utcnow(), **_header(form)
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(
                _(
                    "Delivery %(ref)s created as a draft; add its manifest lines.",
                    ref=delivery.reference,
                ),
                "success",
            )
            return redirect(url_for("deliveries.detail", delivery_id=delivery.id))
    return render_template("supplies/new.html", form=form, numbers=numbers), form_status(form)


def _header(form: DeliveryForm) -> dict[str, Any]:
    return {
        "reference": form.reference.data,
        "direction": form.direction.data,
        "planned_on": form.planned_on.data,
        "crossing_point": form.crossing_point.data,
        "carrier": form.carrier.data,
        "vehicles": form.vehicles.data,
        "approval": _approval(form),
        "approval_number": form.approval_number.data,
        "approval_type": form.approval_type.data,
        "customs_declaration": form.customs_declaration.data,
        "note": form.note.data,
    }


def _fill_line_form(form: LineForm, delivery: Delivery) -> None:
    locale = current_locale_code()
    resources = db.session.scalars(select(Resource).order_by(Resource.code, Resource.id))
    form.resource.choices = resource_choices(resources, locale, blank="-")
    form.purpose.choices = [SelectChoice(p.value, str(text)) for p, text in PURPOSE_LABELS.items()]
    lines = db.session.scalars(
        select(WaiverLine)
        .join(Waiver)
        .order_by(Waiver.reference, WaiverLine.line_no)
        .options(selectinload(WaiverLine.waiver), selectinload(WaiverLine.resource))
    )
    # Each waiver as it stands on the day the delivery is planned to cross, as it is screened.
    form.waiver_line_id.choices = waiver_line_choices(
        lines, day=delivery.planned_on, locale=locale, blank=_("No waiver line")
    )


def _fill_return_form(form: ReturnLineForm) -> None:
    lots = db.session.scalars(
        select(StockLot)
        .where(StockLot.remaining > 0)
        .order_by(StockLot.received_on, StockLot.id)
        .limit(500)
        .options(selectinload(StockLot.resource), selectinload(StockLot.store))
    )
    form.lot.choices = [
        SelectChoice(
            str(lot.id),
            f"#{lot.id} · {lot.resource.code} · {lot.store.shown_name} · "
            f"{reference_label(lot.source_ref)} · {lot.remaining.normalize():f}",
        )
        for lot in lots
    ]


def _receive_form(delivery: Delivery, *, offered_on: date | None = None) -> ReceiveForm:
    """The receipt's form: its day and, per north-bound line, the stores that can hold it.
    Posted unless `offered_on` is given; then it is new, offering that day and the
    suggested stores."""
    locale = current_locale_code()
    # Stores are chosen for a north-bound delivery that has crossed, and only then.
    north = delivery.direction is Direction.NORTH
    lines = delivery.lines if north and delivery.status is DeliveryStatus.CROSSED else []
    form = receive_form(
        [
            (
                services.store_field(line),
                _(
                    "Line %(n)d: %(resource)s, %(quantity)s %(unit)s, into",
                    n=line.line_no,
                    resource=line.resource.name(locale),
                    quantity=format_number(line.quantity),
                    unit=line.unit.value,
                ),
            )
            for line in lines
        ],
        **({} if offered_on is None else {"formdata": None, "on": offered_on}),
    )
    suggested = services.suggested_stores(db.session, delivery) if lines else {}
    room: dict[int, Decimal] = {}
    for line in lines:
        select_field = form[services.store_field(line)]
        options = []
        for store in services.store_choices(db.session, line.resource):
            if store.kind is StoreKind.TANK:
                if store.id not in room:
                    room[store.id] = store.full - stock.book_stock(db.session, store)
                text = _(
                    "%(store)s (tank, %(room)s %(unit)s free)",
                    store=store.name,
                    room=format_number(room[store.id]),
                    unit=line.resource.unit.value,
                )
            else:
                text = _("%(store)s (warehouse)", store=store.name)
            options.append(SelectChoice(str(store.id), text))
        if suggested.get(line.id) is None:
            # No materials store yet: the receipt opens it.
            opened = _("%(store)s (opened on receipt)", store=services.MATERIALS_STORE)
            options.insert(0, SelectChoice("", opened))
        select_field.choices = options
        if offered_on is not None:
            chosen = suggested.get(line.id)
            select_field.data = str(chosen.id) if chosen is not None else ""
    return form


def _chosen_stores(form: ReceiveForm, delivery: Delivery) -> dict[int, Store | None]:
    chosen: dict[int, Store | None] = {}
    for line in delivery.lines:
        if services.store_field(line) not in form:
            continue
        value = form[services.store_field(line)].data
        chosen[line.id] = db.session.get(Store, int(value)) if value else None
    return chosen


def _load(delivery_id: int) -> Delivery:
    delivery = db.session.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .options(
            selectinload(Delivery.lines).selectinload(DeliveryLine.resource),
            selectinload(Delivery.lines)
            .selectinload(DeliveryLine.waiver_line)
            .selectinload(WaiverLine.waiver),
            selectinload(Delivery.lines)
            .selectinload(DeliveryLine.lot)
            .selectinload(StockLot.store),
            selectinload(Delivery.lines)
            .selectinload(DeliveryLine.drawdown_entry)
            .selectinload(DrawdownEntry.screenings)
            .options(
                selectinload(EntryScreening.regime),
                selectinload(EntryScreening.waiver_line).selectinload(WaiverLine.waiver),
            ),
            selectinload(Delivery.approval_waiver)
            .selectinload(Waiver.lines)
            .selectinload(WaiverLine.waiver),
        )
    )
    return delivery if delivery is not None else get_or_404(Delivery, delivery_id)


def render_delivery(delivery: Delivery, **posted: Any) -> Any:
    header = posted.get("header") or DeliveryForm(formdata=None, obj=delivery)
    _fill_header_form(header)
    line_form = posted.get("line_form") or LineForm(formdata=None)
    _fill_line_form(line_form, delivery)
    return_form = posted.get("return_form") or ReturnLineForm(formdata=None)
    _fill_return_form(return_form)
    day_form = posted.get("day_form") or DayForm(
        formdata=None, on=services.suggested_day(delivery, today=_today())
    )
    receive_form = posted.get("receive_form") or _receive_form(
        delivery, offered_on=services.suggested_day(delivery, today=_today())
    )
    reason_form = posted.get("reason_form") or ReasonForm(formdata=None)
    screen_on = delivery.planned_on  # as it would meet the border on the day it is planned
    if delivery.status in (DeliveryStatus.DRAFT, DeliveryStatus.APPROVED):
        screening = services.screen(db.session, delivery, screen_on)
    else:  # on the ledger: the page shows each line's entry as it was screened then
        screening = [services.Screening(line) for line in delivery.lines]
    refused = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "delivery.crossing_refused",
            AuditEvent.object_id == str(delivery.id),
        )
        .order_by(AuditEvent.occurred_at)
    ).all()
    forms = [header, line_form, return_form, day_form, receive_form, reason_form]
    store_fields = [
        receive_form[services.store_field(line)]
        for line in delivery.lines
        if services.store_field(line) in receive_form
    ]
    approval = delivery.approval_waiver
    return render_template(
        "supplies/detail.html",
        delivery=delivery,
        # As it stands on the day the delivery is planned, as its lines are screened.
        approval_shown=shown_status(approval, screen_on, approval.status) if approval else None,
        screening=screening,
        screen_on=screen_on,
        refused_attempts=refused,
        header=header,
        line_form=line_form,
        return_form=return_form,
        day_form=day_form,
        receive_form=receive_form,
        store_fields=store_fields,
        reason_form=reason_form,
        may_manage=_may_manage(),
        refusals=posted.get("refusals", []),
        documents=panels.panel_of(_delivery_record(delivery)),
        line_documents=document_queries.shelves(
            db.session, RecordType.DELIVERY_LINE, [line.id for line in delivery.lines]
        ),
    ), posted.get("status") or form_status(*forms)


@bp.get("/<int:delivery_id>", endpoint="detail")
@permission_required(Permission.VIEW_SUPPLIES)
def delivery_page(delivery_id: int) -> Any:
    return render_delivery(_load(delivery_id))


def _act(
    delivery_id: int, form: Any, form_name: str, act: Callable[[Delivery], Any], done: str
) -> Any:
    delivery = _load(delivery_id)
    if form.validate_on_submit():
        try:
            # A refused crossing goes back to this savepoint only: the request keeps its
            # transaction (on SQLite, its place as the writer) to note the attempt.
            with db.session.begin_nested():
                act(delivery)
        except services.CrossingRefused as exc:
            services.note_refused_crossing(
                db.session, _load(delivery_id), exc, actor=current_user, now=utcnow()
            )
            db.session.commit()
            return render_delivery(
                _load(delivery_id), refusals=exc.refusals, status=409, **{form_name: form}
            )
        except DomainError as exc:
            db.session.rollback()
            if exc.field in ("crossed_on", "received_on"):
                exc.field = "on"  # the day form's one date
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("deliveries.detail", delivery_id=delivery_id))
    return render_delivery(_load(delivery_id), **{form_name: form})


@bp.post("/<int:delivery_id>", endpoint="update")
@permission_required(Permission.MANAGE_SUPPLIES)
def update_delivery(delivery_id: int) -> Any:
    form = DeliveryForm()
    _fill_header_form(form)
    return _act(
        delivery_id,
        form,
        "header",
        lambda delivery: services.save_delivery(
            db.session, actor=current_user, now=utcnow(), delivery=delivery, **_header(form)
        ),
        _("Delivery saved."),
    )


@bp.post("/<int:delivery_id>/lines", endpoint="add_line")
@permission_required(Permission.MANAGE_SUPPLIES)
def add_line(delivery_id: int) -> Any:
    form = LineForm()
    _fill_line_form(form, _load(delivery_id))

    def act(delivery: Delivery) -> None:
        resource = get_or_404(Resource, int(form.resource.data)) if form.resource.data else None
        services.add_line(
            db.session,
            delivery,
            services.LineInput(
                resource=resource,
                quantity=form.quantity.data,
                unit=chosen_unit(form.unit.data, resource) if resource else form.unit.data,
                purpose=form.purpose.data,
                description=form.description.data or "",
                hs_code=form.hs_code.data or "",
                hs_code_reason=form.hs_code_reason.data or "",
                gross_weight_kg=form.gross_weight_kg.data,
                unit_value_krw=form.unit_value_krw.data,
                unit_value_usd=form.unit_value_usd.data,
                waiver_line=get_or_404(WaiverLine, int(form.waiver_line_id.data))
                if form.waiver_line_id.data
                else None,
                must_return=form.must_return.data,
                return_due_on=form.return_due_on.data,
                override_reason=form.override_reason.data or "",
            ),
            actor=current_user,
            now=utcnow(),
        )

    return _act(delivery_id, form, "line_form", act, _("Line added."))


@bp.post("/<int:delivery_id>/return-lines", endpoint="add_return_line")
@permission_required(Permission.MANAGE_SUPPLIES)
def add_return_line(delivery_id: int) -> Any:
    form = ReturnLineForm()
    _fill_return_form(form)
    return _act(
        delivery_id,
        form,
        "return_form",
        lambda delivery: services.add_return_line(
            db.session,
            delivery,
            get_or_404(StockLot, int(form.lot.data)),
            form.quantity.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("Line added."),
    )


@bp.post("/lines/<int:delivery_line_id>/delete", endpoint="remove_line")
@permission_required(Permission.MANAGE_SUPPLIES)
def remove_line(delivery_line_id: int) -> BaseResponse:
    line = get_or_404(DeliveryLine, delivery_line_id)
    delivery_id = line.delivery_id
    if FlaskForm().validate_on_submit():
        try:
            services.remove_line(db.session, line, actor=current_user, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Line removed."), "success")
    return redirect(url_for("deliveries.detail", delivery_id=delivery_id))


@bp.post("/<int:delivery_id>/approve", endpoint="approve")
@permission_required(Permission.MANAGE_SUPPLIES)
def approve(delivery_id: int) -> Any:
    return _act(
        delivery_id,
        DayForm(),
        "day_form",
        lambda delivery: services.approve(db.session, delivery, actor=current_user, now=utcnow()),
        _("Approved: the manifest is fixed."),
    )


@bp.post("/<int:delivery_id>/cross", endpoint="cross")
@permission_required(Permission.MANAGE_SUPPLIES)
def cross(delivery_id: int) -> Any:
    form = DayForm()
    return _act(
        delivery_id,
        form,
        "day_form",
        lambda delivery: services.cross(
            db.session, delivery, crossed_on=form.on.data, actor=current_user, now=utcnow()
        ),
        _("Crossed: every line is on the ledger."),
    )


@bp.post("/<int:delivery_id>/receive", endpoint="receive")
@permission_required(Permission.MANAGE_SUPPLIES)
def receive(delivery_id: int) -> Any:
    form = _receive_form(_load(delivery_id))
    return _act(
        delivery_id,
        form,
        "receive_form",
        lambda delivery: services.receive(
            db.session,
            delivery,
            received_on=form.on.data,
            stores=_chosen_stores(form, delivery),
            actor=current_user,
            now=utcnow(),
        ),
        _("Received: the goods are on-site stock."),
    )


@bp.post("/<int:delivery_id>/reject", endpoint="reject")
@permission_required(Permission.MANAGE_SUPPLIES)
def reject(delivery_id: int) -> Any:
    form = ReasonForm()
    return _act(
        delivery_id,
        form,
        "reason_form",
        lambda delivery: services.reject(
            db.session, delivery, reason=form.reason.data, actor=current_user, now=utcnow()
        ),
        _("Recorded as turned back at the border."),
    )


# --- on-site stock ------------------------------------------------------------------------


@bp.get("/stock", endpoint="stock")
@permission_required(Permission.VIEW_SUPPLIES)
def on_site_stock() -> Any:
    today = _today()
    as_of = read_as_of(today)
    if as_of is None:
        totals: Sequence[tuple[Resource, int, Decimal, Decimal, Decimal, Decimal]]
        totals = db.session.execute(
            select(
                Resource,
                func.count(StockLot.id),
                func.sum(StockLot.quantity),
                func.sum(StockLot.used),
                func.sum(StockLot.returned),
                func.sum(StockLot.remaining),
            )
            .join(StockLot, StockLot.resource_id == Resource.id)
            .group_by(Resource.id)
            .order_by(Resource.code)
        ).all()
    else:
        totals = [
            (t.resource, t.lots, t.received, t.used, t.returned, t.remaining)
            for t in stock_queries.totals_as_of(db.session, as_of)
        ]
    resource_id = request.args.get("resource", "")
    resource = None
    lots: list[stock_queries.LotAsOf] = []
    cursor = None
    if resource_id.isascii() and resource_id.isdigit() and len(resource_id) < 10:
        resource = db.session.get(Resource, int(resource_id))
        if resource is None:
            abort(404)
        after = request.args.get("after", "")
        query = (
            (select(StockLot) if as_of is None else stock_queries.lots_received_by(as_of))
            .where(StockLot.resource_id == resource.id)
            .order_by(StockLot.id.desc())
            .limit(LOTS_PAGE + 1)
            .options(
                selectinload(StockLot.store),
                selectinload(StockLot.waiver_line).selectinload(WaiverLine.waiver),
            )
        )
        after_id = inputs.id_from(after)
        if after_id is not None:
            query = query.where(StockLot.id < after_id)
        found = list(db.session.scalars(query))
        if len(found) > LOTS_PAGE:
            found, cursor = found[:LOTS_PAGE], found[LOTS_PAGE - 1].id
        lots = (
            [stock_queries.LotAsOf(lot, lot.used, lot.returned, lot.remaining) for lot in found]
            if as_of is None
            else stock_queries.lots_as_of(db.session, found, as_of)
        )
    elif resource_id:
        abort(404)
    return render_template(
        "supplies/stock.html",
        totals=totals,
        resource=resource,
        lots=lots,
        cursor=cursor,
        stores={s.id: s for s in db.session.scalars(select(Store))},
        status_of=_status_of(as_of, today),
        as_of=as_of,
        today=today,
    )


def _stock_export_params(fmt: str) -> dict[str, Any]:
    """The export's parameters from the stock page's own query: its resource and day."""
    as_of = read_as_of(_today())
    resource_id = request.args.get("resource", "")
    chosen = None
    if resource_id:
        chosen = inputs.id_from(resource_id)
        if chosen is None or db.session.get(Resource, chosen) is None:
            abort(404)
    return {
        "format": fmt,
        "resource_id": chosen,
        "as_of": as_of.isoformat() if as_of else None,
    }


@bp.get("/stock/export.<any(csv, xlsx):fmt>", endpoint="stock_export_page")
@permission_required(Permission.VIEW_SUPPLIES)
def stock_export_page(fmt: str) -> Any:
    """An export's address opened as a link: the page that asks a worker for it."""
    _stock_export_params(fmt)
    return prepare_page(
        title=_("Export the on-site stock"),
        what=_(
            "A worker writes the export (%(format)s) of the lots this page shows.",
            format=fmt.upper(),
        ),
        action=url_for("deliveries.stock_export", fmt=fmt, **_query()),
        back=url_for("deliveries.stock", **_query()),
    )


@bp.post("/stock/export.<any(csv, xlsx):fmt>", endpoint="stock_export")
@permission_required(Permission.VIEW_SUPPLIES)
def stock_export(fmt: str) -> Any:
    """Ask a worker for the export of the lots (of the page's resource, as of its day)."""
    return start_job(
        stock_jobs.KIND,
        _stock_export_params(fmt),
        back=url_for("deliveries.stock", **_query()),
    )


def _status_of(as_of: date | None, today: date) -> Callable[[Waiver], ShownStatus | None]:
    """How a lot's waiver shows: today as it stands, or as of a past day by its history."""
    if as_of is None:
        return lambda waiver: shown_status(waiver, today, waiver.status)
    return lambda waiver: shown_status(waiver, as_of, status_on(waiver, as_of))


# --- documents: the carry-out approval, the customs declaration, a line's invoice ----------


def _delivery_record(delivery: Delivery) -> documents.Record:
    return documents.Record(
        RecordType.DELIVERY,
        str(delivery.id),
        delivery.id,
        _("Delivery %(ref)s", ref=delivery.reference),
        url_for("deliveries.detail", delivery_id=delivery.id),
    )


def _line_record(line: DeliveryLine) -> documents.Record:
    return documents.Record(
        RecordType.DELIVERY_LINE,
        str(line.id),
        line.id,
        _("Delivery %(ref)s, line %(n)d", ref=line.delivery.reference, n=line.line_no),
        url_for("deliveries.detail", delivery_id=line.delivery_id, _anchor=f"line-{line.line_no}"),
    )


def _open_line(session: Session, record: documents.Record, now: datetime) -> int:
    """A manifest line takes documents while it is there: a draft's line can be removed, so
    its delivery is locked (as removing takes it) and the line read again under the lock."""
    line = session.get(DeliveryLine, int(record.key))
    if line is not None:
        services.lock_delivery(session, line.delivery)
        line = session.get(DeliveryLine, int(record.key), populate_existing=True)
    if line is None:
        raise NotFoundError(_l("This manifest line was removed."))
    return line.id


documents.register(
    RecordType.DELIVERY,
    documents.RecordKind(
        Permission.VIEW_SUPPLIES,
        Permission.MANAGE_SUPPLIES,
        *documents.by_id_key(lambda session, i: session.get(Delivery, i), _delivery_record),
        open=documents.open_existing,
    ),
)
documents.register(
    RecordType.DELIVERY_LINE,
    documents.RecordKind(
        Permission.VIEW_SUPPLIES,
        Permission.MANAGE_SUPPLIES,
        *documents.by_id_key(lambda session, i: session.get(DeliveryLine, i), _line_record),
        open=_open_line,
    ),
)
