"""The queue: Huey, on the app's own PostgreSQL (`PostgresHuey`, which claims a message with
`SELECT ... FOR UPDATE SKIP LOCKED`) or on an SQLite file beside an SQLite database
(`SqliteHuey`, one machine only).

Huey carries only a job's id; our `jobs` table is the record the pages read (`models.Job`).
A message is taken by one worker. Huey deletes it as it is taken, so a worker killed mid-job
loses it: the sweep (`services.sweep_stale`, every minute) finds the job by its stale
heartbeat and hands it to the queue again, or fails it. A message delivered twice runs once:
the worker's claim is a conditional UPDATE (`services.claim_job`).

Periodic work runs in the consumers' schedulers (`flask jobs worker`, periodic on by
default). Each worker machine's scheduler enqueues it, so a periodic job that must happen once
a period is made through `services.start_periodic_job`, whose row has a unique key per period.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app
from huey import Huey, MemoryHuey, PostgresHuey, SqliteHuey, crontab
from sqlalchemy import make_url

logger = logging.getLogger(__name__)

QUEUE_NAME = "office"
# Huey's tables on PostgreSQL are made by Huey (create table if not exists) and named with this
# prefix; the migrations leave them alone (migrations/env.py, `include_name`).
HUEY_TABLE_PREFIX = "huey"
HUEY_TABLES = frozenset(
    f"{HUEY_TABLE_PREFIX}_{name}" for name in ("kv", "schedule", "task", "counter")
)
# A failed job of a kind that is safe to run again waits this long before its next attempt.
RETRY_DELAY_SECONDS = 10


def is_ours(name: str | None, type_: str) -> bool:
    """Tell Alembic whether a table (or its index) is the app's: Huey's are not."""
    return not (type_ == "table" and name in HUEY_TABLES)


def _storage_for(url: str) -> Huey:
    if url.startswith("memory:"):
        # In this process only: for tests that run jobs in the test process.
        return MemoryHuey(QUEUE_NAME, results=False)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path:
            raise ValueError("An SQLite job queue needs a file: sqlite:///path/to/office.jobs")
        # Busy timeout as long as the app's own (SQLite queues writers behind one lock).
        return SqliteHuey(QUEUE_NAME, filename=path, results=False, timeout=30)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresHuey(QUEUE_NAME, dsn=dsn, results=False, table_prefix=HUEY_TABLE_PREFIX)


class JobQueue:
    """The app's Huey, made on first use (Huey creates its tables when it starts, which needs
    the database), with the tasks the workers run."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._huey: Huey | None = None
        self.run_task: Any = None
        self.mail_task: Any = None

    @property
    def huey(self) -> Huey:
        if self._huey is None:
            self._huey = self._build()
        return self._huey

    def _build(self) -> Huey:
        from office.jobs import runner, services

        huey = _storage_for(self.app.config["OFFICE_JOBS_URL"])
        app = self.app

        @huey.task(name="office.run_job")
        def run_job(job_id: int) -> None:
            runner.execute_job(app, job_id)

        @huey.periodic_task(crontab(minute="*"), name="office.sweep_jobs")
        def sweep_jobs() -> None:
            runner.sweep(app)

        # 03:05 in Seoul. Every worker's scheduler enqueues it; one job a day is made.
        @huey.periodic_task(crontab(minute="5", hour="18"), name="office.daily_cleanup")
        def daily_cleanup() -> None:
            runner.start_periodic(app, services.CLEANUP_KIND)

        # 06:00 in Seoul: the notices are there when the office opens.
        @huey.periodic_task(crontab(minute="0", hour="21"), name="office.daily_alerts")
        def daily_alerts() -> None:
            from office.alerts.jobs import ALERTS_KIND

            runner.start_periodic(app, ALERTS_KIND)

        # 07:00 in Seoul: each reader of digests gets one mail of what was raised since.
        @huey.periodic_task(crontab(minute="0", hour="22"), name="office.daily_digest")
        def daily_digest() -> None:
            from office.alerts.jobs import DIGEST_KIND

            runner.start_periodic(app, DIGEST_KIND)

        # Asked for after each commit that owes a mail, and every minute: sends what is owed
        # and due (each mail claimed first, so two workers at it send each once).
        @huey.task(name="office.send_mail")
        def send_mail() -> None:
            from office.alerts.mail import send_owed_mails

            send_owed_mails(app)

        @huey.periodic_task(crontab(minute="*"), name="office.send_mail_sweep")
        def send_mail_sweep() -> None:
            from office.alerts.mail import send_owed_mails

            send_owed_mails(app)

        closing = threading.Lock()

        @huey.on_shutdown(name="office.close_storage")
        def close_storage() -> None:
            # In each worker thread as it stops: its own connection (PostgreSQL's LISTEN).
            # One thread at a time: Huey's SQL storages look at their shared connection
            # outside their lock, so two threads stopping at once both closed it.
            with closing:
                huey.storage.close()

        self.run_task = run_job
        self.mail_task = send_mail
        return huey

    def enqueue(self, job_id: int, task_id: str, delay: float = 0) -> None:
        """Hand the job to the queue, as the Huey task `task_id`."""
        huey = self.huey
        if delay:
            task = self.run_task.s(job_id, id=task_id, delay=delay)
        else:
            task = self.run_task.s(job_id, id=task_id)
        huey.enqueue(task)

    def enqueue_mail(self) -> None:
        """Ask a worker to send the mails owed now."""
        huey = self.huey
        huey.enqueue(self.mail_task.s())

    def new_task_id(self) -> str:
        import uuid

        return str(uuid.uuid4())

    def revoke(self, task_id: str) -> None:
        """Tell the queue not to run the task `task_id` when a worker takes it."""
        self.huey.revoke_by_id(task_id, revoke_once=True)

    def close(self) -> None:
        if self._huey is not None:
            self._huey.storage.close()


def init_app(app: Flask) -> None:
    app.extensions["office.jobs"] = JobQueue(app)


def queue_of(app: Flask | None = None) -> JobQueue:
    """The job queue of `app` (default: the current app)."""
    queue: JobQueue = (app or current_app).extensions["office.jobs"]
    return queue
