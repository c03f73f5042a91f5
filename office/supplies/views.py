from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from office import inputs
from office.audit.models import AuditEvent
from office.auth.access import permission_required
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.errors import DomainError
from office.i18n import _, current_locale_code, office_date
from office.stock import queries as stock_queries
from office.stock.models import StockLot, Store, reference_label
from office.supplies import services
from office.supplies.forms import DayForm, DeliveryForm, LineForm, ReasonForm, ReturnLineForm
from office.supplies.labels import DELIVERY_TONES
from office.supplies.models import Delivery, DeliveryLine, Direction
from office.waivers.labels import PURPOSE_LABELS
from office.waivers.models import Resource, Waiver, WaiverLine
from office.waivers.units import unit_name
from office.web import form_status, get_or_404, read_as_of, show_domain_error

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


def _delivery_form_defaults(form: DeliveryForm) -> None:
    if request.method == "GET":
        form.planned_on.data = _today()
        form.crossing_point.data = services.DEFAULT_CROSSING_POINT


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@permission_required(Permission.MANAGE_SUPPLIES)
def new_delivery() -> Any:
    form = DeliveryForm()
    _delivery_form_defaults(form)
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
    return render_template("supplies/new.html", form=form), form_status(form)


def _header(form: DeliveryForm) -> dict[str, Any]:
    return {
        "reference": form.reference.data,
        "direction": form.direction.data,
        "planned_on": form.planned_on.data,
        "crossing_point": form.crossing_point.data,
        "carrier": form.carrier.data,
        "vehicles": form.vehicles.data,
        "approval_number": form.approval_number.data,
        "approval_type": form.approval_type.data,
        "customs_declaration": form.customs_declaration.data,
        "note": form.note.data,
    }


def _fill_line_form(form: LineForm) -> None:
    locale = current_locale_code()
    resources = db.session.scalars(select(Resource).order_by(Resource.code, Resource.id))
    form.resource.choices = [SelectChoice("", "-")] + [
        SelectChoice(str(r.id), f"{r.code} · {r.name(locale)} ({unit_name(r.unit)})")
        for r in resources
    ]
    form.purpose.choices = [SelectChoice(p.value, str(text)) for p, text in PURPOSE_LABELS.items()]
    lines = db.session.scalars(
        select(WaiverLine)
        .join(Waiver)
        .order_by(Waiver.reference, WaiverLine.line_no)
        .options(selectinload(WaiverLine.waiver), selectinload(WaiverLine.resource))
    )
    form.waiver_line_id.choices = [SelectChoice("", _("No waiver line"))] + [
        SelectChoice(
            str(line.id), f"{line.waiver.reference} · {line.line_no} · {line.resource.code}"
        )
        for line in lines
    ]


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


def _load(delivery_id: int) -> Delivery:
    delivery = db.session.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .options(
            selectinload(Delivery.lines).selectinload(DeliveryLine.resource),
            selectinload(Delivery.lines)
            .selectinload(DeliveryLine.waiver_line)
            .selectinload(WaiverLine.waiver),
        )
    )
    return delivery if delivery is not None else get_or_404(Delivery, delivery_id)


def render_delivery(delivery: Delivery, **posted: Any) -> Any:
    header = posted.get("header") or DeliveryForm(formdata=None, obj=delivery)
    line_form = posted.get("line_form") or LineForm(formdata=None)
    _fill_line_form(line_form)
    return_form = posted.get("return_form") or ReturnLineForm(formdata=None)
    _fill_return_form(return_form)
    day_form = posted.get("day_form") or DayForm(formdata=None, on=_today())
    reason_form = posted.get("reason_form") or ReasonForm(formdata=None)
    screen_on = delivery.planned_on  # as it would meet the border on the day it is planned
    screening = services.screen(delivery, screen_on)
    refused = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "delivery.crossing_refused",
            AuditEvent.object_id == str(delivery.id),
        )
        .order_by(AuditEvent.occurred_at)
    ).all()
    forms = [header, line_form, return_form, day_form, reason_form]
    return render_template(
        "supplies/detail.html",
        delivery=delivery,
        screening=screening,
        screen_on=screen_on,
        refused_attempts=refused,
        header=header,
        line_form=line_form,
        return_form=return_form,
        day_form=day_form,
        reason_form=reason_form,
        may_manage=_may_manage(),
        refusals=posted.get("refusals", []),
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
    _fill_line_form(form)

    def act(delivery: Delivery) -> None:
        services.add_line(
            db.session,
            delivery,
            services.LineInput(
                resource=get_or_404(Resource, int(form.resource.data))
                if form.resource.data
                else None,
                quantity=form.quantity.data,
                unit=form.unit.data,
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
    form = DayForm()
    return _act(
        delivery_id,
        form,
        "day_form",
        lambda delivery: services.receive(
            db.session, delivery, received_on=form.on.data, actor=current_user, now=utcnow()
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
        as_of=as_of,
        today=today,
    )
