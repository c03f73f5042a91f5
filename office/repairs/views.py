from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from office.auth.access import permission_required
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.documents import panels
from office.documents import records as documents
from office.documents.models import RecordType
from office.errors import DomainError
from office.i18n import _ as gettext
from office.i18n import current_locale_code, label, office_date
from office.repairs import services
from office.repairs.forms import (
    CostForm,
    EquipmentForm,
    MaterialForm,
    ProgressForm,
    StatusForm,
    WorkOrderForm,
)
from office.repairs.labels import WORK_TONES
from office.repairs.models import WorkEquipment, WorkOrder, WorkStatus
from office.stock.models import StockLot
from office.waivers.forms import chosen_unit
from office.waivers.models import Resource
from office.web import form_status, get_or_404, show_domain_error

bp = Blueprint("repairs", __name__, url_prefix="/repairs")


@bp.app_context_processor
def repairs_vocabulary() -> dict[str, Any]:
    return {"work_tone": WORK_TONES.get}


def _today() -> date:
    return office_date(utcnow())


@bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_SUPPLIES)
def work_orders() -> str:
    orders = db.session.scalars(
        select(WorkOrder)
        .order_by(WorkOrder.planned_start, WorkOrder.id)
        .options(selectinload(WorkOrder.costs))
    ).all()
    spend = {order.id: services.summary(db.session, order).spent_krw for order in orders}
    return render_template("repairs/index.html", orders=orders, spend=spend)


def _fields(form: WorkOrderForm) -> dict[str, Any]:
    return {
        "number": form.number.data,
        "area": form.area.data,
        "room": form.room.data or "",
        "description": form.description.data or "",
        "contractor": form.contractor.data or "",
        "budget_krw": form.budget_krw.data,
        "funding_decision": form.funding_decision.data or "",
        "planned_start": form.planned_start.data,
        "planned_end": form.planned_end.data,
    }


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@permission_required(Permission.MANAGE_SUPPLIES)
def new_work_order() -> Any:
    form = WorkOrderForm()
    if request.method == "GET":
        # The next free number of the office's series, to keep or to change.
        form.number.data = services.next_number(db.session, year=_today().year)
    if form.validate_on_submit():
        try:
            order = services.save_work_order(
                db.session, actor=current_user, now=utcnow(), **_fields(form)
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(gettext("Work order %(number)s created.", number=order.number), "success")
            return redirect(url_for("repairs.detail", work_order_id=order.id))
    return render_template("repairs/new.html", form=form), form_status(form)


def _material_choices(form: MaterialForm) -> None:
    locale = current_locale_code()
    on_site = db.session.scalars(
        select(Resource)
        .join(StockLot, StockLot.resource_id == Resource.id)
        .where(StockLot.remaining > 0)
        .distinct()
        .order_by(Resource.code)
    )
    form.resource.choices = [
        SelectChoice(
            str(r.id), f"{r.code} · {r.name(locale)}", render_kw={"data-unit": r.unit.value}
        )
        for r in on_site
    ]


def _equipment_choices(form: EquipmentForm) -> None:
    lots = db.session.scalars(
        select(StockLot)
        .where(StockLot.must_return_by.is_not(None), StockLot.remaining > 0)
        .order_by(StockLot.must_return_by, StockLot.id)
        .options(selectinload(StockLot.resource))
    )
    form.lot.choices = [
        SelectChoice(str(lot.id), f"#{lot.id} · {lot.resource.code} · {lot.source_ref or ''}")
        for lot in lots
    ]


def _next_statuses(order: WorkOrder) -> list[SelectChoice]:
    # In the statuses' own order: a set's order varies between processes, and the first
    # choice is the one preselected (it must not be "cancelled").
    allowed = services.TRANSITIONS[order.status]
    return [SelectChoice(s.value, label(s)) for s in WorkStatus if s in allowed]


def render_order(order: WorkOrder, **posted: Any) -> Any:
    today = _today()
    next_statuses = _next_statuses(order)
    # Each date as the work was planned: the status preselected, the planned period.
    status_day = services.suggested_day(
        order,
        today=today,
        status=WorkStatus(next_statuses[0].value) if next_statuses else None,
    )
    work_day = services.suggested_day(order, today=today)
    forms = {
        "edit_form": posted.get("edit_form") or WorkOrderForm(formdata=None, obj=order),
        "status_form": posted.get("status_form") or StatusForm(formdata=None, on=status_day),
        "progress_form": posted.get("progress_form")
        or ProgressForm(formdata=None, progress=order.progress),
        "material_form": posted.get("material_form")
        or MaterialForm(formdata=None, used_on=work_day),
        "cost_form": posted.get("cost_form") or CostForm(formdata=None, spent_on=work_day),
        "equipment_form": posted.get("equipment_form") or EquipmentForm(formdata=None),
    }
    forms["status_form"].status.choices = next_statuses
    _material_choices(forms["material_form"])
    _equipment_choices(forms["equipment_form"])
    equipment = db.session.scalars(
        select(WorkEquipment)
        .where(WorkEquipment.work_order_id == order.id)
        .options(selectinload(WorkEquipment.lot).selectinload(StockLot.resource))
    ).all()
    return render_template(
        "repairs/detail.html",
        order=order,
        summary=services.summary(db.session, order),
        equipment=equipment,
        today=today,
        may_manage=has_permission(current_user, Permission.MANAGE_SUPPLIES),
        documents=panels.panel_of(_order_record(order)),
        **forms,
    ), form_status(*forms.values())


@bp.get("/<int:work_order_id>", endpoint="detail")
@permission_required(Permission.VIEW_SUPPLIES)
def work_order(work_order_id: int) -> Any:
    return render_order(get_or_404(WorkOrder, work_order_id))


def _act(
    work_order_id: int,
    form: Any,
    name: str,
    act: Callable[[WorkOrder], Any],
    done: str,
    fill: Callable[[Any], None] | None = None,
) -> Any:
    order = get_or_404(WorkOrder, work_order_id)
    if fill is not None:
        fill(form)
    if form.validate_on_submit():
        try:
            act(order)
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("repairs.detail", work_order_id=work_order_id))
    return render_order(get_or_404(WorkOrder, work_order_id), **{name: form})


@bp.post("/<int:work_order_id>", endpoint="update")
@permission_required(Permission.MANAGE_SUPPLIES)
def update(work_order_id: int) -> Any:
    form = WorkOrderForm()
    return _act(
        work_order_id,
        form,
        "edit_form",
        lambda order: services.save_work_order(
            db.session, actor=current_user, now=utcnow(), work_order=order, **_fields(form)
        ),
        gettext("Work order saved."),
    )


@bp.post("/<int:work_order_id>/status", endpoint="status")
@permission_required(Permission.MANAGE_SUPPLIES)
def change_status(work_order_id: int) -> Any:
    form = StatusForm()
    order = get_or_404(WorkOrder, work_order_id)
    form.status.choices = _next_statuses(order)
    return _act(
        work_order_id,
        form,
        "status_form",
        lambda order: services.change_status(
            db.session, order, form.status.data, on=form.on.data, actor=current_user, now=utcnow()
        ),
        gettext("Status changed."),
    )


@bp.post("/<int:work_order_id>/progress", endpoint="progress")
@permission_required(Permission.MANAGE_SUPPLIES)
def progress(work_order_id: int) -> Any:
    form = ProgressForm()
    return _act(
        work_order_id,
        form,
        "progress_form",
        lambda order: services.set_progress(
            db.session, order, form.progress.data, actor=current_user, now=utcnow()
        ),
        gettext("Progress saved."),
    )


@bp.post("/<int:work_order_id>/materials", endpoint="use_material")
@permission_required(Permission.MANAGE_SUPPLIES)
def use_material(work_order_id: int) -> Any:
    form = MaterialForm()

    def use(order: WorkOrder) -> Any:
        resource = get_or_404(Resource, int(form.resource.data))
        return services.use_material(
            db.session,
            order,
            resource=resource,
            quantity=form.quantity.data,
            unit=chosen_unit(form.unit.data, resource),
            used_on=form.used_on.data,
            actor=current_user,
            now=utcnow(),
        )

    return _act(
        work_order_id,
        form,
        "material_form",
        use,
        gettext("Material use recorded."),
        fill=_material_choices,
    )


@bp.post("/<int:work_order_id>/costs", endpoint="add_cost")
@permission_required(Permission.MANAGE_SUPPLIES)
def add_cost(work_order_id: int) -> Any:
    form = CostForm()
    return _act(
        work_order_id,
        form,
        "cost_form",
        lambda order: services.add_cost(
            db.session,
            order,
            spent_on=form.spent_on.data,
            description=form.description.data,
            amount_krw=form.amount_krw.data,
            actor=current_user,
            now=utcnow(),
        ),
        gettext("Cost recorded."),
    )


@bp.post("/<int:work_order_id>/equipment", endpoint="assign_equipment")
@permission_required(Permission.MANAGE_SUPPLIES)
def assign_equipment(work_order_id: int) -> Any:
    form = EquipmentForm()
    return _act(
        work_order_id,
        form,
        "equipment_form",
        lambda order: services.assign_equipment(
            db.session,
            order,
            get_or_404(StockLot, int(form.lot.data)),
            note=form.note.data or "",
            actor=current_user,
            now=utcnow(),
        ),
        gettext("Equipment assigned."),
        fill=_equipment_choices,
    )


# --- documents: quotes, invoices, photos ----------------------------------------------------


def _order_record(order: WorkOrder) -> documents.Record:
    return documents.Record(
        RecordType.WORK_ORDER,
        str(order.id),
        order.id,
        gettext("Work order %(number)s", number=order.number),
        url_for("repairs.detail", work_order_id=order.id),
    )


documents.register(
    RecordType.WORK_ORDER,
    documents.RecordKind(
        Permission.VIEW_SUPPLIES,
        Permission.MANAGE_SUPPLIES,
        *documents.by_id_key(lambda session, i: session.get(WorkOrder, i), _order_record),
        open=documents.open_existing,
    ),
)
