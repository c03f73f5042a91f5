"""The documents routes' part of the shared route lists: the real calls that give every response
their OpenAPI operations document (tests/api/test_openapi.py) and their POSTs for the
Idempotency-Key test (tests/api/test_idempotency.py); and the multipart form they send."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from office.audit.models import AuditEvent
from office.auth.models import User
from office.auth.permissions import Role
from office.documents import services as documents
from office.documents.models import Document, RecordType
from office.waivers.models import Waiver
from tests.documents.arrange import HTML, PDF, big_pdf
from tests.factories import NOW, make_resource, make_user, make_waiver

# The schemas these routes answer with.
SCHEMAS = {"DocumentOut", "DocumentList"}


@dataclass(frozen=True)
class Form:
    """A document's upload as a client sends it: its text fields and its file, encoded anew
    (with a boundary of its own) each time it is sent."""

    fields: dict[str, str] = field(default_factory=dict)
    data: bytes = PDF
    filename: str = "letter.pdf"

    def encoded(self) -> tuple[bytes, str]:
        """The body and its Content-Type."""
        part = FileStorage(io.BytesIO(self.data), self.filename, content_type="application/pdf")
        boundary, body = encode_multipart({**self.fields, "file": part})
        return body, f"multipart/form-data; boundary={boundary}"


def letter_form(waiver: Waiver, **changes: Any) -> Form:
    """An exemption letter for `waiver`, as POST /documents takes it."""
    fields = {"record_type": "waiver", "key": str(waiver.id), "kind": "exemption_letter"}
    return Form({**fields, "title": "Exemption letter", **changes.pop("fields", {})}, **changes)


def a_waiver(session: Session) -> Waiver:
    return make_waiver(session, [(make_resource(session), "L", "1000", "1000")])


def attached(session: Session, waiver: Waiver, actor: User, data: bytes = PDF) -> Document:
    """A letter attached to `waiver` by `actor`, committed."""
    document = documents.attach_to(
        session,
        RecordType.WAIVER,
        waiver.id,
        documents.Upload(io.BytesIO(data), "letter.pdf", "Exemption letter", "exemption_letter"),
        actor=actor,
        now=NOW,
        max_bytes=1024 * 1024,
    )
    session.commit()
    return document


def document_calls(
    app: Flask,
    call: Callable[..., Any],
    session: Session,
    admin: Any,
    reviewer: Any,
    scheduler: Any,
    anonymous: Any,
) -> dict[str, int]:
    """Make the calls; return the ids the shared loops fill the paths' templates with."""
    from tests.api.test_openapi import still_processing

    def send(api: Any, path: str, form: Form, **kwargs: Any) -> Any:
        body, content_type = form.encoded()
        return call(api, "post", path, raw=body, content_type=content_type, **kwargs)

    waiver = a_waiver(session)
    record = {"record_type": "waiver", "key": str(waiver.id)}
    # Successes, in the order a client would go.
    first = send(reviewer, "/documents", letter_form(waiver)).get_json()
    one = f"/documents/{first['id']}"
    call(reviewer, "get", "/documents", record)
    call(reviewer, "get", one)
    call(reviewer, "get", f"{one}/file").close()
    second = send(reviewer, f"{one}/supersede", Form({"title": "Letter, signed"})).get_json()
    newest = f"/documents/{second['id']}"
    call(reviewer, "post", f"{newest}/withdraw", {"reason": "Filed on the wrong waiver."})
    # Refusals: a withdrawn file for who is not a reviewer, a version no longer current, a
    # record or a document one may not see or change, bad files and forms.
    call(admin, "get", f"{newest}/file")
    send(reviewer, f"{one}/supersede", Form())
    call(reviewer, "post", f"{newest}/withdraw", {"reason": "Again."})
    call(reviewer, "post", f"{one}/withdraw", {"reason": ""})
    send(admin, "/documents", letter_form(waiver))
    send(admin, f"{one}/supersede", Form())
    send(scheduler, "/documents", letter_form(waiver))
    call(scheduler, "get", "/documents", record)
    call(reviewer, "get", "/documents", {"record_type": "waiver"})
    send(reviewer, "/documents", letter_form(waiver, data=HTML))
    send(reviewer, f"{one}/supersede", Form(data=HTML))
    app.config["OFFICE_MAX_UPLOAD_MB"] = 1
    try:
        huge = big_pdf(3 * 1024 * 1024)
        send(reviewer, "/documents", letter_form(waiver, data=huge))
        send(reviewer, f"{one}/supersede", Form(data=huge))
    finally:
        app.config["OFFICE_MAX_UPLOAD_MB"] = 25
    # Unknown ids.
    for path in ("/documents/999999", "/documents/999999/file"):
        call(reviewer, "get", path)
    send(reviewer, "/documents/999999/supersede", Form())
    call(reviewer, "post", "/documents/999999/withdraw", {"reason": "x"})
    # No token, a role without the permission, bodies that are no form, Idempotency-Keys.
    for concrete in ("/documents", f"{one}/supersede", f"{one}/withdraw"):
        call(anonymous, "post", concrete, {})
        call(scheduler, "post", concrete, {})
        call(reviewer, "post", concrete, raw="{")
        key = still_processing(session, reviewer, concrete)
        call(reviewer, "post", concrete, raw="{}", headers={"Idempotency-Key": key})
        call(reviewer, "post", concrete, raw='{"other": 1}', headers={"Idempotency-Key": key})
        call(reviewer, "post", concrete, raw="{}", headers={"Idempotency-Key": "unquoted"})
    call(admin, "post", f"{one}/withdraw", {"reason": "x"})
    for concrete in ("/documents", one, f"{one}/file"):
        call(anonymous, "get", concrete)
    return {"document_id": int(first["id"])}


def document_posts(post: Callable[..., Any]) -> dict[str, Any]:
    """The POSTs of these routes for test_every_post_of_the_api_honours_the_key, each made
    with `post` (its Post): role, path, body and the table it writes."""

    def letter_path(session: Session, then: str) -> str:
        reviewer = make_user(session, Role.REVIEWER, name="Letter writer")
        return f"/documents/{attached(session, a_waiver(session), reviewer).id}/{then}"

    return {
        "attachDocument": post(
            Role.REVIEWER,
            lambda s: "/documents",
            lambda s: letter_form(a_waiver(s)),
            Document,
        ),
        "supersedeDocument": post(
            Role.REVIEWER,
            lambda s: letter_path(s, "supersede"),
            lambda s: Form({"title": "Signed"}, filename="signed.pdf"),
            Document,
        ),
        "withdrawDocument": post(
            Role.REVIEWER,
            lambda s: letter_path(s, "withdraw"),
            lambda s: {"reason": "The wrong letter."},
            AuditEvent,
        ),
    }
