from __future__ import annotations

from wtforms import BooleanField, PasswordField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from office.auth.permissions import Role, role_label
from office.auth.services import EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from office.auth.two_factor import CODE_MAX_LENGTH
from office.forms import Form
from office.i18n import LANGUAGES, _l
from office.inputs import EmailField, HiddenField, StringField


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, role_label(role)) for role in Role]


class LoginForm(Form):
    email = StringField(
        _l("Email"),
        validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class CodeForm(Form):
    """A two-factor code: six digits from the app, or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=CODE_MAX_LENGTH)],
        render_kw={
            "autocomplete": "one-time-code",
            "autofocus": True,
            "autocapitalize": "off",
            "spellcheck": "false",
        },
    )


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    return new, confirm


class PasswordChangeForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password, confirm = _new_password_fields()


class PasswordSetForm(Form):
    new_password, confirm = _new_password_fields()


class UserEditForm(Form):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=_role_choices, validators=[DataRequired()])
    is_superuser = BooleanField(_l("Superuser (manages accounts)"))


class UserCreateForm(UserEditForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Email(), Length(max=EMAIL_MAX_LENGTH)]
    )
    new_password, confirm = _new_password_fields()


class ActionForm(Form):
    """A button that changes something: only the CSRF token travels."""


class LanguageForm(Form):
    lang = SelectField(
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validators=[DataRequired()],
    )
    next = HiddenField()


class TokenForm(Form):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=80)],
        render_kw={"placeholder": _l("e.g. fuel spreadsheet import")},
    )
