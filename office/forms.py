"""The base class of every form, and the hidden fields every posted form carries.

A posted form carries two tokens, both rendered by `{{ form.csrf_token }}` (or, for a form
written by hand in a template, `{{ form_tokens() }}`):

- the CSRF token (Flask-WTF's, checked before any view runs), which says the form came from
  this site;
- a one-time token, fresh at each rendering, which says which rendering it came from: the
  first request that brings it writes, any other gets the first one's answer
  (`office.once`). It is there only for a logged-in user, to whom it belongs.

Forms sent by GET (filters) say `csrf = False` in their Meta and carry neither.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, g
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf, validate_csrf
from markupsafe import Markup
from wtforms.csrf.core import CSRF, CSRFTokenField

ONCE_FIELD = "once_token"
# 24 random bytes: 32 URL-safe characters.
ONCE_TOKEN_BYTES = 24


def new_once_token() -> str:
    return secrets.token_urlsafe(ONCE_TOKEN_BYTES)


def _csrf_enabled() -> bool:
    return bool(current_app.config.get("WTF_CSRF_ENABLED", True))


def _once_input() -> Markup:
    if not current_user.is_authenticated:
        return Markup()
    return Markup('<input type="hidden" name="{}" value="{}">').format(ONCE_FIELD, new_once_token())


def form_tokens() -> Markup:
    """Both tokens of a form written by hand in a template, as hidden inputs."""
    csrf = Markup()
    if _csrf_enabled():
        csrf = Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())
    return csrf + _once_input()


class _TokensField(CSRFTokenField):
    """The CSRF token's field, which renders the one-time token beside it."""

    def __call__(self, **kwargs: Any) -> Markup:
        csrf = super().__call__(**kwargs) if self.current_token else Markup()
        return Markup(csrf) + _once_input()


class _Tokens(CSRF):
    """Flask-WTF's CSRF check, with a field that is there even when the check is off (the
    tests turn it off), because it carries the one-time token too."""

    field_class = _TokensField

    def setup_form(self, form: Any) -> Any:
        self.meta = form.meta
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field: Any) -> str | None:
        if not _csrf_enabled():
            return None
        return str(
            generate_csrf(secret_key=self.meta.csrf_secret, token_key=self.meta.csrf_field_name)
        )

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        # CSRFProtect checks every posted request before the view; this is for a form
        # validated outside one.
        if not _csrf_enabled() or g.get("csrf_valid", False):
            return
        validate_csrf(
            field.data,
            self.meta.csrf_secret,
            self.meta.csrf_time_limit,
            self.meta.csrf_field_name,
        )


class Form(FlaskForm):
    """Every form of the app: a posted one carries the CSRF token and a one-time token."""

    class Meta(FlaskForm.Meta):
        csrf_class = _Tokens
        csrf = True
