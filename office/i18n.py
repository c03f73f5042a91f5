"""Languages, time zone and the formats every page uses (dates YYYY-MM-DD, times in Seoul)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import flask_babel
from flask import Flask, has_request_context, session
from flask import request as flask_request
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel, force_locale, get_locale
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

__all__ = ["LANGUAGES", "SEOUL", "_", "_l", "_ln", "ngettext"]

SEOUL = ZoneInfo("Asia/Seoul")
LANGUAGES = {"ko": "한국어", "en": "English"}
DEFAULT_LANGUAGE = "ko"

babel = Babel()


class _Gettext(Protocol):
    def __call__(self, string: str, /, **variables: Any) -> str: ...


class _Ngettext(Protocol):
    def __call__(self, singular: str, plural: str, num: int, /, **variables: Any) -> str: ...


# Flask-Babel ships no types: the two that translate at once are typed here, for every caller.
_: _Gettext = flask_babel.gettext
ngettext: _Ngettext = flask_babel.ngettext


class LazyText(LazyString):
    """A message translated when it is shown, and shown as plain text.

    Flask-Babel's LazyString declares itself safe HTML (`__html__` returns the text as it
    is), so Jinja, MarkupSafe and WTForms print it unescaped, with whatever a user typed into
    the values put into it: `_l("Recorded anyway: %(reason)s", reason=...)` printed a stored
    reason as markup. A message here is text like any other and is escaped whole where HTML
    is made; no translation holds markup of its own.
    """

    def __html__(self) -> Markup:
        return escape(str(self))


def _l(string: str, /, **variables: Any) -> LazyText:
    """Return `string` translated when it is shown, with `variables` put in (as text)."""
    return LazyText(flask_babel.gettext, string, **variables)


def _ln(singular: str, plural: str, num: int, /, **variables: Any) -> LazyText:
    """Return the singular or plural of a message by `num`, translated when it is shown."""
    return LazyText(flask_babel.ngettext, singular, plural, num, **variables)


def current_locale_code() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def select_locale() -> str:
    if not has_request_context():
        return "en"  # command-line output and logs
    chosen = session.get("lang")
    if isinstance(chosen, str) and chosen in LANGUAGES:
        return chosen
    return flask_request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def office_date(now: datetime) -> date:
    """Return the calendar date in Kaesong and Seoul at the instant `now`."""
    return now.astimezone(SEOUL).date()


def format_date(value: date | datetime | None) -> str:
    """Return `value` as YYYY-MM-DD (a datetime is first moved to Seoul time)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SEOUL).date()
    return value.isoformat()


def format_datetime(value: datetime | None) -> str:
    """Return an aware datetime as YYYY-MM-DD HH:MM in Seoul time."""
    if value is None:
        return ""
    return value.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")


def format_number(value: int | Decimal | None, places: int | None = None) -> str:
    """Return `value` with thousands separators, exact, without trailing zeros (1,000.5)."""
    if value is None:
        return ""
    value = Decimal(value)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    value = value.normalize() if value else Decimal(0)
    # Korean and English both group by thousands with "," and mark decimals with ".": the
    # format mini-language does that at a fraction of Babel's cost, on pages of thousands.
    return f"{value:,f}"


def in_english(text: Any) -> str:
    """Render a (lazy) message in English: for records kept in one language, like the audit
    trail."""
    with force_locale("en"):
        return str(text)


def format_hs_code(digits: str | None) -> str:
    """Return an HS code stored as digits the way it is written: 2710.19, 8502.11.00."""
    if not digits:
        return ""
    return ".".join([digits[:4], *(digits[i : i + 2] for i in range(4, len(digits), 2))])


_LABELS: dict[type, dict[Any, Any]] = {}


def register_labels(labels: dict[type, dict[Any, Any]]) -> None:
    """Make the on-screen names of a feature's codes (its enums) known to `label`."""
    _LABELS.update(labels)


def label(value: object) -> str:
    """Return the on-screen name of a code of any feature's vocabulary."""
    return "" if value is None else str(_LABELS[type(value)][value])


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with a lazy message written as its text (JSON is not HTML: Flask would
    otherwise write what `__html__` returns, the escaped text)."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, LazyString):
            return str(o)
        return DefaultJSONProvider.default(o)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.json = _JSONProvider(app)
    app.jinja_env.filters.update(
        date=format_date, datetime=format_datetime, number=format_number, hs=format_hs_code
    )
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES, current_locale=current_locale_code, label=label
    )
