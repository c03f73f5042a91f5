"""Writes that happen once: a posted form's one-time token.

Every form a logged-in user is shown carries a fresh random token (`office.forms`). When it is
posted, the request records the token before the view runs, in the transaction the view
commits, so the token commits with the write or rolls back with it:

- the first request with a token records it, the view writes and commits, and the answer it
  gave (where it redirected, what it flashed) is kept with the token;
- a request that brings a recorded token again (a double click, a reload, a retry after an
  answer was lost on the way) writes nothing and gets the first answer again, with a note;
- two at the same moment: on PostgreSQL the second one's insert waits on the token's unique
  index until the first commits, then fails; `retry_writes` runs it again and it finds the
  token (SQLite runs one writer at a time: the second simply comes after the first);
- a form that is refused (a field is wrong, a rule says no) commits nothing, so its token is
  still good: the user corrects the form and sends it again. An answer that is an error
  (4xx) gives the token back even when the view committed something on the way (a failed
  attempt counted, say).

Tokens are kept for `KEEP` at least; each new one removes a few older ones. The API has the
same promise through the Idempotency-Key header (`office.api.idempotency`).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import RouteCallable
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response as BaseResponse

from office.db import SAFE_METHODS, Base, db, utcnow
from office.errors import wants_json
from office.forms import ONCE_FIELD, form_tokens
from office.i18n import _
from office.web import safe_next

KEEP = timedelta(hours=24)
# How many expired rows one request removes, at most: a few, so no request pays for a backlog.
PURGE_BATCH = 20
# How long a request waits for the answer of the first one, which commits its write and then
# keeps its answer a moment later.
ANSWER_WAIT_SECONDS = 5.0
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")

M = TypeVar("M", bound=Base)


class FormSubmission(Base):
    """A form's one-time token that a request used, and the answer that request gave."""

    __tablename__ = "form_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Empty until the request that wrote has answered.
    status: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(String(2000))
    flashes: Mapped[list[list[str]] | None] = mapped_column(JSON)


def purge_expired(model: type[Any], now: datetime) -> None:
    """Remove a few of `model`'s rows older than `KEEP`, skipping any another request holds."""
    expired = (
        select(model.id)
        .where(model.created_at < now - KEEP)
        .order_by(model.created_at, model.id)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    db.session.execute(
        delete(model).where(model.id.in_(expired)),
        execution_options={"synchronize_session": False},
    )


def wait_for_answer(find: Callable[[], M | None], answered: Callable[[M], bool]) -> M | None:
    """Read the row `find` returns until `answered` says it holds its answer, or the wait
    runs out; return the row as last read (None when it is gone).

    The reads end their transaction in between, so that the request that is to write the
    answer (on SQLite, waiting for this one's write lock) can.
    """
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    row = find()
    while row is not None and not answered(row) and time.monotonic() < deadline:
        db.session.rollback()
        time.sleep(0.05)
        row = find()
    return row


def _find(token: str) -> FormSubmission | None:
    return db.session.scalar(
        select(FormSubmission)
        .where(FormSubmission.token == token)
        .execution_options(populate_existing=True)
    )


def _form_page() -> str:
    """The page the form was posted from, when it is one of this site's, else home."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        page = safe_next(target)
        if page is not None:
            return page
    return url_for("home.index")


def _replay(row: FormSubmission) -> BaseResponse:
    """Answer as the first request did, or, if its answer never came (its worker died after
    the commit), send the user back to the form's page; say it was recorded once."""
    for category, message in row.flashes or []:
        flash(message, category)
    flash(_("This form had already been sent: it was recorded once, and not again."), "info")
    if row.location:
        status = row.status if row.status is not None and 300 <= row.status < 400 else 303
        return redirect(row.location, status)
    return redirect(_form_page(), 303)


def _flashed_since(before: list[Any]) -> list[list[str]]:
    after = list(session.get("_flashes", []))
    new = after[len(before) :] if after[: len(before)] == before else after
    return [[str(category), str(message)] for category, message in new]


def _keep_answer(claim_id: int, response: Response, flashes: list[list[str]]) -> None:
    """Keep `response` with the token, if the view committed it; give the token back after
    an error."""
    # What the view did not commit goes, the token's insert with it: then neither statement
    # below finds the row, and the token is still good.
    db.session.rollback()
    if response.status_code < 400:
        location = response.headers.get("Location")
        db.session.execute(
            update(FormSubmission)
            .where(FormSubmission.id == claim_id, FormSubmission.status.is_(None))
            .values(
                status=response.status_code,
                location=location if location and len(location) <= 2000 else None,
                flashes=flashes,
            )
        )
    else:
        db.session.execute(delete(FormSubmission).where(FormSubmission.id == claim_id))
    db.session.commit()


def once_per_token(view: RouteCallable) -> RouteCallable:
    """Wrap a view so that a form posted with a one-time token already used writes nothing
    and gets the first answer again."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS or wants_json():
            return view(*args, **kwargs)
        token = request.form.get(ONCE_FIELD)
        if token is None or not current_user.is_authenticated:
            return view(*args, **kwargs)
        if not _TOKEN.fullmatch(token):
            abort(400)
        user_id = current_user.id
        found = _find(token)
        if found is not None:
            if found.user_id != user_id:
                abort(400)
            answered = wait_for_answer(lambda: _find(token), lambda row: row.status is not None)
            if answered is not None:
                return _replay(answered)
            # The first request was refused after all and gave the token back: this one is
            # the first now.
        now = utcnow()
        purge_expired(FormSubmission, now)
        claim = FormSubmission(token=token, user_id=user_id, created_at=now)
        db.session.add(claim)
        db.session.flush()
        claim_id = claim.id
        before = list(session.get("_flashes", []))
        answer: Any = view(*args, **kwargs)
        response = current_app.make_response(answer)
        _keep_answer(claim_id, response, _flashed_since(before))
        return response

    return run


def init_app(app: Flask) -> None:
    """Make every view of `app` honour the one-time token of a form posted to it."""
    app.jinja_env.globals["form_tokens"] = form_tokens
    for endpoint, view in app.view_functions.items():
        if endpoint != "static":
            app.view_functions[endpoint] = once_per_token(view)
