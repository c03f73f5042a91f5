from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.validators import Length, Optional

from office.i18n import _l
from office.inputs import TextAreaField


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=4000)])


class SignOffForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=4000)])
