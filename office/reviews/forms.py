from __future__ import annotations

from wtforms.validators import Length, Optional

from office.forms import Form
from office.i18n import _l
from office.inputs import TextAreaField


class NoteForm(Form):
    body = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=4000)])


class SignOffForm(Form):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=4000)])
