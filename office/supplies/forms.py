from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import BooleanField, SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from office.forms import Form
from office.i18n import _l
from office.inputs import DateField, StringField, TextAreaField
from office.supplies.labels import APPROVAL_LABELS, DIRECTION_LABELS
from office.supplies.models import ApprovalType
from office.waivers.forms import own_unit_choices


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(code.value, str(text)) for code, text in labels.items()]


def _amount(label: object, required: bool = False) -> StringField:
    return StringField(
        label,
        validators=[DataRequired() if required else Optional(), Length(max=40)],
        render_kw={"inputmode": "decimal"},
    )


class DeliveryForm(Form):
    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=60)])
    direction = SelectField(
        _l("Direction"), choices=lambda: _choices(DIRECTION_LABELS), validators=[DataRequired()]
    )
    planned_on = DateField(_l("Planned for"), validators=[InputRequired()])
    crossing_point = StringField(_l("Crossing point"), validators=[Length(max=80)])
    carrier = StringField(_l("Carrier"), validators=[Length(max=120)])
    vehicles = StringField(_l("Vehicles"), validators=[Length(max=200)])
    # North-bound: one of the ministry's approvals (choices filled by the view); south-bound:
    # the carry-in approval's number and type, as typed.
    approval_waiver_id = SelectField(
        _l("Ministry carry-out approval (north-bound)"), validators=[Optional()]
    )
    approval_number = StringField(
        _l("Ministry carry-in approval number (south-bound)"), validators=[Length(max=60)]
    )
    approval_type = SelectField(
        _l("Carry-in approval (south-bound)"),
        choices=lambda: _choices(APPROVAL_LABELS),
        default=ApprovalType.INDIVIDUAL.value,
        validators=[Optional()],
    )
    customs_declaration = StringField(_l("Customs declaration number"), validators=[Length(max=60)])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class LineForm(Form):
    resource = SelectField(_l("Resource"), validators=[Optional()])
    description = StringField(_l("Description"), validators=[Length(max=200)])
    hs_code = StringField(_l("HS code (if not the resource's)"), validators=[Length(max=20)])
    hs_code_reason = StringField(_l("Why the HS code differs"), validators=[Length(max=2000)])
    quantity = _amount(_l("Quantity"), required=True)
    unit = SelectField(
        _l("Unit"),
        choices=own_unit_choices,
        validators=[Optional()],
        render_kw={"data-unit-of": "resource"},
    )
    gross_weight_kg = _amount(_l("Gross weight, kg"))
    unit_value_krw = _amount(_l("Unit value, KRW"))
    unit_value_usd = _amount(_l("Unit value, USD"))
    purpose = SelectField(_l("Purpose"), validators=[DataRequired()])
    waiver_line_id = SelectField(
        _l("Waiver line"), validators=[Optional()], render_kw={"data-lines-of": "resource"}
    )
    must_return = BooleanField(_l("Must come back (equipment taken in for a while)"))
    return_due_on = DateField(_l("Back by"), validators=[Optional()])
    override_reason = TextAreaField(
        _l("Reason to let it cross anyway if it is not covered (flags it for review)"),
        validators=[Length(max=2000)],
    )


class ReturnLineForm(Form):
    lot = SelectField(_l("Lot on site"), validators=[DataRequired()])
    quantity = _amount(_l("Quantity"), required=True)


class DayForm(Form):
    on = DateField(_l("Date"), validators=[InputRequired()])


class ReceiveForm(DayForm):
    """The day a delivery was received and, for each north-bound line, the store it goes
    into: one select per line, named by `receive_form`."""


def receive_form(stores: Sequence[tuple[str, str]], **kwargs: Any) -> ReceiveForm:
    """Return a ReceiveForm with a store select for each (field name, label) of `stores`;
    left empty, a line goes where the service suggests."""
    fields = {name: SelectField(text, validators=[Optional()]) for name, text in stores}
    form_class: type[ReceiveForm] = type("ReceiveForm", (ReceiveForm,), fields)
    return form_class(**kwargs)


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
