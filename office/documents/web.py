"""What the documents' pages and the API's documents routes share of a request: finding the
record or the document the caller may see (404 otherwise), the permission to change it (403),
whether a withdrawn file may still be read, what an upload is stored with, how large it may
be, and how a file is sent back.

Both call these, so a document is seen, attached, replaced and withdrawn by the same people
through either door. A 404 carries a message for the API (a page shows its own).
"""

from __future__ import annotations

import base64
from typing import Any, NoReturn
from urllib.parse import quote

from flask import Flask, Response, abort, request, stream_with_context
from flask_login import current_user

from office.db import db, utcnow
from office.documents import panels, records, services
from office.documents.content import MEGABYTE
from office.documents.models import Document, RecordType
from office.errors import ForbiddenError
from office.i18n import _, format_datetime

# The endpoints that take a document's file: the pages' and the API's (which adds its own).
UPLOADS: set[str] = {"documents.upload", "documents.supersede"}
# Room for the form around the file (its other fields, the multipart boundaries).
UPLOAD_MARGIN = MEGABYTE

# What a file sent back may do in a browser: nothing. It is never a page of this site, even
# opened in a tab: sandboxed, it has an origin of its own. (Chromium's PDF viewer still shows
# a PDF so sent, and an image is an image.)
FILE_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def takes_uploads(*endpoints: str) -> None:
    """Let `endpoints` take a document's file, as large as the upload setting allows."""
    UPLOADS.update(endpoints)


def allow_uploads(app: Flask) -> None:
    """Let a document's upload be as large as OFFICE_MAX_UPLOAD_MB and the form around it;
    every other request keeps the app's MAX_CONTENT_LENGTH. First of all the app's checks:
    the CSRF check and the one-time token read the form, and the limit applies from the
    first read. Larger is refused before it is read (413, `too_large`); a file between the
    setting and the margin is refused by its own check, by name."""

    def larger_for_uploads() -> None:
        if request.endpoint in UPLOADS:
            request.max_content_length = panels.max_upload_bytes() + UPLOAD_MARGIN

    app.before_request_funcs.setdefault(None, []).insert(0, larger_for_uploads)


def too_large_message() -> str:
    """What a refused upload far over the limit is told (413)."""
    return _(
        "The upload is too large: the office keeps files of up to %(max)d MB. Make the file "
        "smaller (scan at a lower resolution, split it) and attach it again.",
        max=panels.max_upload_mb(),
    )


def _no_record(record_type: str, key: str) -> NoReturn:
    abort(404, description=_("There is no record %(type)s %(key)s.", type=record_type, key=key))


def _no_document(document_id: int) -> NoReturn:
    abort(404, description=_("No document has the id %(id)d.", id=document_id))


def visible_record(record_type: str, key: str) -> records.Record:
    """The record `key` of `record_type`; 404 if there is none, or the caller may not see it."""
    shown_type, shown_key = record_type[:40], key[:100]
    if record_type not in {t.value for t in records.registered()}:
        _no_record(shown_type, shown_key)
    kind = RecordType(record_type)
    if not records.may_see(current_user, kind):
        _no_record(shown_type, shown_key)
    record = records.kind_of(kind).find(db.session, key)
    if record is None:
        _no_record(shown_type, shown_key)
    return record


def visible_document(document_id: int) -> tuple[Document, records.Record]:
    """The document `document_id` and its record; 404 if there is none, or the caller may not
    see its record."""
    document = db.session.get(Document, document_id)
    if document is None or document.record_type not in records.registered():
        _no_document(document_id)
    if not records.may_see(current_user, document.record_type):
        _no_document(document_id)
    record = records.kind_of(document.record_type).by_id(db.session, document.record_id)
    if record is None:
        _no_document(document_id)
    return document, record


def require_change(record: records.Record) -> None:
    """403 unless the caller may attach, replace and withdraw `record`'s documents."""
    if not records.may_change(current_user, record.type):
        abort(403)


def by_whom() -> dict[str, Any]:
    """Who uploads, when, and how large a file may be: what every upload is stored with."""
    return {"actor": current_user, "now": utcnow(), "max_bytes": panels.max_upload_bytes()}


def require_readable(document: Document) -> None:
    """Raise ForbiddenError for a withdrawn file the caller may no longer open."""
    if not panels.may_read(document):
        raise ForbiddenError(
            _(
                "%(title)s was withdrawn on %(when)s: %(reason)s Only the ministry's reviewers "
                "may still open it.",
                title=document.title,
                when=format_datetime(document.withdrawn_at),
                reason=document.withdrawn_reason or "",
            )
        )


def content_disposition(disposition: str, filename: str) -> str:
    """`disposition` with the file's name as RFC 6266 gives it: an ASCII stand-in for old
    clients, and the name itself in UTF-8 (RFC 8187)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def send(document: Document, *, inline: bool) -> Response:
    """The document's bytes, streamed chunk by chunk, as the content type decided at upload;
    never run as a page (nosniff, a sandbox)."""
    body = services.chunks_of(db.session, document.id, document.chunks)
    response = Response(
        stream_with_context(body), mimetype=document.media_type, direct_passthrough=True
    )
    response.headers["Content-Length"] = str(document.size)
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", document.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_POLICY
    # The file's SHA-256 as recorded (RFC 9530), for whoever checks what they received.
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode("ascii")
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response
