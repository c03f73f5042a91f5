"""What a feature's view does to hand work to a job: record it, hand it to the queue after the
commit, and send the user to its page; and to send a file a job left."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from office.db import db, utcnow
from office.errors import DomainError
from office.i18n import _, current_locale_code
from office.jobs import services
from office.jobs.models import JobFile, JobFileChunk
from office.jobs.queue import queue_of


def start_job(kind: str, params: dict[str, Any], *, back: str) -> BaseResponse:
    """Record a job of `kind` for the current user (or find the same one still under way) and
    send the user to its page; on a refusal, back to `back` with the message. The job runs
    in the language of the page that asked for it."""
    params = {**params, "locale": current_locale_code()}
    running = services.active_job(db.session, kind, params, current_user)
    if running is not None:
        return redirect(url_for("jobs.detail", job_id=running.id), 303)
    queue = queue_of()
    task_id = queue.new_task_id()
    try:
        job = services.create_job(
            db.session, kind, params, actor=current_user, now=utcnow(), task_id=task_id
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back, 303)
    db.session.commit()
    try:
        queue.enqueue(job.id, task_id)
    except Exception:
        # Recorded, queued: the workers' sweep hands it to the queue again within minutes.
        current_app.logger.exception("job %s: not handed to the queue", job.id)
    return redirect(url_for("jobs.detail", job_id=job.id), 303)


def prepare_page(*, title: str, what: str, action: str, back: str, button: str = "") -> str:
    """The page an address of long work shows when it is opened as a link (a bookmark, a link
    in a report): what a worker will make, and the button that asks for it (`action`, a POST,
    which calls `start_job`)."""
    return render_template(
        "jobs/prepare.html",
        title=title,
        what=what,
        action=action,
        button=button or _("Export"),
        back=back,
    )


def send_job_file(file: JobFile) -> Response:
    """Stream `file` to the browser a chunk at a time, as an attachment."""
    file_id, chunks = file.id, file.chunks

    def pieces() -> Iterator[bytes]:
        for seq in range(chunks):
            data = db.session.scalar(
                select(JobFileChunk.data).where(
                    JobFileChunk.file_id == file_id, JobFileChunk.seq == seq
                )
            )
            if data is None:  # deleted while being sent: the download ends short
                return
            yield bytes(data)

    return Response(
        stream_with_context(pieces()),
        mimetype=file.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file.name}"',
            "Content-Length": str(file.size),
        },
    )
