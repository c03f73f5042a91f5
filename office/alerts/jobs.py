"""The daily alerts and the daily digest as periodic jobs: every morning each worker's
scheduler asks for the day's run and one job a day is made (`office.jobs.runner.start_periodic`).

The alerts (06:00 in Seoul): the notices they raise commit with the job's end, in one
transaction; a run repeated raises none again (`office.alerts.daily.raise_alerts`).
The digest (07:00): each user who chose it gets one mail of the notices owed to them since
the last (`office.alerts.mail.send_digests`); a line is claimed before it is sent, so a run
repeated sends nothing twice. The mails of single notices are sent by the queue's
`office.send_mail` task, asked for after each commit that owes one and every minute."""

from __future__ import annotations

from office.alerts import daily, mail
from office.db import utcnow
from office.i18n import _l, office_date
from office.jobs.kinds import JobKind, register
from office.jobs.runner import JobContext

ALERTS_KIND = "daily_alerts"
DIGEST_KIND = "daily_digest"


def run_alerts(context: JobContext) -> None:
    context.progress(stage="checking", force=True)
    now = utcnow()
    with context.write_session() as session:
        raised = daily.raise_alerts(session, today=office_date(now), now=now)
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


def run_digest(context: JobContext) -> None:
    context.progress(stage="sending", force=True)
    sent = mail.send_digests(context.app, now=utcnow())
    with context.write_session() as session:
        context.finish(session, {"sent": sent})


register(
    JobKind(
        name=DIGEST_KIND,
        label=_l("Daily digest of notices"),
        run=run_digest,
        retry_safe=True,
        permission=None,
        describe=lambda params: str(params.get("period", "")),
    )
)
