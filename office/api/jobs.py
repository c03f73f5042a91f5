"""Asking a worker for long work through the API: the same job as the page's button makes
(`office.jobs.web.start_job`), answered with the job to follow instead of its page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app
from flask_login import current_user

from office.api.idempotency import commit
from office.db import db, utcnow
from office.jobs import services
from office.jobs.models import Job
from office.jobs.queue import queue_of


def ask_job(kind: str, params: dict[str, Any], answer: Callable[[Job], Response]) -> Response:
    """Record the job `kind` with `params` for the caller, or find the same one still under
    way (two asked at once make one), and commit `answer(job)`; a new job is then handed to
    the queue (if that fails, the workers' sweep hands it again within minutes)."""
    job = services.active_job(db.session, kind, params, current_user)
    queue = None
    if job is None:
        queue = queue_of()
        job = services.create_job(
            db.session, kind, params, actor=current_user, now=utcnow(), task_id=queue.new_task_id()
        )
    response = commit(answer(job))
    if queue is not None and job.task_id is not None:
        try:
            queue.enqueue(job.id, job.task_id)
        except Exception:
            current_app.logger.exception("job %s: not handed to the queue", job.id)
    return response
