"""The documents' own pages: a record's documents (and the upload), one document with its
versions, and its file, sent as a download or, for an image or a PDF, to be looked at.

Who may reach them is decided by the record: the pages declare `login_required`, and each
one asks the record's registered permissions. A document of a record the reader may not see
is not there for them (404); attaching, replacing and withdrawing need the permission to
change the record (403).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from office.auth.access import login_required
from office.db import db, utcnow
from office.documents import labels as _labels  # noqa: F401 (registers the on-screen names)
from office.documents import panels, queries, records, services
from office.documents.content import IMAGES, MEGABYTE, PDF
from office.documents.forms import UploadForm, WithdrawForm
from office.documents.models import Document, RecordType
from office.errors import DomainError, ForbiddenError
from office.i18n import _, format_datetime
from office.web import form_status, show_domain_error

bp = Blueprint("documents", __name__, url_prefix="/documents")

UPLOADS = frozenset({"documents.upload", "documents.supersede"})
# Room for the form around the file (its other fields, the multipart boundaries).
UPLOAD_MARGIN = MEGABYTE


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


@bp.errorhandler(413)
def too_large(exc: Exception) -> Any:
    message = _(
        "The upload is too large: the office keeps files of up to %(max)d MB. Make the file "
        "smaller (scan at a lower resolution, split it) and attach it again.",
        max=panels.max_upload_mb(),
    )
    return render_template("errors/generic.html", status=413, message=message), 413


# What a file sent back may do in a browser: nothing. It is never a page of this site, even
# opened in a tab: sandboxed, it has an origin of its own. (Chromium's PDF viewer still shows
# a PDF so sent, and an image is an image.)
FILE_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


@bp.app_context_processor
def documents_vocabulary() -> dict[str, Any]:
    return {
        "document_is_image": panels.is_image,
        "document_is_pdf": panels.is_pdf,
        "document_may_read": panels.may_read,
    }


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A file's size as people read it: 830 KB, 4.2 MB (1 KB = 1,024 bytes)."""
    if size < MEGABYTE:
        return f"{max(1, round(size / 1024)):,} KB"
    return f"{size / MEGABYTE:,.1f} MB"


def _record_type(text: str) -> RecordType:
    if text not in {t.value for t in records.registered()}:
        abort(404)
    return RecordType(text)


def _visible_record(record_type: str, key: str) -> records.Record:
    kind = _record_type(record_type)
    if not records.may_see(current_user, kind):
        abort(404)
    record = records.kind_of(kind).find(db.session, key)
    if record is None:
        abort(404)
    return record


def _visible_document(document_id: int) -> tuple[Document, records.Record]:
    document = db.session.get(Document, document_id)
    if document is None or document.record_type not in records.registered():
        abort(404)
    if not records.may_see(current_user, document.record_type):
        abort(404)
    record = records.kind_of(document.record_type).by_id(db.session, document.record_id)
    if record is None:
        abort(404)
    return document, record


def _may_change(record: records.Record) -> None:
    if not records.may_change(current_user, record.type):
        abort(403)


def _by_whom() -> dict[str, Any]:
    """Who uploads, when, and how large a file may be: what every upload is stored with."""
    return {"actor": current_user, "now": utcnow(), "max_bytes": panels.max_upload_bytes()}


def _render_record(record: records.Record, form: UploadForm | None = None) -> Any:
    panel = panels.panel_of(record, form)
    return render_template("documents/record.html", panel=panel), form_status(
        *([form] if form is not None else [])
    )


@bp.get("/of/<record_type>/<key>", endpoint="record")
@login_required
def record_documents(record_type: str, key: str) -> Any:
    return _render_record(_visible_record(record_type, key))


@bp.post("/of/<record_type>/<key>", endpoint="upload")
@login_required
def upload(record_type: str, key: str) -> Any:
    record = _visible_record(record_type, key)
    _may_change(record)
    form = UploadForm().offer(record.type)
    if form.validate_on_submit():
        try:
            document = services.attach(db.session, record, form.upload(), **_by_whom())
        except DomainError as exc:
            db.session.rollback()
            if exc.status_code == 404:  # the record went meanwhile (a draft's line removed)
                abort(404)
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(title)s attached.", title=document.title), "success")
            return redirect(f"{record.url}#documents")
    return _render_record(record, form)


def _render_document(
    document: Document,
    record: records.Record,
    supersede_form: UploadForm | None = None,
    withdraw_form: WithdrawForm | None = None,
) -> Any:
    may_change = records.may_change(current_user, record.type) and document.is_current
    # A form posted to a version no longer current: its refusal shows at the top.
    refused = [f for f in (supersede_form, withdraw_form) if f is not None and not may_change]
    if may_change:
        supersede_form = supersede_form or UploadForm(
            formdata=None, title=document.title, kind=document.kind.value
        )
        supersede_form.offer(record.type)
        withdraw_form = withdraw_form or WithdrawForm(formdata=None)
    return render_template(
        "documents/detail.html",
        document=document,
        record=record,
        versions=queries.versions(db.session, document),
        supersede_form=supersede_form if may_change else None,
        withdraw_form=withdraw_form if may_change else None,
        refused=refused,
        max_mb=panels.max_upload_mb(),
    ), form_status(*[f for f in (supersede_form, withdraw_form) if f is not None])


@bp.get("/<int:document_id>", endpoint="detail")
@login_required
def detail(document_id: int) -> Any:
    return _render_document(*_visible_document(document_id))


@bp.post("/<int:document_id>/supersede", endpoint="supersede")
@login_required
def supersede(document_id: int) -> Any:
    document, record = _visible_document(document_id)
    _may_change(record)
    form = UploadForm().offer(record.type)
    if form.validate_on_submit():
        try:
            new = services.supersede(db.session, document, form.upload(), **_by_whom())
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(title)s replaced by a new version.", title=document.title), "success")
            return redirect(url_for("documents.detail", document_id=new.id))
    return _render_document(*_visible_document(document_id), supersede_form=form)


@bp.post("/<int:document_id>/withdraw", endpoint="withdraw")
@login_required
def withdraw(document_id: int) -> Any:
    document, record = _visible_document(document_id)
    _may_change(record)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw(
                db.session, document, reason=form.reason.data, actor=current_user, now=utcnow()
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(title)s withdrawn.", title=document.title), "success")
            return redirect(url_for("documents.detail", document_id=document_id))
    return _render_document(*_visible_document(document_id), withdraw_form=form)


def content_disposition(disposition: str, filename: str) -> str:
    """`disposition` with the file's name as RFC 6266 gives it: an ASCII stand-in for old
    clients, and the name itself in UTF-8 (RFC 8187)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _send(document: Document, *, inline: bool) -> Response:
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


def _readable(document: Document) -> None:
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


@bp.get("/<int:document_id>/file", endpoint="download")
@login_required
def download(document_id: int) -> Response:
    document, _record = _visible_document(document_id)
    _readable(document)
    return _send(document, inline=False)


@bp.get("/<int:document_id>/view", endpoint="preview")
@login_required
def preview(document_id: int) -> Response:
    """An image (JPEG, PNG) or a PDF for the browser to show; anything else is only a
    download."""
    document, _record = _visible_document(document_id)
    if document.media_type not in IMAGES and document.media_type != PDF:
        abort(404)
    _readable(document)
    return _send(document, inline=True)
