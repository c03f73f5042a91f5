"""The monthly report and the UN petroleum report through the API (the figures their pages show,
the CSV as the page writes it, the PDF printed by a worker), and the audit trail for those who
may read it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.db import utcnow
from office.fuel import report as petroleum
from office.i18n import office_date
from office.jobs.models import Job, JobState
from office.reviews import report
from office.reviews.models import ItemKind, ReviewAction
from tests.api.conftest import API, assert_problem
from tests.conftest import log_in
from tests.jobs import fetched, run_jobs
from tests.reviews.arrange import OCT, TODAY, act, one_of_each
from tests.security.test_reports import pdf_text

K, A = ItemKind, ReviewAction


@pytest.fixture
def flagged(session, admin, diesel):
    return one_of_each(session, admin, diesel)


# --- the monthly report -------------------------------------------------------------------


def test_the_monthly_report_gives_the_figures_of_its_page(session, reviewer, reviewer_api, flagged):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where did it go?")
    response = reviewer_api.get("/reports/monthly/2018-10")
    assert response.status_code == 200
    got = response.get_json()
    built = report.build(session, OCT(1), today=TODAY)
    assert (got["month"], got["first_day"], got["last_day"]) == (
        "2018-10",
        "2018-10-01",
        "2018-10-31",
    )
    assert got["signed_off"] is None
    assert [r["regime"] for r in got["regimes"]] == [r.code for r in built.regimes]
    transfers = [t for r in got["regimes"] for t in (*r["covered"], *r["not_covered"])]
    assert sorted(
        (t["regime"], t["waiver"] or "", t["resource"], t["quantity"]) for t in transfers
    ) == sorted(
        (
            t.regime.code,
            t.waiver.reference if t.waiver else "",
            t.resource.code,
            format(t.quantity.normalize(), "f"),
        )
        for t in built.transfers
    )
    main = [t for t in transfers if t["waiver"] == "MOU-R-MAIN" and t["covered"]]
    assert main and all(isinstance(t["quantity"], str) for t in main)
    flagged_keys = flagged.keys()
    assert {(ItemKind(f["kind"]), f["source_id"]) for f in got["flags"]} == flagged_keys
    dip = next(f for f in got["flags"] if f["kind"] == "dip_variance")
    assert (dip["state"], dip["resolution"]) == ("queried", "Where did it go?")
    assert [s["resource"] for s in got["stock"]] == [s.resource.code for s in built.stock]
    for shown, figures in zip(got["stock"], built.stock, strict=True):
        assert Decimal(shown["closing"]) == figures.closing


def test_the_monthly_csv_is_the_pages_csv(client, reviewer, reviewer_api, flagged):
    response = reviewer_api.get("/reports/monthly/2018-10.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="supply-usage-2018-10.csv"' in response.headers["Content-Disposition"]
    page = log_in(client, reviewer).get("/reviews/reports/2018-10.csv")
    assert response.get_data() == page.get_data()
    assert b"MOU-R-MAIN" in response.get_data()


@pytest.mark.parametrize("month", ["2099-01", "2001-01", "2018-13", "october"])
def test_a_month_without_a_report_is_not_found(reviewer_api, month):
    for suffix in ("", ".csv", ".pdf"):
        assert_problem(reviewer_api.get(f"/reports/monthly/{month}{suffix}"), 404)
    assert_problem(reviewer_api.post(f"/reports/monthly/{month}.pdf"), 404)


def test_who_may_read_the_reports(api_as, anonymous_api):
    scheduler = api_as(Role.SCHEDULER)
    for path in (
        "/reports/monthly/2018-10",
        "/reports/monthly/2018-10.csv",
        "/reports/monthly/2018-10.pdf",
        "/reports/petroleum",
    ):
        assert_problem(scheduler.get(path), 403)
        assert_problem(anonymous_api.get(path), 401)
    assert_problem(scheduler.post("/reports/monthly/2018-10.pdf"), 403)
    assert api_as(Role.ADMIN).get("/reports/monthly/2018-10").status_code == 200


def test_the_pdf_is_printed_by_a_worker_and_then_served(app, session, reviewer_api, flagged):
    assert_problem(reviewer_api.get("/reports/monthly/2018-10.pdf"), 404)
    asked = reviewer_api.post("/reports/monthly/2018-10.pdf")
    assert asked.status_code == 202
    job = asked.get_json()
    assert asked.headers["Location"] == job["url"] == f"{API}/reports/jobs/{job['id']}"
    assert job["state"] == "queued" and job["file_url"] is None
    # Asked again while under way: the same job.
    assert reviewer_api.post("/reports/monthly/2018-10.pdf").get_json()["id"] == job["id"]
    assert session.scalar(select(func.count()).select_from(Job)) == 1

    run_jobs(app)
    done = reviewer_api.get(f"/reports/jobs/{job['id']}").get_json()
    assert done["state"] == JobState.DONE.value and done["finished"] is True
    assert done["file_url"] == f"{API}/reports/jobs/{job['id']}/file"
    file = reviewer_api.get(f"/reports/jobs/{job['id']}/file")
    assert file.mimetype == "application/pdf" and file.get_data().startswith(b"%PDF")
    served = reviewer_api.get("/reports/monthly/2018-10.pdf")
    assert served.status_code == 200 and served.get_data() == file.get_data()
    again = reviewer_api.post("/reports/monthly/2018-10.pdf")
    assert again.status_code == 303
    assert again.headers["Location"] == f"{API}/reports/monthly/2018-10.pdf"
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_report_job_is_its_owners_to_follow(api_as, reviewer_api, flagged):
    job = reviewer_api.post("/reports/monthly/2018-10.pdf").get_json()
    other = api_as(Role.REVIEWER)
    assert_problem(other.get(f"/reports/jobs/{job['id']}"), 404)
    assert_problem(other.get(f"/reports/jobs/{job['id']}/file"), 404)
    assert_problem(reviewer_api.get(f"/reports/jobs/{job['id']}/file"), 404)  # not printed yet
    assert_problem(reviewer_api.get("/reports/jobs/999999"), 404)


# --- the UN petroleum report --------------------------------------------------------------


def test_the_petroleum_report_gives_the_figures_of_its_page(session, admin_api, flagged):
    response = admin_api.get("/reports/petroleum", {"start": "2018-10-01"})
    assert response.status_code == 200
    got = response.get_json()
    start, end = petroleum.period_from(date(2018, 10, 1), TODAY)
    built = petroleum.petroleum_report(session, start, end)
    assert (got["start"], got["end"]) == (start.isoformat(), end.isoformat())
    assert built.transfers, "the month's diesel went north"
    assert [
        (t["day"], t["product"], Decimal(t["amounts"]["litres"]), Decimal(t["amounts"]["tonnes"]))
        for t in got["transfers"]
    ] == [
        (t.day.isoformat(), t.resource.code, t.amounts.litres, t.amounts.tonnes)
        for t in built.transfers
    ]
    assert all(t["ledger_entry"] for t in got["transfers"])
    assert {p["product"] for p in got["products"]} == {
        p.resource.code for p in built.products.values()
    }


PETROLEUM = "/reports/petroleum"
BAD_START = "Choose the period by a date written YYYY-MM-DD."


def test_the_petroleum_csv_is_the_pages_csv(client, admin, admin_api, flagged):
    response = admin_api.get(f"{PETROLEUM}.csv", {"start": "2018-10-01"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="petroleum-2018-10-01-2018-10-30.csv"'
    )
    page = log_in(client, admin).get("/operations/petroleum.csv?start=2018-10-01")
    assert page.status_code == 200
    assert response.get_data() == page.get_data()
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("\ufeffperiod_start,period_end,kind,date,product")
    assert any(",transfer,2018-10-" in line for line in lines[1:])


def test_the_petroleum_csv_of_no_start_is_the_period_that_holds_today(client, admin, admin_api):
    start, end = petroleum.period_of(office_date(utcnow()))
    response = admin_api.get(f"{PETROLEUM}.csv")
    assert f'filename="petroleum-{start}-{end}.csv"' in response.headers["Content-Disposition"]
    assert response.get_data() == log_in(client, admin).get("/operations/petroleum.csv").get_data()


@pytest.mark.parametrize("start", ["1.10", "2018-02-30", "October", "1900-01-01"])
def test_a_bad_start_is_refused_with_the_pages_message(client, session, admin, admin_api, start):
    for answer in (
        admin_api.get(PETROLEUM, {"start": start}),
        admin_api.get(f"{PETROLEUM}.csv", {"start": start}),
        admin_api.get(f"{PETROLEUM}.pdf", {"start": start}),
        admin_api.post(f"{PETROLEUM}.pdf?start={start}"),
    ):
        problem = assert_problem(answer, 422)
        assert problem["detail"] == BAD_START
        assert problem["errors"] == {"start": [BAD_START]}
    page = log_in(client, admin)
    for path in ("/operations/petroleum", "/operations/petroleum.csv"):
        shown = page.get(path, query_string={"start": start})
        assert shown.status_code == 422 and shown.mimetype == "text/html"
        assert BAD_START in shown.get_data(as_text=True)
    assert page.post("/operations/petroleum.pdf", query_string={"start": start}).status_code == 422
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_the_petroleum_pdf_is_printed_by_a_worker_and_then_served(app, session, admin_api, flagged):
    pdf = f"{PETROLEUM}.pdf?start=2018-10-01"
    assert_problem(admin_api.get(pdf), 404)
    asked = admin_api.post(pdf)
    assert asked.status_code == 202
    job = asked.get_json()
    assert asked.headers["Location"] == job["url"] == f"{API}/reports/jobs/{job['id']}"
    assert job["state"] == "queued" and job["file_url"] is None
    # Asked again while under way: the same job.
    assert admin_api.post(pdf).get_json()["id"] == job["id"]
    assert session.scalar(select(func.count()).select_from(Job)) == 1
    assert session.scalar(select(Job.params)) == {"start": "2018-10-01", "locale": "en"}

    run_jobs(app)
    done = admin_api.get(f"/reports/jobs/{job['id']}").get_json()
    assert done["state"] == JobState.DONE.value and done["finished"] is True
    assert done["file_url"] == f"{API}/reports/jobs/{job['id']}/file"
    file = admin_api.get(f"/reports/jobs/{job['id']}/file")
    assert file.mimetype == "application/pdf" and file.get_data().startswith(b"%PDF")
    assert file.headers["Content-Disposition"] == (
        'attachment; filename="petroleum-2018-10-01-2018-10-30-en.pdf"'
    )
    assert "Refinedpetroleumtransferrednorth" in pdf_text(file.get_data())
    served = admin_api.get(pdf)
    assert served.status_code == 200 and served.get_data() == file.get_data()
    again = admin_api.post(pdf)
    assert again.status_code == 303
    assert again.headers["Location"] == f"{API}{pdf}"
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_the_petroleum_pages_pdf_comes_from_the_same_worker(client, admin, admin_api, flagged):
    page = log_in(client, admin)
    prepared = page.get("/operations/petroleum.pdf?start=2018-10-01")
    assert prepared.status_code == 200 and prepared.mimetype == "text/html"
    assert 'action="/operations/petroleum.pdf?start=2018-10-01"' in prepared.get_data(True)
    printed = fetched(page, "/operations/petroleum.pdf?start=2018-10-01")
    assert printed.status_code == 200 and printed.get_data().startswith(b"%PDF")
    # The page's fresh PDF is the one the API serves (the same user's or another's).
    assert admin_api.get(f"{PETROLEUM}.pdf?start=2018-10-01").get_data() == printed.get_data()


def test_who_may_have_the_petroleum_report(api_as, anonymous_api, reviewer_api, flagged):
    scheduler = api_as(Role.SCHEDULER)
    for path in (f"{PETROLEUM}.csv", f"{PETROLEUM}.pdf"):
        assert_problem(scheduler.get(path), 403)
        assert_problem(anonymous_api.get(path), 401)
    assert_problem(scheduler.post(f"{PETROLEUM}.pdf"), 403)
    assert_problem(anonymous_api.post(f"{PETROLEUM}.pdf"), 401)
    assert reviewer_api.get(f"{PETROLEUM}.csv").status_code == 200
    job = reviewer_api.post(f"{PETROLEUM}.pdf").get_json()
    # The job is its owner's to follow.
    other = api_as(Role.ADMIN)
    assert_problem(other.get(f"/reports/jobs/{job['id']}"), 404)
    assert_problem(other.get(f"/reports/jobs/{job['id']}/file"), 404)
    assert reviewer_api.get(f"/reports/jobs/{job['id']}").status_code == 200


# --- the audit trail ----------------------------------------------------------------------


def test_the_audit_trail_lists_the_reviews_actions_for_those_allowed(
    session, reviewer, api_as, reviewer_api, flagged
):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where?")
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.ESCALATE, reviewer, "Up.")
    response = reviewer_api.get("/audit", {"action": "review."})
    assert response.status_code == 200
    rows = response.get_json()["items"]
    assert [r["action"] for r in rows] == ["review.escalate", "review.query"]
    assert all(r["actor"] == reviewer.display_name for r in rows)
    assert all(r["occurred_at"].endswith("Z") for r in rows)
    assert rows[0]["detail"]["state"] == "escalated"
    assert_problem(api_as(Role.ADMIN).get("/audit"), 403)
    assert_problem(api_as(Role.SCHEDULER).get("/audit"), 403)
    assert api_as(Role.ADMIN, superuser=True).get("/audit").status_code == 200


def test_the_audit_trail_pages_by_cursor_and_filters_by_actor_and_day(
    session, reviewer, admin, reviewer_api, flagged
):
    for body in ("One", "Two", "Three"):
        act(session, K.DIP_VARIANCE, flagged.dip.id, A.COMMENT, reviewer, body)
    whole = reviewer_api.get("/audit", {"limit": 500}).get_json()["items"]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = reviewer_api.get("/audit", query).get_json()
        seen += [(r["source"], r["id"]) for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [(r["source"], r["id"]) for r in whole]
    assert len(set(seen)) == len(seen) >= 3
    mine = reviewer_api.get("/audit", {"actor_id": reviewer.id}).get_json()["items"]
    assert {r["actor_id"] for r in mine} == {reviewer.id}
    assert reviewer_api.get("/audit", {"to": "2001-01-01"}).get_json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"action": "lunch."},
        {"from": "2018-02-30"},
        {"cursor": "yesterday"},
        {"limit": 501},
        {"actor_id": "-1"},
    ],
)
def test_bad_audit_parameters_are_a_problem(reviewer_api, query):
    body = assert_problem(reviewer_api.get("/audit", query), 422)
    assert set(body["errors"]) == {"cursor" if "cursor" in query else next(iter(query))}
