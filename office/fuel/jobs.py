"""The UN petroleum report's PDF as a job: WeasyPrint takes seconds, so a worker prints it and
keeps the file; the report's page and the API serve a fresh one at once.

Safe to run again: it only reads and leaves a file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from office.auth.permissions import Permission
from office.fuel import report
from office.i18n import LANGUAGES, _l, current_locale_code
from office.jobs import services as jobs
from office.jobs.kinds import JobKind, register
from office.jobs.models import JobFile
from office.jobs.runner import JobContext

KIND = "petroleum_pdf"
# A period's figures may change (a late entry, a void), so its PDF is served again only for
# this long; the next one shows them.
FRESH_FOR = timedelta(minutes=10)


def params_for(start: date, locale: str) -> dict[str, Any]:
    return {"start": start.isoformat(), "locale": locale}


def file_name(params: dict[str, Any]) -> str:
    start = date.fromisoformat(params["start"])
    return f"petroleum-{start}-{report.period_end(start)}-{params['locale']}.pdf"


def fresh_pdf(session: Session, start: date, locale: str, now: datetime) -> JobFile | None:
    """A PDF of the period from `start` in `locale` printed in the last few minutes."""
    return jobs.fresh_file(session, KIND, params_for(start, locale), since=now - FRESH_FOR, now=now)


def render_html(built: report.Report, *, printing: bool) -> str:
    """The report's page, or (`printing`) the HTML its PDF is printed from."""
    return render_template(
        "fuel/petroleum.html",
        report=built,
        periods=report.periods(built.start.year),
        earlier=built.start - timedelta(days=report.PERIOD_DAYS),
        later=built.start + timedelta(days=report.PERIOD_DAYS),
        locale=current_locale_code(),
        printing=printing,
    )


def run_petroleum_pdf(context: JobContext) -> None:
    start = date.fromisoformat(context.params["start"])
    context.print_file(
        lambda session: render_html(
            report.petroleum_report(session, start, report.period_end(start)), printing=True
        ),
        file_name(context.params),
    )


def describe(params: dict[str, Any]) -> str:
    return f"{params.get('start', '')}, {LANGUAGES.get(params.get('locale', ''), '')}"


register(
    JobKind(
        name=KIND,
        label=_l("UN petroleum report PDF"),
        run=run_petroleum_pdf,
        retry_safe=True,
        permission=Permission.VIEW_OPERATIONS,
        describe=describe,
    )
)
