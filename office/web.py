"""The pieces of the view recipe every blueprint shares: load or 404, form status, next."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, request
from flask_wtf import FlaskForm

from office import inputs
from office.db import db
from office.errors import DomainError, InvalidInput
from office.i18n import _l
from office.periods.services import RECORDS_BEGIN

T = TypeVar("T")


def get_or_404(model: type[T], object_id: Any) -> T:
    """Return the row of `model` with this primary key, or answer 404."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def has_errors(form: FlaskForm) -> bool:
    return bool(form.form_errors) or any(field.errors for field in form)


def form_status(*forms: FlaskForm) -> int:
    """Return 422 when any of `forms` carries an error, else 200."""
    return 422 if any(has_errors(form) for form in forms) else 200


def show_domain_error(form: FlaskForm | None, exc: DomainError) -> None:
    """Show a refused action beside the field it names, at the top of the form, or as a flash."""
    field = getattr(form, exc.field, None) if form is not None and exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    elif form is not None:
        form.form_errors.append(str(exc))
    else:
        flash(str(exc), "error")


def read_as_of(today: date) -> date | None:
    """The page's `as_of` day from the query string, or None for now.

    Raises InvalidInput for a day that is not a date, before the office's records begin, or
    in the future.
    """
    text = request.args.get("as_of", "").strip()
    if not text:
        return None
    day = inputs.date_from(text)
    if day is None:
        raise InvalidInput(_l("Give the day as YYYY-MM-DD, for example 2018-10-31."), "as_of")
    if not RECORDS_BEGIN <= day <= today:
        raise InvalidInput(
            _l(
                "The office's records run from %(begin)s to today (%(today)s); choose a day "
                "in between.",
                begin=RECORDS_BEGIN.isoformat(),
                today=today.isoformat(),
            ),
            "as_of",
        )
    return day


def safe_next(target: str | None) -> str | None:
    """Return `target` when it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 2000:
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
