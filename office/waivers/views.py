from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from office import inputs
from office.auth.access import can_access, permission_required
from office.auth.forms import ActionForm
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.documents import panels
from office.documents import records as documents
from office.documents.models import RecordType
from office.errors import DomainError, InvalidInput
from office.i18n import _, current_locale_code, format_hs_code, office_date
from office.jobs.web import prepare_page, start_job
from office.waivers import forms as waiver_forms
from office.waivers import jobs as ledger_jobs
from office.waivers import labels, ledger, regimes, screening, services
from office.waivers.forms import (
    DrawdownForm,
    GrantForm,
    HsRuleForm,
    LedgerFilterForm,
    LineForm,
    RegimeForm,
    ResourceForm,
    ReversalForm,
    ScreeningForm,
    StatusForm,
    WaiverEditForm,
    WaiverForm,
    status_choices,
)
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    HsRule,
    Regime,
    Resource,
    ResourceControl,
    Waiver,
    WaiverLine,
)
from office.waivers.queries import (
    NOT_CHECKED,
    LedgerFilters,
    entry_screenings,
    ledger_page,
    lines_under,
    status_on,
    under_each_regime,
    used_as_of,
    waivers_with_lines,
)
from office.waivers.regimes import all_regimes, regimes_in_force
from office.waivers.units import format_quantity
from office.web import form_status, get_or_404, has_errors, read_as_of, show_domain_error

catalogue_bp = Blueprint("resources", __name__, url_prefix="/resources")
regimes_bp = Blueprint("regimes", __name__, url_prefix="/regimes")


def _query() -> dict[str, Any]:
    """This request's query arguments, to carry over to another address."""
    return request.args.to_dict()


waivers_bp = Blueprint("waivers", __name__, url_prefix="/waivers")
ledger_bp = Blueprint("ledger", __name__, url_prefix="/ledger")


@waivers_bp.app_context_processor
def ledger_vocabulary() -> dict[str, Any]:
    return {
        "tone": labels.tone,
        "quantity": format_quantity,
        "shown_status": labels.shown_status,
        "country_name": _country_name,
        "regime_short": lambda regime: labels.regime_short_name(regime, current_locale_code()),
        "factor_text": labels.factor_text,
        "under_regimes": under_each_regime,
        "regime_label": labels.regime_classification_label,
        "gap_label": labels.gap_label,
    }


def _country_name(code: str) -> str | None:
    """A country of origin's name in the reader's language; None if it has none."""
    return labels.country_name(code, current_locale_code())


def _resources() -> list[Resource]:
    return list(db.session.scalars(select(Resource).order_by(Resource.code, Resource.id)))


def resource_choices(resources: list[Resource], blank: str | None = None) -> list[SelectChoice]:
    return waiver_forms.resource_choices(resources, current_locale_code(), blank)


# --- catalogue: resources ------------------------------------------------------------------


def _resources_with_controls() -> list[Resource]:
    return list(
        db.session.scalars(
            select(Resource)
            .order_by(Resource.code, Resource.id)
            .options(selectinload(Resource.controls))
        )
    )


def _render_catalogue(resource_form: Any = None) -> Any:
    resource_form = resource_form or ResourceForm(formdata=None)
    return render_template(
        "waivers/catalogue.html",
        resources=_resources_with_controls(),
        in_force=regimes.regimes_in_force(db.session),
        resource_form=resource_form,
    ), form_status(resource_form)


def _save_resource(form: ResourceForm, resource: Resource | None = None) -> Resource:
    return services.save_resource(
        db.session,
        code=form.code.data,
        name_ko=form.name_ko.data,
        name_en=form.name_en.data,
        hs_code=form.hs_code.data,
        unit=form.unit.data,
        barrels_per_tonne=form.barrels_per_tonne.data,
        petroleum_kind=form.petroleum_kind.data,
        origin=form.origin.data,
        us_content_percent=form.us_content_percent.data,
        actor=current_user,
        now=utcnow(),
        resource=resource,
    )


@catalogue_bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_LEDGER)
def catalogue() -> Any:
    return _render_catalogue()


@catalogue_bp.post("/", endpoint="create")
@permission_required(Permission.MANAGE_CATALOGUE)
def create_resource() -> Any:
    form = ResourceForm()
    if form.validate_on_submit():
        try:
            resource = _save_resource(form)
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Resource %(code)s added.", code=resource.code), "success")
            return redirect(url_for("resources.index"))
    return _render_catalogue(resource_form=form)


def _render_resource(resource: Resource, form: ResourceForm | None = None) -> Any:
    if form is None:
        form = ResourceForm(formdata=None, obj=resource)
        form.barrels_per_tonne.data = format_quantity(resource.barrels_per_tonne)
        form.us_content_percent.data = format_quantity(resource.us_content_percent)
    return render_template(
        "waivers/resource.html",
        resource=resource,
        determinations=_determinations(resource),
        form=form,
    ), form_status(form)


def _determinations(resource: Resource) -> list[tuple[Regime, ResourceControl | None]]:
    """Every regime in screening order, with the resource's control under it (None before
    its controls were first worked out)."""
    kept = regimes.controls_of(resource)
    return [(regime, kept.get(regime.id)) for regime in regimes.all_regimes(db.session)]


@catalogue_bp.get("/<int:resource_id>", endpoint="detail")
@permission_required(Permission.VIEW_LEDGER)
def resource_detail(resource_id: int) -> Any:
    return _render_resource(get_or_404(Resource, resource_id))


@catalogue_bp.post("/<int:resource_id>", endpoint="edit")
@permission_required(Permission.MANAGE_CATALOGUE)
def edit_resource(resource_id: int) -> Any:
    resource = get_or_404(Resource, resource_id)
    form = ResourceForm()
    if form.validate_on_submit():
        try:
            _save_resource(form, resource)
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Resource %(code)s saved.", code=resource.code), "success")
            return redirect(url_for("resources.detail", resource_id=resource.id))
    return _render_resource(get_or_404(Resource, resource_id), form)


# --- sanctions regimes and their HS rules ---------------------------------------------------


def _regime_choices(all_regimes: list[Regime]) -> list[SelectChoice]:
    return [SelectChoice(r.code, r.name(current_locale_code())) for r in all_regimes]


def _rule_form(all_regimes: list[Regime], form: HsRuleForm | None = None) -> HsRuleForm:
    """The rule form: the one posted, or a fresh one for the regime (`?regime=`) or the rule
    (`?rule=`, to change it) the page was asked for."""
    if form is None:
        form = HsRuleForm(formdata=None)
        rule_id = inputs.id_from(request.args.get("rule"))
        rule = db.session.get(HsRule, rule_id) if rule_id is not None else None
        if rule is not None:
            form.regime.data, form.prefix.data = rule.regime.code, rule.prefix
            form.control.data, form.note.data = rule.control.value, rule.note
        elif request.args.get("regime") in {r.code for r in all_regimes}:
            form.regime.data = request.args["regime"]
    form.regime.choices = _regime_choices(all_regimes)
    return form


def _render_regimes(rule_form: HsRuleForm | None = None) -> Any:
    all_regimes = list(
        db.session.scalars(
            select(Regime).order_by(Regime.position).options(selectinload(Regime.rules))
        )
    )
    form = _rule_form(all_regimes, rule_form)
    return render_template(
        "waivers/regimes.html",
        regimes=all_regimes,
        rule_form=form,
        action_form=ActionForm(),
    ), form_status(form)


@regimes_bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_LEDGER)
def regime_list() -> Any:
    return _render_regimes()


def _render_regime_form(regime: Regime, form: RegimeForm | None = None) -> Any:
    if form is None:
        form = RegimeForm(formdata=None, obj=regime)
        form.default_control.data = regime.default_control.value
        form.us_content_threshold.data = format_quantity(regime.us_content_threshold)
    return render_template("waivers/regime_edit.html", regime=regime, form=form), form_status(form)


@regimes_bp.route("/<int:regime_id>", methods=["GET", "POST"], endpoint="edit")
@permission_required(Permission.MANAGE_CATALOGUE)
def edit_regime(regime_id: int) -> Any:
    regime = get_or_404(Regime, regime_id)
    if request.method == "GET":
        return _render_regime_form(regime)
    form = RegimeForm()
    if form.validate_on_submit():
        try:
            regimes.update_regime(
                db.session,
                regime,
                name_en=form.name_en.data,
                name_ko=form.name_ko.data,
                in_force=form.in_force.data,
                default_control=form.default_control.data,
                us_content_threshold=form.us_content_threshold.data,
                note=form.note.data or "",
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(
                _(
                    "%(regime)s saved; resources reclassified.",
                    regime=regime.name(current_locale_code()),
                ),
                "success",
            )
            return redirect(url_for("regimes.index", _anchor=f"regime-{regime.code}"))
    return _render_regime_form(get_or_404(Regime, regime_id), form)


@regimes_bp.post("/rules", endpoint="save_rule")
@permission_required(Permission.MANAGE_CATALOGUE)
def save_rule() -> Any:
    all_regimes = regimes.all_regimes(db.session)
    form = _rule_form(all_regimes, HsRuleForm())
    if form.validate_on_submit():
        try:
            regime = regimes.regime_by_code(db.session, form.regime.data)
            rule = services.save_hs_rule(
                db.session,
                prefix=form.prefix.data,
                control=form.control.data,
                note=form.note.data or "",
                regime=regime,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(
                _(
                    "Rule for HS %(prefix)s under %(regime)s saved; resources reclassified.",
                    prefix=format_hs_code(rule.prefix),
                    regime=regime.name(current_locale_code()),
                ),
                "success",
            )
            return redirect(url_for("regimes.index", _anchor=f"regime-{regime.code}"))
    return _render_regimes(rule_form=form)


@regimes_bp.post("/rules/<int:rule_id>/delete", endpoint="delete_rule")
@permission_required(Permission.MANAGE_CATALOGUE)
def delete_rule(rule_id: int) -> Any:
    rule = get_or_404(HsRule, rule_id)
    regime = rule.regime
    if ActionForm().validate_on_submit():
        prefix = rule.prefix
        services.delete_hs_rule(db.session, rule, actor=current_user, now=utcnow())
        db.session.commit()
        flash(
            _(
                "Rule for HS %(prefix)s under %(regime)s removed; resources reclassified.",
                prefix=format_hs_code(prefix),
                regime=regime.name(current_locale_code()),
            ),
            "success",
        )
    return redirect(url_for("regimes.index", _anchor=f"regime-{regime.code}"))


# --- waivers ------------------------------------------------------------------------------


@waivers_bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_LEDGER)
def waiver_list() -> str:
    today = office_date(utcnow())
    as_of = read_as_of(today)
    waivers = waivers_with_lines(db.session)
    return render_template(
        "waivers/index.html",
        waivers=waivers,
        usage=_usage_on(as_of, [line for w in waivers for line in w.lines], today),
        status=_status_on(as_of, today),
        as_of=as_of,
        today=today,
    )


def _usage_on(as_of: date | None, lines: list[WaiverLine], today: date) -> Any:
    """`line_usage`, or the usage as of a past day."""
    if as_of is None:
        return services.line_usage
    used = used_as_of(db.session, lines, as_of, today=today)
    return lambda line: services.line_usage(line, used[line.id])


def _status_on(as_of: date | None, today: date) -> Any:
    """How each waiver's status shows today, or as of a past day (by its history then)."""

    def shown(waiver: Waiver) -> labels.ShownStatus | None:
        if as_of is None:
            return labels.shown_status(waiver, today, waiver.status)
        return labels.shown_status(waiver, as_of, status_on(waiver, as_of))

    return shown


@waivers_bp.route("/new", methods=["GET", "POST"], endpoint="new")
@permission_required(Permission.MANAGE_WAIVERS)
def new_waiver() -> Any:
    form = WaiverForm()
    all_regimes = regimes.all_regimes(db.session)
    form.authority.choices = waiver_forms.authority_choices(
        {r.code: r.name(current_locale_code()) for r in all_regimes}
    )
    if form.validate_on_submit():
        try:
            waiver = services.create_waiver(
                db.session,
                reference=form.reference.data,
                authority=form.authority.data,
                title=form.title.data,
                purpose=form.purpose.data or "",
                valid_from=form.valid_from.data,
                valid_until=form.valid_until.data,
                standing=waiver_forms.STANDING_CHOICES.get(form.standing.data or ""),
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(
                _("Waiver %(ref)s created as a draft; add its lines.", ref=waiver.reference),
                "success",
            )
            return redirect(url_for("waivers.detail", waiver_id=waiver.id))
    return render_template("waivers/new.html", form=form, regimes=all_regimes), form_status(form)


def _load_waiver(waiver_id: int) -> Waiver:
    waiver = db.session.scalar(
        select(Waiver)
        .where(Waiver.id == waiver_id)
        .options(
            selectinload(Waiver.lines).selectinload(WaiverLine.resource),
            selectinload(Waiver.history),
        )
    )
    return waiver if waiver is not None else get_or_404(Waiver, waiver_id)


def render_waiver(waiver: Waiver, **forms: Any) -> Any:
    may_manage = has_permission(current_user, Permission.MANAGE_WAIVERS)
    allowed = services.ALLOWED_TRANSITIONS.get(waiver.status, frozenset())
    status_form = forms.get("status_form") or StatusForm(
        formdata=None, effective_on=office_date(utcnow())
    )
    status_form.status.choices = status_choices(allowed)
    edit_form = forms.get("edit_form")
    if edit_form is None:
        edit_form = WaiverEditForm(formdata=None, obj=waiver)
        edit_form.standing.data = waiver_forms.standing_code(waiver.standing)
    line_form = forms.get("line_form") or LineForm(formdata=None)
    line_form.resource.choices = resource_choices(_resources())
    today = office_date(utcnow())
    as_of = forms.get("as_of")
    entries, _cursor = ledger_page(
        db.session, LedgerFilters(waiver_id=waiver.id, date_to=as_of), size=20
    )
    return render_template(
        "waivers/detail.html",
        waiver=waiver,
        usage=_usage_on(as_of, waiver.lines, today),
        status=_status_on(as_of, today)(waiver),
        as_of=as_of,
        today=today,
        may_manage=may_manage,
        is_open=waiver.status in services.OPEN_STATUSES,
        status_form=status_form,
        edit_form=edit_form,
        line_form=line_form,
        grant_form=forms.get("grant_form"),
        grant_line_id=forms.get("grant_line_id"),
        entries=entries,
        regimes=regimes_in_force(db.session),
        can_transition=bool(allowed),
        documents=panels.panel_of(_waiver_record(waiver)),
    ), form_status(*[f for f in forms.values() if hasattr(f, "form_errors")])


@waivers_bp.get("/<int:waiver_id>", endpoint="detail")
@permission_required(Permission.VIEW_LEDGER)
def waiver_detail(waiver_id: int) -> Any:
    as_of = read_as_of(office_date(utcnow()))
    return render_waiver(_load_waiver(waiver_id), as_of=as_of)


@waivers_bp.post("/<int:waiver_id>", endpoint="update")
@permission_required(Permission.MANAGE_WAIVERS)
def update_waiver(waiver_id: int) -> Any:
    waiver = _load_waiver(waiver_id)
    form = WaiverEditForm()
    if form.validate_on_submit():
        try:
            services.update_waiver(
                db.session,
                waiver,
                title=form.title.data,
                purpose=form.purpose.data or "",
                valid_from=form.valid_from.data,
                valid_until=form.valid_until.data,
                standing=waiver_forms.STANDING_CHOICES[form.standing.data],
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Waiver %(ref)s saved.", ref=waiver.reference), "success")
            return redirect(url_for("waivers.detail", waiver_id=waiver.id))
    return render_waiver(_load_waiver(waiver_id), edit_form=form)


@waivers_bp.post("/<int:waiver_id>/status")
@permission_required(Permission.MANAGE_WAIVERS)
def change_status(waiver_id: int) -> Any:
    waiver = _load_waiver(waiver_id)
    form = StatusForm()
    form.status.choices = status_choices(
        frozenset(services.ALLOWED_TRANSITIONS.get(waiver.status, frozenset()))
    )
    if form.validate_on_submit():
        try:
            services.change_waiver_status(
                db.session,
                waiver,
                form.status.data,
                effective_on=form.effective_on.data,
                note=form.note.data or "",
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(
                _(
                    "Waiver %(ref)s is now %(status)s.",
                    ref=waiver.reference,
                    status=services.status_label(waiver.status),
                ),
                "success",
            )
            return redirect(url_for("waivers.detail", waiver_id=waiver.id))
    return render_waiver(_load_waiver(waiver_id), status_form=form)


def _usd_cents(text: str | None) -> int | None:
    if not text:
        return None
    value = inputs.decimal_from(text.strip(), grouping=True)
    if (
        value is None
        or not value.is_finite()
        or value < 0
        or value >= 10**13
        or value != value.quantize(Decimal("0.01"))
    ):
        raise InvalidInput(
            _("Enter the value cap in US dollars, e.g. 25000.00."), field="value_cap_usd"
        )
    return int(value * 100)


@waivers_bp.post("/<int:waiver_id>/lines")
@permission_required(Permission.MANAGE_WAIVERS)
def add_line(waiver_id: int) -> Any:
    waiver = _load_waiver(waiver_id)
    form = LineForm()
    form.resource.choices = resource_choices(_resources())
    if form.validate_on_submit():
        try:
            resource = get_or_404(Resource, int(form.resource.data))
            line = services.add_line(
                db.session,
                waiver,
                services.LineSpec(
                    resource=resource,
                    unit=waiver_forms.chosen_unit(form.unit.data, resource),
                    requested_quantity=form.requested_quantity.data,
                    granted_quantity=form.granted_quantity.data or None,
                    value_cap_usd_cents=_usd_cents(form.value_cap_usd.data),
                ),
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Line %(n)d added.", n=line.line_no), "success")
            return redirect(url_for("waivers.detail", waiver_id=waiver.id))
    return render_waiver(_load_waiver(waiver_id), line_form=form)


@waivers_bp.post("/<int:waiver_id>/lines/<int:line_id>")
@permission_required(Permission.MANAGE_WAIVERS)
def grant_line(waiver_id: int, line_id: int) -> Any:
    line = get_or_404(WaiverLine, line_id)
    if line.waiver_id != waiver_id:
        abort(404)
    form = GrantForm()
    if form.validate_on_submit():
        try:
            services.set_granted_quantity(
                db.session,
                line,
                form.granted_quantity.data or None,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Line %(n)d saved.", n=line.line_no), "success")
            return redirect(url_for("waivers.detail", waiver_id=waiver_id))
    return render_waiver(_load_waiver(waiver_id), grant_form=form, grant_line_id=line_id)


# --- ledger -------------------------------------------------------------------------------


def _id_arg(name: str) -> int | None:
    """Return the query argument `name` as a row id or sequence number, or None if it is not one."""
    value = request.args.get(name, "")
    # ASCII digits only ("²" is a digit to isdigit, not to int) and within a 64-bit integer.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _filters_from_request() -> tuple[LedgerFilterForm, LedgerFilters]:
    form = LedgerFilterForm(formdata=request.args)
    waivers = db.session.scalars(select(Waiver).order_by(Waiver.reference, Waiver.id)).all()
    form.waiver.choices = [
        SelectChoice("", _("any")),
        *[SelectChoice(str(w.id), w.reference) for w in waivers],
    ]
    form.resource.choices = resource_choices(_resources(), blank=_("any"))
    listed = all_regimes(db.session)
    regimes = {regime.code: regime.id for regime in listed}
    for select_field in (form.regime, form.covered_under, form.not_covered_under):
        select_field.choices = waiver_forms.regime_choices(listed, current_locale_code(), _("any"))
    if not form.validate():
        return form, LedgerFilters(waiver_id=-1)  # show nothing for filters that make no sense
    flagged = {"yes": True, "no": False}.get(form.flagged.data or "")
    under = form.regime_classification.data
    return form, LedgerFilters(
        waiver_id=int(form.waiver.data) if form.waiver.data else None,
        resource_id=int(form.resource.data) if form.resource.data else None,
        classification=Classification(form.classification.data)
        if form.classification.data
        else None,
        flagged=flagged,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        regime_id=regimes.get(form.regime.data or ""),
        regime_classification=(
            NOT_CHECKED if under == NOT_CHECKED else Classification(under) if under else None
        ),
        covered_under=regimes.get(form.covered_under.data or ""),
        not_covered_under=regimes.get(form.not_covered_under.data or ""),
    )


@ledger_bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_LEDGER)
def ledger_list() -> Any:
    form, filters = _filters_from_request()
    before = _id_arg("before")
    entries, cursor = ledger_page(db.session, filters, before_seq=before)
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template(
        "waivers/ledger.html",
        form=form,
        entries=entries,
        regimes=regimes_in_force(db.session),
        cursor=cursor,
        args=args,
        paged=before is not None,
    ), form_status(form)


@ledger_bp.get("/export.<any(csv, xlsx):fmt>", endpoint="export_page")
@permission_required(Permission.VIEW_LEDGER)
def export_page(fmt: str) -> Any:
    """An export's address opened as a link: the page that asks a worker for it."""
    form, _filters = _filters_from_request()
    if form.errors:
        return ledger_list()
    return prepare_page(
        title=_("Export the ledger"),
        what=_(
            "A worker writes the export (%(format)s) of the entries these filters select.",
            format=fmt.upper(),
        ),
        action=url_for("ledger.export", fmt=fmt, **_query()),
        back=url_for("ledger.index", **_query()),
    )


@ledger_bp.post("/export.<any(csv, xlsx):fmt>", endpoint="export")
@permission_required(Permission.VIEW_LEDGER)
def export(fmt: str) -> Any:
    """Ask a worker for the export of the entries the page's filters select."""
    form, filters = _filters_from_request()
    if form.errors:
        # Name what is wrong on the list page rather than export an empty file.
        return ledger_list()
    return start_job(
        ledger_jobs.KIND,
        {"format": fmt, "filters": ledger_jobs.filters_to_params(filters)},
        back=url_for("ledger.index", **_query()),
    )


# --- what-if screening (office.waivers.screening) -------------------------------------------


@ledger_bp.get("/screening", endpoint="screening")
@permission_required(Permission.VIEW_LEDGER)
def screening_page() -> Any:
    """The form, and with an item in the query string, how it screens: a GET, so that a
    result can be bookmarked and shared; nothing is recorded."""
    asked = any(request.args.get(name) for name in screening.FIELDS)
    form = ScreeningForm(formdata=request.args if asked else None)
    result = None
    if not asked:
        form.occurred_on.data = office_date(utcnow())
    else:
        form.validate()
        try:
            item = screening.check_item(
                hs_code=form.hs_code.data,
                origin=form.origin.data,
                us_content_percent=form.us_content_percent.data,
                quantity=form.quantity.data,
                unit=form.unit.data,
                occurred_on=form.occurred_on.data,
            )
        except screening.InvalidItem as exc:
            for name, messages in exc.errors.items():
                shown = getattr(form, name)
                if not shown.errors:  # the form's own message about it says it already
                    shown.errors = [str(message) for message in messages]
        else:
            if not has_errors(form):
                result = screening.screen_item(db.session, item)
    return render_template(
        "waivers/screening.html", form=form, result=result, locale=current_locale_code()
    ), form_status(form)


def _drawdown_form() -> DrawdownForm:
    form = waiver_forms.drawdown_form(regimes_in_force(db.session))
    form.resource.choices = resource_choices(_resources())
    for regime, field in form.regime_fields():
        field.choices = waiver_forms.regime_line_choices(
            lines_under(db.session, regime),
            day=office_date(utcnow()),
            locale=current_locale_code(),
        )
    if request.method == "GET":
        form.occurred_on.data = office_date(utcnow())
        line_id = inputs.id_from(request.args.get("line"))
        line = db.session.get(WaiverLine, line_id) if line_id is not None else None
        if line is not None and line.waiver.regime in form.regimes:
            form[waiver_forms.line_field(line.waiver.regime)].data = str(line.id)
            form.resource.data = str(line.resource_id)
            form.unit.data = line.unit.value
    return form


@ledger_bp.route("/new", methods=["GET", "POST"], endpoint="new")
@permission_required(Permission.RECORD_DRAWDOWN)
def new_drawdown() -> Any:
    form = _drawdown_form()
    preview = None
    checked: ledger.CheckedDrawdown | None = None
    status = 200
    if form.validate_on_submit():
        resource = get_or_404(Resource, int(form.resource.data))
        lines = [get_or_404(WaiverLine, line_id) for line_id in form.chosen_lines()]
        unit = waiver_forms.chosen_unit(form.unit.data, resource)
        try:
            checked = ledger.check_drawdown_input(
                resource,
                form.quantity.data,
                unit,
                form.occurred_on.data,
                None,
                today=office_date(utcnow()),
                authorisations=lines,
            )
            preview = ledger.preview_drawdown(db.session, checked)
            if form.action.data == "record":
                entry = ledger.record_drawdown(
                    db.session,
                    resource=resource,
                    quantity=form.quantity.data,
                    unit=unit,
                    occurred_on=form.occurred_on.data,
                    authorisations=lines,
                    purpose=form.purpose.data,
                    note=form.note.data or "",
                    override_reason=form.override_reason.data,
                    actor=current_user,
                    now=utcnow(),
                )
                db.session.commit()
                flash(
                    _(
                        "Entry %(seq)d recorded: %(classification)s.",
                        seq=entry.seq,
                        classification=labels.label(entry.classification),
                    ),
                    "success",
                )
                return redirect(url_for("ledger.detail", entry_id=entry.id))
        except ledger.DrawdownRefused as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            status = 409
        except DomainError as exc:
            db.session.rollback()
            preview = None
            exc.field = waiver_forms.line_field_of(exc.field)  # beside the regime's select
            show_domain_error(form, exc)
    return render_template(
        "waivers/drawdown_new.html",
        form=form,
        preview=preview,
        checked=checked if preview is not None else None,
        may_override=has_permission(current_user, Permission.OVERRIDE_DRAWDOWN),
    ), status if status != 200 else form_status(form)


def _load_entry(entry_id: int) -> DrawdownEntry:
    return get_or_404(DrawdownEntry, entry_id)


def render_entry(entry: DrawdownEntry, form: ReversalForm | None = None) -> Any:
    reversed_by = db.session.scalar(
        select(DrawdownEntry).where(DrawdownEntry.reverses_id == entry.id)
    )
    form = form or ReversalForm(formdata=None)
    may_reverse = can_access("ledger.reverse") and entry.reverses_id is None and reversed_by is None
    return render_template(
        "waivers/entry.html",
        entry=entry,
        screenings=entry_screenings(db.session, entry),
        reversed_by=reversed_by,
        form=form,
        may_reverse=may_reverse,
    ), form_status(form)


@ledger_bp.get("/<int:entry_id>", endpoint="detail")
@permission_required(Permission.VIEW_LEDGER)
def entry_detail(entry_id: int) -> Any:
    return render_entry(_load_entry(entry_id))


@ledger_bp.post("/<int:entry_id>/reversal")
@permission_required(Permission.RECORD_DRAWDOWN)
def reverse(entry_id: int) -> Any:
    entry = _load_entry(entry_id)
    form = ReversalForm()
    if form.validate_on_submit():
        try:
            reversal = ledger.reverse_entry(
                db.session, entry, reason=form.reason.data, actor=current_user, now=utcnow()
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(
                _("Entry %(seq)d reversed by entry %(by)d.", seq=entry.seq, by=reversal.seq),
                "success",
            )
            return redirect(url_for("ledger.detail", entry_id=reversal.id))
    return render_entry(_load_entry(entry_id), form)


# --- documents: the letter, the approval ----------------------------------------------------


def _waiver_record(waiver: Waiver) -> documents.Record:
    return documents.Record(
        RecordType.WAIVER,
        str(waiver.id),
        waiver.id,
        _("Waiver %(ref)s", ref=waiver.reference),
        url_for("waivers.detail", waiver_id=waiver.id),
    )


documents.register(
    RecordType.WAIVER,
    documents.RecordKind(
        Permission.VIEW_LEDGER,
        Permission.MANAGE_WAIVERS,
        *documents.by_id_key(lambda session, i: session.get(Waiver, i), _waiver_record),
        open=documents.open_existing,
    ),
)
