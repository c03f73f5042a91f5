"""Jobs as their users meet them: asking answers at once and only queues the work; the job's
page follows it; its file is kept in chunks and sent in chunks; it can be cancelled; it is
its owner's (and the superusers'); bad input is a clear message. The worker runs here, in the
test's process and transaction (`tests.jobs.run_jobs`); `test_queue.py` runs real ones."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from office.audit.models import AuditEvent
from office.auth.permissions import Role
from office.db import utcnow
from office.jobs import runner, services
from office.jobs.models import Job, JobFile, JobFileChunk, JobState
from office.jobs.queue import queue_of
from office.jobs.runner import PROGRESS_EVERY_SECONDS
from office.staffing.models import PlanProposal
from office.waivers.models import Classification, DrawdownEntry, Purpose, Source
from tests.conftest import log_in
from tests.factories import make_person, make_resource, make_user
from tests.jobs import job_id_of, run_jobs


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def job(session, job_id: int) -> Job:
    session.expire_all()
    found = session.get(Job, job_id)
    assert found is not None
    return found


@pytest.fixture
def as_reviewer(client, reviewer):
    return log_in(client, reviewer)


def add_trail(session, rows: int) -> None:
    """`rows` audit events, written in bulk."""
    start = utcnow() - timedelta(days=1)
    session.execute(
        insert(AuditEvent),
        [
            {
                "action": "drawdown.recorded",
                "actor_id": None,
                "object_type": "DrawdownEntry",
                "object_id": str(n),
                "occurred_at": start + timedelta(seconds=n),
                "detail": {"n": n, "note": "사무소 연료"},
            }
            for n in range(rows)
        ],
    )
    session.commit()


def add_ledger(session, entries: int) -> None:
    """`entries` ledger entries, written in bulk (the export reads them; it checks no hash)."""
    diesel = make_resource(session)
    session.execute(
        insert(DrawdownEntry),
        [
            {
                "seq": n,
                "resource_id": diesel.id,
                "quantity": n,
                "unit": diesel.unit,
                "base_quantity": n,
                "occurred_on": date(2018, 10, 1) + timedelta(days=n % 28),
                "recorded_at": utcnow(),
                "purpose": Purpose.OPERATION,
                "source": Source.MANUAL,
                "note": f"entry {n}",
                "classification": Classification.NOT_REQUIRED,
                "flagged": False,
                "prev_hash": "0" * 64,
                "hash": f"{n:064d}",
            }
            for n in range(1, entries + 1)
        ],
    )
    session.commit()


# --- asking answers at once ----------------------------------------------------------------

WEEK = {"side": "south", "first_day": "2018-10-01", "days": "7"}
ASKED = [
    ("reviewer", "/ledger/export.csv", {}),
    ("reviewer", "/ledger/export.xlsx?flagged=no", {}),
    ("reviewer", "/audit/export.csv", {}),
    ("reviewer", "/deliveries/stock/export.xlsx", {}),
    ("reviewer", "/reviews/reports/2018-10.pdf", {}),
    ("scheduler", "/staffing/plan", {"side": "south", "first_day": "2018-10-01", "days": "7"}),
]


@pytest.mark.parametrize(("role", "path", "data"), ASKED)
def test_long_work_never_runs_in_the_request_it_is_queued_and_the_page_follows_it(
    client, session, role, path, data
):
    user = make_user(session, Role(role))
    for _ in range(3):
        make_person(session)
    log_in(client, user)

    response = client.post(path, data=data)

    job_id = job_id_of(response)
    asked = job(session, job_id)
    assert (asked.state, asked.owner_id, asked.attempts) == (JobState.QUEUED, user.id, 0)
    assert asked.params["locale"] == "en"
    assert count(session, JobFile) == 0 and count(session, PlanProposal) == 0
    assert queue_of(client.application).huey.pending_count() == 1
    page = client.get(response.location).get_data(as_text=True)
    assert 'role="status"' in page and "Waiting for a worker." in page
    assert f'data-job-status="/jobs/{job_id}.json"' in page
    assert "Cancel this job" in page


def test_a_job_page_follows_the_job_to_its_file(as_reviewer, session):
    add_trail(session, 3)
    job_id = job_id_of(as_reviewer.post("/audit/export.csv"))
    before = as_reviewer.get(f"/jobs/{job_id}.json").get_json()
    assert (before["state"], before["finished"], before["percent"]) == ("queued", False, None)

    assert run_jobs(as_reviewer.application) == 1

    after = as_reviewer.get(f"/jobs/{job_id}.json").get_json()
    assert (after["state"], after["finished"], after["percent"]) == ("done", True, 100)
    assert after["status_text"].startswith("Done at ")
    assert f'href="/jobs/{job_id}/download"' in after["actions_html"]
    assert "rows written" in after["detail_html"]
    page = as_reviewer.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Download audit-" in page and "Cancel this job" not in page
    listed = as_reviewer.get("/jobs/").get_data(as_text=True)
    assert f"/jobs/{job_id}" in listed and "Audit trail export" in listed
    account = as_reviewer.get("/account").get_data(as_text=True)
    assert f"/jobs/{job_id}/download" in account


def test_a_job_page_reads_in_korean(client, session, reviewer):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    log_in(client, reviewer)
    job_id = job_id_of(client.post("/audit/export.csv"))
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "작업자를 기다리는 중입니다." in page and "이 작업 취소" in page
    run_jobs(client.application)
    shown = client.get(f"/jobs/{job_id}.json").get_json()
    assert "완료" in shown["status_text"]


# --- files: written in chunks, sent in chunks -----------------------------------------------


def test_a_ledger_export_is_kept_in_small_chunks_and_sent_whole_in_chunks(
    app, as_reviewer, session
):
    add_ledger(session, 3000)
    app.config["OFFICE_JOBS_CHUNK_BYTES"] = 4096
    job_id = job_id_of(as_reviewer.post("/ledger/export.csv"))
    run_jobs(app)

    file = session.scalars(select(JobFile).where(JobFile.job_id == job_id)).one()
    sizes = session.scalars(
        select(func.length(JobFileChunk.data))
        .where(JobFileChunk.file_id == file.id)
        .order_by(JobFileChunk.seq)
    ).all()
    assert file.is_complete and file.chunks == len(sizes) > 50
    assert all(size == 4096 for size in sizes[:-1]) and 0 < sizes[-1] <= 4096
    assert sum(sizes) == file.size

    response = as_reviewer.get(f"/jobs/{job_id}/download")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="ledger-')
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data()
    assert len(body) == file.size == int(response.headers["Content-Length"])
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 3001 and rows[0][0] == "seq"
    assert [row[0] for row in rows[1:4]] == ["3000", "2999", "2998"]  # newest first
    assert job(session, job_id).detail == {"rows": 3000, "total": 3000}


def test_an_xlsx_export_writes_text_as_text_never_as_a_formula(client, session, reviewer):
    typed = "=1+2@evil.example"
    stranger = client.application.test_client()
    stranger.post("/login", data={"email": typed, "password": "a-wrong-one"})
    log_in(client, reviewer)

    response = client.post("/audit/export.xlsx")
    run_jobs(client.application)
    download = client.get(f"/jobs/{job_id_of(response)}/download")

    assert download.mimetype.endswith("spreadsheetml.sheet")
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula
    assert ">=1+2@evil.example<" in sheet  # as typed, a string
    assert ">occurred_at<" in sheet  # the header


# --- cancelling ----------------------------------------------------------------------------


def test_a_queued_job_cancelled_never_runs_and_its_download_says_why(as_reviewer, session):
    job_id = job_id_of(as_reviewer.post("/audit/export.csv"))

    response = as_reviewer.post(f"/jobs/{job_id}/cancel")

    assert response.location == f"/jobs/{job_id}"
    assert "The job was cancelled before it started." in as_reviewer.get(
        response.location
    ).get_data(as_text=True)
    run_jobs(as_reviewer.application)
    assert job(session, job_id).state is JobState.CANCELLED
    assert count(session, JobFile) == 0
    download = as_reviewer.get(f"/jobs/{job_id}/download")
    assert download.status_code == 404
    assert "This job was cancelled: it left no file." in download.get_data(as_text=True)
    again = as_reviewer.post(f"/jobs/{job_id}/cancel", follow_redirects=True)
    assert "This job has already ended (cancelled)" in again.get_data(as_text=True)


def _plan_asked(client, session) -> int:
    """A scheduler asks for a week's plan of four people; the job's id."""
    scheduler = make_user(session, Role.SCHEDULER)
    for _ in range(4):
        make_person(session)
    log_in(client, scheduler)
    return job_id_of(
        client.post(
            "/staffing/plan", data={"side": "south", "first_day": "2018-10-01", "days": "7"}
        )
    )


def _planner_progress_of(app, job_id: int):
    """The plan job `job_id` claimed by a worker, and the progress hook its search would call
    (in `app`'s context)."""
    from office.db import db
    from office.jobs.kinds import kind_of
    from office.staffing.jobs import PlannerProgress

    with db.new_session(writes=True) as claiming:
        claimed = services.claim_job(claiming, job_id, worker="test", now=utcnow())
        claiming.commit()
    assert claimed is not None
    context = runner.JobContext(
        app, kind_of("plan"), job_id, 1, claimed.params, claimed.owner_id, "en"
    )
    return PlannerProgress(context, time_limit=10)


def test_a_running_plan_asked_to_stop_keeps_nothing(app, client, session):
    """The planner's progress callback answers True (stop the search) once the owner asked;
    the job then ends cancelled and no proposal is kept."""
    from office.staffing.planner import PlanProgress

    job_id = _plan_asked(client, session)
    with app.app_context():
        progress = _planner_progress_of(app, job_id)
        found = PlanProgress(1.0, 900, 700, 0.22, crossings=4, stays=[], nights=[])
        assert progress(found) is False  # searching: go on
        shown = client.get(f"/jobs/{job_id}.json").get_json()
        assert "Best plan so far: objective 900 after 1.0 s (1 plan found)." in shown["detail_html"]
        assert "within 22.0% of it" in shown["detail_html"]
        assert shown["percent"] == 10

        assert client.post(f"/jobs/{job_id}/cancel").status_code == 302
        assert job(session, job_id).state is JobState.RUNNING  # it stops at its next step
        time.sleep(PROGRESS_EVERY_SECONDS)  # its reports read the flag twice a second
        better = PlanProgress(2.0, 850, 700, 0.18, crossings=4, stays=[], nights=[])
        assert progress(better) is True  # stop the search
    assert count(session, PlanProposal) == 0


def test_a_running_plan_shows_a_better_bound_and_then_the_proof(app, client, session):
    """The planner also reports a better bound on the plan it has (not a plan found), and
    that the plan is proven the best; a gap under 1% is not rounded to look like a proof."""
    from office.staffing.planner import PlanProgress

    job_id = _plan_asked(client, session)
    with app.app_context():
        progress = _planner_progress_of(app, job_id)
        progress(PlanProgress(1.0, 1_000_000, 0, 1.0, crossings=4, stays=[], nights=[]))
        time.sleep(PROGRESS_EVERY_SECONDS)
        closer = PlanProgress(2.0, 1_000_000, 999_935, 0.000065, crossings=4, stays=[], nights=[])
        assert progress(closer) is False
        shown = client.get(f"/jobs/{job_id}.json").get_json()["detail_html"]
        assert "objective 1,000,000 after 2.0 s (1 plan found)." in shown
        assert "within 0.0065% of it" in shown
        assert "proven the best" not in shown

        # At once after the last report: the proof is not left out.
        proof = PlanProgress(
            2.1, 1_000_000, 1_000_000, 0.0, crossings=4, stays=[], nights=[], proven=True
        )
        assert progress(proof) is False
        shown = client.get(f"/jobs/{job_id}.json").get_json()["detail_html"]
        assert "This plan is proven the best: no plan can be better." in shown
        assert "(1 plan found)" in shown and "within" not in shown


def test_cancelling_a_finished_job_is_refused_plainly(as_reviewer, session):
    job_id = job_id_of(as_reviewer.post("/audit/export.csv"))
    run_jobs(as_reviewer.application)
    page = as_reviewer.post(f"/jobs/{job_id}/cancel", follow_redirects=True)
    assert page.status_code == 200
    assert "This job has already ended (done); there is nothing to cancel." in page.get_data(
        as_text=True
    )
    assert job(session, job_id).state is JobState.DONE


# --- whose it is ---------------------------------------------------------------------------


def test_another_user_cannot_see_cancel_or_download_your_job(client, session, reviewer):
    add_trail(session, 2)
    other = make_user(session, Role.REVIEWER)
    superuser = make_user(session, Role.ADMIN, superuser=True)
    log_in(client, reviewer)
    job_id = job_id_of(client.post("/audit/export.csv"))
    run_jobs(client.application)

    log_in(client, other)
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}.json", f"/jobs/{job_id}/download"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/jobs/{job_id}/cancel").status_code == 404
    assert f"/jobs/{job_id}" not in client.get("/jobs/").get_data(as_text=True)
    assert f"/jobs/{job_id}" not in client.get("/account").get_data(as_text=True)

    log_in(client, superuser)
    assert client.get(f"/jobs/{job_id}/download").status_code == 200
    assert f"/jobs/{job_id}" not in client.get("/jobs/").get_data(as_text=True)
    assert f"/jobs/{job_id}" in client.get("/jobs/?all=1").get_data(as_text=True)


def test_jobs_are_for_logged_in_users_and_each_kind_for_those_who_may_ask(client, session):
    assert client.get("/jobs/").status_code == 302  # to the login page
    log_in(client, make_user(session, Role.SCHEDULER))
    assert client.post("/ledger/export.csv").status_code == 403
    assert client.post("/reviews/reports/2018-10.pdf").status_code == 403
    assert count(session, Job) == 0


def test_a_job_whose_owner_lost_the_right_fails_saying_so(as_reviewer, session, reviewer):
    job_id = job_id_of(as_reviewer.post("/audit/export.csv"))
    session.execute(
        update(type(reviewer)).where(type(reviewer).id == reviewer.id).values(role=Role.SCHEDULER)
    )
    session.commit()
    run_jobs(as_reviewer.application)
    done = job(session, job_id)
    assert done.state is JobState.FAILED
    assert done.error == "Its owner may no longer run this kind of job."
    assert count(session, JobFile) == 0


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/jobs/999999", "/jobs/999999.json", "/jobs/999999/download", "/jobs/abc", "/jobs/-1"]
)
def test_an_unknown_job_is_a_plain_404(as_reviewer, path):
    response = as_reviewer.get(path)
    assert response.status_code == 404


def test_a_file_not_ready_or_expired_says_so(app, as_reviewer, session):
    job_id = job_id_of(as_reviewer.post("/audit/export.csv"))
    waiting = as_reviewer.get(f"/jobs/{job_id}/download")
    assert waiting.status_code == 409
    assert "The file is not ready yet" in waiting.get_data(as_text=True)
    run_jobs(app)
    session.execute(update(JobFile).values(expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    gone = as_reviewer.get(f"/jobs/{job_id}/download")
    assert gone.status_code == 410
    assert "has been deleted; run the job again" in gone.get_data(as_text=True)


def test_an_export_address_opened_as_a_link_offers_the_button(as_reviewer):
    page = as_reviewer.get("/ledger/export.xlsx?flagged=no").get_data(as_text=True)
    assert 'action="/ledger/export.xlsx?flagged=no"' in page
    assert as_reviewer.get("/ledger/export.pdf").status_code == 404


# --- the monthly PDF: served again while fresh ---------------------------------------------


def test_a_fresh_pdf_is_served_at_once_and_asking_again_makes_no_new_job(as_reviewer, session):
    job_id = job_id_of(as_reviewer.post("/reviews/reports/2018-10.pdf"))
    run_jobs(as_reviewer.application)

    served = as_reviewer.get("/reviews/reports/2018-10.pdf")
    again = as_reviewer.post("/reviews/reports/2018-10.pdf")

    assert served.mimetype == "application/pdf" and served.get_data().startswith(b"%PDF")
    assert 'filename="supply-usage-2018-10-en.pdf"' in served.headers["Content-Disposition"]
    assert again.status_code == 303 and again.location == "/reviews/reports/2018-10.pdf"
    assert count(session, Job) == 1 and job(session, job_id).state is JobState.DONE
    # In another language it is another PDF.
    as_reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    assert "jobs/prepare" not in as_reviewer.get("/reviews/reports/2018-10.pdf").get_data(
        as_text=True
    )
    assert job_id_of(as_reviewer.post("/reviews/reports/2018-10.pdf")) != job_id


def test_asking_twice_while_the_first_is_under_way_goes_to_the_same_job(as_reviewer):
    first = job_id_of(as_reviewer.post("/audit/export.csv"))
    second = job_id_of(as_reviewer.post("/audit/export.csv"))
    other = job_id_of(as_reviewer.post("/audit/export.xlsx"))
    assert first == second != other


# --- the worker's side ---------------------------------------------------------------------


def test_a_job_delivered_twice_runs_once(app, as_reviewer, session):
    job_id = job_id_of(as_reviewer.post("/audit/export.csv"))
    runner.execute_job(app, job_id)
    runner.execute_job(app, job_id)  # the same message again
    done = job(session, job_id)
    assert (done.state, done.attempts) == (JobState.DONE, 1)
    assert count(session, JobFile) == 1


def test_a_failure_of_an_export_is_tried_again_and_a_plans_is_not(
    app, as_reviewer, session, monkeypatch
):
    from office.jobs import exports

    real_row = exports._Csv.row
    failures = iter([OSError("disk full")])

    def row_failing_once(self, values):
        for failure in failures:
            raise failure
        return real_row(self, values)

    monkeypatch.setattr(exports._Csv, "row", row_failing_once)
    add_trail(session, 5)
    job_id = job_id_of(as_reviewer.post("/audit/export.csv"))
    run_jobs(app)
    failed_once = job(session, job_id)
    assert (failed_once.state, failed_once.attempts) == (JobState.QUEUED, 1)
    assert failed_once.error == "Attempt 1 failed (OSError); it is run again."
    assert count(session, JobFile) == 0  # what the attempt wrote is gone
    runner.execute_job(app, job_id)  # the retry, when its delay is over
    done = job(session, job_id)
    assert (done.state, done.attempts) == (JobState.DONE, 2)


def test_the_sweep_retries_a_dead_workers_export_and_fails_its_plan(app, client, session):
    reviewer, scheduler = make_user(session, Role.REVIEWER), make_user(session, Role.SCHEDULER)
    log_in(client, reviewer)
    export_id = job_id_of(client.post("/audit/export.csv"))
    log_in(client, scheduler)
    plan_id = job_id_of(
        client.post(
            "/staffing/plan", data={"side": "south", "first_day": "2018-10-01", "days": "7"}
        )
    )
    long_ago = utcnow() - timedelta(hours=1)
    for job_id in (export_id, plan_id):  # as a worker killed mid-job leaves them
        with app.app_context():
            from office.db import db

            with db.new_session(writes=True) as claiming:
                services.claim_job(claiming, job_id, worker="gone", now=long_ago)
                claiming.commit()
    session.add(JobFile(job_id=export_id, name="half.csv", content_type="text/csv"))
    session.commit()

    assert runner.sweep(app) == 1

    export, plan = job(session, export_id), job(session, plan_id)
    assert (export.state, export.attempts) == (JobState.QUEUED, 1)
    assert count(session, JobFile) == 0  # the half-written file is gone
    assert plan.state is JobState.FAILED
    assert plan.error.startswith("The worker running this job stopped before it finished")
    run_jobs(app)
    assert job(session, export_id).state is JobState.DONE


def test_a_periodic_job_is_made_once_a_day_and_deletes_expired_files(app, as_reviewer, session):
    kept = job_id_of(as_reviewer.post("/audit/export.csv"))
    expired = job_id_of(as_reviewer.post("/audit/export.xlsx"))
    run_jobs(app)
    session.execute(
        update(JobFile)
        .where(JobFile.job_id == expired)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()

    first = runner.start_periodic(app, services.CLEANUP_KIND)
    second = runner.start_periodic(app, services.CLEANUP_KIND)  # another worker's clock
    run_jobs(app)

    assert first is not None and second is None
    assert job(session, first).state is JobState.DONE
    assert job(session, first).owner_id is None
    assert [f.job_id for f in session.scalars(select(JobFile))] == [kept]
    assert count(session, JobFileChunk) == job(session, kept).file.chunks


def test_a_stop_asked_is_seen_between_chunks_and_nothing_is_kept(app, as_reviewer, session):
    """Cancelled while it writes (between two chunks): the job ends cancelled, its chunks
    dropped."""
    add_ledger(session, 500)
    app.config["OFFICE_JOBS_CHUNK_BYTES"] = 1024
    job_id = job_id_of(as_reviewer.post("/ledger/export.csv"))
    session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
    session.commit()
    runner.execute_job(app, job_id)
    stopped = job(session, job_id)
    assert stopped.state is JobState.CANCELLED
    assert count(session, JobFile) == 0 and count(session, JobFileChunk) == 0


def test_the_job_queue_url_is_beside_the_database_by_default(app):
    assert queue_of(app).app is app
    assert re.match(r"memory:", app.config["OFFICE_JOBS_URL"])
