"""How a job reads on its pages: its kind, its state and stage, why it has no file."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from office.i18n import _, _l, format_datetime, format_number, ngettext, register_labels
from office.jobs.kinds import kind_of
from office.jobs.models import Job, JobState

register_labels(
    {
        JobState: {
            JobState.QUEUED: _l("waiting for a worker"),
            JobState.RUNNING: _l("running"),
            JobState.DONE: _l("done"),
            JobState.FAILED: _l("failed"),
            JobState.CANCELLED: _l("cancelled"),
        }
    }
)

STAGES = {
    "reading": _l("reading the records"),
    "writing": _l("writing the file"),
    "solving": _l("searching for a plan"),
    "saving": _l("saving the result"),
    "printing": _l("printing the PDF"),
    "cleaning": _l("deleting expired files"),
}

STATE_TONES = {
    JobState.QUEUED: "muted",
    JobState.RUNNING: "muted",
    JobState.DONE: "ok",
    JobState.FAILED: "bad",
    JobState.CANCELLED: "warn",
}


def kind_label(job: Job) -> str:
    kind = kind_of(job.kind)
    if kind is None:
        return job.kind
    described = kind.describe(job.params)
    return f"{kind.label} · {described}" if described else str(kind.label)


def stage_label(job: Job) -> str:
    return str(STAGES.get(job.stage, "")) if job.stage else ""


def status_text(job: Job) -> str:
    """One line for the live status: the state, the stage and how far it is."""
    from office.i18n import label

    state = label(job.state)
    if job.state is JobState.RUNNING:
        stage = stage_label(job)
        if job.percent is not None and stage:
            return _("Running: %(stage)s, %(percent)d%%.", stage=stage, percent=job.percent)
        if stage:
            return _("Running: %(stage)s.", stage=stage)
        return _("Running.")
    if job.state is JobState.QUEUED:
        return (
            _("Waiting for a worker.")
            if job.attempts == 0
            else _("Waiting for a worker to run it again (attempt %(n)d of 3).", n=job.attempts + 1)
        )
    if job.state is JobState.DONE:
        return _("Done at %(when)s.", when=format_datetime(job.finished_at))
    return _(
        "%(state)s at %(when)s.", state=state.capitalize(), when=format_datetime(job.finished_at)
    )


def planner_lines(detail: dict[str, Any]) -> list[str]:
    """The planner's search so far: its best plan's objective, the bound and the gap."""
    if "objective" not in detail:
        return []
    found = int(detail.get("solutions", 1))
    lines = [
        ngettext(
            "Best plan so far: objective %(objective)s after %(seconds)s s (%(num)d plan found).",
            "Best plan so far: objective %(objective)s after %(seconds)s s (%(num)d plans found).",
            found,
            objective=format_number(int(detail["objective"])),
            seconds=f"{float(detail.get('seconds', 0)):.1f}",
        )
    ]
    if detail.get("proven"):
        lines.append(_("This plan is proven the best: no plan can be better."))
    elif detail.get("bound") is not None:
        lines.append(
            _(
                "No plan can be better than %(bound)s: the best is within %(gap)s%% of it.",
                bound=format_number(int(detail["bound"])),
                gap=_percent(float(detail.get("gap", 0))),
            )
        )
    return lines


def _percent(fraction: float) -> str:
    """A gap in percent: one decimal, or two significant digits below 1% (down to 0.0001%):
    a plan within 0.004% of the bound is not shown as within 0.0% of it, which reads as
    proven."""
    percent = 100 * fraction
    if 0 < percent < 1:
        decimals = min(4, 1 - math.floor(math.log10(percent)))
        return f"{max(percent, 0.0001):.{decimals}f}"  # "within" holds: never below the gap
    return f"{percent:.1f}"


def no_file_reason(job: Job, now: datetime) -> tuple[int, str]:
    """Why the job's file cannot be downloaded, as a status and a message."""
    if job.state is JobState.CANCELLED:
        return 404, _("This job was cancelled: it left no file. Start it again if you need it.")
    if job.state is JobState.FAILED:
        return 404, _("This job failed: it left no file. Its page says why.")
    if job.state in (JobState.QUEUED, JobState.RUNNING):
        return 409, _("The file is not ready yet; its job's page shows how far it is.")
    if job.file is not None and job.file.expires_at is not None and job.file.expires_at <= now:
        return 410, _(
            "This file was kept until %(when)s and has been deleted; run the job again.",
            when=format_datetime(job.file.expires_at),
        )
    return 404, _("This job leaves no file to download.")


def rows_line(detail: dict[str, Any]) -> str:
    if "rows" not in detail:
        return ""
    if detail.get("total"):
        return _(
            "%(rows)s of %(total)s rows written.",
            rows=format_number(int(detail["rows"])),
            total=format_number(int(detail["total"])),
        )
    return _("%(rows)s rows written.", rows=format_number(int(detail["rows"])))


def result_label(job: Job) -> str:
    kind = kind_of(job.kind)
    return (
        str(kind.result_label) if kind is not None and kind.result_label else _("Open the result")
    )
