from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar

from wtforms import BooleanField, SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from office.forms import Form
from office.i18n import _l
from office.inputs import DateField, HiddenField, StringField, TextAreaField
from office.waivers.labels import (
    AUTHORITY_LABELS,
    CLASSIFICATION_LABELS,
    CONTROL_LABELS,
    NOT_CHECKED_LABEL,
    PETROLEUM_KIND_LABELS,
    PURPOSE_LABELS,
    STATUS_LABELS,
    shown_status,
)
from office.waivers.models import AUTHORITY_REGIMES, Regime, Resource, WaiverLine
from office.waivers.services import line_usage
from office.waivers.units import Unit, format_amount, unit_name


def choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(code.value, str(label)) for code, label in labels.items()]


def unit_choices() -> list[SelectChoice]:
    return [SelectChoice(unit.value, unit_name(unit)) for unit in Unit]


def own_unit_choices() -> list[SelectChoice]:
    """The units after a first, default choice that means the chosen resource's own unit, so
    that a form left as it came asks for kilograms of copper, not litres."""
    return [SelectChoice("", str(_l("the resource's own unit"))), *unit_choices()]


def chosen_unit(value: str | None, resource: Resource) -> Unit:
    """The unit a form asked for (one of its choices): the resource's own when left at the
    default."""
    return Unit(value) if value else resource.unit


def resource_label(resource: Resource, locale: str) -> str:
    return f"{resource.code} · {resource.name(locale)} ({unit_name(resource.unit)})"


def resource_choices(
    resources: Iterable[Resource], locale: str, blank: str | None = None
) -> list[SelectChoice]:
    """The resources, each carrying its unit for the page's script (static/js/forms.js)."""
    options = [
        SelectChoice(str(r.id), resource_label(r, locale), render_kw={"data-unit": r.unit.value})
        for r in resources
    ]
    return [SelectChoice("", blank), *options] if blank is not None else options


def waiver_line_choices(
    lines: Iterable[WaiverLine],
    *,
    day: date,
    locale: str,
    blank: str,
    detail: Callable[[WaiverLine], str] | None = None,
) -> list[SelectChoice]:
    """The waiver lines grouped by resource (one <optgroup> each), each saying its waiver's
    status on `day`, so that the lines of the resource chosen are found without a script;
    with one, the other resources' lines are hidden (static/js/forms.js)."""
    options = [SelectChoice("", blank)]
    ordered = sorted(
        lines, key=lambda line: (line.resource.code, line.waiver.reference, line.line_no)
    )
    for line in ordered:
        shown = shown_status(line.waiver, day, line.waiver.status)
        parts = [line.waiver.reference, str(line.line_no), line.resource.code]
        if detail is not None:
            parts.append(detail(line))
        if shown is not None:
            parts.append(shown.text)
        options.append(
            SelectChoice(
                str(line.id),
                " · ".join(parts),
                render_kw={"data-resource": str(line.resource_id)},
                optgroup=resource_label(line.resource, locale),
            )
        )
    return options


def regime_line_choices(
    lines: Iterable[WaiverLine], *, day: date, locale: str
) -> list[SelectChoice]:
    """The lines a form offers under one regime (`waiver_line_choices`), each with what it
    has left, after a blank choice: no line, the regime's standing authorisation."""

    def left(line: WaiverLine) -> str:
        usage = line_usage(line)
        if usage.remaining is None:
            return str(_l("not granted"))
        return str(_l("%(q)s left", q=format_amount(usage.remaining, line.unit)))

    return waiver_line_choices(
        lines,
        day=day,
        locale=locale,
        blank=str(_l("No line: its standing authorisation, if any")),
        detail=left,
    )


def petroleum_kind_choices() -> list[SelectChoice]:
    """The kinds of petroleum product, after a first choice that takes it from the HS code."""
    return [SelectChoice("", str(_l("From the HS code"))), *choices(PETROLEUM_KIND_LABELS)]


def _quantity(label: object, required: bool = True) -> StringField:
    validators = [DataRequired()] if required else [Optional()]
    return StringField(
        label, validators=[*validators, Length(max=40)], render_kw={"inputmode": "decimal"}
    )


def _or(default: str) -> Callable[[object], str]:
    """A filter that reads a field left empty as `default`."""

    def fill(value: object) -> str:
        text = "" if value is None else str(value).strip()
        return text or default

    return fill


class ResourceForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_ko = StringField(_l("Name (Korean)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
    hs_code = StringField(_l("HS code"), validators=[DataRequired(), Length(max=20)])
    unit = SelectField(_l("Unit"), choices=unit_choices, validators=[DataRequired()])
    barrels_per_tonne = _quantity(_l("Barrels per tonne (petroleum only)"), required=False)
    # Blank (or not sent): the kind its HS code names.
    petroleum_kind = SelectField(
        _l("Kind of petroleum product"),
        choices=petroleum_kind_choices,
        validators=[Optional()],
        filters=[lambda value: value or ""],
    )
    # Left empty, goods made in Korea with no US content (the service checks the values).
    origin = StringField(
        _l("Country of origin"),
        validators=[Length(max=20)],
        filters=[_or("KR")],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    us_content_percent = StringField(
        _l("US content (%)"),
        validators=[Length(max=20)],
        filters=[_or("0")],
        render_kw={"inputmode": "decimal"},
    )


class RegimeForm(Form):
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
    name_ko = StringField(_l("Name (Korean)"), validators=[Length(max=120)])
    in_force = BooleanField(_l("In force: drawdowns are screened under it"))
    default_control = SelectField(
        _l("Control of goods no rule names"),
        choices=lambda: choices(CONTROL_LABELS),
        validators=[DataRequired()],
    )
    # Shown and read for the US regime only (`Regime.us_content_rule`).
    us_content_threshold = StringField(
        _l("US content above which it applies (%)"),
        validators=[Length(max=20)],
        render_kw={"inputmode": "decimal"},
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class HsRuleForm(Form):
    regime = SelectField(_l("Regime"), validators=[DataRequired()])
    prefix = StringField(_l("HS prefix"), validators=[DataRequired(), Length(max=20)])
    control = SelectField(
        _l("Control"), choices=lambda: choices(CONTROL_LABELS), validators=[DataRequired()]
    )
    note = StringField(_l("Note"), validators=[Length(max=200)])


# A waiver's `standing`: as its authority has it (blanket approvals stand), or said outright.
STANDING_CHOICES = {"": None, "yes": True, "no": False}


def standing_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", str(_l("As its authority has it: only blanket approvals stand"))),
        *edit_standing_choices(),
    ]


def edit_standing_choices() -> list[SelectChoice]:
    """Whether a waiver already made stands: said outright."""
    return [
        SelectChoice("yes", str(_l("Standing: drawn on when a drawdown names no line"))),
        SelectChoice("no", str(_l("Not standing: drawn on only when a drawdown names its line"))),
    ]


def standing_code(standing: bool) -> str:
    """The choice that says `standing`."""
    return "yes" if standing else "no"


class WaiverEditForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    purpose = TextAreaField(_l("Purpose"), validators=[Length(max=2000)])
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    # The waiver's `standing` (a bool) is no choice's value: the page sets it with
    # `standing_code`, not from the waiver.
    standing = SelectField(
        _l("Standing authorisation"),
        choices=edit_standing_choices,
        validators=[InputRequired(_l("Choose whether the waiver is standing."))],
    )


def authority_choices(regime_names: dict[str, str]) -> list[SelectChoice]:
    """The authorities, grouped under the regime each grants under (`regime_names`: each
    regime's name by code, in screening order)."""
    order = list(regime_names)
    ranked = sorted(
        AUTHORITY_LABELS.items(),
        key=lambda item: (
            order.index(AUTHORITY_REGIMES[item[0]])
            if AUTHORITY_REGIMES[item[0]] in order
            else len(order)
        ),
    )
    return [
        SelectChoice(
            code.value,
            str(text),
            optgroup=regime_names.get(AUTHORITY_REGIMES[code], AUTHORITY_REGIMES[code]),
        )
        for code, text in ranked
    ]


class WaiverForm(WaiverEditForm):
    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=60)])
    authority = SelectField(
        _l("Authority"), choices=lambda: choices(AUTHORITY_LABELS), validators=[DataRequired()]
    )
    standing = SelectField(
        _l("Standing authorisation"),
        choices=standing_choices,
        default="",
        validators=[Optional()],
    )


class LineForm(Form):
    resource = SelectField(_l("Resource"), validators=[DataRequired()])
    unit = SelectField(
        _l("Unit"),
        choices=own_unit_choices,
        validators=[Optional()],
        render_kw={"data-unit-of": "resource"},
    )
    requested_quantity = _quantity(_l("Requested quantity"))
    granted_quantity = _quantity(_l("Granted quantity (the cap)"), required=False)
    value_cap_usd = _quantity(_l("Value cap in USD (optional)"), required=False)


class GrantForm(Form):
    granted_quantity = _quantity(_l("Granted quantity"), required=False)


class StatusForm(Form):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    # InputRequired, not DataRequired, so a date that does not exist is named as such.
    effective_on = DateField(_l("Effective on"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class RegimeLines:
    """A form that names one authorisation line per regime: a "line_<code>" select for each
    of `regimes` (`with_regime_lines`)."""

    regimes: list[Regime] = []

    def regime_fields(self) -> list[tuple[Regime, SelectField]]:
        return [(regime, self[line_field(regime)]) for regime in self.regimes]  # type: ignore[index]

    def chosen_lines(self) -> list[int]:
        """The ids of the lines chosen, one per regime at most."""
        return [int(field.data) for _, field in self.regime_fields() if field.data]


def line_field(regime: Regime) -> str:
    return f"line_{regime.code}"


def line_field_of(field: str | None) -> str | None:
    """The form's field for a service's field: a regime's select ("line_<code>") for the
    line named under it (`authorisations.<code>`), else the same."""
    if field is not None and field.startswith("authorisations."):
        return f"line_{field.removeprefix('authorisations.')}"
    return field


F = TypeVar("F", bound=RegimeLines)


def with_regime_lines(form_class: type[F], regimes: Iterable[Regime], *, lines_of: str) -> type[F]:
    """`form_class` with a waiver-line select for each of `regimes`, its lines narrowed by
    the page's script to those of the resource chosen in the select named `lines_of`
    (static/js/forms.js); the choices are the view's (`regime_line_choices`)."""

    class PerRegime(form_class):  # type: ignore[valid-type,misc]
        pass

    for regime in regimes:
        setattr(
            PerRegime,
            line_field(regime),
            SelectField(
                regime.shown_name,
                validators=[Optional()],
                invalid_choice_message=_l(
                    "Choose one of the lines listed under %(regime)s, or none.",
                    regime=regime.shown_name,
                ),
                render_kw={"data-lines-of": lines_of},
            ),
        )
    PerRegime.regimes = list(regimes)
    return PerRegime


class DrawdownForm(RegimeLines, Form):
    """A drawdown; one "line_<code>" select per regime in force (`drawdown_form`)."""

    resource = SelectField(_l("Resource"), validators=[DataRequired()])
    quantity = _quantity(_l("Quantity"))
    unit = SelectField(
        _l("Unit"),
        choices=own_unit_choices,
        validators=[Optional()],
        render_kw={"data-unit-of": "resource"},
    )
    occurred_on = DateField(_l("Date"), validators=[InputRequired()])
    purpose = SelectField(
        _l("Purpose"), choices=lambda: choices(PURPOSE_LABELS), validators=[DataRequired()]
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    override_reason = TextAreaField(
        _l("Reason to record it anyway (flags it for ministry review)"),
        validators=[Length(max=2000)],
    )
    action = HiddenField()


def drawdown_form(regimes: list[Regime]) -> DrawdownForm:
    """The drawdown form with a waiver-line select for each regime in `regimes`."""
    return with_regime_lines(DrawdownForm, regimes, lines_of="resource")()


class ReversalForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


def _any(label: object) -> SelectChoice:
    return SelectChoice("", str(label))


class LedgerFilterForm(Form):
    class Meta:
        csrf = False

    waiver = SelectField(_l("Waiver"), validators=[Optional()])
    resource = SelectField(_l("Resource"), validators=[Optional()])
    classification = SelectField(
        _l("Classification"),
        choices=lambda: [_any(_l("any")), *choices(CLASSIFICATION_LABELS)],
        validators=[Optional()],
    )
    flagged = SelectField(
        _l("Flagged"),
        choices=lambda: [
            _any(_l("any")),
            SelectChoice("yes", str(_l("flagged"))),
            SelectChoice("no", str(_l("not flagged"))),
        ],
        validators=[Optional()],
    )
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    # Regimes by code; the view gives the choices (the regimes are rows).
    regime = SelectField(_l("Regime"), validators=[Optional()])
    regime_classification = SelectField(
        _l("Under that regime"),
        choices=lambda: [
            _any(_l("any")),
            *choices(CLASSIFICATION_LABELS),
            SelectChoice("not_checked", str(NOT_CHECKED_LABEL)),
        ],
        validators=[Optional()],
    )
    covered_under = SelectField(_l("Covered under"), validators=[Optional()])
    not_covered_under = SelectField(_l("Not covered under"), validators=[Optional()])

    def validate_regime_classification(self, field: SelectField) -> None:
        if field.data and not self.regime.data:
            raise ValidationError(_l("Choose the regime it is classified under."))

    def validate_not_covered_under(self, field: SelectField) -> None:
        if field.data and field.data == self.covered_under.data:
            raise ValidationError(_l("Choose a regime other than the one it is covered under."))


def regime_choices(regimes: Iterable[Regime], locale: str, blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank), *[SelectChoice(r.code, r.name(locale)) for r in regimes]]


# --- what-if screening (office.waivers.screening) -------------------------------------------


class ScreeningForm(Form):
    """An item to screen, sent by GET so that a result can be bookmarked and shared; its
    fields are named as the API's (POST /api/v1/screenings)."""

    class Meta:
        csrf = False

    hs_code = StringField(_l("HS code"), validators=[DataRequired(), Length(max=20)])
    origin = StringField(_l("Origin"), validators=[DataRequired(), Length(max=10)], default="KR")
    us_content_percent = StringField(
        _l("US content (%)"),
        validators=[DataRequired(), Length(max=20)],
        default="0",
        render_kw={"inputmode": "decimal"},
    )
    quantity = _quantity(_l("Quantity"))
    unit = SelectField(_l("Unit"), choices=unit_choices, validators=[DataRequired()])
    occurred_on = DateField(_l("Date"), validators=[InputRequired()])


def status_choices(allowed: frozenset) -> list[SelectChoice]:
    return [SelectChoice(s.value, str(STATUS_LABELS[s])) for s in STATUS_LABELS if s in allowed]
