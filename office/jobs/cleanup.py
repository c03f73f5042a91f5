"""The first periodic job: delete the files jobs left once their days are over (every day,
started by the workers' schedulers; one job a day however many workers run)."""

from __future__ import annotations

from office.db import utcnow
from office.i18n import _l
from office.jobs import services
from office.jobs.kinds import JobKind, register
from office.jobs.runner import JobContext


def run_cleanup(context: JobContext) -> None:
    deleted = 0
    context.progress(stage="cleaning", force=True)
    while True:
        # A batch a transaction: a backlog never holds the database for long.
        with context.write_session() as session:
            batch = services.delete_expired_files(session, now=utcnow())
        deleted += batch
        context.progress(stage="cleaning", detail={"deleted": deleted})
        if batch == 0:
            break
    with context.write_session() as session:
        context.finish(session)


register(
    JobKind(
        name=services.CLEANUP_KIND,
        label=_l("Deleting expired files"),
        run=run_cleanup,
        retry_safe=True,
        permission=None,
        describe=lambda params: str(params.get("period", "")),
    )
)
