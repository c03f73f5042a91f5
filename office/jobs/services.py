"""The rules of jobs: asking for one, a worker's claim and its reports, finishing, failing,
cancelling, and finding the jobs whose worker died.

Every change of a job's state is a conditional UPDATE on the state it comes from (and, for a
worker, on the attempt it holds), so two parties never both win: a job delivered twice is
claimed once; a worker that was thought dead and comes back cannot finish a job another worker
took over; a cancel and a finish that meet leave the job either done or cancelled, never both.
The worker commits each report on its own, in a short transaction; a job's effect (a file
complete, a proposal kept) commits with its change to done, in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from office.auth.models import User
from office.auth.permissions import has_permission
from office.concurrency import LockSpace, advisory_lock, text_key
from office.errors import ConflictError, ForbiddenError, InvalidInput
from office.i18n import _l, label
from office.jobs.kinds import kind_of
from office.jobs.models import FINISHED, Job, JobFile, JobFileChunk, JobState

# Attempts a job of a kind safe to run again gets in all (the first and two more).
MAX_ATTEMPTS = 3
# A queued job not taken for this long may have lost its message (the process that asked for
# it stopped between its commit and the queue): it is handed to the queue again. A second
# message is harmless: the claim runs the job once.
LOST_AFTER = timedelta(minutes=10)
CLEANUP_KIND = "cleanup_files"


class JobCancelled(Exception):
    """The job's owner asked for it to stop; nothing of it is applied."""


class JobLost(Exception):
    """This worker no longer holds the job (it was taken over, or cancelled); nothing of what
    it was doing may be applied."""


def _rowcount(result: Any) -> int:
    return cast("CursorResult[Any]", result).rowcount


def may_see(user: Any, job: Job) -> bool:
    """A job is its owner's and the superusers' to see, download and cancel."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return bool(user.is_superuser) or (job.owner_id is not None and job.owner_id == user.id)


def create_job(
    session: Session,
    kind_name: str,
    params: dict[str, Any],
    *,
    actor: User | None,
    now: datetime,
    task_id: str,
    unique_key: str | None = None,
) -> Job:
    """Record a job of `kind_name` for `actor`, queued; hand it to the queue after the commit.

    Raises InvalidInput for an unknown kind, ForbiddenError when `actor` may not ask for it.
    """
    kind = kind_of(kind_name)
    if kind is None:
        raise InvalidInput(_l("There is no kind of job called %(kind)s.", kind=kind_name))
    if kind.permission is not None and (
        actor is None or not has_permission(actor, kind.permission)
    ):
        raise ForbiddenError(_l("You may not start this kind of job."))
    job = Job(
        kind=kind.name,
        owner_id=actor.id if actor is not None else None,
        params=params,
        state=JobState.QUEUED,
        stage="",
        detail={},
        attempts=0,
        cancel_requested=False,
        unique_key=unique_key,
        task_id=task_id,
        created_at=now,
        enqueued_at=now,
    )
    session.add(job)
    session.flush()
    return job


def start_periodic_job(
    session: Session, kind_name: str, key: str, *, now: datetime, task_id: str
) -> Job | None:
    """Record the periodic job `kind_name` for the period `key`, unless one was already made
    for it (by this or another worker's scheduler): then return None."""
    try:
        with session.begin_nested():
            return create_job(
                session,
                kind_name,
                {"period": key},
                actor=None,
                now=now,
                task_id=task_id,
                unique_key=f"{kind_name}:{key}",
            )
    except IntegrityError:
        return None


def claim_job(session: Session, job_id: int, *, worker: str, now: datetime) -> Job | None:
    """Move the job from queued to running for `worker`, counting an attempt; return it, or
    None when it is not queued (taken by another worker, cancelled, finished, or unknown)."""
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(
            state=JobState.RUNNING,
            attempts=Job.attempts + 1,
            worker=worker[:200],
            started_at=now,
            heartbeat_at=now,
            percent=None,
            stage="",
            detail={},
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(claimed) != 1:
        return None
    return session.scalars(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    ).one()


def _held(job_id: int, attempt: int) -> Any:
    return and_(Job.id == job_id, Job.state == JobState.RUNNING, Job.attempts == attempt)


def record_progress(
    session: Session,
    job_id: int,
    attempt: int,
    *,
    now: datetime,
    percent: int | None = None,
    stage: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record how far the job is (and that its worker lives); return whether its owner asked
    for it to stop. Raises JobLost when this attempt no longer holds the job."""
    values: dict[str, Any] = {"heartbeat_at": now}
    if percent is not None:
        values["percent"] = max(0, min(100, percent))
    if stage is not None:
        values["stage"] = stage[:40]
    if detail is not None:
        values["detail"] = detail
    done = session.execute(
        update(Job)
        .where(_held(job_id, attempt))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(done) != 1:
        raise JobLost(job_id)
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def beat(session: Session, job_id: int, attempt: int, *, now: datetime) -> bool | None:
    """Tell the database the job's worker lives; return whether a stop was asked for, or None
    when this attempt no longer holds the job."""
    done = session.execute(
        update(Job)
        .where(_held(job_id, attempt))
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(done) != 1:
        return None
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish_job(
    session: Session,
    job_id: int,
    attempt: int,
    *,
    now: datetime,
    keep: timedelta,
    result: dict[str, Any] | None = None,
) -> None:
    """Mark the job done, in the transaction that applies its effect, and its file (if any)
    complete, kept for `keep`. Raises JobCancelled when its owner asked for it to stop, JobLost
    when this attempt no longer holds it: the caller rolls back, and nothing is applied."""
    done = session.execute(
        update(Job)
        .where(_held(job_id, attempt), Job.cancel_requested.is_(False))
        .values(
            state=JobState.DONE,
            percent=100,
            result=result,
            error=None,
            finished_at=now,
            heartbeat_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(done) != 1:
        asked = session.scalar(select(Job.cancel_requested).where(_held(job_id, attempt)))
        raise JobCancelled(job_id) if asked else JobLost(job_id)
    session.execute(
        update(JobFile)
        .where(JobFile.job_id == job_id)
        .values(is_complete=True, expires_at=now + keep)
        .execution_options(synchronize_session=False)
    )


def _drop_file(session: Session, job_id: int) -> None:
    """Delete what a job's attempt wrote of its file (chunks first: one statement each)."""
    files = select(JobFile.id).where(JobFile.job_id == job_id).scalar_subquery()
    session.execute(delete(JobFileChunk).where(JobFileChunk.file_id == files))
    session.execute(delete(JobFile).where(JobFile.job_id == job_id))


def end_attempt(
    session: Session,
    job_id: int,
    attempt: int,
    *,
    state: JobState,
    now: datetime,
    error: str | None = None,
) -> bool:
    """End this attempt as failed or cancelled, or back to queued for another attempt; drop
    what it wrote of its file. Return False when the attempt no longer held the job."""
    values: dict[str, Any] = {"state": state, "error": error, "heartbeat_at": None}
    if state is JobState.QUEUED:
        values["enqueued_at"] = now
    else:
        values["finished_at"] = now
    ended = session.execute(
        update(Job)
        .where(_held(job_id, attempt))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(ended) != 1:
        return False
    _drop_file(session, job_id)
    return True


def cancel_job(session: Session, job: Job, *, actor: User, now: datetime) -> JobState:
    """Cancel a queued job at once, or ask a running one to stop (its worker stops at its next
    check and applies nothing); return the state it is then in.

    Raises ForbiddenError when `actor` may not, ConflictError when it has finished.
    """
    if not may_see(actor, job):
        raise ForbiddenError(
            _l("Only the person who started a job, or a superuser, may cancel it.")
        )
    cancelled = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state == JobState.QUEUED)
        .values(state=JobState.CANCELLED, finished_at=now, cancel_requested=True)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(cancelled) == 1:
        session.refresh(job)
        return JobState.CANCELLED
    asked = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state == JobState.RUNNING)
        .values(cancel_requested=True)
        .execution_options(synchronize_session=False)
    )
    session.refresh(job)
    if _rowcount(asked) == 1:
        return JobState.RUNNING
    raise ConflictError(
        _l(
            "This job has already ended (%(state)s); there is nothing to cancel.",
            state=label(job.state),
        )
    )


def sweep_stale(
    session: Session, *, now: datetime, stale: timedelta
) -> list[tuple[int, str, float]]:
    """Find the running jobs whose worker has not been heard of for `stale` (killed, or its
    machine lost) and the queued ones whose message may be lost. A job that is safe to run
    again and has attempts left goes back to the queue, any other fails, saying its worker
    stopped; what its attempt wrote is dropped. Return the (job id, task id, delay) to hand to
    the queue after the commit."""
    again: list[tuple[int, str, float]] = []
    dead = session.scalars(
        select(Job)
        .where(Job.state == JobState.RUNNING, Job.heartbeat_at < now - stale)
        .order_by(Job.id)
        .with_for_update(skip_locked=True)
    ).all()
    for job in dead:
        kind = kind_of(job.kind)
        if kind is not None and kind.retry_safe and job.attempts < MAX_ATTEMPTS:
            end_attempt(
                session,
                job.id,
                job.attempts,
                state=JobState.QUEUED,
                now=now,
                error=str(_l("Its worker stopped; it is being run again.")),
            )
            again.append((job.id, job.task_id or "", 0))
        else:
            end_attempt(
                session,
                job.id,
                job.attempts,
                state=JobState.FAILED,
                now=now,
                error=str(
                    _l(
                        "The worker running this job stopped before it finished; nothing of "
                        "it was applied. Start it again."
                    )
                ),
            )
    lost = session.scalars(
        select(Job)
        .where(Job.state == JobState.QUEUED, Job.enqueued_at < now - LOST_AFTER)
        .order_by(Job.id)
        .with_for_update(skip_locked=True)
    ).all()
    for job in lost:
        job.enqueued_at = now
        again.append((job.id, job.task_id or "", 0))
    session.flush()
    return again


def delete_expired_files(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Delete up to `limit` files past their day, and the files of attempts that never
    finished; return how many."""
    expired = session.scalars(
        select(JobFile.id)
        .join(Job, Job.id == JobFile.job_id)
        .where(
            or_(
                JobFile.expires_at < now,
                and_(JobFile.is_complete.is_(False), Job.state.in_(list(FINISHED))),
            )
        )
        .order_by(JobFile.id)
        .limit(limit)
    ).all()
    if expired:
        session.execute(delete(JobFileChunk).where(JobFileChunk.file_id.in_(expired)))
        session.execute(delete(JobFile).where(JobFile.id.in_(expired)))
    return len(expired)


def downloadable(job: Job, now: datetime) -> JobFile | None:
    """The job's file when it can be downloaded: the job done, the file complete and kept."""
    file = job.file
    if job.state is not JobState.DONE or file is None or not file.is_complete:
        return None
    if file.expires_at is not None and file.expires_at <= now:
        return None
    return file


def fresh_file(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    since: datetime,
    now: datetime,
) -> JobFile | None:
    """The newest complete file a job of `kind` with exactly `params` made since `since`."""
    candidates = session.scalars(
        select(Job)
        .join(JobFile, JobFile.job_id == Job.id)
        .where(
            Job.kind == kind,
            Job.state == JobState.DONE,
            Job.finished_at >= since,
            JobFile.is_complete.is_(True),
            JobFile.expires_at > now,
        )
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(20)
    ).all()
    for job in candidates:
        if job.params == params:
            return job.file
    return None


def active_job(session: Session, kind: str, params: dict[str, Any], owner: User) -> Job | None:
    """`owner`'s job of `kind` with exactly `params` that is still queued or running.

    Asked before recording a job: the question holds `owner`'s jobs of `kind` to the end of
    the transaction, so that two requests asking for the same job at once make one (the
    second waits for the first's commit, then finds its job)."""
    advisory_lock(session, LockSpace.JOB, text_key(f"{owner.id} {kind}"))
    for job in session.scalars(
        select(Job)
        .where(
            Job.kind == kind,
            Job.owner_id == owner.id,
            Job.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
        .order_by(Job.id.desc())
        .limit(20)
    ):
        if job.params == params:
            return job
    return None


def jobs_of(session: Session, user: User | None, *, limit: int = 50) -> list[Job]:
    """The newest jobs of `user` (everyone's for None), newest first."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if user is not None:
        query = query.where(Job.owner_id == user.id)
    return list(session.scalars(query))


def day_key(now: datetime) -> str:
    return now.date().isoformat()
