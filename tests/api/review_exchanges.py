"""What the API's shared tests need of the review's operations (office.api.reviews): real calls
that between them give every response the OpenAPI document lists for them (test_openapi.py),
and every POST of theirs (test_idempotency.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from office.auth.permissions import Role
from office.jobs.models import Job
from office.periods.models import SignedOffMonth
from office.reviews.models import ItemKind, ReviewAction, ReviewNote
from office.waivers.models import Resource
from tests.factories import make_resource, make_user
from tests.jobs import run_jobs
from tests.reviews.arrange import act, one_of_each

# The schemas the review's operations answer with.
REVIEW_SCHEMAS = {
    "ReviewQueuePage",
    "ReviewItemOut",
    "MonthList",
    "MonthOut",
    "MonthReportOut",
    "ReportJobOut",
    "PetroleumReportOut",
    "AuditPage",
}
# The review's operations schemathesis calls as a reviewer (the rest as an administrator).
REVIEWER_REVIEW_OPERATIONS = {
    "listAuditTrail",
    "queryReviewItem",
    "acknowledgeReviewItem",
    "signOffMonth",
}
ACTIONS = ("comment", "query", "answer", "escalate", "acknowledge", "reopen")


def review_calls(
    app: Flask,
    session: Session,
    call: Callable[..., Any],
    api_as: Callable[..., Any],
    anonymous: Any,
    diesel: Resource,
    still_processing: Callable[[Session, Any, str], str],
) -> dict[str, Any]:
    """Make the calls; return path arguments that name a real item, month and job."""
    reviewer, admin, scheduler = api_as(Role.REVIEWER), api_as(Role.ADMIN), api_as(Role.SCHEDULER)
    flagged = one_of_each(session, admin.user, diesel)
    dip = f"/reviews/items/dip_variance/{flagged.dip.id}"
    meter = f"/reviews/items/meter_anomaly/{flagged.reading.id}"
    unknown = "/reviews/items/dip_variance/999999"
    # The queue and an item.
    call(reviewer, "get", "/reviews/items", {"limit": 2})
    call(reviewer, "get", "/reviews/items", {"state": "closed"})
    call(reviewer, "get", dip)
    call(reviewer, "get", unknown)
    # Each action taken, then refused where the state no longer allows it.
    call(reviewer, "post", f"{dip}/comment", {"body": "Looking."})
    call(reviewer, "post", f"{dip}/query", {"body": "Where did it go?"})
    call(admin, "post", f"{dip}/answer", {"body": "A valve seal."})
    call(reviewer, "post", f"{dip}/escalate", {"body": "Up."})
    call(reviewer, "post", f"{dip}/acknowledge", {})
    call(reviewer, "post", f"{dip}/reopen", {"body": "Again."})
    call(reviewer, "post", f"{meter}/acknowledge", {})
    for action in ("query", "escalate", "acknowledge"):
        call(reviewer, "post", f"{meter}/{action}", {"body": "x"})
    call(admin, "post", f"{meter}/answer", {"body": "x"})
    call(reviewer, "post", f"{dip}/reopen", {"body": "x"})
    for action in ACTIONS:
        allowed = admin if action == "answer" else reviewer
        call(allowed, "post", f"{unknown}/{action}", {"body": "x"})
        call(anonymous, "post", f"{dip}/{action}", {})
        call(scheduler, "post", f"{dip}/{action}", {})
        call(allowed, "post", f"{dip}/{action}", raw="{")
        call(allowed, "post", f"{dip}/{action}", raw="[]")
        path = f"{dip}/{action}"
        key = still_processing(session, allowed, path)
        call(allowed, "post", path, raw="{}", headers={"Idempotency-Key": key})
        call(allowed, "post", path, raw='{"other": 1}', headers={"Idempotency-Key": key})
        call(allowed, "post", path, raw="{}", headers={"Idempotency-Key": "unquoted"})
    # Months and their sign-off.
    call(reviewer, "get", "/reviews/months")
    signing = "/reviews/months/2018-09/sign-off"
    call(reviewer, "post", signing, {"note": "Nothing flagged."})
    call(reviewer, "post", signing, {})  # already signed off
    call(reviewer, "post", "/reviews/months/2099-01/sign-off", {})  # not over
    call(reviewer, "post", "/reviews/months/october/sign-off", {})
    call(anonymous, "post", signing, {})
    call(scheduler, "post", signing, {})
    call(reviewer, "post", signing, raw="{")
    key = still_processing(session, reviewer, signing)
    call(reviewer, "post", signing, raw="{}", headers={"Idempotency-Key": key})
    call(reviewer, "post", signing, raw='{"other": 1}', headers={"Idempotency-Key": key})
    call(reviewer, "post", signing, raw="{}", headers={"Idempotency-Key": "unquoted"})
    call(anonymous, "get", "/reviews/months")
    call(scheduler, "get", "/reviews/months")
    # The monthly report, its CSV and its PDF.
    for suffix in ("", ".csv", ".pdf"):
        call(reviewer, "get", f"/reports/monthly/2099-01{suffix}")
    call(reviewer, "get", "/reports/monthly/2018-10")
    call(reviewer, "get", "/reports/monthly/2018-10.csv")
    call(reviewer, "post", "/reports/monthly/2099-01.pdf")
    job = call(reviewer, "post", "/reports/monthly/2018-10.pdf").get_json()
    call(reviewer, "get", f"/reports/jobs/{job['id']}/file")  # not printed yet
    call(reviewer, "get", "/reports/jobs/999999")
    run_jobs(app)
    call(reviewer, "get", f"/reports/jobs/{job['id']}")
    call(reviewer, "get", f"/reports/jobs/{job['id']}/file")
    call(reviewer, "get", "/reports/monthly/2018-10.pdf")
    call(reviewer, "post", "/reports/monthly/2018-10.pdf")
    pdf = "/reports/monthly/2018-10.pdf"
    key = still_processing(session, reviewer, pdf)
    call(reviewer, "post", pdf, raw="{}", headers={"Idempotency-Key": key})
    call(reviewer, "post", pdf, raw='{"other": 1}', headers={"Idempotency-Key": key})
    call(reviewer, "post", pdf, raw="{}", headers={"Idempotency-Key": "unquoted"})
    call(anonymous, "post", pdf)
    call(scheduler, "post", pdf)
    # The petroleum report and the audit trail.
    call(admin, "get", "/reports/petroleum", {"start": "2018-10-01"})
    call(admin, "get", "/reports/petroleum", {"start": "October"})
    petroleum_pdf = "/reports/petroleum.pdf"
    call(admin, "get", "/reports/petroleum.csv", {"start": "2018-10-01"})
    call(admin, "get", "/reports/petroleum.csv", {"start": "October"})
    call(admin, "get", petroleum_pdf, {"start": "October"})
    call(admin, "get", petroleum_pdf)  # not printed yet
    call(admin, "post", petroleum_pdf)
    run_jobs(app)
    call(admin, "get", petroleum_pdf)
    call(admin, "post", petroleum_pdf)  # a fresh one exists
    key = still_processing(session, admin, petroleum_pdf)
    call(admin, "post", petroleum_pdf, raw="{}", headers={"Idempotency-Key": key})
    call(admin, "post", petroleum_pdf, raw='{"other": 1}', headers={"Idempotency-Key": key})
    call(admin, "post", petroleum_pdf, raw="{}", headers={"Idempotency-Key": "unquoted"})
    call(anonymous, "post", petroleum_pdf)
    call(scheduler, "post", petroleum_pdf)
    call(reviewer, "get", "/audit", {"action": "review."})
    call(reviewer, "get", "/audit", {"limit": 0})
    # No token, a role without the permission.
    for path in (
        "/reviews/items",
        dip,
        "/reports/monthly/2018-10",
        "/reports/monthly/2018-10.csv",
        pdf,
        f"/reports/jobs/{job['id']}",
        f"/reports/jobs/{job['id']}/file",
        "/reports/petroleum",
        "/reports/petroleum.csv",
        "/reports/petroleum.pdf",
        "/audit",
    ):
        call(anonymous, "get", path)
        call(scheduler, "get", path)
    return {
        "kind": "dip_variance",
        "source_id": flagged.dip.id,
        "month": "2018-10",
        "job_id": job["id"],
    }


# --- every POST of the review's, for test_idempotency.py ----------------------------------


def _dip(session: Session, *before: ReviewAction) -> str:
    """The address of a flagged dip's review, after the reviewer took `before` on it."""
    admin, reviewer = make_user(session, Role.ADMIN), make_user(session, Role.REVIEWER)
    flagged = one_of_each(session, admin, make_resource(session))
    for action in before:
        act(session, ItemKind.DIP_VARIANCE, flagged.dip.id, action, reviewer, "Why?")
    return f"/reviews/items/dip_variance/{flagged.dip.id}"


# operationId: (who sends it, its address, its body, the table it writes to)
REVIEW_POSTS: dict[str, tuple[Role, Callable[[Session], str], Callable[[Session], Any], type]] = {
    "commentOnReviewItem": (
        Role.ADMIN,
        lambda s: _dip(s) + "/comment",
        lambda s: {"body": "Seen."},
        ReviewNote,
    ),
    "queryReviewItem": (
        Role.REVIEWER,
        lambda s: _dip(s) + "/query",
        lambda s: {"body": "Why?"},
        ReviewNote,
    ),
    "answerReviewItem": (
        Role.ADMIN,
        lambda s: _dip(s, ReviewAction.QUERY) + "/answer",
        lambda s: {"body": "A valve seal."},
        ReviewNote,
    ),
    "escalateReviewItem": (
        Role.REVIEWER,
        lambda s: _dip(s) + "/escalate",
        lambda s: {"body": "Up."},
        ReviewNote,
    ),
    "acknowledgeReviewItem": (
        Role.REVIEWER,
        lambda s: _dip(s) + "/acknowledge",
        lambda s: {},
        ReviewNote,
    ),
    "reopenReviewItem": (
        Role.REVIEWER,
        lambda s: _dip(s, ReviewAction.ACKNOWLEDGE) + "/reopen",
        lambda s: {"body": "Again."},
        ReviewNote,
    ),
    "signOffMonth": (
        Role.REVIEWER,
        lambda s: "/reviews/months/2018-09/sign-off",
        lambda s: {"note": "Nothing flagged."},
        SignedOffMonth,
    ),
    "printMonthReportPdf": (
        Role.REVIEWER,
        lambda s: "/reports/monthly/2018-10.pdf",
        lambda s: {},
        Job,
    ),
    "printPetroleumReportPdf": (
        Role.ADMIN,
        lambda s: "/reports/petroleum.pdf",
        lambda s: {},
        Job,
    ),
}
