"""The monthly report's PDF as a job: WeasyPrint takes seconds on a busy month, so a worker
prints it and keeps the file; the report's page serves a fresh one at once.

Safe to run again: it only reads and leaves a file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.permissions import Permission
from office.db import utcnow
from office.i18n import LANGUAGES, _l, office_date
from office.jobs import services as jobs
from office.jobs.kinds import JobKind, register
from office.jobs.models import JobFile
from office.jobs.runner import JobContext
from office.periods.models import SignedOffMonth
from office.reviews import report

KIND = "report_pdf"
# A PDF of a month not signed off is served again for this long; the month's figures may
# change meanwhile, and then its next PDF shows them.
FRESH_FOR = timedelta(minutes=10)


def params_for(month: date, locale: str) -> dict[str, Any]:
    return {"month": month.strftime("%Y-%m"), "locale": locale}


def file_name(params: dict[str, Any]) -> str:
    return f"supply-usage-{params['month']}-{params['locale']}.pdf"


def fresh_pdf(session: Session, month: date, locale: str, now: datetime) -> JobFile | None:
    """A PDF of `month` in `locale` that still shows the month as it is: made after its
    sign-off (nothing in it changes after), or in the last few minutes."""
    signed = session.scalar(select(SignedOffMonth).where(SignedOffMonth.month == month))
    since = signed.signed_off_at if signed is not None else now - FRESH_FOR
    return jobs.fresh_file(session, KIND, params_for(month, locale), since=since, now=now)


def run_report_pdf(context: JobContext) -> None:
    month = date.fromisoformat(f"{context.params['month']}-01")
    context.print_file(
        lambda session: render_template(
            "reviews/report.html",
            report=report.build(session, month, today=office_date(utcnow())),
            printing=True,
        ),
        file_name(context.params),
    )


def describe(params: dict[str, Any]) -> str:
    return f"{params.get('month', '')}, {LANGUAGES.get(params.get('locale', ''), '')}"


register(
    JobKind(
        name=KIND,
        label=_l("Monthly report PDF"),
        run=run_report_pdf,
        retry_safe=True,
        permission=Permission.VIEW_REVIEW,
        describe=describe,
    )
)
