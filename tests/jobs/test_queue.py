"""The real queue: Huey's consumers taking jobs from its storage (an SQLite file beside the
database, or PostgreSQL's own tables), on a database whose transactions commit for real.

Two consumers take every job exactly once between them; a worker process killed mid-job
(SIGKILL) leaves nothing applied, and its job is run again (an export) or failed (a plan)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from huey.consumer import Consumer
from huey.signals import SIGNAL_EXECUTING
from sqlalchemy import func, select

from office.audit.models import AuditEvent
from office.db import db, utcnow
from office.jobs import runner, services
from office.jobs.models import Job, JobFile, JobFileChunk, JobState
from office.jobs.queue import JobQueue, queue_of
from office.staffing.models import PlanProposal
from tests.concurrency import TEST_SECRET_KEY, Office
from tests.factories import make_person

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 90


def wait_for(what: Callable[[], bool], why: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {why}")
        time.sleep(0.05)


def ask(office: Office, kind: str, params: dict, owner) -> int:
    """Record a job as a page would, and hand it to the queue."""
    app = office.app
    with app.app_context():
        queue = queue_of(app)
        task_id = queue.new_task_id()
        with db.new_session(writes=True) as session:
            job = services.create_job(
                session, kind, params, actor=owner, now=utcnow(), task_id=task_id
            )
            session.commit()
            job_id = job.id
        queue.enqueue(job_id, task_id)
    return job_id


AUDIT_CSV = {"format": "csv", "filters": {}, "locale": "en"}


def fill_trail(office: Office, rows: int) -> None:
    start = utcnow() - timedelta(days=2)
    with office.session() as session:
        session.add_all(
            AuditEvent(
                action="drawdown.recorded",
                object_type="DrawdownEntry",
                object_id=str(n),
                occurred_at=start + timedelta(seconds=n),
                detail={"n": n, "note": "a line of the trail, long enough to fill the chunks"},
            )
            for n in range(rows)
        )
        session.commit()


def states(office: Office, ids: list[int]) -> dict[int, JobState]:
    with office.session() as session:
        return dict(session.execute(select(Job.id, Job.state).where(Job.id.in_(ids))).all())


@contextmanager
def consumers(office: Office, names: tuple[str, ...]) -> Iterator[list[tuple[str, int]]]:
    """Real Huey consumers, each with a storage connection of its own and two worker
    threads; yield the (consumer, job id) of every task each executes."""
    executed: list[tuple[str, int]] = []
    lock = threading.Lock()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    running = []
    for name in names:
        huey = JobQueue(office.app).huey

        def seen(_signal: str, task, name: str = name) -> None:
            with lock:
                executed.append((name, task.args[0]))

        huey.signal(SIGNAL_EXECUTING)(seen)
        consumer = Consumer(huey, workers=2, periodic=False, worker_type="thread", max_delay=0.2)
        consumer.start()
        running.append(consumer)
    try:
        yield executed
    finally:
        for consumer in running:
            consumer.stop(graceful=True)
            consumer.huey.storage.close()
        for number, handler in saved.items():
            signal.signal(number, handler)


def test_two_workers_take_every_job_and_each_exactly_once(office):
    fill_trail(office, 200)
    ids = [ask(office, "audit_export", AUDIT_CSV, office.reviewer) for _ in range(30)]

    with consumers(office, ("first", "second")) as executed:
        wait_for(lambda: set(states(office, ids).values()) == {JobState.DONE}, "every job done")

    assert sorted(job_id for _name, job_id in executed) == sorted(ids)  # each taken once
    assert {name for name, _job_id in executed} == {"first", "second"}  # both took some
    with office.session() as session:
        jobs = session.scalars(select(Job).where(Job.id.in_(ids))).all()
        assert {job.attempts for job in jobs} == {1}
        files = session.scalars(select(JobFile)).all()
        assert sorted(f.job_id for f in files) == sorted(ids)
        assert all(f.is_complete for f in files)


# --- a worker killed mid-job ----------------------------------------------------------------


@contextmanager
def worker_process(office: Office, log: Path, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """`flask jobs worker` in a process of its own, on the office's database and queue,
    its log in `log`; yielded once it has started."""
    environ = {
        **os.environ,
        "OFFICE_ENV": "development",
        "SECRET_KEY": TEST_SECRET_KEY,
        "OFFICE_DATABASE_URL": office.engine.url.render_as_string(hide_password=False),
        **settings,
    }
    flask = Path(sys.executable).parent / "flask"
    written = log.open("wb")
    process = subprocess.Popen(
        [str(flask), "--app", "app", "jobs", "worker", "--no-periodic"],
        cwd=ROOT,
        env=environ,
        stdout=written,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: b"Periodic tasks are" in log.read_bytes(), "the worker starting")
        time.sleep(0.5)  # its signal handlers are set just after
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        written.close()


def job_row(office: Office, job_id: int) -> Job:
    with office.session() as session:
        found = session.get(Job, job_id)
        assert found is not None
        return found


def chunks_of(office: Office, job_id: int) -> int:
    with office.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(JobFileChunk)
            .join(JobFile, JobFile.id == JobFileChunk.file_id)
            .where(JobFile.job_id == job_id)
        )


def test_an_export_whose_worker_is_killed_is_never_half_there_and_is_run_again(office, tmp_path):
    rows = 20_000
    fill_trail(office, rows)
    job_id = ask(office, "audit_export", AUDIT_CSV, office.reviewer)

    with worker_process(office, tmp_path / "worker.log", OFFICE_JOBS_CHUNK_KB="1") as worker:
        wait_for(lambda: chunks_of(office, job_id) >= 20, "the export writing its chunks")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    killed = job_row(office, job_id)
    assert (killed.state, killed.attempts) == (JobState.RUNNING, 1)
    client = office.client(office.reviewer)
    waiting = client.get(f"/jobs/{job_id}/download")
    assert waiting.status_code == 409  # half a file is never offered

    later = utcnow() + office.app.config["OFFICE_JOBS_STALE"] + timedelta(seconds=1)
    assert runner.sweep(office.app, now=later) == 1
    swept = job_row(office, job_id)
    assert (swept.state, swept.attempts) == (JobState.QUEUED, 1)
    assert chunks_of(office, job_id) == 0  # what the killed attempt wrote is gone

    assert runner.run_queued(office.app) == 1  # a worker takes it again
    done = job_row(office, job_id)
    assert (done.state, done.attempts) == (JobState.DONE, 2)
    body = client.get(f"/jobs/{job_id}/download").get_data()
    assert body.decode("utf-8-sig").count("\n") == rows + 1  # every row, once


def test_a_plan_whose_worker_is_killed_fails_and_keeps_nothing(office, tmp_path):
    with office.session() as session:
        for _ in range(40):
            make_person(session)
    params = {"side": "south", "first_day": date(2018, 10, 1).isoformat(), "days": 92}
    job_id = ask(office, "plan", {**params, "locale": "en"}, office.scheduler)

    log = tmp_path / "worker.log"
    with worker_process(office, log, OFFICE_PLANNER_SECONDS="120") as worker:
        wait_for(lambda: job_row(office, job_id).stage == "solving", "the planner searching")
        time.sleep(1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    later = utcnow() + office.app.config["OFFICE_JOBS_STALE"] + timedelta(seconds=1)
    assert runner.sweep(office.app, now=later) == 0
    failed = job_row(office, job_id)
    assert failed.state is JobState.FAILED
    assert failed.error.startswith("The worker running this job stopped before it finished")
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(PlanProposal)) == 0


@pytest.mark.parametrize("stopped", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_stops_when_told_to(office, tmp_path, stopped):
    log = tmp_path / "worker.log"
    with worker_process(office, log) as worker:
        worker.send_signal(stopped)
        assert worker.wait(timeout=30) == 0
    assert b"Consumer exiting." in log.read_bytes()
