from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from office.forms import Form
from office.i18n import _l
from office.inputs import DateField, IntegerField, StringField
from office.staffing.checks import WEEKDAY_NAMES
from office.staffing.labels import (
    CATEGORY_LABELS,
    POSITION_LABELS,
    SHIFT_LABELS,
    SIDE_LABELS,
)
from office.staffing.services import MAX_PLAN_DAYS


def choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(code.value, str(label)) for code, label in labels.items()]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# Dates are InputRequired, not DataRequired: DataRequired would replace "Not a valid date value."
# (2018-02-30, year 0) with "This field is required." although the field was filled in.
class PersonForm(Form):
    name_ko = StringField(_l("Name in Korean"), validators=[DataRequired(), Length(max=60)])
    name_latin = StringField(_l("Name in Latin letters"), validators=[Length(max=100)])
    side = SelectField(
        _l("Side"), choices=lambda: choices(SIDE_LABELS), validators=[DataRequired()]
    )
    category = SelectField(
        _l("Category"), choices=lambda: choices(CATEGORY_LABELS), validators=[DataRequired()]
    )
    agency = StringField(_l("Agency"), validators=[Length(max=100)])
    position = SelectField(
        _l("Position"), choices=lambda: choices(POSITION_LABELS), validators=[DataRequired()]
    )
    is_duty_qualified = BooleanField(_l("Qualified for night duty"))
    active_from = DateField(_l("On the roster from"), validators=[InputRequired()])
    active_until = DateField(_l("On the roster until"), validators=[Optional()])


class StayForm(Form):
    first_day = DateField(_l("First day on site"), validators=[InputRequired()])
    last_day = DateField(_l("Last day on site"), validators=[InputRequired()])
    is_pinned = BooleanField(_l("Pinned (the planner keeps it)"))
    note = StringField(_l("Note"), validators=[Length(max=200)])


class DutyForm(Form):
    side = SelectField(choices=lambda: choices(SIDE_LABELS), validators=[DataRequired()])
    shift = SelectField(choices=lambda: choices(SHIFT_LABELS), validators=[DataRequired()])
    people = CheckboxesField(_l("On duty"), coerce=int, validators=[Optional()])


class RulesForm(Form):
    weekday_min = IntegerField(
        _l("Minimum on site, Monday to Friday"), validators=[InputRequired(), NumberRange(0, 500)]
    )
    weekend_min = IntegerField(
        _l("Minimum on site, Saturday and Sunday"),
        validators=[InputRequired(), NumberRange(0, 500)],
    )
    max_headcount = IntegerField(
        _l("Maximum on site"), validators=[InputRequired(), NumberRange(0, 500)]
    )
    counted_categories = CheckboxesField(
        _l("Counted toward the headcount"), choices=lambda: choices(CATEGORY_LABELS)
    )
    min_night_duty = IntegerField(
        _l("Night duty officers, at least"), validators=[InputRequired(), NumberRange(0, 50)]
    )
    max_consecutive_days = IntegerField(
        _l("Days on site in a row, at most"), validators=[InputRequired(), NumberRange(1, 366)]
    )
    min_stay_days = IntegerField(
        _l("Days on site in a row, at least"), validators=[InputRequired(), NumberRange(1, 366)]
    )
    crossing_weekdays = CheckboxesField(
        _l("Days people may cross (arrive or leave)"),
        coerce=int,
        choices=lambda: [SelectChoice(n, str(name)) for n, name in enumerate(WEEKDAY_NAMES)],
    )
    max_crossings_per_month = IntegerField(
        _l("Crossings per person a month, at most"),
        validators=[
            Optional(),
            NumberRange(1, 62, message=_l("Between 1 and 62, or blank for no limit.")),
        ],
    )
    min_rest_days = IntegerField(
        _l("Rest days between stays, at least"), validators=[InputRequired(), NumberRange(0, 60)]
    )
    applies_from = DateField(
        _l("Daily headcount and night duty count from"), validators=[InputRequired()]
    )


class PlanForm(Form):
    side = SelectField(
        _l("Side"), choices=lambda: choices(SIDE_LABELS), validators=[DataRequired()]
    )
    first_day = DateField(_l("First day"), validators=[InputRequired()])
    days = IntegerField(
        _l("Number of days"), validators=[InputRequired(), NumberRange(1, MAX_PLAN_DAYS)]
    )


class ImportForm(Form):
    file = FileField(_l("CSV file (UTF-8 or EUC-KR)"), validators=[FileRequired()])


class CrossingStatusForm(Form):
    status = SelectField(
        validators=[DataRequired()],
        choices=[SelectChoice("sent", "sent"), SelectChoice("accepted", "accepted")],
    )


class MonthForm(Form):
    class Meta:
        csrf = False

    month = StringField(validators=[Optional(), Length(max=7)])
