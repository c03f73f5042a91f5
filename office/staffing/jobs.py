"""The rotation planner as a job: read the facts, search (for OFFICE_PLANNER_SECONDS) outside
any transaction, then keep the proposal and mark the job done in one transaction.

Not retried after a failure: a search is long, and a failed one says why (no plan meets the
rules on such a day), which running it again would not change. A stop asked for while it
searches ends the search at its next report, and nothing is kept."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from office.auth.permissions import Permission
from office.db import utcnow
from office.i18n import _, _l, label
from office.jobs.kinds import JobKind, register
from office.jobs.runner import JobContext
from office.jobs.services import JobCancelled
from office.staffing import planner, services
from office.staffing.models import Side

KIND = "plan"


class PlannerProgress:
    """What the planner calls on each better plan it finds and each better bound it proves,
    from its search thread: record the plan's figures for the job's page, and answer whether
    to stop (its owner cancelled)."""

    def __init__(self, context: JobContext, time_limit: float) -> None:
        self.context = context
        self.time_limit = time_limit
        self.solutions = 0
        self.objective: int | None = None
        self.stopped = False
        self._lock = threading.Lock()

    def __call__(self, found: planner.PlanProgress) -> bool:
        with self._lock:
            # The planner also reports a better bound on the same plan: not a plan found.
            if self.objective is None or found.objective < self.objective:
                self.solutions += 1
                self.objective = found.objective
            detail = {
                "seconds": round(float(found.seconds), 1),
                "objective": float(found.objective),
                "bound": float(found.bound),
                "gap": float(found.gap),
                "proven": found.proven,
                "crossings": found.crossings,
                "solutions": self.solutions,
            }
            percent = (
                min(99, int(100 * found.seconds / self.time_limit)) if self.time_limit else None
            )
            try:
                # The solver's thread has no app context of its own.
                with self.context.app.app_context():
                    # The proof comes once, and may come within moments of the last plan:
                    # never dropped by the reports' pace.
                    self.context.progress(
                        stage="solving", percent=percent, detail=detail, force=found.proven
                    )
                    self.stopped = self.stopped or self.context.stop_asked()
            except JobCancelled:
                self.stopped = True
            return self.stopped


def solve(
    inputs: services.PlanInputs, *, time_limit: float, progress: PlannerProgress
) -> planner.PlanResult:
    """Run the planner over `inputs`, telling `progress` of each better plan (whose True
    stops the search with the best plan so far)."""
    return planner.plan_period(
        inputs.people,
        inputs.rules,
        inputs.current,
        inputs.fixed,
        inputs.first_day,
        inputs.last_day,
        time_limit=time_limit,
        progress=progress,
    )


def run_plan(context: JobContext) -> None:
    params = context.params
    context.progress(stage="reading", force=True)
    with context.read_session() as session:
        inputs = services.plan_inputs(
            session, Side(params["side"]), date.fromisoformat(params["first_day"]), params["days"]
        )
    time_limit = float(context.app.config["OFFICE_PLANNER_SECONDS"])
    context.progress(stage="solving", percent=0, force=True)
    progress = PlannerProgress(context, time_limit)
    result = solve(inputs, time_limit=time_limit, progress=progress)
    if progress.stopped:
        raise JobCancelled(context.job_id)
    context.check_stop()
    context.progress(stage="saving", force=True)
    with context.write_session() as session:
        proposal = services.keep_proposal(
            session, inputs, result, actor=context.owner(session), now=utcnow()
        )
        shown = {"endpoint": "staffing.proposal", "values": {"proposal_id": proposal.id}}
        context.finish(session, result=shown)


def describe(params: dict[str, Any]) -> str:
    sides = {side.value: side for side in Side}
    side = sides.get(params.get("side", ""))
    return _(
        "%(side)s, %(days)s days from %(first)s",
        side=label(side) if side else "",
        days=params.get("days", ""),
        first=params.get("first_day", ""),
    )


register(
    JobKind(
        name=KIND,
        label=_l("Rotation plan"),
        run=run_plan,
        retry_safe=False,
        permission=Permission.MANAGE_STAFFING,
        describe=describe,
        result_label=_l("Open the proposal"),
    )
)
