from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from office import inputs
from office.auth.access import permission_required
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.documents import panels
from office.documents import records as documents
from office.documents.models import RecordType
from office.errors import DomainError
from office.fuel import jobs as petroleum_jobs
from office.fuel import queries, services
from office.fuel import report as petroleum
from office.fuel.forms import (
    ACTION_LABELS,
    SOURCE_LABELS,
    USE_LABELS,
    DipForm,
    GeneratorForm,
    GeneratorHoursForm,
    IssueForm,
    MeterForm,
    MeterReadingForm,
    NotesForm,
    PeriodForm,
    ReceiptForm,
    ReplaceMeterForm,
    ReturnForm,
    TankForm,
    VoidForm,
)
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
from office.i18n import SEOUL, _, current_locale_code, office_date
from office.jobs.web import prepare_page, send_job_file, start_job
from office.periods import services as periods
from office.staffing import services as staffing
from office.staffing.models import Side
from office.stock.models import StockLot, StockMovement, Store, StoreKind
from office.stock.queries import LotAsOf
from office.waivers import forms as waiver_forms
from office.waivers.forms import RegimeLines
from office.waivers.labels import CLASSIFICATION_LABELS, STATUS_LABELS, shown_status
from office.waivers.models import Regime, Resource, Waiver, WaiverLine
from office.waivers.queries import lines_under, status_on
from office.waivers.regimes import controlling, regimes_in_force
from office.waivers.units import format_quantity, unit_name
from office.web import form_status, get_or_404, read_as_of, show_domain_error

bp = Blueprint("operations", __name__, url_prefix="/operations")
OPENING = date(2018, 9, 14)


@bp.app_context_processor
def operations_vocabulary() -> dict[str, Any]:
    return {
        "use_label": lambda code: str(USE_LABELS.get(code, code or "")),
        "meter_source_label": lambda source: str(SOURCE_LABELS[source]),
        "action_label": lambda code: str(ACTION_LABELS.get(code, code)),
    }


def _today() -> date:
    return office_date(utcnow())


def _may_log() -> bool:
    return has_permission(current_user, Permission.LOG_OPERATIONS)


def _day_or_404(text: str) -> date:
    day = inputs.day_from(text)
    if day is None or day > _today():
        abort(404)
    return day


def _at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=SEOUL)


def _tanks() -> list[Store]:
    return list(
        db.session.scalars(
            select(Store)
            .where(Store.kind == StoreKind.TANK, Store.is_active)
            .order_by(Store.name, Store.id)
            .options(selectinload(Store.resource))
        )
    )


def _choices(kind: str, build: Callable[[], list[SelectChoice]]) -> list[SelectChoice]:
    """The options of one kind of select, read once a request: the day's seven forms share
    them."""
    cached: dict[str, list[SelectChoice]] = g.setdefault("operations_choices", {})
    if kind not in cached:
        cached[kind] = build()
    return cached[kind]


def _generator_choices() -> list[SelectChoice]:
    generators = db.session.scalars(
        select(Generator).where(Generator.is_active).order_by(Generator.name, Generator.id)
    )
    return [SelectChoice(str(g.id), g.name) for g in generators]


def _meter_choices() -> list[SelectChoice]:
    meters = db.session.scalars(
        select(Meter).where(Meter.removed_at.is_(None)).order_by(Meter.name, Meter.id)
    )
    return [SelectChoice(str(m.id), m.name) for m in meters]


def _tank_choices() -> list[SelectChoice]:
    """The tanks, each carrying its product, so that the page's script shows a receipt only
    the lines of the tank's product (static/js/forms.js)."""
    return [
        SelectChoice(str(t.id), t.name, render_kw={"data-resource": str(t.resource_id)})
        for t in _tanks()
    ]


def _products() -> list[Resource]:
    """The products of the tanks in use, each once."""
    return list({tank.resource_id: tank.product for tank in _tanks()}.values())


def _receipt_regimes() -> list[Regime]:
    """The regimes in force that control a tank's product: a receipt names a line under
    each (read once a request)."""
    if "receipt_regimes" not in g:
        g.receipt_regimes = controlling(regimes_in_force(db.session), _products())
    return list(g.receipt_regimes)


def _day_form(name: str) -> type[FlaskForm]:
    """The class of one of the day's forms; the receipt's with a line select per regime."""
    if name == "receipt":
        return waiver_forms.with_regime_lines(
            ReceiptForm, _receipt_regimes(), lines_of=f"{name}-tank"
        )
    return DAY_FORMS[name]


def _lines_of(regime: Regime, day: date) -> list[SelectChoice]:
    """The lines a receipt may name under `regime`: those of the tanks' products."""
    return waiver_forms.regime_line_choices(
        lines_under(db.session, regime, _products()), day=day, locale=current_locale_code()
    )


def _fill_choices(form: FlaskForm, day: date | None = None) -> None:
    """Give each select of the day's forms its current options (the waivers' status as on
    `day`, by default today)."""
    on = day or _today()
    if hasattr(form, "tank"):
        form.tank.choices = _choices("tanks", _tank_choices)
    if isinstance(form, RegimeLines):
        for regime, field in form.regime_fields():
            field.choices = _choices(f"lines-{regime.code}-{on}", partial(_lines_of, regime, on))
    if hasattr(form, "generator"):
        generators = _choices("generators", _generator_choices)
        blank = [SelectChoice("", "-")] if isinstance(form, IssueForm) else []
        form.generator.choices = blank + generators
    if hasattr(form, "meter"):
        form.meter.choices = _choices("meters", _meter_choices)
    if hasattr(form, "waiver_line_id"):  # a meter's: one line, of electricity
        form.waiver_line_id.choices = _choices(f"power-lines-{on}", lambda: _power_lines(on))


def _power_lines(day: date) -> list[SelectChoice]:
    lines = db.session.scalars(
        select(WaiverLine)
        .join(Waiver)
        .join(Resource)
        .where(Resource.unit.in_(["kWh", "MWh"]))
        .order_by(Waiver.reference, WaiverLine.line_no)
        .options(selectinload(WaiverLine.waiver), selectinload(WaiverLine.resource))
    )
    options = [SelectChoice("", _("No waiver line"))]
    for line in lines:
        shown = shown_status(line.waiver, day, line.waiver.status)
        text = f"{line.waiver.reference} · {line.line_no} · {line.resource.code}"
        options.append(SelectChoice(str(line.id), f"{text} · {shown.text}" if shown else text))
    return options


# --- the overview -------------------------------------------------------------------------


@bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_OPERATIONS)
def overview() -> str:
    today = _today()
    tanks = [
        (
            tank,
            services.stock.book_stock(db.session, tank),
            services.days_of_fuel_left(db.session, tank, today),
            db.session.scalar(
                select(DipReading)
                .where(DipReading.store_id == tank.id, DipReading.voided_at.is_(None))
                .order_by(DipReading.read_at.desc(), DipReading.id.desc())
                .limit(1)
            ),
        )
        for tank in _tanks()
    ]
    missing = services.missing_days(db.session, max(OPENING, today - timedelta(days=59)), today)
    return render_template("fuel/index.html", tanks=tanks, missing=missing, today=today)


# --- the daily operations log -------------------------------------------------------------

DAY_FORMS: dict[str, type[FlaskForm]] = {
    "receipt": ReceiptForm,
    "issue": IssueForm,
    "return": ReturnForm,
    "dip": DipForm,
    "hours": GeneratorHoursForm,
    "reading": MeterReadingForm,
    "notes": NotesForm,
}


def render_day(
    day: date,
    posted: dict[str, FlaskForm] | None = None,
    *,
    correcting: bool = False,
    picker: tuple[str, str] | None = None,
) -> Any:
    """The day's page. Its forms are offered only where a change can land: a draft day's; a
    signed-off day's on its correction page (`correcting`, or after a posted correction was
    refused); none in a month the reviewers signed off. `picker` is a refused day to go to
    (what was typed, why)."""
    log = services.log_for(db.session, day)
    signed_off = log is not None and log.status is LogStatus.SIGNED_OFF
    closed_month = periods.signed_off_month(db.session, day)
    may_log = _may_log()
    writable = may_log and closed_month is None and (not signed_off or correcting or bool(posted))
    forms: dict[str, FlaskForm] = {}
    for name in DAY_FORMS if writable else ():
        if posted and name in posted:
            forms[name] = posted[name]
            continue
        form = _day_form(name)(formdata=None, prefix=name)
        if name == "notes" and log is not None:
            form.incidents.data, form.notes.data = log.incidents, log.notes
        forms[name] = form
        _fill_choices(form, day)
    # A form posted to a day that shows none (its month was signed off meanwhile): its
    # refusal still shows, at the top.
    unshown = [] if writable else list((posted or {}).values())
    movements = db.session.scalars(
        select(StockMovement)
        .where(StockMovement.occurred_on == day)
        .order_by(StockMovement.id)
        .options(
            selectinload(StockMovement.store),
            selectinload(StockMovement.draws),
            selectinload(StockMovement.resource),
        )
    ).all()
    south = staffing.person_days(db.session, day, day, side=Side.SOUTH)[day]
    north = staffing.person_days(db.session, day, day, side=Side.NORTH)[day]
    readings = db.session.scalars(
        select(MeterReading)
        .where(MeterReading.read_on == day)
        .order_by(MeterReading.read_at, MeterReading.id)
        .options(selectinload(MeterReading.meter))
    ).all()
    today = _today()
    history = queries.history_lines(_events(log)) if log is not None else []
    status = 422 if picker else form_status(*forms.values(), *unshown)
    return render_template(
        "fuel/day.html",
        day=day,
        log=log,
        forms=forms,
        unshown=unshown,
        movements=movements,
        receipt_entries=queries.receipt_drawdowns(db.session, movements),
        regimes=regimes_in_force(db.session),
        # A void form only where voiding can succeed: of a meter's readings only its latest can be.
        voidable_movements=services.voidable_movements(db.session, movements)
        if writable
        else set(),
        voidable_readings=services.voidable_readings(db.session, {r.meter_id for r in readings})
        if writable
        else set(),
        history=history,
        corrections=sum(1 for line in history if line.reason),
        dips=db.session.scalars(
            select(DipReading)
            .where(DipReading.read_on == day)
            .order_by(DipReading.read_at, DipReading.id)
        ).all(),
        hours=db.session.scalars(
            select(GeneratorReading)
            .where(GeneratorReading.read_on == day)
            .order_by(GeneratorReading.read_at, GeneratorReading.id)
        ).all(),
        readings=readings,
        south=south,
        north=north,
        may_log=may_log,
        writable=writable,
        signed_off=signed_off,
        correcting=writable and signed_off,
        closed_month=closed_month,
        first_open=periods.first_open_day(db.session, day) if closed_month is not None else None,
        void_form=VoidForm(formdata=None),
        one_day=timedelta(days=1),
        first_day=periods.RECORDS_BEGIN,
        today=today,
        picker=picker,
        # A day has a hundred rows and more: each name is translated once, not once a row.
        use_label=_translated(USE_LABELS),
        action_label=_translated(ACTION_LABELS),
        coverage_label=_translated({**STATUS_LABELS, **CLASSIFICATION_LABELS}),
        documents=panels.panel_of(_day_record(day, log)),
    ), status


def _translated(labels: Mapping[Any, Any]) -> Callable[[Any], str]:
    """`labels` translated now, once, as a function of the code (the code itself if unknown,
    nothing for none)."""
    texts = {code: str(text) for code, text in labels.items()}
    return lambda code: "" if code is None else texts.get(code, str(code))


def _events(log: DailyLog) -> list[DailyLogEvent]:
    """The day's history, with who did each (one query, not one per person)."""
    return list(
        db.session.scalars(
            select(DailyLogEvent)
            .where(DailyLogEvent.log_id == log.id)
            .order_by(DailyLogEvent.at, DailyLogEvent.id)
            .options(selectinload(DailyLogEvent.by))
        )
    )


@bp.get("/days/<day>", endpoint="day")
@permission_required(Permission.VIEW_OPERATIONS)
def day_page(day: str) -> Any:
    return render_day(_day_or_404(day))


@bp.get("/days", endpoint="pick_day")
@permission_required(Permission.VIEW_OPERATIONS)
def pick_day() -> Any:
    """Go to the day chosen in the day picker (`?day=`); refuse a day that is not one beside
    the picker, on the page it was sent from (`?back=`)."""
    today = _today()
    text = request.args.get("day", "").strip()
    day = inputs.date_from(text)
    if day is None:
        error = _("Give the day as YYYY-MM-DD, for example 2018-10-31.")
    elif not periods.RECORDS_BEGIN <= day <= today:
        error = _(
            "The office's records run from %(begin)s to today (%(today)s); choose a day "
            "in between.",
            begin=periods.RECORDS_BEGIN.isoformat(),
            today=today.isoformat(),
        )
    else:
        return redirect(url_for("operations.day", day=day.isoformat()))
    back = inputs.day_from(request.args.get("back", "").strip())
    shown = back if back is not None and back <= today else today
    return render_day(shown, picker=(text[:40], error))  # what was typed, kept short


@bp.get("/days/<day>/correct", endpoint="correct")
@permission_required(Permission.LOG_OPERATIONS)
def correct(day: str) -> Any:
    """A signed-off day with its forms, each asking the reason for the correction. Any other
    day has its own page: a draft is changed there, a signed-off month says why it cannot be."""
    when = _day_or_404(day)
    log = services.log_for(db.session, when)
    if (
        log is None
        or log.status is not LogStatus.SIGNED_OFF
        or periods.is_signed_off(db.session, when)
    ):
        return redirect(url_for("operations.day", day=when.isoformat()))
    return render_day(when, correcting=True)


def _day_page_of(day: date) -> str:
    """Where a change to `day` leads back to: its correction page once it is signed off (and
    its month still open)."""
    log = services.log_for(db.session, day)
    correcting = (
        log is not None
        and log.status is LogStatus.SIGNED_OFF
        and not periods.is_signed_off(db.session, day)
    )
    return url_for("operations.correct" if correcting else "operations.day", day=day.isoformat())


@bp.get("/today", endpoint="today")
@permission_required(Permission.VIEW_OPERATIONS)
def today_page() -> BaseResponse:
    return redirect(url_for("operations.day", day=_today().isoformat()))


def _post(day_text: str, name: str, act: Callable[[Any, date], Any], done: str) -> Any:
    day = _day_or_404(day_text)
    form = _day_form(name)(prefix=name)
    _fill_choices(form, day)
    if form.validate_on_submit():
        try:
            act(form, day)
        except DomainError as exc:
            db.session.rollback()
            exc.field = waiver_forms.line_field_of(exc.field)  # a line: beside its regime's
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(_day_page_of(day) + f"#{name}")
    return render_day(day, {name: form})


def _tank(form: FlaskForm) -> Store:
    return get_or_404(Store, int(form.tank.data))


def _line(form: FlaskForm) -> WaiverLine | None:
    return (
        get_or_404(WaiverLine, int(form.waiver_line_id.data))
        if (form.waiver_line_id.data)
        else None
    )


@bp.post("/days/<day>/receipts", endpoint="receive")
@permission_required(Permission.LOG_OPERATIONS)
def receive(day: str) -> Any:
    return _post(
        day,
        "receipt",
        lambda form, when: services.receive_fuel(
            db.session,
            _tank(form),
            quantity=form.quantity.data,
            unit=form.unit.data,
            received_on=when,
            authorisations=[get_or_404(WaiverLine, line_id) for line_id in form.chosen_lines()],
            parties=form.parties.data or "",
            note=form.note.data or "",
            override_reason=form.override_reason.data,
            correction_reason=form.correction_reason.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("Fuel received and drawn on the ledger."),
    )


@bp.post("/days/<day>/issues", endpoint="issue")
@permission_required(Permission.LOG_OPERATIONS)
def issue(day: str) -> Any:
    return _post(
        day,
        "issue",
        lambda form, when: services.issue_fuel(
            db.session,
            _tank(form),
            quantity=form.quantity.data,
            issued_on=when,
            use=form.use.data,
            generator=get_or_404(Generator, int(form.generator.data))
            if form.generator.data
            else None,
            note=form.note.data or "",
            correction_reason=form.correction_reason.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("Fuel issued."),
    )


@bp.post("/days/<day>/returns", endpoint="return_south")
@permission_required(Permission.LOG_OPERATIONS)
def return_south(day: str) -> Any:
    return _post(
        day,
        "return",
        lambda form, when: services.return_fuel(
            db.session,
            _tank(form),
            quantity=form.quantity.data,
            returned_on=when,
            parties=form.parties.data or "",
            note=form.note.data or "",
            correction_reason=form.correction_reason.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("Return south recorded."),
    )


@bp.post("/days/<day>/dips", endpoint="dip")
@permission_required(Permission.LOG_OPERATIONS)
def dip(day: str) -> Any:
    return _post(
        day,
        "dip",
        lambda form, when: services.record_dip(
            db.session,
            _tank(form),
            measured=form.measured.data,
            read_at=_at(when, form.at.data),
            correction_reason=form.correction_reason.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("Dip reading recorded."),
    )


@bp.post("/days/<day>/generator-hours", endpoint="generator_hours")
@permission_required(Permission.LOG_OPERATIONS)
def generator_hours(day: str) -> Any:
    return _post(
        day,
        "hours",
        lambda form, when: services.record_generator_hours(
            db.session,
            get_or_404(Generator, int(form.generator.data)),
            hours=form.hours.data,
            read_at=_at(when, form.at.data),
            correction_reason=form.correction_reason.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("Run hours recorded."),
    )


@bp.post("/days/<day>/meter-readings", endpoint="meter_reading")
@permission_required(Permission.LOG_OPERATIONS)
def meter_reading(day: str) -> Any:
    return _post(
        day,
        "reading",
        lambda form, when: services.record_meter_reading(
            db.session,
            get_or_404(Meter, int(form.meter.data)),
            value=form.value.data,
            unit=form.unit.data,
            read_at=_at(when, form.at.data),
            rolled_over=form.rolled_over.data,
            override_reason=form.override_reason.data,
            correction_reason=form.correction_reason.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("Meter reading recorded."),
    )


@bp.post("/days/<day>/notes", endpoint="notes")
@permission_required(Permission.LOG_OPERATIONS)
def notes(day: str) -> Any:
    return _post(
        day,
        "notes",
        lambda form, when: services.save_log(
            db.session,
            when,
            incidents=form.incidents.data or "",
            notes=form.notes.data or "",
            correction_reason=form.correction_reason.data,
            actor=current_user,
            now=utcnow(),
        ),
        _("The day's log was saved."),
    )


@bp.post("/days/<day>/sign-off", endpoint="sign_off")
@permission_required(Permission.LOG_OPERATIONS)
def sign_off(day: str) -> BaseResponse:
    when = _day_or_404(day)
    if FlaskForm().validate_on_submit():
        try:
            services.sign_off(db.session, when, actor=current_user, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The log of %(date)s is signed off.", date=when.isoformat()), "success")
    return redirect(url_for("operations.day", day=when.isoformat()))


def _void(target: Any, day: date, undo: Callable[[str], None]) -> Any:
    form = VoidForm()
    if form.validate_on_submit():
        try:
            undo(form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Voided; the day's history keeps the reason."), "success")
    else:
        flash(_("Give the reason."), "error")
    return redirect(_day_page_of(day))


@bp.post("/movements/<int:movement_id>/void", endpoint="void_movement")
@permission_required(Permission.LOG_OPERATIONS)
def void_movement(movement_id: int) -> Any:
    movement = get_or_404(StockMovement, movement_id)
    return _void(
        movement,
        movement.occurred_on,
        lambda reason: services.void_movement(
            db.session, movement, reason=reason, actor=current_user, now=utcnow()
        ),
    )


@bp.post("/meter-readings/<int:reading_id>/void", endpoint="void_reading")
@permission_required(Permission.LOG_OPERATIONS)
def void_reading(reading_id: int) -> Any:
    reading = get_or_404(MeterReading, reading_id)
    return _void(
        reading,
        reading.read_on,
        lambda reason: services.void_meter_reading(
            db.session, reading, reason=reason, actor=current_user, now=utcnow()
        ),
    )


# --- tanks, generators, meters ------------------------------------------------------------


def render_tanks(form: TankForm | None = None, as_of: date | None = None) -> Any:
    today = _today()
    form = form or TankForm(formdata=None, opened_on=today)
    form.product.choices = [
        SelectChoice(str(r.id), f"{r.code} ({unit_name(r.unit)})")
        for r in db.session.scalars(select(Resource).order_by(Resource.code, Resource.id))
    ]
    tanks = (
        [(tank, services.stock.book_stock(db.session, tank)) for tank in _tanks()]
        if as_of is None
        else queries.tank_book_on(db.session, _tanks(), as_of)
    )
    return render_template(
        "fuel/tanks.html",
        tanks=tanks,
        form=form,
        may_log=_may_log() and as_of is None,  # the past is read only
        as_of=as_of,
        today=today,
    ), form_status(form)


@bp.get("/tanks", endpoint="tanks")
@permission_required(Permission.VIEW_OPERATIONS)
def tanks() -> Any:
    return render_tanks(as_of=read_as_of(_today()))


@bp.post("/tanks", endpoint="create_tank")
@permission_required(Permission.LOG_OPERATIONS)
def create_tank() -> Any:
    form = TankForm()
    render_tanks(form)  # fills the product choices before validation
    if form.validate_on_submit():
        try:
            tank = services.create_tank(
                db.session,
                name=form.name.data,
                product=get_or_404(Resource, int(form.product.data)),
                capacity=form.capacity.data,
                tolerance=form.tolerance.data,
                location=form.location.data or "",
                opening=form.opening.data,
                opened_on=form.opened_on.data,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Tank %(name)s added.", name=tank.name), "success")
            return redirect(url_for("operations.tank", tank_id=tank.id))
    return render_tanks(form)


@bp.get("/tanks/<int:tank_id>", endpoint="tank")
@permission_required(Permission.VIEW_OPERATIONS)
def tank(tank_id: int) -> str:
    store = get_or_404(Store, tank_id)
    if store.kind is not StoreKind.TANK:
        abort(404)
    today = _today()
    as_of = read_as_of(today)
    query = (
        select(StockMovement)
        .where(StockMovement.store_id == store.id)
        .order_by(StockMovement.occurred_on.desc(), StockMovement.id.desc())
        .limit(200)
        .options(selectinload(StockMovement.draws))
    )
    if as_of is not None:
        past = queries.tank_on(db.session, store, as_of)
        movements = db.session.scalars(
            query.where(StockMovement.occurred_on <= as_of, StockMovement.voided_at.is_(None))
        ).all()
        return render_template(
            "fuel/tank.html",
            tank=store,
            book=past.book,
            movements=movements,
            lots=past.lots,
            dips=past.dips,
            days_left=services.days_of_fuel_left(db.session, store, as_of, book=past.book),
            # its status back then
            status_of=lambda waiver: shown_status(waiver, as_of, status_on(waiver, as_of)),
            as_of=as_of,
            today=today,
        )
    movements = db.session.scalars(query).all()
    lots = db.session.scalars(
        select(StockLot)
        .where(StockLot.store_id == store.id)
        .order_by(StockLot.received_on.desc(), StockLot.id.desc())
        .limit(200)
        .options(selectinload(StockLot.waiver_line).selectinload(WaiverLine.waiver))
    ).all()
    dips = db.session.scalars(
        select(DipReading)
        .where(DipReading.store_id == store.id)
        .order_by(DipReading.read_at.desc(), DipReading.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "fuel/tank.html",
        tank=store,
        book=services.stock.book_stock(db.session, store),
        movements=movements,
        lots=[LotAsOf(lot, lot.used, lot.returned, lot.remaining) for lot in lots],
        dips=dips,
        days_left=services.days_of_fuel_left(db.session, store, today),
        status_of=lambda waiver: shown_status(waiver, today, waiver.status),
        as_of=None,
        today=today,
    )


def render_equipment(
    generator_form: GeneratorForm | None = None,
    meter_form: MeterForm | None = None,
    replace: tuple[int, ReplaceMeterForm] | None = None,
) -> Any:
    generator_form = generator_form or GeneratorForm(formdata=None, prefix="generator")
    generator_form.tank.choices = [SelectChoice("", "-")] + [
        SelectChoice(str(t.id), t.name) for t in _tanks()
    ]
    meter_form = meter_form or MeterForm(
        formdata=None, prefix="meter", installed_on=_today(), digits=6, multiplier="1"
    )
    _fill_choices(meter_form)
    today = _today()
    generators = db.session.scalars(select(Generator).order_by(Generator.name, Generator.id))
    checks = {
        g.id: services.generator_checks(db.session, g, today - timedelta(days=30), today)
        for g in generators
    }
    meters = db.session.scalars(
        select(Meter).order_by(Meter.removed_at.is_not(None), Meter.name, Meter.id)
    ).all()
    replace_forms = {
        m.id: (
            replace[1]
            if replace and replace[0] == m.id
            else ReplaceMeterForm(
                formdata=None,
                prefix=f"replace-{m.id}",
                replaced_on=today,
                digits=m.digits,
                multiplier=format_quantity(m.multiplier),
            )
        )
        for m in meters
        if m.is_active
    }
    return render_template(
        "fuel/equipment.html",
        generators=db.session.scalars(
            select(Generator).order_by(Generator.name, Generator.id)
        ).all(),
        checks=checks,
        meters=meters,
        generator_form=generator_form,
        meter_form=meter_form,
        replace_forms=replace_forms,
        may_log=_may_log(),
        last_readings={m.id: services.last_reading(db.session, m) for m in meters},
    ), form_status(generator_form, meter_form, *replace_forms.values())


@bp.get("/equipment", endpoint="equipment")
@permission_required(Permission.VIEW_OPERATIONS)
def equipment() -> Any:
    return render_equipment()


@bp.post("/generators", endpoint="create_generator")
@permission_required(Permission.LOG_OPERATIONS)
def create_generator() -> Any:
    form = GeneratorForm(prefix="generator")
    form.tank.choices = [SelectChoice("", "-")] + [
        SelectChoice(str(t.id), t.name) for t in _tanks()
    ]
    if form.validate_on_submit():
        try:
            services.add_generator(
                db.session,
                name=form.name.data,
                rated_lph=form.rated_lph.data,
                tank=get_or_404(Store, int(form.tank.data)) if form.tank.data else None,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Generator added."), "success")
            return redirect(url_for("operations.equipment"))
    return render_equipment(generator_form=form)


@bp.post("/meters", endpoint="create_meter")
@permission_required(Permission.LOG_OPERATIONS)
def create_meter() -> Any:
    form = MeterForm(prefix="meter")
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            services.add_meter(
                db.session,
                name=form.name.data,
                source=form.source.data,
                waiver_line=_line(form),
                digits=form.digits.data,
                multiplier=form.multiplier.data,
                installed_at=_at(form.installed_on.data, form.installed_at.data),
                first_value=form.first_value.data,
                correction_reason=form.correction_reason.data,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Meter added with its first reading."), "success")
            return redirect(url_for("operations.equipment"))
    return render_equipment(meter_form=form)


@bp.post("/meters/<int:meter_id>/replace", endpoint="replace_meter")
@permission_required(Permission.LOG_OPERATIONS)
def replace_meter(meter_id: int) -> Any:
    meter = get_or_404(Meter, meter_id)
    form = ReplaceMeterForm(prefix=f"replace-{meter_id}")
    if form.validate_on_submit():
        try:
            services.replace_meter(
                db.session,
                meter,
                final_value=form.final_value.data,
                final_rolled_over=form.final_rolled_over.data,
                at=_at(form.replaced_on.data, form.replaced_at.data),
                name=form.name.data,
                digits=form.digits.data,
                multiplier=form.multiplier.data,
                first_value=form.first_value.data,
                correction_reason=form.correction_reason.data,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Meter replaced."), "success")
            return redirect(url_for("operations.equipment"))
    return render_equipment(replace=(meter_id, form))


# --- per person-day and the UN report -----------------------------------------------------


def _period_from_request(default_days: int = 30) -> tuple[PeriodForm, date, date, bool]:
    form = PeriodForm(formdata=request.args)
    today = _today()
    end = form.end.data if form.validate() and form.end.data else today
    start = (
        form.start.data
        if form.start.data and not form.errors
        else (end - timedelta(days=default_days - 1))
    )
    valid = not form.errors and start <= end and (end - start).days < 366
    if not valid:
        if not form.errors:
            form.form_errors.append(_("Choose a period of at most a year, from before to after."))
        start, end = today - timedelta(days=default_days - 1), today
    return form, start, end, valid


@bp.get("/per-person", endpoint="per_person")
@permission_required(Permission.VIEW_OPERATIONS)
def per_person() -> Any:
    form, start, end, valid = _period_from_request()
    rows = services.per_person_day(db.session, start, end)
    return render_template(
        "fuel/per_person.html",
        form=form,
        rows=rows,
        start=start,
        end=end,
        litres_series=[(r.day.isoformat(), r.litres_per_person) for r in rows],
        kwh_series=[(r.day.isoformat(), r.kwh_per_person) for r in rows],
    ), 200 if valid else 422


def _asked_report() -> tuple[petroleum.Report, str | None]:
    """The report of the period `?start=` asks for and None; with a bad start, the period
    that holds today's and the message that says why."""
    try:
        start, end = petroleum.period_asked(request.args.get("start", ""), _today())
    except DomainError as exc:
        start, end = petroleum.period_from(None, _today())
        refused: str | None = str(exc)
    else:
        refused = None
    return petroleum.petroleum_report(db.session, start, end), refused


def _refused_report(report: petroleum.Report, refused: str) -> tuple[str, int]:
    flash(refused, "error")
    return petroleum_jobs.render_html(report, printing=False), 422


@bp.get("/petroleum", endpoint="petroleum")
@permission_required(Permission.VIEW_OPERATIONS)
def petroleum_page() -> Any:
    report, refused = _asked_report()
    if refused is not None:
        return _refused_report(report, refused)
    return petroleum_jobs.render_html(report, printing=False)


@bp.get("/petroleum.pdf", endpoint="petroleum_pdf")
@permission_required(Permission.VIEW_OPERATIONS)
def petroleum_pdf() -> Any:
    """The period's PDF when a fresh one was printed; else a page that asks a worker for it."""
    report, refused = _asked_report()
    if refused is not None:
        return _refused_report(report, refused)
    fresh = petroleum_jobs.fresh_pdf(db.session, report.start, current_locale_code(), utcnow())
    if fresh is not None:
        return send_job_file(fresh)
    start = report.start.isoformat()
    return prepare_page(
        title=_("UN petroleum notification %(start)s", start=start),
        what=_("The PDF of this report is printed by a worker; it takes a few seconds."),
        action=url_for("operations.print_petroleum", start=start),
        back=url_for("operations.petroleum", start=start),
        button=_("Print the PDF"),
    )


@bp.post("/petroleum.pdf", endpoint="print_petroleum")
@permission_required(Permission.VIEW_OPERATIONS)
def print_petroleum() -> Any:
    """Ask a worker to print the period's PDF (or serve a fresh one), in the reader's
    language."""
    report, refused = _asked_report()
    if refused is not None:
        return _refused_report(report, refused)
    start = report.start.isoformat()
    locale = current_locale_code()
    if petroleum_jobs.fresh_pdf(db.session, report.start, locale, utcnow()) is not None:
        return redirect(url_for("operations.petroleum_pdf", start=start), 303)
    return start_job(
        petroleum_jobs.KIND,
        petroleum_jobs.params_for(report.start, locale),
        back=url_for("operations.petroleum", start=start),
    )


@bp.get("/petroleum.csv", endpoint="petroleum_csv")
@permission_required(Permission.VIEW_OPERATIONS)
def petroleum_csv() -> Any:
    report, refused = _asked_report()
    if refused is not None:
        return _refused_report(report, refused)
    return Response(
        petroleum.csv_text(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{petroleum.csv_name(report)}"'},
    )


# --- documents: the photo of a dip stick or a meter face -----------------------------------


def _day_record(day: date, log: DailyLog | None) -> documents.Record:
    return documents.Record(
        RecordType.DAILY_LOG,
        day.isoformat(),
        log.id if log is not None else None,
        _("Daily log %(day)s", day=day.isoformat()),
        url_for("operations.day", day=day.isoformat()),
    )


def _find_day(session: Session, key: str) -> documents.Record | None:
    day = inputs.day_from(key)
    if day is None or day > _today():
        return None
    return _day_record(day, services.log_for(session, day))


def _day_by_log(session: Session, log_id: int) -> documents.Record | None:
    log = session.get(DailyLog, log_id)
    return _day_record(log.log_on, log) if log is not None else None


def _open_day(session: Session, record: documents.Record, now: datetime) -> int:
    return services.log_to_attach(session, date.fromisoformat(record.key), now=now).id


documents.register(
    RecordType.DAILY_LOG,
    documents.RecordKind(
        Permission.VIEW_OPERATIONS,
        Permission.LOG_OPERATIONS,
        _find_day,
        _day_by_log,
        _open_day,
    ),
)
