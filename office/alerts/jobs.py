"""The daily alerts as a periodic job: every morning (06:00 in Seoul) each worker's scheduler
asks for the day's run and one job a day is made (`office.jobs.runner.start_periodic`). The
notices it raises commit with the job's end, in one transaction; a run repeated raises none
again (`office.alerts.services.raise_alerts`)."""

from __future__ import annotations

from office.alerts import services
from office.db import utcnow
from office.i18n import _l, office_date
from office.jobs.kinds import JobKind, register
from office.jobs.runner import JobContext

ALERTS_KIND = "daily_alerts"


def run_alerts(context: JobContext) -> None:
    context.progress(stage="checking", force=True)
    now = utcnow()
    with context.write_session() as session:
        raised = services.raise_alerts(session, today=office_date(now), now=now)
        context.finish(session, {"raised": raised})


register(
    JobKind(
        name=ALERTS_KIND,
        label=_l("Daily alerts"),
        run=run_alerts,
        retry_safe=True,
        permission=None,
        describe=lambda params: str(params.get("period", "")),
    )
)
