"""What a worker does with a job: claim it, run its kind with a context that reports progress,
checks for a stop, writes its file in chunks and finishes it; retry or fail it when it breaks.

`execute_job` is what the Huey task runs; tests call it in their own process. A job's kind
writes through `JobContext`:

- reports (`progress`) and file chunks commit each in a short transaction of their own;
- the job's effect (a proposal kept, a file marked complete) commits in one transaction with
  its change to done (`finish`), so a worker killed at any moment leaves either the whole
  effect or none of it; a file is downloadable only once complete.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import Flask, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from office import printing
from office.auth.models import User
from office.auth.permissions import has_permission
from office.db import db, utcnow
from office.errors import DomainError
from office.i18n import DEFAULT_LANGUAGE, LANGUAGES, _l, force_locale
from office.jobs import services
from office.jobs.kinds import JobKind, kind_of
from office.jobs.models import JobFile, JobFileChunk, JobState
from office.jobs.queue import RETRY_DELAY_SECONDS, queue_of
from office.jobs.services import JobCancelled, JobLost

logger = logging.getLogger(__name__)

# Reports are written at most this often (the last one always): a page polls every second.
PROGRESS_EVERY_SECONDS = 0.5


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


class Heartbeat:
    """A thread that tells the database the job's worker lives, every `seconds`, and notices a
    stop asked for by the owner (`stop_asked`)."""

    def __init__(self, app: Flask, job_id: int, attempt: int, seconds: float) -> None:
        self.app, self.job_id, self.attempt, self.seconds = app, job_id, attempt, seconds
        self.stop_asked = threading.Event()
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._done.set()
        self._thread.join(timeout=self.seconds + 5)

    def _run(self) -> None:
        while not self._done.wait(self.seconds):
            try:
                with self.app.app_context(), db.new_session(writes=True) as session:
                    asked = services.beat(session, self.job_id, self.attempt, now=utcnow())
                    session.commit()
            except Exception:  # a missed beat is retried at the next; the sweep is lenient
                logger.exception("job %s: heartbeat failed", self.job_id)
                continue
            if asked is None:
                self.lost.set()
            elif asked:
                self.stop_asked.set()


class FileWriter:
    """The job's file, written in chunks of the configured size, each committed on its own;
    it becomes downloadable only when the job finishes (`JobContext.finish`)."""

    def __init__(self, context: JobContext, name: str, content_type: str) -> None:
        self.context = context
        self.chunk_bytes: int = context.app.config["OFFICE_JOBS_CHUNK_BYTES"]
        self._buffer = bytearray()
        self.size = 0
        self.chunks = 0
        with context.write_session() as session:
            row = JobFile(
                job_id=context.job_id,
                name=name[:200],
                content_type=content_type,
                size=0,
                chunks=0,
                is_complete=False,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            self.file_id = row.id

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= self.chunk_bytes:
            piece = bytes(self._buffer[: self.chunk_bytes])
            del self._buffer[: self.chunk_bytes]
            self._store(piece)

    def close(self) -> None:
        if self._buffer or self.chunks == 0:
            self._store(bytes(self._buffer))
            self._buffer.clear()

    def _store(self, piece: bytes) -> None:
        with self.context.write_session() as session:
            session.add(JobFileChunk(file_id=self.file_id, seq=self.chunks, data=piece))
            self.size += len(piece)
            self.chunks += 1
            file = session.get(JobFile, self.file_id)
            assert file is not None
            file.size, file.chunks = self.size, self.chunks
        self.context.check_stop()


class TextFile:
    """A text stream (UTF-8) onto a `FileWriter`, for the csv module."""

    def __init__(self, writer: FileWriter) -> None:
        self.writer = writer

    def write(self, text: str) -> int:
        self.writer.write(text.encode("utf-8"))
        return len(text)


class JobContext:
    """What a job's kind works with: its parameters, sessions, reports, stop and file."""

    def __init__(
        self,
        app: Flask,
        kind: JobKind,
        job_id: int,
        attempt: int,
        params: dict[str, Any],
        owner_id: int | None,
        locale: str,
    ) -> None:
        self.app = app
        self.kind = kind
        self.job_id = job_id
        self.attempt = attempt
        self.params = params
        self.owner_id = owner_id
        self.locale = locale
        self.heartbeat: Heartbeat | None = None
        self.file: FileWriter | None = None
        self._last_report = 0.0
        self._last_check = 0.0

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session to read in; its transaction ends with the block."""
        with db.new_session(writes=False) as session:
            yield session
            # Ends the read; where the app is bound to a test's connection, this releases its
            # savepoint rather than rolling back what the job wrote meanwhile.
            session.commit()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session whose transaction commits at the end of the block (or rolls back)."""
        with db.new_session(writes=True) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()

    def owner(self, session: Session) -> User | None:
        return session.get(User, self.owner_id) if self.owner_id is not None else None

    def progress(
        self,
        *,
        percent: int | None = None,
        stage: str | None = None,
        detail: dict[str, Any] | None = None,
        force: bool = False,
    ) -> None:
        """Report how far the job is; raise JobCancelled when its owner asked it to stop."""
        now = time.monotonic()
        if not force and now - self._last_report < PROGRESS_EVERY_SECONDS:
            self.check_stop()
            return
        self._last_report = now
        with self.write_session() as session:
            asked = services.record_progress(
                session,
                self.job_id,
                self.attempt,
                now=utcnow(),
                percent=percent,
                stage=stage,
                detail=detail,
            )
        self._last_check = now
        if asked:
            raise JobCancelled(self.job_id)

    def stop_asked(self) -> bool:
        """Whether the owner asked the job to stop (read at most twice a second)."""
        if self.heartbeat is not None:
            if self.heartbeat.lost.is_set():
                raise JobLost(self.job_id)
            if self.heartbeat.stop_asked.is_set():
                return True
        now = time.monotonic()
        if now - self._last_check < PROGRESS_EVERY_SECONDS:
            return False
        self._last_check = now
        from office.jobs.models import Job

        with self.read_session() as session:
            state, asked = session.execute(
                select(Job.state, Job.cancel_requested).where(Job.id == self.job_id)
            ).one()
        if state is not JobState.RUNNING:
            raise JobLost(self.job_id)
        return bool(asked)

    def check_stop(self) -> None:
        if self.stop_asked():
            raise JobCancelled(self.job_id)

    def open_file(self, name: str, content_type: str) -> FileWriter:
        self.file = FileWriter(self, name, content_type)
        return self.file

    def finish(self, session: Session, result: dict[str, Any] | None = None) -> None:
        """Mark the job done in `session`, the transaction that applies its effect."""
        if self.file is not None:
            self.file.close()
        services.finish_job(
            session,
            self.job_id,
            self.attempt,
            now=utcnow(),
            keep=self.app.config["OFFICE_JOBS_KEEP"],
            result=result,
        )

    def finish_file(self) -> None:
        """Close the file and mark it complete and the job done, in one transaction."""
        assert self.file is not None
        self.file.close()
        with self.write_session() as session:
            self.finish(session)

    @contextmanager
    def rendering(self) -> Iterator[None]:
        """A request context in the job's language, to render templates outside a request."""
        with self.app.test_request_context("/"), force_locale(self.locale):
            yield

    def print_file(self, html_of: Callable[[Session], str], name: str) -> None:
        """A PDF job's work: the HTML made from the database (`html_of`, in the job's
        language), printed by WeasyPrint with our own static files, kept as the job's file
        `name`; the job is then done."""
        self.progress(stage="reading", percent=10, force=True)
        with self.read_session() as session, self.rendering():
            html = html_of(session)
        self.progress(stage="printing", percent=40, force=True)
        with self.rendering():
            printed = printing.pdf(
                html, static_url=request.url_root + "static/", static_folder=self.app.static_folder
            )
        self.check_stop()
        self.progress(stage="saving", percent=90, force=True)
        file = self.open_file(name, "application/pdf")
        file.write(printed)
        self.finish_file()


def _language(params: dict[str, Any], owner: User | None) -> str:
    chosen = params.get("locale") or getattr(owner, "language", None)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def execute_job(app: Flask, job_id: int) -> None:
    """Run the job `job_id` if it is queued (a message delivered twice runs it once)."""
    with app.app_context():
        with db.new_session(writes=True) as session:
            job = services.claim_job(session, job_id, worker=worker_name(), now=utcnow())
            session.commit()
            if job is None:
                logger.info("job %s: not queued, not run", job_id)
                return
            kind = kind_of(job.kind)
            owner = session.get(User, job.owner_id) if job.owner_id is not None else None
            context_args = (
                job.id,
                job.attempts,
                dict(job.params),
                job.owner_id,
                _language(job.params, owner),
            )
            refused = None
            if (
                kind is not None
                and kind.permission is not None
                and (owner is None or not has_permission(owner, kind.permission))
            ):
                refused = _l("Its owner may no longer run this kind of job.")
        if kind is None:
            _end(
                app,
                job_id,
                context_args[1],
                JobState.FAILED,
                str(_l("This kind of job is no longer known.")),
            )
            return
        context = JobContext(app, kind, *context_args)
        if refused is not None:
            with force_locale(context.locale):
                _end(app, job_id, context.attempt, JobState.FAILED, str(refused))
            return
        seconds = app.config["OFFICE_JOBS_HEARTBEAT_SECONDS"]
        try:
            # In the language it was asked in: what it writes and says reads as its pages do.
            with force_locale(context.locale):
                if seconds:
                    with Heartbeat(app, job_id, context.attempt, seconds) as heartbeat:
                        context.heartbeat = heartbeat
                        kind.run(context)
                else:
                    kind.run(context)
        except JobCancelled:
            _end(app, job_id, context.attempt, JobState.CANCELLED, None)
        except JobLost:
            logger.warning("job %s: attempt %s no longer holds it", job_id, context.attempt)
        except DomainError as exc:  # the work itself says no (no plan exists, no Pango)
            with force_locale(context.locale):
                _end(app, job_id, context.attempt, JobState.FAILED, str(exc))
        except Exception as exc:
            logger.exception("job %s (%s) failed", job_id, kind.name)
            with force_locale(context.locale):
                _failed(app, kind, context, exc)


def _failed(app: Flask, kind: JobKind, context: JobContext, exc: Exception) -> None:
    name = type(exc).__name__
    if kind.retry_safe and context.attempt < services.MAX_ATTEMPTS:
        message = str(
            _l("Attempt %(n)d failed (%(error)s); it is run again.", n=context.attempt, error=name)
        )
        if _end(app, context.job_id, context.attempt, JobState.QUEUED, message):
            with app.app_context():
                _hand_over(app, context.job_id, RETRY_DELAY_SECONDS)
        return
    _end(
        app,
        context.job_id,
        context.attempt,
        JobState.FAILED,
        str(_l("The job failed (%(error)s); the error is in the worker's log.", error=name)),
    )


def _end(app: Flask, job_id: int, attempt: int, state: JobState, error: str | None) -> bool:
    with app.app_context(), db.new_session(writes=True) as session:
        ended = services.end_attempt(
            session, job_id, attempt, state=state, now=utcnow(), error=error
        )
        session.commit()
    return ended


def _hand_over(app: Flask, job_id: int, delay: float = 0) -> None:
    with db.new_session(writes=False) as session:
        from office.jobs.models import Job

        task_id = session.scalar(select(Job.task_id).where(Job.id == job_id))
        session.commit()
    queue_of(app).enqueue(job_id, task_id or queue_of(app).new_task_id(), delay)


def sweep(app: Flask, now: datetime | None = None) -> int:
    """Retry or fail the jobs whose worker died, hand lost messages to the queue again;
    return how many jobs it handed over."""
    with app.app_context():
        with db.new_session(writes=True) as session:
            again = services.sweep_stale(
                session, now=now or utcnow(), stale=app.config["OFFICE_JOBS_STALE"]
            )
            session.commit()
        queue = queue_of(app)
        for job_id, task_id, delay in again:
            queue.enqueue(job_id, task_id or queue.new_task_id(), delay)
    return len(again)


def start_periodic(app: Flask, kind_name: str, now: datetime | None = None) -> int | None:
    """Make today's job of `kind_name` unless a worker made it already; return its id."""
    now = now or utcnow()
    with app.app_context():
        queue = queue_of(app)
        task_id = queue.new_task_id()
        with db.new_session(writes=True) as session:
            job = services.start_periodic_job(
                session, kind_name, services.day_key(now), now=now, task_id=task_id
            )
            session.commit()
            job_id = job.id if job is not None else None
        if job_id is not None:
            queue.enqueue(job_id, task_id)
    return job_id


def run_queued(app: Flask, limit: int = 100) -> int:
    """Take the queue's messages one by one and run them here, in this process, as a worker
    would (for tests and the command line); return how many were run."""
    queue = queue_of(app)
    ran = 0
    while ran < limit:
        task = queue.huey.dequeue()
        if task is None:
            break
        queue.huey.execute(task)
        ran += 1
    return ran
