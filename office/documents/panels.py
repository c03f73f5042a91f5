"""What a record's page shows of its documents: the current ones, how many earlier or
withdrawn versions there are, and the form to attach one (for who may)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_login import current_user

from office.db import db
from office.documents import queries, records
from office.documents.content import IMAGES, MEGABYTE, PDF
from office.documents.forms import UploadForm
from office.documents.models import Document, RecordType
from office.documents.queries import Shelf


@dataclass(frozen=True)
class Panel:
    record: records.Record
    shelf: Shelf
    form: UploadForm | None  # None: the reader may not attach

    @property
    def max_mb(self) -> int:
        return max_upload_mb()


def max_upload_mb() -> int:
    return int(current_app.config["OFFICE_MAX_UPLOAD_MB"])


def max_upload_bytes() -> int:
    return max_upload_mb() * MEGABYTE


def panel(record_type: RecordType, key: str, form: UploadForm | None = None) -> Panel | None:
    """The documents panel of the record `key`, or None when the reader may not see it (or it
    is not there)."""
    if not records.may_see(current_user, record_type):
        return None
    record = records.kind_of(record_type).find(db.session, key)
    if record is None:
        return None
    return panel_of(record, form)


def panel_of(record: records.Record, form: UploadForm | None = None) -> Panel:
    may_change = records.may_change(current_user, record.type)
    if may_change and form is None:
        form = UploadForm(formdata=None)
    if form is not None:
        form.offer(record.type)
    return Panel(
        record, queries.shelf(db.session, record.type, record.id), form if may_change else None
    )


def is_image(document: Document) -> bool:
    return document.media_type in IMAGES


def is_pdf(document: Document) -> bool:
    return document.media_type == PDF


def may_read(document: Document) -> bool:
    """Whether the reader may open the file: a withdrawn one only for the ministry's
    reviewers (who may see the record: checked where it is shown)."""
    from office.auth.permissions import Permission, has_permission

    return not document.is_withdrawn or has_permission(current_user, Permission.REVIEW_ITEMS)
