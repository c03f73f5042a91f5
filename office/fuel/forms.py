from __future__ import annotations

from wtforms import BooleanField, SelectChoice, SelectField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from office.errors import InvalidInput
from office.forms import Form
from office.fuel.models import FuelUse, MeterSource
from office.i18n import _l
from office.inputs import DateField, IntegerField, StringField, TextAreaField, TimeField
from office.waivers.forms import RegimeLines
from office.waivers.units import parse_quantity, unit_name


class IsQuantity:
    """Refuse, beside the field, what the services would not read as a quantity."""

    def __init__(self, *, allow_zero: bool) -> None:
        self.allow_zero = allow_zero

    def __call__(self, form: Form, field: StringField) -> None:
        try:
            parse_quantity(field.data, allow_zero=self.allow_zero)
        except InvalidInput as exc:
            raise ValidationError(str(exc)) from None


def _quantity(label: object, required: bool = True, *, allow_zero: bool = False) -> StringField:
    validators = [DataRequired()] if required else [Optional()]
    return StringField(
        label,
        validators=[*validators, Length(max=40), IsQuantity(allow_zero=allow_zero)],
        render_kw={"inputmode": "decimal"},
    )


def _correction() -> TextAreaField:
    return TextAreaField(
        _l("Reason for the correction (the day is signed off)"), validators=[Length(max=2000)]
    )


USE_LABELS = {
    FuelUse.GENERATOR: _l("generator"),
    FuelUse.BOILER: _l("heating boiler"),
    FuelUse.VEHICLE: _l("vehicle"),
}
SOURCE_LABELS = {
    MeterSource.GRID_SOUTH: _l("South's grid (waiver line)"),
    MeterSource.GENERATOR: _l("generator"),
}


class TankForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    product = SelectField(_l("Product"), validators=[DataRequired()])
    capacity = _quantity(_l("Capacity"))
    tolerance = _quantity(
        _l("Dip tolerance (default: 1 percent of the capacity)"), required=False, allow_zero=True
    )
    location = StringField(_l("Location"), validators=[Length(max=120)])
    opening = _quantity(_l("Stock in it now"), required=False, allow_zero=True)
    opened_on = DateField(_l("As of"), validators=[DataRequired()])


class ReceiptForm(RegimeLines, Form):
    """A fuel receipt; one "line_<code>" select per regime in force that controls a tank's
    product (`office.waivers.forms.with_regime_lines`)."""

    tank = SelectField(_l("Tank"), validators=[DataRequired()])
    quantity = _quantity(_l("Quantity"))
    unit = SelectField(
        _l("Unit"), choices=[SelectChoice(u, unit_name(u)) for u in ("L", "bbl", "t", "kg")]
    )
    parties = StringField(_l("Supplier and carrier"), validators=[Length(max=200)])
    note = StringField(_l("Note"), validators=[Length(max=500)])
    override_reason = TextAreaField(
        _l("Reason to record it anyway (flags it for ministry review)"),
        validators=[Length(max=2000)],
    )
    correction_reason = _correction()


class IssueForm(Form):
    tank = SelectField(_l("Tank"), validators=[DataRequired()])
    quantity = _quantity(_l("Litres"))
    use = SelectField(
        _l("For"),
        validators=[DataRequired()],
        choices=lambda: [SelectChoice(use.value, str(label)) for use, label in USE_LABELS.items()],
    )
    generator = SelectField(_l("Generator"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Length(max=500)])
    correction_reason = _correction()


class ReturnForm(Form):
    tank = SelectField(_l("Tank"), validators=[DataRequired()])
    quantity = _quantity(_l("Litres"))
    parties = StringField(_l("Carrier"), validators=[Length(max=200)])
    note = StringField(_l("Note"), validators=[Length(max=500)])
    correction_reason = _correction()


class DipForm(Form):
    tank = SelectField(_l("Tank"), validators=[DataRequired()])
    measured = _quantity(_l("Measured litres"), allow_zero=True)
    at = TimeField(_l("Time"), validators=[DataRequired()])
    correction_reason = _correction()


class GeneratorHoursForm(Form):
    generator = SelectField(_l("Generator"), validators=[DataRequired()])
    hours = _quantity(_l("Run-hour meter"), allow_zero=True)
    at = TimeField(_l("Time"), validators=[DataRequired()])
    correction_reason = _correction()


class MeterReadingForm(Form):
    meter = SelectField(_l("Meter"), validators=[DataRequired()])
    value = _quantity(_l("Register"), allow_zero=True)
    unit = StringField(_l("Unit"), default="kWh", validators=[Length(max=10)])
    at = TimeField(_l("Time"), validators=[DataRequired()])
    rolled_over = BooleanField(_l("The register rolled over to zero"))
    override_reason = TextAreaField(
        _l("Reason to record it anyway (flags it for ministry review)"),
        validators=[Length(max=2000)],
    )
    correction_reason = _correction()


class NotesForm(Form):
    incidents = TextAreaField(_l("Incidents"), validators=[Length(max=10000)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=10000)])
    correction_reason = _correction()


class VoidForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class GeneratorForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    rated_lph = _quantity(_l("Rated consumption, litres per hour"))
    tank = SelectField(_l("Fed from tank"), validators=[Optional()])


class MeterForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    source = SelectField(
        _l("Source"),
        validators=[DataRequired()],
        choices=lambda: [SelectChoice(s.value, str(label)) for s, label in SOURCE_LABELS.items()],
    )
    waiver_line_id = SelectField(_l("Waiver line (grid only)"), validators=[Optional()])
    digits = IntegerField(
        _l("Digits on the register"), validators=[InputRequired(), NumberRange(1, 12)]
    )
    multiplier = _quantity(_l("kWh per register unit"))
    installed_on = DateField(_l("Installed on"), validators=[DataRequired()])
    installed_at = TimeField(_l("at"), validators=[DataRequired()])
    first_value = _quantity(_l("First reading"), allow_zero=True)
    correction_reason = _correction()


class ReplaceMeterForm(Form):
    final_value = _quantity(_l("Final reading of the old meter"), allow_zero=True)
    final_rolled_over = BooleanField(_l("The old register rolled over to zero"))
    replaced_on = DateField(_l("Replaced on"), validators=[DataRequired()])
    replaced_at = TimeField(_l("at"), validators=[DataRequired()])
    name = StringField(_l("Name of the new meter"), validators=[DataRequired(), Length(max=80)])
    digits = IntegerField(
        _l("Digits on the new register"), validators=[InputRequired(), NumberRange(1, 12)]
    )
    multiplier = _quantity(_l("kWh per register unit"))
    first_value = _quantity(_l("First reading of the new meter"), allow_zero=True)
    correction_reason = _correction()


class PeriodForm(Form):
    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


# What each line of a day's history says.
ACTION_LABELS = {
    "notes_saved": _l("incidents and notes saved"),
    "signed_off": _l("signed off"),
    "fuel_received": _l("fuel received"),
    "fuel_issued": _l("fuel issued"),
    "fuel_returned": _l("fuel returned south"),
    "receipt_voided": _l("receipt voided"),
    "issue_voided": _l("issue voided"),
    "return_voided": _l("return voided"),
    "dip_reading": _l("dip reading"),
    "generator_hours": _l("generator run hours"),
    "meter_installed": _l("meter installed"),
    "meter_reading": _l("meter reading"),
    "meter_reading_voided": _l("meter reading voided"),
}
