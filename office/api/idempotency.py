"""The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header): a POST that is sent
again writes nothing again.

A client sends `Idempotency-Key: "<key>"` with a POST: a Structured Field string of 1 to 255
characters, new for each request it means (a UUID will do). It may then send the request
again, after a timeout or an answer lost on the way, as often as it needs:

- the same key with the same request (method, path and query, body byte for byte; a
  multipart form part for part, whatever its boundary: `body_of`) gets the first answer
  again (status, body, Location), marked `Idempotent-Replayed: true`, and writes nothing;
- the same key with another request is refused: 422, and nothing is written;
- two at the same moment with one key: the second waits for the first, then gets its answer
  (the draft allows a 409 instead; waiting serves a client that retries on a short timeout
  better). A 409 comes only if the first has still not answered after a few seconds;
- only an answer that wrote is kept. A request that was refused (a 4xx) wrote nothing and
  leaves its key unused, so the same request may be sent again with it.

The key is recorded in the request's transaction before the view runs (on PostgreSQL a second
insert of the same key waits on the unique index until the first request ends), and the view
commits its answer together with its write (`commit`), so a worker that dies after that
commit leaves both: the retry gets the answer. A key belongs to the user whose token sent
it, and is kept for 24 hours at least (`office.once.KEEP`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

import http_sf
from flask import Flask, Request, Response, current_app, g, request
from flask.typing import RouteCallable
from flask_login import current_user
from sqlalchemy import select, update

from office.api.models import IdempotencyKey
from office.db import db, utcnow
from office.errors import problem
from office.i18n import _
from office.once import purge_expired, wait_for_answer

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED = "Idempotent-Replayed"
# An sf-string of 1 to 255 characters (printable ASCII; `"` and `\` escaped), as the OpenAPI
# document declares it.
KEY_PATTERN = r'^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x22\x5c]){1,255}"$'
_CLAIM = "office_idempotency_claim"
# How much of an uploaded file is read at a time for its fingerprint.
CHUNK = 512 * 1024


def parse_key(value: str) -> str | None:
    """Return the key an Idempotency-Key header carries, or None if it carries none."""
    try:
        parsed = http_sf.parse(value.encode("latin-1"), tltype="item")
    except (ValueError, UnicodeEncodeError):
        return None
    item, parameters = parsed if isinstance(parsed, tuple) else (None, None)
    # A Token or a Display String is a str too; the draft asks for a String, and defines no
    # parameters (the OpenAPI document allows none either).
    if type(item) is not str or parameters or not 1 <= len(item) <= MAX_KEY_LENGTH:
        return None
    return item


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What identifies a request for its key: SHA-256 (hex) of its method, path, query and
    body, byte for byte."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def body_of(req: Request) -> bytes:
    """What of `req`'s body its fingerprint reads: the bytes as sent; for a multipart form
    (a document's upload), each field's name and value and each file's field, name and
    SHA-256, sorted by name. A client sending the same form again draws a new boundary, and it is
    the same request; the file is read in chunks, never whole into memory."""
    if req.mimetype != "multipart/form-data":
        return req.get_data()
    parts: list[list[str]] = [["field", n, v] for n, v in sorted(req.form.items(multi=True))]
    for name, file in sorted(req.files.items(multi=True), key=lambda item: item[0]):
        digest = hashlib.sha256()
        file.stream.seek(0)
        while chunk := file.stream.read(CHUNK):
            digest.update(chunk)
        file.stream.seek(0)
        parts.append(["file", name, file.filename or "", digest.hexdigest()])
    return b"multipart/form-data\n" + json.dumps(parts, ensure_ascii=False).encode()


def _find(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )


def _replay(found: IdempotencyKey, sent: str) -> Response | None:
    """The first answer again, a refusal, or None if the key is free again (removed as
    expired while this request waited)."""
    if found.fingerprint != sent:
        return problem(
            422,
            _(
                "This Idempotency-Key was sent before with another request (another address "
                "or another body). Send a new key with each new request."
            ),
        )
    user_id, key = found.user_id, found.key
    row = wait_for_answer(lambda: _find(user_id, key), lambda row: row.status is not None)
    if row is None:
        return None
    if row.status is None:
        return problem(
            409,
            _(
                "A request with this Idempotency-Key is still being processed. Send it again "
                "in a moment to get its answer."
            ),
        )
    response = Response(row.body, row.status, mimetype=row.mimetype)
    if row.location:
        response.headers["Location"] = row.location
    response.headers[REPLAYED] = "true"
    return response


def _keep(claim: IdempotencyKey, response: Response) -> None:
    claim.status = response.status_code
    claim.mimetype = response.mimetype
    location = response.headers.get("Location")
    claim.location = location if location and len(location) <= 2000 else None
    claim.body = response.get_data(as_text=True)


def commit(response: Response) -> Response:
    """Commit the request's writes, and with them `response` as the answer to its
    Idempotency-Key if it sent one; return `response`."""
    claim: IdempotencyKey | None = g.get(_CLAIM)
    if claim is not None:
        _keep(claim, response)
    db.session.commit()
    return response


def _keep_late(claim_id: int, response: Response) -> None:
    # For a view that committed without `commit`: keep its answer now, if its write (and so
    # the key) was committed. A worker that dies in between leaves the key without an
    # answer: a retry then gets a 409 instead of writing twice.
    db.session.rollback()
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_id, IdempotencyKey.status.is_(None))
        .values(
            status=response.status_code,
            mimetype=response.mimetype,
            location=response.headers.get("Location"),
            body=response.get_data(as_text=True),
        )
    )
    db.session.commit()


def idempotent(view: RouteCallable) -> RouteCallable:
    """Wrap an API view so that a POST with an Idempotency-Key is answered once."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        # Several lines of the header make a list, which is no key (RFC 9651, 4.2).
        lines = request.headers.getlist(HEADER)
        if request.method != "POST" or not lines or not current_user.is_authenticated:
            return view(*args, **kwargs)
        key = parse_key(", ".join(lines))
        if key is None:
            return problem(
                400,
                _(
                    "Send the Idempotency-Key as a quoted string of 1 to %(n)d printable "
                    'ASCII characters, for example: Idempotency-Key: "%(example)s".',
                    n=MAX_KEY_LENGTH,
                    example="8e03978e-40d5-43e8-bc93-6894a57f9324",
                ),
            )
        user_id = current_user.id
        sent = fingerprint(request.method, request.path, request.query_string, body_of(request))
        found = _find(user_id, key)
        if found is not None:
            replayed = _replay(found, sent)
            if replayed is not None:
                return replayed
        now = utcnow()
        purge_expired(IdempotencyKey, now)
        claim = IdempotencyKey(user_id=user_id, key=key, fingerprint=sent, created_at=now)
        db.session.add(claim)
        db.session.flush()
        claim_id = claim.id
        setattr(g, _CLAIM, claim)
        try:
            answer: Any = view(*args, **kwargs)
            response = current_app.make_response(answer)
        finally:
            g.pop(_CLAIM, None)
        if claim.status is None:
            _keep_late(claim_id, response)
        return response

    return run


def init_app(app: Flask, blueprint: str = "api") -> None:
    """Make every view of the API's `blueprint` honour the Idempotency-Key of a POST."""
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(f"{blueprint}."):
            app.view_functions[endpoint] = idempotent(view)
