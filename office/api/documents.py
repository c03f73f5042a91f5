"""Documents through the API: a record's documents, one document and its file, and attaching,
replacing and withdrawing one. Each route asks what the documents' pages ask
(office.documents.web: who may see the record sees its documents, a 404 otherwise; who may
change it attaches, replaces and withdraws them, a 403 otherwise) and calls the same service,
with the same refusals. A file comes as multipart/form-data, as a browser sends it."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask_login import current_user
from pydantic import ValidationError
from werkzeug.datastructures import FileStorage

from office.api import document_schemas as out
from office.api.idempotency import commit
from office.api.reviews import _name
from office.api.views import InvalidRequest, _errors, bp, parse_body, respond
from office.auth.access import login_required
from office.db import db, utcnow
from office.documents import panels, queries, records, services, web
from office.documents.models import Document
from office.errors import problem
from office.i18n import _

web.takes_uploads("api.attach_document", "api.supersede_document")


@bp.errorhandler(413)
def _too_large(exc: Any) -> Response:
    if request.endpoint in web.UPLOADS:
        return problem(413, web.too_large_message())
    return problem(413, getattr(exc, "description", None) or "")


def _record_out(record: records.Record) -> out.RecordOut:
    return out.RecordOut(type=record.type, key=record.key, name=record.name, page=record.url)


def _state(document: Document) -> out.State:
    if document.is_withdrawn:
        return "withdrawn"
    return "superseded" if document.superseded_by_id is not None else "current"


def document_out(
    document: Document, record: records.Record, supersedes: int | None
) -> out.DocumentOut:
    return out.DocumentOut(
        id=document.id,
        record=_record_out(record),
        title=document.title,
        kind=document.kind,
        filename=document.filename,
        media_type=document.media_type,
        size=document.size,
        sha256=document.sha256,
        uploaded_at=document.uploaded_at,
        uploaded_by=_name(document.uploaded_by),
        state=_state(document),
        withdrawn_at=document.withdrawn_at,
        withdrawn_by=_name(document.withdrawn_by),
        withdrawn_reason=document.withdrawn_reason,
        supersedes=supersedes,
        superseded_by=document.superseded_by_id,
        url=url_for("api.document", document_id=document.id),
        file_url=url_for("api.document_file", document_id=document.id)
        if panels.may_read(document)
        else None,
        page=url_for("documents.detail", document_id=document.id),
    )


def _one(document: Document, record: records.Record) -> out.DocumentOut:
    return document_out(
        document, record, queries.predecessors(db.session, [document.id]).get(document.id)
    )


# --- reading ------------------------------------------------------------------------------


@bp.get("/documents")
@login_required
def documents() -> Response:
    """A record's documents, as its page lists them (404 for a record the caller may not see)."""
    record_type = request.args.get("record_type", "")
    key = request.args.get("key", "")
    missing = {
        name: [_("This field is required.")]
        for name, value in (("record_type", record_type), ("key", key))
        if not value
    }
    if missing:
        raise InvalidRequest(422, _("Some parameters are not valid."), missing)
    record = web.visible_record(record_type, key)
    shown = queries.shelf(db.session, record.type, record.id).shown
    before = queries.predecessors(db.session, [d.id for d in shown])
    items = [document_out(d, record, before.get(d.id)) for d in shown]
    return respond(out.DocumentList(record=_record_out(record), items=items))


@bp.get("/documents/<int:document_id>")
@login_required
def document(document_id: int) -> Response:
    return respond(_one(*web.visible_document(document_id)))


@bp.get("/documents/<int:document_id>/file")
@login_required
def document_file(document_id: int) -> Response:
    """The file, as its page sends it: an attachment, in the content type decided at upload."""
    document, _record = web.visible_document(document_id)
    web.require_readable(document)
    return web.send(document, inline=False)


# --- attaching, replacing, withdrawing ------------------------------------------------------


def _form(model: type[out.UploadIn]) -> tuple[Any, FileStorage]:
    """The upload's text fields, read by `model`, and its file; 415 for a body that is no
    multipart form, 422 for a field that is wrong or a file missing."""
    if request.mimetype != "multipart/form-data":
        raise InvalidRequest(
            415,
            _(
                "Send the document as multipart/form-data, its file in the part named "
                "file, as a browser's form sends it."
            ),
        )
    fields = {name: value for name, value in request.form.items() if name != "file"}
    errors: dict[str, list[str]] = {}
    try:
        body = model.model_validate(fields)
    except ValidationError as exc:
        errors = _errors(exc)
    file = request.files.get("file")
    if file is None or not file.filename:
        errors.setdefault("file", []).append(_("Choose the file to attach."))
    if errors:
        raise InvalidRequest(422, _("Some fields are not valid."), errors)
    assert file is not None
    return body, file


def _upload(body: out.UploadIn, file: FileStorage) -> services.Upload:
    return services.Upload(file.stream, file.filename, body.title, body.kind)


@bp.post("/documents")
@login_required
def attach_document() -> Response:
    """Attach a file to a record, as its page's upload does."""
    body, file = _form(out.AttachIn)
    record = web.visible_record(body.record_type.value, body.key)
    web.require_change(record)
    document = services.attach(db.session, record, _upload(body, file), **web.by_whom())
    # A record without its row until now (a day's log, a review thread) has one now.
    record = records.kind_of(record.type).by_id(db.session, document.record_id) or record
    location = url_for("api.document", document_id=document.id)
    return commit(respond(document_out(document, record, None), 201, location))


@bp.post("/documents/<int:document_id>/supersede")
@login_required
def supersede_document(document_id: int) -> Response:
    """Attach a newer version of a current document, as its page does."""
    document, record = web.visible_document(document_id)
    web.require_change(record)
    body, file = _form(out.UploadIn)
    new = services.supersede(db.session, document, _upload(body, file), **web.by_whom())
    location = url_for("api.document", document_id=new.id)
    return commit(respond(document_out(new, record, document.id), 201, location))


@bp.post("/documents/<int:document_id>/withdraw")
@login_required
def withdraw_document(document_id: int) -> Response:
    """Withdraw a current document with a reason, as its page does."""
    document, record = web.visible_document(document_id)
    web.require_change(record)
    body = parse_body(out.WithdrawIn)
    withdrawn = services.withdraw(
        db.session, document, reason=body.reason, actor=current_user, now=utcnow()
    )
    return commit(respond(_one(withdrawn, record)))
