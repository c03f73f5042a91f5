from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import DataRequired, Length

from office.documents.content import EXTENSIONS
from office.documents.models import KINDS, RecordType
from office.documents.services import Upload
from office.forms import Form
from office.i18n import _l, label
from office.inputs import StringField, TextAreaField

# What the file picker offers; the file's content decides (`office.documents.content`).
ACCEPT = ",".join(f".{extension}" for extension in EXTENSIONS)


class UploadForm(Form):
    file = FileField(
        _l("File"),
        validators=[FileRequired(_l("Choose the file to attach."))],
        id="document_file",
        render_kw={"accept": ACCEPT},
    )
    title = StringField(
        _l("Title (if blank, the file's name)"), validators=[Length(max=200)], id="document_title"
    )
    kind = SelectField(_l("Kind of document"), validators=[DataRequired()], id="document_kind")

    def offer(self, record_type: RecordType) -> UploadForm:
        self.kind.choices = [(k.value, label(k)) for k in KINDS[record_type]]
        return self

    def upload(self) -> Upload:
        """The file posted, and what its uploader said of it."""
        posted = self.file.data
        return Upload(posted.stream, posted.filename, self.title.data, self.kind.data)


class WithdrawForm(Form):
    reason = TextAreaField(
        _l("Why it is withdrawn"),
        validators=[DataRequired(_l("Say why the document is withdrawn.")), Length(max=2000)],
        id="withdraw_reason",
    )
