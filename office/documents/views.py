"""The documents' own pages: a record's documents (and the upload), one document with its
versions, and its file, sent as a download or, for an image or a PDF, to be looked at.

Who may reach them is decided by the record: the pages declare `login_required`, and each
one asks the record's registered permissions. A document of a record the reader may not see
is not there for them (404); attaching, replacing and withdrawing need the permission to
change the record (403).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user

from office.auth.access import login_required
from office.db import db, utcnow
from office.documents import labels as _labels  # noqa: F401 (registers the on-screen names)
from office.documents import panels, queries, records, services, web
from office.documents.content import IMAGES, MEGABYTE, PDF
from office.documents.forms import UploadForm, WithdrawForm
from office.documents.models import Document
from office.errors import DomainError
from office.i18n import _
from office.web import form_status, show_domain_error

bp = Blueprint("documents", __name__, url_prefix="/documents")


@bp.errorhandler(413)
def too_large(exc: Exception) -> Any:
    message = web.too_large_message()
    return render_template("errors/generic.html", status=413, message=message), 413


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


def _render_record(record: records.Record, form: UploadForm | None = None) -> Any:
    panel = panels.panel_of(record, form)
    return render_template("documents/record.html", panel=panel), form_status(
        *([form] if form is not None else [])
    )


@bp.get("/of/<record_type>/<key>", endpoint="record")
@login_required
def record_documents(record_type: str, key: str) -> Any:
    return _render_record(web.visible_record(record_type, key))


@bp.post("/of/<record_type>/<key>", endpoint="upload")
@login_required
def upload(record_type: str, key: str) -> Any:
    record = web.visible_record(record_type, key)
    web.require_change(record)
    form = UploadForm().offer(record.type)
    if form.validate_on_submit():
        try:
            document = services.attach(db.session, record, form.upload(), **web.by_whom())
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
    return _render_document(*web.visible_document(document_id))


@bp.post("/<int:document_id>/supersede", endpoint="supersede")
@login_required
def supersede(document_id: int) -> Any:
    document, record = web.visible_document(document_id)
    web.require_change(record)
    form = UploadForm().offer(record.type)
    if form.validate_on_submit():
        try:
            new = services.supersede(db.session, document, form.upload(), **web.by_whom())
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(title)s replaced by a new version.", title=document.title), "success")
            return redirect(url_for("documents.detail", document_id=new.id))
    return _render_document(*web.visible_document(document_id), supersede_form=form)


@bp.post("/<int:document_id>/withdraw", endpoint="withdraw")
@login_required
def withdraw(document_id: int) -> Any:
    document, record = web.visible_document(document_id)
    web.require_change(record)
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
    return _render_document(*web.visible_document(document_id), withdraw_form=form)


@bp.get("/<int:document_id>/file", endpoint="download")
@login_required
def download(document_id: int) -> Response:
    document, _record = web.visible_document(document_id)
    web.require_readable(document)
    return web.send(document, inline=False)


@bp.get("/<int:document_id>/view", endpoint="preview")
@login_required
def preview(document_id: int) -> Response:
    """An image (JPEG, PNG) or a PDF for the browser to show; anything else is only a
    download."""
    document, _record = web.visible_document(document_id)
    if document.media_type not in IMAGES and document.media_type != PDF:
        abort(404)
    web.require_readable(document)
    return web.send(document, inline=True)
