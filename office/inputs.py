"""Every input, one strict parse: the rules that text, numbers, dates and ids from outside obey,
whether they come through a form, the API, a CSV import, a query string or the URL's path.

- Numbers are written in ASCII digits: Python's `int` and `Decimal` also read full-width and
  Arabic-Indic digits, "1_000", "1e3" and "Infinity", which nobody means as a quantity.
- Dates are YYYY-MM-DD in ASCII digits, real, and within the app's range, FIRST_DAY to LAST_DAY
  (one setting; nothing the office records lies outside it).
- Ids are within the database's INTEGER range: a larger one names nothing, and PostgreSQL
  refuses to compare an INTEGER column with it.
- Text holds no control character: PostgreSQL cannot store a NUL, and none is ever typed on
  purpose. Multi-line text may hold tab, line feed and carriage return (a browser sends a
  text area's lines as CR LF).

Forms import their field types from here, not from WTForms (a test checks every form); the
API's schemas build their types from the patterns and parsers here (`office.api.schemas`);
`init_app` bounds the URL converters and refuses control characters in query strings.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import wtforms
from flask import Flask, request
from werkzeug.routing import IntegerConverter, UnicodeConverter
from wtforms.validators import StopValidation

from office.errors import InvalidInput
from office.i18n import _l

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
# Primary keys are INTEGER columns: 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1
# A whole number of more digits than this is no count or amount the office keeps.
MAX_WHOLE_DIGITS = 18

# The same rules as JSON Schema (ECMA-262) patterns, for the OpenAPI document. Python's `re`
# reads them alike; `[0-9]` is ASCII in both, unlike `\d`.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
INTEGER_PATTERN = r"^-?[0-9]{1,18}$"
ID_PATTERN = r"^[1-9][0-9]{0,9}$"
# FIRST_DAY to LAST_DAY is the years 2000 to 2099 (a test checks the two agree).
DATE_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
MULTILINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_GROUPED_DECIMAL = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_WHOLE = re.compile(rf"-?[0-9]{{1,{MAX_WHOLE_DIGITS}}}")
_ID = re.compile(r"[0-9]{1,10}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}")
# C0 controls, DEL and C1 controls: Unicode's category Cc.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# --- text ---------------------------------------------------------------------------------


def text_error(text: str | None, *, multiline: bool = False) -> Any:
    """Return why `text` cannot be taken (a lazy message), or None if it can."""
    if not isinstance(text, str) or not text:
        return None  # a field filled from an object may hold a number
    if (_CONTROL_IN_LINES if multiline else _CONTROL).search(text) is None:
        return None
    if multiline:
        return _l("Remove the control character (such as a NUL) from this text.")
    return _l("Remove the control character (such as a NUL, a tab or a line break) from this text.")


def check_text(
    text: str, *, field: str | None = None, max_length: int, multiline: bool = False
) -> str:
    """Return `text` when it is at most `max_length` characters and holds no control
    character; raise InvalidInput naming `field` otherwise."""
    problem = text_error(text, multiline=multiline)
    if problem is not None:
        raise InvalidInput(problem, field)
    if len(text) > max_length:
        raise InvalidInput(_l("Write at most %(n)d characters.", n=max_length), field)
    return text


# --- numbers ------------------------------------------------------------------------------


def decimal_from(text: str, *, grouping: bool = False) -> Decimal | None:
    """Return `text` ("1000.5", "-3") as a Decimal, or None unless it is written in ASCII
    digits with an optional minus and decimal point; with `grouping`, thousands may be
    separated by commas ("1,000.5")."""
    if _DECIMAL.fullmatch(text):
        return Decimal(text)
    if grouping and _GROUPED_DECIMAL.fullmatch(text):
        return Decimal(text.replace(",", ""))
    return None


def whole_from(text: str) -> int | None:
    """Return `text` ("12", "-3") as an int, or None unless it is ASCII digits (at most
    eighteen) with an optional minus."""
    return int(text) if _WHOLE.fullmatch(text) else None


def id_from(text: str | None) -> int | None:
    """Return `text` as a row id, or None unless it is ASCII digits from 1 to MAX_ID."""
    if not text or not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


# --- dates --------------------------------------------------------------------------------


def in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def range_message() -> Any:
    return _l(
        "Enter a date between %(first)s and %(last)s.",
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
    )


def check_day(day: date | None, field: str | None = None) -> None:
    """Raise InvalidInput naming `field` when `day` lies outside FIRST_DAY to LAST_DAY."""
    if day is not None and not in_range(day):
        raise InvalidInput(range_message(), field)


def date_from(text: str | None) -> date | None:
    """Return `text` as a date if it is a real one written YYYY-MM-DD in ASCII digits
    (whatever its year), else None."""
    if not text or not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_from(text: str | None) -> date | None:
    """Return `text` as a date written YYYY-MM-DD within the app's range, else None."""
    day = date_from(text)
    return day if day is not None and in_range(day) else None


def month_from(text: str | None) -> date | None:
    """Return the first day of the month written YYYY-MM in `text`, within the app's range,
    else None."""
    if not text or not _MONTH.fullmatch(text):
        return None
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        return None
    first = date(year, month, 1) if year >= 1 else None
    return first if first is not None and in_range(first) else None


def read_date(text: str, field: str | None = None) -> date:
    """Return `text` as a date in the app's range; raise InvalidInput naming `field`."""
    day = date_from(text.strip())
    if day is None:
        raise InvalidInput(_l("Write the date as YYYY-MM-DD, for example 2018-10-31."), field)
    check_day(day, field)
    return day


# --- form fields --------------------------------------------------------------------------
# Named as WTForms names them, so a form module swaps its import and nothing else.

# WTForms' own messages, which its catalogue translates (kept out of ours).
_NOT_A_DATE = "Not a valid date value."
_NOT_A_TIME = "Not a valid time value."
_NOT_A_WHOLE_NUMBER = "Not a valid integer value."


class _Text:
    """A text field that refuses control characters beside the field, before any other
    validator runs (DataRequired would otherwise replace the message)."""

    multiline = False
    data: Any

    def pre_validate(self, form: Any) -> None:
        problem = text_error(self.data, multiline=self.multiline)
        if problem is not None:
            raise StopValidation(str(problem))


class StringField(_Text, wtforms.StringField):
    """One line of text."""


class EmailField(_Text, wtforms.EmailField):
    """An e-mail address: one line of text."""


class HiddenField(_Text, wtforms.HiddenField):
    """A value the page carries: one line of text."""


class TextAreaField(_Text, wtforms.TextAreaField):
    """Lines of text: tab, line feed and carriage return allowed."""

    multiline = True


class _Parsed:
    """A field whose text parses into a value: a value that does not parse (or is refused)
    stops validation there, with its message, whatever validators follow."""

    data: Any
    process_errors: list[Any]

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()


class DateField(_Parsed, wtforms.DateField):
    """A date written YYYY-MM-DD (as browsers send it), within FIRST_DAY to LAST_DAY."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        self.data = date_from(text)
        if not text:
            return  # no date: Optional lets it be, InputRequired asks for one
        if self.data is None:
            raise ValueError(self.invalid_value_message or self.gettext(_NOT_A_DATE))
        if not in_range(self.data):
            self.data = None
            raise ValueError(str(range_message()))


class TimeField(_Parsed, wtforms.TimeField):
    """A time of day written HH:MM in ASCII digits."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        self.data = None
        if not text:
            return
        if _TIME.fullmatch(text):
            try:
                self.data = datetime.strptime(text, "%H:%M").time()
            except ValueError:
                self.data = None
        if not isinstance(self.data, time):
            raise ValueError(self.invalid_value_message or self.gettext(_NOT_A_TIME))


class IntegerField(_Parsed, wtforms.IntegerField):
    """A whole number in ASCII digits (at most eighteen), with an optional minus."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        self.data = whole_from(text)
        if self.data is None and text:
            raise ValueError(self.invalid_value_message or self.gettext(_NOT_A_WHOLE_NUMBER))


# --- URLs ---------------------------------------------------------------------------------


def _digits_up_to(limit: int) -> str:
    """A regular expression for the numbers from 0 to `limit` in ASCII digits."""
    text = str(limit)
    parts = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            parts.append(f"{text[:i]}[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits within the database's INTEGER range, so a
    larger id is a 404 like any id that names nothing. The range is in the pattern itself:
    a value refused only after matching would make Werkzeug answer 405 where another rule
    takes the path with another method."""

    regex = _digits_up_to(MAX_ID)

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class SegmentConverter(UnicodeConverter):
    """`<name>` in every route: one path segment without control characters (a NUL in a
    token or a code would reach the database)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f-\x9f]", 1)


def _query_string_error() -> Any:
    if not any(_CONTROL.search(k) or _CONTROL.search(v) for k, v in request.args.items(multi=True)):
        return None
    from office.errors import page_or_problem

    return page_or_problem(
        400,
        str(
            _l(
                "The address holds a control character (such as a NUL), which no page "
                "accepts. Remove it and try again."
            )
        ),
    )


def init_app(app: Flask) -> None:
    """Bound the URL converters and refuse control characters in query strings. Call it
    before any blueprint is registered: a rule takes its converters when it is added."""
    app.url_map.converters.update(int=IdConverter, default=SegmentConverter)
    app.url_map.converters["string"] = SegmentConverter
    app.before_request(_query_string_error)
