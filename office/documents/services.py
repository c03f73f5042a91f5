"""Attaching, replacing and withdrawing documents; reading their bytes back.

Lock order (`office.concurrency`): what the record's `open` takes (a day's log, a delivery, a
review item), then the document acted on. A file is read and checked before any lock is
taken: a large upload does not hold others up while it is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from office import inputs
from office.audit.services import record_event
from office.auth.models import User
from office.concurrency import ConcurrentChange
from office.documents import content, records
from office.documents.models import KINDS, Document, DocumentChunk, DocumentKind, RecordType
from office.errors import ConflictError, InvalidInput
from office.i18n import _l, format_datetime

TITLE_MAX = 200
REASON_MAX = 2000


def _kind(record_type: RecordType, kind: str | DocumentKind | None) -> DocumentKind:
    allowed = KINDS[record_type]
    if kind not in {k.value for k in allowed}:
        raise InvalidInput(_l("Choose what kind of document this is."), "kind")
    return DocumentKind(str(kind))


def _title(title: str | None, filename: str) -> str:
    """The title given, or the file's name without its extension."""
    text = (title or "").strip()
    if not text:
        stem, dot, _ext = filename.rpartition(".")
        text = (stem if dot and stem else filename)[:TITLE_MAX]
    return inputs.check_text(text, field="title", max_length=TITLE_MAX)


@dataclass(frozen=True)
class Upload:
    """A file offered for a record and what its uploader said of it: `stream` is seekable;
    `title` and `kind` may be empty, for the file's name and (on a new version) the old one's."""

    stream: IO[bytes]
    filename: str | None
    title: str | None = None
    kind: str | DocumentKind | None = None


@dataclass(frozen=True)
class _Checked:
    """An upload read and checked, before any lock is taken."""

    upload: Upload
    file: content.Checked
    title: str
    kind: DocumentKind


def _check(
    record_type: RecordType, upload: Upload, max_bytes: int, *, default_title: str = ""
) -> _Checked:
    kind = _kind(record_type, upload.kind)
    checked = content.check(upload.stream, upload.filename, max_bytes=max_bytes)
    title = _title(upload.title or default_title, checked.filename)
    return _Checked(upload, checked, title, kind)


def attach(
    session: Session,
    record: records.Record,
    upload: Upload,
    *,
    actor: User,
    now: datetime,
    max_bytes: int,
) -> Document:
    """Attach the uploaded file to `record`, under its SHA-256.

    Raises InvalidInput (nothing stored) for a file the office does not keep (see
    `content.check`), a kind the record does not take or a bad title; what the record's
    `open` raises when it takes no documents now.
    """
    checked = _check(record.type, upload, max_bytes)
    record_id = records.kind_of(record.type).open(session, record, now)
    return _attach(session, record.type, record_id, checked, actor, now)


def attach_to(
    session: Session,
    record_type: RecordType,
    record_id: int,
    upload: Upload,
    *,
    actor: User,
    now: datetime,
    max_bytes: int,
) -> Document:
    """Attach a file to the row `record_id` of `record_type`, which the caller has (and holds
    as that record's `open` would): the demo's and the tests' door, outside a request.

    Raises InvalidInput as `attach` does.
    """
    checked = _check(record_type, upload, max_bytes)
    return _attach(session, record_type, record_id, checked, actor, now)


def _attach(
    session: Session,
    record_type: RecordType,
    record_id: int,
    checked: _Checked,
    actor: User,
    now: datetime,
) -> Document:
    document = _store(session, record_type, record_id, checked, actor, now)
    record_event(
        session, "document.attached", actor=actor, target=document, at=now, **_facts(document)
    )
    return document


def supersede(
    session: Session,
    document: Document,
    upload: Upload,
    *,
    actor: User,
    now: datetime,
    max_bytes: int,
) -> Document:
    """Attach a newer version of `document` to its record; `document` stays, superseded. The
    new version keeps the old one's title and kind unless the upload gives others.

    Raises InvalidInput as `attach` does; ConflictError when `document` was replaced or
    withdrawn meanwhile (two replacing one at once: the first wins).
    """
    if not upload.kind:
        upload = replace(upload, kind=document.kind.value)
    checked = _check(document.record_type, upload, max_bytes, default_title=document.title)
    old = _locked(session, document.id)
    _refuse_unless_current(session, old)
    new = _store(session, old.record_type, old.record_id, checked, actor, now)
    # The database's word: only a current document takes a successor, and only one.
    _claim(session, old, superseded_by_id=new.id)
    record_event(
        session,
        "document.superseded",
        actor=actor,
        target=new,
        at=now,
        replaces=old.id,
        replaced_sha256=old.sha256,
        **_facts(new),
    )
    return new


def withdraw(
    session: Session, document: Document, *, reason: str | None, actor: User, now: datetime
) -> Document:
    """Withdraw `document` with `reason`: reviewers can still read it, others see that it was
    withdrawn, and why.

    Raises InvalidInput without a reason; ConflictError when it was replaced or withdrawn
    meanwhile.
    """
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(_l("Say why the document is withdrawn."), "reason")
    text = inputs.check_text(text, field="reason", max_length=REASON_MAX, multiline=True)
    locked = _locked(session, document.id)
    _refuse_unless_current(session, locked)
    _claim(session, locked, withdrawn_at=now, withdrawn_by_id=actor.id, withdrawn_reason=text)
    record_event(
        session,
        "document.withdrawn",
        actor=actor,
        target=locked,
        at=now,
        reason=text,
        sha256=locked.sha256,
        title=locked.title,
    )
    return locked


def chunks_of(session: Session, document_id: int, count: int) -> Iterator[bytes]:
    """Yield the bytes of a document, one chunk at a time, each read on its own: a large file
    never sits whole in memory, and no transaction stays open while the client reads.

    Raises LookupError for a missing chunk (storage damaged outside the app).
    """
    for seq in range(count):
        data = session.scalar(
            select(DocumentChunk.data).where(
                DocumentChunk.document_id == document_id, DocumentChunk.seq == seq
            )
        )
        # A read ends here: the next chunk's read is another (documents never change).
        session.rollback()
        if data is None:
            raise LookupError(f"document {document_id} has no chunk {seq}")
        yield bytes(data)


def _store(
    session: Session,
    record_type: RecordType,
    record_id: int,
    checked: _Checked,
    actor: User,
    now: datetime,
) -> Document:
    file = checked.file
    document = Document(
        record_type=record_type,
        record_id=record_id,
        title=checked.title,
        kind=checked.kind,
        filename=file.filename,
        media_type=file.media_type,
        size=file.size,
        sha256=file.sha256,
        chunks=-(-file.size // content.CHUNK_SIZE),
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    session.add(document)
    session.flush()
    chunks = DocumentChunk.metadata.tables[DocumentChunk.__tablename__]
    digest = hashlib.sha256()
    seq = 0
    stream = checked.upload.stream
    stream.seek(0)
    # Core inserts, one chunk each: nothing of the bytes is kept in the session.
    while chunk := stream.read(content.CHUNK_SIZE):
        digest.update(chunk)
        session.execute(insert(chunks).values(document_id=document.id, seq=seq, data=chunk))
        seq += 1
    if digest.hexdigest() != file.sha256 or seq != document.chunks:
        raise InvalidInput(
            _l("The file changed while it was being stored; attach it again."), "file"
        )
    return document


def _locked(session: Session, document_id: int) -> Document:
    document = session.scalar(
        select(Document)
        .where(Document.id == document_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if document is None:  # documents are never deleted
        raise LookupError(f"document {document_id} is gone")
    return document


def _refuse_unless_current(session: Session, document: Document) -> None:
    if document.superseded_by_id is not None:
        newer = session.get(Document, document.superseded_by_id)
        assert newer is not None
        raise ConflictError(
            _l(
                "%(title)s was replaced by a newer version on %(when)s (%(who)s); open the "
                "newest version to replace or withdraw it.",
                title=document.title,
                when=format_datetime(newer.uploaded_at),
                who=_name(newer.uploaded_by),
            )
        )
    if document.withdrawn_at is not None:
        raise ConflictError(
            _l(
                "%(title)s was withdrawn on %(when)s (%(who)s); it stays as it is.",
                title=document.title,
                when=format_datetime(document.withdrawn_at),
                who=_name(document.withdrawn_by),
            )
        )


def _claim(session: Session, document: Document, **values: Any) -> None:
    """Change a current document, on the condition that it still is: after the lock it is,
    and should a caller ever skip the lock, the second of two at once changes nothing and is
    refused here."""
    changed = session.execute(
        update(Document)
        .where(
            Document.id == document.id,
            Document.superseded_by_id.is_(None),
            Document.withdrawn_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(document)
        _refuse_unless_current(session, document)
        raise ConcurrentChange()
    session.refresh(document)


def _name(user: User | None) -> str:
    return user.display_name if user is not None else "-"


def _facts(document: Document) -> dict[str, Any]:
    return {
        "record": f"{document.record_type.value} {document.record_id}",
        "title": document.title,
        "kind": document.kind.value,
        "filename": document.filename,
        "media_type": document.media_type,
        "size": document.size,
        "sha256": document.sha256,
    }
