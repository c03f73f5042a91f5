"""Jobs' write paths at the same moment, committed for real (`tests.concurrency`): a job is
claimed by one worker, a cancel and a finish leave it one or the other, the daily job is made
once however many clocks start it, and a double click asks once."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from office.db import db, utcnow
from office.errors import ConflictError
from office.forms import ONCE_FIELD
from office.jobs import runner, services
from office.jobs.models import Job, JobState
from office.jobs.services import JobCancelled
from tests.concurrency import Office, at_once, post
from tests.jobs.test_queue import AUDIT_CSV, ask

ANSWERS = {302, 303, 409, 422}


def claim(office: Office, job_id: int, worker: str):
    def call() -> bool:
        with office.app.app_context(), db.new_session(writes=True) as session:
            claimed = services.claim_job(session, job_id, worker=worker, now=utcnow())
            session.commit()
            return claimed is not None

    return call


def test_two_workers_claiming_one_job_at_once_run_it_once(office):
    job_ids = [ask(office, "audit_export", AUDIT_CSV, office.reviewer) for _ in range(5)]
    for job_id in job_ids:
        won = at_once([claim(office, job_id, "one"), claim(office, job_id, "two")])
        assert sorted(won) == [False, True]
        with office.session() as session:
            job = session.get(Job, job_id)
            assert (job.state, job.attempts) == (JobState.RUNNING, 1)


def test_a_cancel_and_a_finish_at_once_leave_the_job_done_or_cancelled(office):
    for _ in range(4):
        job_id = ask(office, "audit_export", AUDIT_CSV, office.reviewer)
        assert claim(office, job_id, "worker")()

        def finish(job_id: int = job_id) -> str:
            with office.app.app_context(), db.new_session(writes=True) as session:
                try:
                    services.finish_job(
                        session, job_id, 1, now=utcnow(), keep=office.app.config["OFFICE_JOBS_KEEP"]
                    )
                except JobCancelled:
                    session.rollback()
                    return "stopped"
                session.commit()
                return "finished"

        def cancel(job_id: int = job_id) -> str:
            with office.app.app_context(), db.new_session(writes=True) as session:
                job = session.get(Job, job_id)
                try:
                    state = services.cancel_job(session, job, actor=office.reviewer, now=utcnow())
                except ConflictError:
                    session.rollback()
                    return "too late"
                session.commit()
                return state.value

        finished, cancelled = at_once([finish, cancel])

        with office.session() as session:
            job = session.get(Job, job_id)
            if finished == "finished":  # the cancel came after: refused, the job is done
                assert (cancelled, job.state, job.cancel_requested) == (
                    "too late",
                    JobState.DONE,
                    False,
                )
            else:  # the cancel came first: the finish applied nothing; the worker ends it
                assert (cancelled, job.state, job.cancel_requested) == (
                    "running",
                    JobState.RUNNING,
                    True,
                )


def test_two_clocks_starting_the_daily_job_at_once_make_one(office):
    started = at_once(
        [lambda: runner.start_periodic(office.app, services.CLEANUP_KIND) for _ in range(4)]
    )
    assert len([job_id for job_id in started if job_id is not None]) == 1
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_double_click_on_an_export_asks_once(office):
    client = office.client(office.reviewer)
    page = client.get("/ledger/export.csv").get_data(as_text=True)
    token = re.search(rf'name="{ONCE_FIELD}" value="([^"]+)"', page)
    assert token is not None
    sent = {ONCE_FIELD: token[1]}
    answers = at_once(
        [post(office, office.reviewer, "/ledger/export.csv", data=sent) for _ in range(3)]
    )
    assert set(answers) <= ANSWERS
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_the_same_export_asked_from_two_tabs_at_once_is_one_job(office):
    # Two forms, each with its own once-token: not a double click, the same job asked twice.
    client = office.client(office.reviewer)
    sent = []
    for _ in range(3):
        page = client.get("/ledger/export.csv").get_data(as_text=True)
        token = re.search(rf'name="{ONCE_FIELD}" value="([^"]+)"', page)
        assert token is not None
        sent.append({ONCE_FIELD: token[1]})
    answers = at_once(
        [post(office, office.reviewer, "/ledger/export.csv", data=data) for data in sent]
    )
    assert set(answers) == {303}
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
