"""Languages, time zone and the formats every page uses (dates YYYY-MM-DD, times in Seoul)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import flask_babel
from flask import Flask, has_request_context, session
from flask import request as flask_request
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel, force_locale, get_locale
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from office.korean import with_particles

__all__ = ["LANGUAGES", "SEOUL", "_", "_l", "_ln", "ngettext"]

SEOUL = ZoneInfo("Asia/Seoul")
LANGUAGES = {"ko": "한국어", "en": "English"}
DEFAULT_LANGUAGE = "ko"

babel = Babel()


# Every message, once filled in, keeps the one form of each Korean particle that fits the
# word before it (`office.korean`): translations write "%(name)s은(는)".


def _(string: str, /, **variables: Any) -> str:
    """Return `string` translated now, with `variables` put in."""
    return with_particles(flask_babel.gettext(string, **variables))


def ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> str:
    """Return the singular or plural of a message by `num`, translated now."""
    return with_particles(flask_babel.ngettext(singular, plural, num, **variables))


def _with_particles_in_templates(translate: Any) -> Any:
    """Jinja's `gettext`/`ngettext` (which fill in the message themselves), with particles."""

    @pass_context
    def wrapper(context: Context, /, *args: Any, **variables: Any) -> Any:
        text = translate(context, *args, **variables)
        if isinstance(text, Markup):
            return Markup(with_particles(str(text), is_html=True))
        return with_particles(text)

    return wrapper


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
    return LazyText(_, string, **variables)


def _ln(singular: str, plural: str, num: int, /, **variables: Any) -> LazyText:
    """Return the singular or plural of a message by `num`, translated when it is shown."""
    return LazyText(ngettext, singular, plural, num, **variables)


def current_locale_code() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def select_locale() -> str:
    """The language of this request: the logged-in user's choice, kept on the user; else the
    one chosen in this browser (its session cookie); else the browser's Accept-Language."""
    if not has_request_context():
        return "en"  # command-line output and logs
    kept = getattr(current_user, "language", None)  # None for anonymous visitors
    if kept in LANGUAGES:
        return str(kept)
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
    for name in ("gettext", "ngettext"):
        app.jinja_env.globals[name] = _with_particles_in_templates(app.jinja_env.globals[name])
    app.json = _JSONProvider(app)
    app.jinja_env.filters.update(
        date=format_date, datetime=format_datetime, number=format_number, hs=format_hs_code
    )
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES, current_locale=current_locale_code, label=label
    )
