"""One strict parse for every input: the rules of `office.inputs`, and every form's fields held
to them.

Python's `int`, `Decimal` and `strptime` read full-width and Arabic-Indic digits, "1_000" and
"1e3"; PostgreSQL cannot store a NUL. Each form field that takes text, a number, a date or
a time comes from `office.inputs`, which refuses them, beside the field.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import wtforms
from flask_wtf import FlaskForm
from wtforms.validators import Length

import office
from office import create_app, inputs

# Touches no database: run in the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.database_free

LENIENT_NUMBERS = ["１２", "٣", "1_000", "1e3", " 1 2", "Infinity", "NaN", "0x10", "+5", "१२"]


@pytest.mark.parametrize("text", LENIENT_NUMBERS)
def test_a_number_not_in_ascii_digits_is_not_a_number(text):
    assert inputs.decimal_from(text) is None
    assert inputs.whole_from(text) is None
    assert inputs.id_from(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", Decimal(12)), ("1000.5", Decimal("1000.5")), ("-0.5", Decimal("-0.5"))],
)
def test_a_decimal_in_ascii_digits_is_read_exactly(text, value):
    assert inputs.decimal_from(text) == value


def test_thousands_are_grouped_by_commas_only_where_money_allows_it():
    assert inputs.decimal_from("1,000,000.25", grouping=True) == Decimal("1000000.25")
    assert inputs.decimal_from("1,000") is None
    for text in ("1,00", "10,00,000", ",100", "1,,000", "1_000"):
        assert inputs.decimal_from(text, grouping=True) is None, text


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("2147483647", 2**31 - 1), ("2147483648", None), ("0", None), ("", None)],
)
def test_an_id_is_within_the_databases_integer_range(text, value):
    assert inputs.id_from(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "20181031",
        "2018-W44-3",
        "2018-10-31T00:00",
        "2018-1-1",
        "２０１８-10-31",
        "2018-02-30",
        " 2018-10-31",
        "0001-01-01",
        "1999-12-31",
        "2100-01-01",
        "9999-12-31",
    ],
)
def test_a_day_is_written_yyyy_mm_dd_within_the_apps_range(text):
    assert inputs.day_from(text) is None


def test_the_apps_range_is_one_setting_that_its_patterns_agree_with():
    pattern = re.compile(inputs.DATE_PATTERN)
    for day in (inputs.FIRST_DAY, inputs.LAST_DAY, date(2018, 10, 31)):
        assert pattern.search(day.isoformat())
        assert inputs.day_from(day.isoformat()) == day
    for day in (inputs.FIRST_DAY - timedelta(days=1), inputs.LAST_DAY + timedelta(days=1)):
        assert not pattern.search(day.isoformat())
        assert inputs.day_from(day.isoformat()) is None
    month = re.compile(inputs.MONTH_PATTERN)
    assert month.search(inputs.FIRST_DAY.isoformat()[:7])
    assert month.search(inputs.LAST_DAY.isoformat()[:7])
    assert not month.search((inputs.FIRST_DAY - timedelta(days=1)).isoformat()[:7])
    assert not month.search((inputs.LAST_DAY + timedelta(days=1)).isoformat()[:7])


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2018-10", date(2018, 10, 1)),
        ("0001-01", None),
        ("9999-12", None),
        ("2018-13", None),
        ("2018-00", None),
        ("２０１８-10", None),
        ("2018-1", None),
        ("201810", None),
    ],
)
def test_a_month_is_written_yyyy_mm_within_the_apps_range(text, month):
    assert inputs.month_from(text) == month


@pytest.mark.parametrize(
    ("text", "line", "lines"),
    [
        ("plain text, 한국어", True, True),
        ("a\x00b", False, False),
        ("a\x01b", False, False),
        ("a\x7fb", False, False),
        ("a\x85b", False, False),
        ("a\tb", False, True),
        ("a\r\nb", False, True),
    ],
)
def test_text_holds_no_control_character_but_lines_may_hold_tabs_and_breaks(text, line, lines):
    assert (inputs.text_error(text) is None) is line
    assert (inputs.text_error(text, multiline=True) is None) is lines
    assert bool(re.search(inputs.LINE_PATTERN, text)) is line
    assert bool(re.search(inputs.MULTILINE_PATTERN, text)) is lines


# --- every form ---------------------------------------------------------------------------


def _form_classes() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(office.__path__, "office."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("office."):
            found.append(cls)
    return sorted(set(found), key=lambda c: (c.__module__, c.__qualname__))


def _fields(kinds: tuple[type, ...], but: tuple[type, ...] = ()) -> list:
    params = []
    for form_class in _form_classes():
        for name in dir(form_class):
            unbound = getattr(form_class, name)
            if (
                isinstance(unbound, wtforms.fields.core.UnboundField)
                and issubclass(unbound.field_class, kinds)
                and not issubclass(unbound.field_class, but)
            ):
                params.append(
                    pytest.param(
                        form_class, name, id=f"{form_class.__module__}.{form_class.__name__}.{name}"
                    )
                )
    return params


# A password is hashed, never stored or shown: any character may be in it.
TEXT_FIELDS = _fields((wtforms.StringField,), but=(wtforms.PasswordField,))
PARSED_FIELDS = _fields((wtforms.DateField, wtforms.IntegerField, wtforms.TimeField))
LENIENT_WTFORMS = {
    wtforms.StringField,
    wtforms.TextAreaField,
    wtforms.EmailField,
    wtforms.HiddenField,
    wtforms.SearchField,
    wtforms.DateField,
    wtforms.DateTimeField,
    wtforms.DateTimeLocalField,
    wtforms.TimeField,
    wtforms.IntegerField,
    wtforms.DecimalField,
    wtforms.FloatField,
    wtforms.IntegerRangeField,
    wtforms.DecimalRangeField,
}


def test_the_forms_have_text_and_date_fields_to_check():
    assert len(TEXT_FIELDS) > 60
    assert len(PARSED_FIELDS) > 30


@pytest.mark.parametrize(("form_class", "name"), [*TEXT_FIELDS, *PARSED_FIELDS])
def test_every_form_field_comes_from_the_one_strict_module(form_class, name):
    field_class = getattr(form_class, name).field_class
    assert field_class not in LENIENT_WTFORMS, f"import {field_class.__name__} from office.inputs"
    assert field_class.__module__ == "office.inputs"


@pytest.mark.parametrize(("form_class", "name"), TEXT_FIELDS)
def test_every_text_field_is_bounded(form_class, name):
    unbound = getattr(form_class, name)
    if issubclass(unbound.field_class, wtforms.HiddenField):
        return  # set by the page, never typed: safe_next and the views read it
    validators = unbound.kwargs.get("validators") or (
        unbound.args[1] if len(unbound.args) > 1 else []
    )
    assert any(isinstance(v, Length) and v.max > 0 for v in validators), (
        f"{name} needs Length(max=…)"
    )


@pytest.fixture(scope="module")
def forms_app():
    """An app to bind forms in; no database is reached."""
    return create_app({"SECRET_KEY": "x" * 64, "OFFICE_DATABASE_URL": "sqlite://"}, TESTING=True)


def _errors(app, form_class, name, value) -> list[str]:
    """Bind `form_class` to a request holding `value` for field `name`; validate that field."""
    with app.test_request_context(
        method="POST", data={name: value}, headers={"Accept-Language": "en"}
    ):
        form = form_class(meta={"csrf": False})
        field = form[name]
        field.validate(form)
        return [str(message) for message in field.errors]


@pytest.mark.parametrize(("form_class", "name"), TEXT_FIELDS)
def test_every_text_field_refuses_a_nul_beside_it(forms_app, form_class, name):
    errors = _errors(forms_app, form_class, name, "a\x00b")
    assert any("control character" in message for message in errors), errors


LENIENT = {
    wtforms.DateField: ["２０１８-10-01", "2018-1-1", "20181001", "0001-01-01", "9999-12-31"],
    wtforms.IntegerField: ["１２", "٣", "1_000", "1e3"],
    wtforms.TimeField: ["１２:００", "9:05", "09:05:60"],
}


@pytest.mark.parametrize(("form_class", "name"), PARSED_FIELDS)
def test_every_date_number_and_time_field_refuses_what_is_not_ascii_or_in_range(
    forms_app, form_class, name
):
    field_class = getattr(form_class, name).field_class
    for kind, values in LENIENT.items():
        if issubclass(field_class, kind):
            for value in values:
                assert _errors(forms_app, form_class, name, value), f"{name} took {value!r}"
