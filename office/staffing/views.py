from __future__ import annotations

from datetime import date, timedelta
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from office import inputs
from office.auth.access import permission_required, public
from office.auth.forms import ActionForm
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.errors import DomainError
from office.i18n import _, current_locale_code, label, office_date
from office.jobs.web import start_job
from office.staffing import ical, labels, queries, services
from office.staffing import jobs as plan_jobs
from office.staffing.forms import (
    CrossingStatusForm,
    DutyForm,
    ImportForm,
    MonthForm,
    PersonForm,
    PlanForm,
    RulesForm,
    StayForm,
)
from office.staffing.models import (
    Category,
    CrossingStatus,
    DutyShift,
    PlanProposal,
    Position,
    Shift,
    Side,
    StaffMember,
    Stay,
)
from office.web import form_status, get_or_404, show_domain_error

bp = Blueprint("staffing", __name__, url_prefix="/staffing")
F = TypeVar("F", bound=FlaskForm)
DASHBOARD_DAYS = 30


@bp.app_context_processor
def staffing_vocabulary() -> dict[str, Any]:
    return {
        "rule_mark": labels.RULE_MARKS.get,
        "rule_marks": labels.RULE_MARKS,
        "weekday": labels.weekday_label,
    }


def _today() -> date:
    return office_date(utcnow())


def _may_manage() -> bool:
    return has_permission(current_user, Permission.MANAGE_STAFFING)


def _own_ids(form: F, prefix: str) -> F:
    """Give the form's fields ids of their own, keeping their names: a page shows several forms
    of one kind, and each label must point at its own field."""
    for field in form:
        field.id = f"{prefix}-{field.name}"
    return form


# --- overview -----------------------------------------------------------------------------


@bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_STAFFING)
def dashboard() -> str:
    start = _today()
    found, _people = services.violations(
        db.session,
        start,
        start + timedelta(days=DASHBOARD_DAYS - 1),
        locale=current_locale_code(),
    )
    return render_template(
        "staffing/dashboard.html",
        violations=found,
        groups=queries.group_violations(found),
        start=start,
        days=DASHBOARD_DAYS,
        today=queries.today_view(db.session, start),
    )


@bp.get("/today", endpoint="today")
@permission_required(Permission.VIEW_STAFFING)
def today_page() -> str:
    return render_template("staffing/today.html", today=queries.today_view(db.session, _today()))


def _month_from(text: str | None) -> date | None:
    if not text:
        return _today().replace(day=1)
    return inputs.month_from(text)


@bp.get("/calendar", endpoint="calendar")
@permission_required(Permission.VIEW_STAFFING)
def month_page() -> Any:
    form = MonthForm(formdata=request.args)
    first = _month_from(form.month.data) if form.validate() else None
    if first is None:
        flash(_("Choose a month written YYYY-MM, e.g. 2018-10."), "error")
        first = _today().replace(day=1)
        status = 422
    else:
        status = 200
    month = queries.month_calendar(db.session, first, locale=current_locale_code())
    return render_template("staffing/calendar.html", month=month), status


# --- the roster ---------------------------------------------------------------------------


@bp.get("/people", endpoint="people")
@permission_required(Permission.VIEW_STAFFING)
def roster() -> str:
    people = db.session.scalars(
        select(StaffMember).order_by(
            StaffMember.side, StaffMember.category, StaffMember.name_ko, StaffMember.id
        )
    ).all()
    return render_template("staffing/people.html", people=people, import_form=ImportForm())


def _person_input(form: PersonForm) -> services.PersonInput:
    return services.PersonInput(
        name_ko=form.name_ko.data or "",
        name_latin=form.name_latin.data or "",
        side=Side(form.side.data),
        category=Category(form.category.data),
        agency=form.agency.data or "",
        position=Position(form.position.data),
        is_duty_qualified=form.is_duty_qualified.data,
        active_from=form.active_from.data,
        active_until=form.active_until.data,
    )


@bp.route("/people/new", methods=["GET", "POST"], endpoint="new_person")
@permission_required(Permission.MANAGE_STAFFING)
def new_person() -> Any:
    form = PersonForm()
    if request.method == "GET":
        form.active_from.data = _today()
    if form.validate_on_submit():
        try:
            person = services.save_person(
                db.session, _person_input(form), actor=current_user, now=utcnow()
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(name)s added to the roster.", name=person.name_ko), "success")
            return redirect(url_for("staffing.person", person_id=person.id))
    return render_template("staffing/person_new.html", form=form), form_status(form)


def render_person(
    person: StaffMember,
    form: Any = None,
    stay_form: Any = None,
    edit_stay: tuple[int, Any] | None = None,
) -> Any:
    form = form or PersonForm(formdata=None, obj=person)
    stay_form = stay_form or StayForm(formdata=None)
    stays = db.session.scalars(
        select(Stay)
        .where(Stay.staff_member_id == person.id)
        .order_by(Stay.first_day.desc(), Stay.id.desc())
    ).all()
    stay_forms = {
        stay.id: _own_ids(
            edit_stay[1]
            if edit_stay and edit_stay[0] == stay.id
            else StayForm(formdata=None, obj=stay),
            f"stay-{stay.id}",
        )
        for stay in stays
    }
    feed_url = url_for("staffing.feed", token=person.feed_token, _external=True)
    forms = [form, stay_form, *stay_forms.values()]
    return render_template(
        "staffing/person.html",
        person=person,
        form=form,
        stay_form=stay_form,
        stays=stays,
        stay_forms=stay_forms,
        long_stays=queries.long_stays(db.session, person),
        may_manage=_may_manage(),
        feed_url=feed_url,
        action_form=ActionForm(),
    ), form_status(*forms)


@bp.get("/people/<int:person_id>", endpoint="person")
@permission_required(Permission.VIEW_STAFFING)
def person_page(person_id: int) -> Any:
    return render_person(get_or_404(StaffMember, person_id))


@bp.post("/people/<int:person_id>", endpoint="update_person")
@permission_required(Permission.MANAGE_STAFFING)
def update_person(person_id: int) -> Any:
    person = get_or_404(StaffMember, person_id)
    form = PersonForm()
    if form.validate_on_submit():
        try:
            services.save_person(
                db.session, _person_input(form), actor=current_user, now=utcnow(), person=person
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(name)s saved.", name=person.name_ko), "success")
            return redirect(url_for("staffing.person", person_id=person.id))
    return render_person(get_or_404(StaffMember, person_id), form=form)


@bp.post("/people/<int:person_id>/feed", endpoint="renew_feed")
@permission_required(Permission.MANAGE_STAFFING)
def renew_feed(person_id: int) -> BaseResponse:
    person = get_or_404(StaffMember, person_id)
    if ActionForm().validate_on_submit():
        services.renew_feed_token(db.session, person, actor=current_user, now=utcnow())
        db.session.commit()
        flash(_("New calendar link made; the old one no longer works."), "success")
    return redirect(url_for("staffing.person", person_id=person.id))


@bp.get("/people/export.csv", endpoint="export_people")
@permission_required(Permission.VIEW_STAFFING)
def export_people() -> Response:
    return Response(
        "\ufeff" + services.export_roster(db.session),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="roster.csv"'},
    )


@bp.post("/people/import", endpoint="import_people")
@permission_required(Permission.MANAGE_STAFFING)
def import_people() -> Any:
    form = ImportForm()
    errors: list[tuple[int, str]] = []
    if form.validate_on_submit():
        try:
            added = services.import_roster(
                db.session, form.file.data.read(), actor=current_user, now=utcnow()
            )
        except services.RosterImportError as exc:
            db.session.rollback()
            errors = exc.errors
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("%(n)d people imported.", n=len(added)), "success")
            return redirect(url_for("staffing.people"))
    people = db.session.scalars(
        select(StaffMember).order_by(
            StaffMember.side, StaffMember.category, StaffMember.name_ko, StaffMember.id
        )
    ).all()
    return render_template(
        "staffing/people.html",
        people=people,
        import_form=form,
        import_errors=errors,
    ), 422


# --- stays --------------------------------------------------------------------------------


def _flash_saved(done: str, person: StaffMember, stay: Stay) -> None:
    """Say the stay is saved, and warn when it is longer than the side's rules allow: it is
    saved all the same (a soft rule), but the scheduler should know at once."""
    long = queries.long_stays(db.session, person).get(stay.id)
    if long is None:
        flash(done, "success")
    else:
        flash(f"{done} {long.message}", "warning")


@bp.post("/people/<int:person_id>/stays", endpoint="add_stay")
@permission_required(Permission.MANAGE_STAFFING)
def add_stay(person_id: int) -> Any:
    person = get_or_404(StaffMember, person_id)
    form = StayForm()
    if form.validate_on_submit():
        try:
            stay = services.add_stay(
                db.session,
                person,
                form.first_day.data,
                form.last_day.data,
                pinned=form.is_pinned.data,
                note=form.note.data or "",
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            _flash_saved(_("Stay added."), person, stay)
            return redirect(url_for("staffing.person", person_id=person.id))
    return render_person(get_or_404(StaffMember, person_id), stay_form=form)


@bp.post("/stays/<int:stay_id>", endpoint="change_stay")
@permission_required(Permission.MANAGE_STAFFING)
def change_stay(stay_id: int) -> Any:
    stay = get_or_404(Stay, stay_id)
    person_id = stay.staff_member_id
    form = StayForm()
    if form.validate_on_submit():
        try:
            services.change_stay(
                db.session,
                stay,
                form.first_day.data,
                form.last_day.data,
                pinned=form.is_pinned.data,
                note=form.note.data or "",
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            if exc.status_code == 404:
                abort(404)
            show_domain_error(form, exc)
        else:
            db.session.commit()
            _flash_saved(_("Stay saved."), stay.person, stay)
            return redirect(url_for("staffing.person", person_id=person_id))
    return render_person(get_or_404(StaffMember, person_id), edit_stay=(stay_id, form))


@bp.post("/stays/<int:stay_id>/delete", endpoint="remove_stay")
@permission_required(Permission.MANAGE_STAFFING)
def remove_stay(stay_id: int) -> BaseResponse:
    stay = get_or_404(Stay, stay_id)
    person_id = stay.staff_member_id
    if ActionForm().validate_on_submit():
        try:
            services.remove_stay(db.session, stay, actor=current_user, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Stay removed."), "success")
    return redirect(url_for("staffing.person", person_id=person_id))


# --- a day: who is on site, duty, crossings -----------------------------------------------


def _duty_forms(day: date, posted: DutyForm | None = None) -> dict[tuple[Side, Shift], DutyForm]:
    on_site = queries.today_view(db.session, day).on_site
    assigned = db.session.execute(
        select(DutyShift.staff_member_id, DutyShift.shift).where(DutyShift.duty_on == day)
    ).all()
    forms = {}
    for side in Side:
        for shift in Shift:
            if posted is not None and (posted.side.data, posted.shift.data) == (
                side.value,
                shift.value,
            ):
                form = posted
            else:
                form = DutyForm(formdata=None, side=side.value, shift=shift.value)
                form.people.data = [pid for pid, s in assigned if s is shift]
            form.people.choices = [
                SelectChoice(p.id, p.display_name(current_locale_code())) for p in on_site[side]
            ]
            forms[side, shift] = _own_ids(form, f"{side.value}-{shift.value}")
    return forms


def render_day(day: date, duty_form: DutyForm | None = None) -> Any:
    crossing = services.crossing_list(db.session, day)
    crossings = services.crossings_on(db.session, day)
    found, _people = services.violations(db.session, day, day, locale=current_locale_code())
    forms = _duty_forms(day, duty_form)
    return render_template(
        "staffing/day.html",
        day=day,
        today=queries.today_view(db.session, day),
        duty_forms=forms,
        crossing=crossing,
        crossings=crossings,
        violations=found,
        may_manage=_may_manage(),
        status_form=CrossingStatusForm(formdata=None),
        draft=CrossingStatus.DRAFT,
        one_day=timedelta(days=1),
    ), form_status(*forms.values())


def _day_or_404(text: str) -> date:
    day = inputs.day_from(text)
    if day is None:
        abort(404)
    return day


@bp.get("/days/<day>", endpoint="day")
@permission_required(Permission.VIEW_STAFFING)
def day_page(day: str) -> Any:
    return render_day(_day_or_404(day))


@bp.post("/days/<day>/duty", endpoint="set_duty")
@permission_required(Permission.MANAGE_STAFFING)
def set_duty(day: str) -> Any:
    when = _day_or_404(day)
    form = DutyForm()
    form.people.choices = [
        SelectChoice(p.id, p.name_ko) for p in db.session.scalars(select(StaffMember))
    ]
    if form.validate_on_submit():
        chosen = list(
            db.session.scalars(
                select(StaffMember).where(StaffMember.id.in_(form.people.data or []))
            )
        )
        try:
            services.set_duty(
                db.session,
                when,
                Side(form.side.data),
                Shift(form.shift.data),
                chosen,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Duty list saved."), "success")
            return redirect(url_for("staffing.day", day=when.isoformat()))
    return render_day(when, form)


@bp.get("/crossings", endpoint="crossings")
@permission_required(Permission.VIEW_STAFFING)
def crossings_page() -> Any:
    form = MonthForm(formdata=request.args)
    first = _month_from(form.month.data) if form.validate() else None
    if first is None:
        flash(_("Choose a month written YYYY-MM, e.g. 2018-10."), "error")
        first, status = _today().replace(day=1), 422
    else:
        status = 200
    return render_template(
        "staffing/crossings.html", month=queries.crossing_month(db.session, first)
    ), status


@bp.get("/crossings/<day>", endpoint="crossing")
@permission_required(Permission.VIEW_STAFFING)
def crossing_page(day: str) -> str:
    when = _day_or_404(day)
    return render_template(
        "staffing/crossing.html",
        day=when,
        crossings=services.crossings_on(db.session, when),
        crossing=services.crossing_list(db.session, when),
    )


@bp.get("/crossings/<day>.csv", endpoint="crossing_csv")
@permission_required(Permission.VIEW_STAFFING)
def crossing_csv(day: str) -> Response:
    when = _day_or_404(day)
    return Response(
        "\ufeff" + services.crossings_csv(services.crossings_on(db.session, when)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="crossing-{when}.csv"'},
    )


@bp.post("/crossings/<day>/status", endpoint="crossing_status")
@permission_required(Permission.MANAGE_STAFFING)
def crossing_status(day: str) -> BaseResponse:
    when = _day_or_404(day)
    form = CrossingStatusForm()
    if form.validate_on_submit():
        try:
            services.mark_crossing_list(
                db.session, when, CrossingStatus(form.status.data), actor=current_user, now=utcnow()
            )
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(
                _(
                    "Crossing list of %(date)s is now %(status)s.",
                    date=when.isoformat(),
                    status=services.crossing_status_label(CrossingStatus(form.status.data)),
                ),
                "success",
            )
    else:
        flash(_("Choose sent or accepted."), "error")
    return redirect(url_for("staffing.day", day=when.isoformat()))


# --- rules --------------------------------------------------------------------------------


def render_rules(posted: tuple[Side, RulesForm] | None = None) -> Any:
    forms = {
        side: RulesForm(formdata=None, obj=rule, prefix=side.value)
        for side, rule in services.rules_by_side(db.session).items()
    }
    if posted is not None:
        forms[posted[0]] = posted[1]
    return render_template("staffing/rules.html", forms=forms, may_manage=_may_manage()), (
        form_status(*forms.values())
    )


@bp.get("/rules", endpoint="rules")
@permission_required(Permission.VIEW_STAFFING)
def rules_page() -> Any:
    return render_rules()


@bp.post("/rules/<side>", endpoint="save_rules")
@permission_required(Permission.MANAGE_STAFFING)
def save_rules(side: str) -> Any:
    try:
        chosen = Side(side)
    except ValueError:
        abort(404)
    rule = services.rules_by_side(db.session).get(chosen) or abort(404)
    form = RulesForm(prefix=chosen.value)
    if form.validate_on_submit():
        try:
            services.update_rules(
                db.session,
                rule,
                weekday_min=form.weekday_min.data,
                weekend_min=form.weekend_min.data,
                max_headcount=form.max_headcount.data,
                counted_categories=form.counted_categories.data or [],
                min_night_duty=form.min_night_duty.data,
                max_consecutive_days=form.max_consecutive_days.data,
                min_stay_days=form.min_stay_days.data,
                min_rest_days=form.min_rest_days.data,
                crossing_weekdays=form.crossing_weekdays.data or [],
                max_crossings_per_month=form.max_crossings_per_month.data,
                applies_from=form.applies_from.data,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Rules of the %(side)s saved.", side=label(chosen)), "success")
            return redirect(url_for("staffing.rules"))
    return render_rules((chosen, form))


# --- the planner --------------------------------------------------------------------------


@bp.route("/plan", methods=["GET", "POST"], endpoint="plan")
@permission_required(Permission.MANAGE_STAFFING)
def plan_page() -> Any:
    form = PlanForm()
    if request.method == "GET":
        form.side.data, form.first_day.data, form.days.data = "south", _today(), 92
    if form.validate_on_submit():
        # The search runs on a worker (`office.staffing.jobs`); this page only asks for it.
        try:
            services.check_plan_period(form.first_day.data, form.days.data)
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            return start_job(
                plan_jobs.KIND,
                {
                    "side": Side(form.side.data).value,
                    "first_day": form.first_day.data.isoformat(),
                    "days": form.days.data,
                },
                back=url_for("staffing.plan"),
            )
    recent = db.session.scalars(
        select(PlanProposal)
        .order_by(PlanProposal.created_at.desc(), PlanProposal.id.desc())
        .limit(10)
    ).all()
    return render_template("staffing/plan.html", form=form, recent=recent), form_status(form)


@bp.get("/plans/<int:proposal_id>", endpoint="proposal")
@permission_required(Permission.MANAGE_STAFFING)
def proposal_page(proposal_id: int) -> str:
    proposal = get_or_404(PlanProposal, proposal_id)
    return render_template(
        "staffing/proposal.html",
        proposal=proposal,
        changes=queries.proposal_diff(db.session, proposal),
        action_form=ActionForm(),
        summary=labels.planner_summary(proposal.objective),
    )


def _decide(proposal_id: int, accept: bool) -> BaseResponse:
    proposal = get_or_404(PlanProposal, proposal_id)
    if ActionForm().validate_on_submit():
        try:
            if accept:
                services.accept_proposal(db.session, proposal, actor=current_user, now=utcnow())
            else:
                services.discard_proposal(db.session, proposal, actor=current_user, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("staffing.proposal", proposal_id=proposal_id))
        db.session.commit()
        if accept:
            flash(_("The plan is in place."), "success")
            return redirect(
                url_for("staffing.calendar", month=proposal.first_day.strftime("%Y-%m"))
            )
        flash(_("The proposal was discarded."), "success")
    return redirect(url_for("staffing.plan"))


@bp.post("/plans/<int:proposal_id>/accept", endpoint="accept_proposal")
@permission_required(Permission.MANAGE_STAFFING)
def accept_proposal(proposal_id: int) -> BaseResponse:
    return _decide(proposal_id, accept=True)


@bp.post("/plans/<int:proposal_id>/discard", endpoint="discard_proposal")
@permission_required(Permission.MANAGE_STAFFING)
def discard_proposal(proposal_id: int) -> BaseResponse:
    return _decide(proposal_id, accept=False)


# --- the calendar feed --------------------------------------------------------------------


@bp.get("/feed/<token>.ics", endpoint="feed")
@public
def feed(token: str) -> Response:
    # The secret in the link is the only key: the feed is read by calendar programs that
    # cannot log in.
    person = db.session.scalar(select(StaffMember).where(StaffMember.feed_token == token))
    if person is None or len(token) > 64:
        abort(404)
    stays = db.session.scalars(
        select(Stay).where(Stay.staff_member_id == person.id).order_by(Stay.first_day, Stay.id)
    ).all()
    duties = db.session.scalars(
        select(DutyShift)
        .where(DutyShift.staff_member_id == person.id)
        .order_by(DutyShift.duty_on, DutyShift.id)
    ).all()
    return Response(
        ical.person_feed(person, stays, duties, now=utcnow()),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'inline; filename="staffing-{person.id}.ics"',
            "Cache-Control": "private, max-age=300",
        },
    )
