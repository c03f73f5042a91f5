from __future__ import annotations

from wtforms import SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from office.forms import Form
from office.i18n import _l
from office.inputs import DateField, IntegerField, StringField, TextAreaField
from office.repairs.labels import AREA_LABELS
from office.waivers.units import Unit, unit_name


class WorkOrderForm(Form):
    number = StringField(_l("Number"), validators=[DataRequired(), Length(max=40)])
    area = SelectField(
        _l("Area"),
        validators=[DataRequired()],
        choices=lambda: [SelectChoice(a.value, str(text)) for a, text in AREA_LABELS.items()],
    )
    room = StringField(_l("Room or place"), validators=[Length(max=80)])
    description = TextAreaField(_l("Work"), validators=[DataRequired(), Length(max=4000)])
    contractor = StringField(_l("Contractor"), validators=[Length(max=120)])
    budget_krw = StringField(
        _l("Budget, KRW"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "numeric"},
    )
    funding_decision = StringField(
        _l("Funding decision (council meeting)"), validators=[Length(max=80)]
    )
    planned_start = DateField(_l("Planned start"), validators=[InputRequired()])
    planned_end = DateField(_l("Planned end"), validators=[InputRequired()])


class StatusForm(Form):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    on = DateField(_l("On"), validators=[InputRequired()])


class ProgressForm(Form):
    progress = IntegerField(
        _l("Progress (percent done)"), validators=[InputRequired(), NumberRange(0, 100)]
    )


class MaterialForm(Form):
    resource = SelectField(_l("Material"), validators=[DataRequired()])
    quantity = StringField(
        _l("Quantity"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"inputmode": "decimal"},
    )
    unit = SelectField(_l("Unit"), choices=[SelectChoice(u.value, unit_name(u)) for u in Unit])
    used_on = DateField(_l("Used on"), validators=[InputRequired()])


class CostForm(Form):
    spent_on = DateField(_l("Date"), validators=[InputRequired()])
    # Its own id: the work order's description, edited on the same page, has "description".
    description = StringField(
        _l("For"), validators=[DataRequired(), Length(max=200)], id="cost_description"
    )
    amount_krw = StringField(
        _l("Amount, KRW"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "numeric"},
    )


class EquipmentForm(Form):
    lot = SelectField(_l("Equipment on site"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Length(max=200), Optional()])
