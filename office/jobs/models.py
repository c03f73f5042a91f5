"""Our record of each job, and the files jobs leave, kept in the database in chunks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.auth.models import User
from office.db import Base, enum_type, utcnow


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


class Job(Base):
    """One piece of long work: what was asked, by whom, where it stands and what it left.

    The pages read it; the worker writes it in short transactions. A worker claims a job by
    moving it from queued to running with a conditional UPDATE, so a job delivered twice runs
    once; the worker touches `heartbeat_at` while it runs, so a job whose worker died is found
    (`services.sweep_stale`)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_owner_id_created_at", "owner_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # Nobody for the periodic jobs the workers start themselves.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[JobState] = mapped_column(
        enum_type(JobState, "job_state"), default=JobState.QUEUED, index=True
    )
    percent: Mapped[int | None]
    stage: Mapped[str] = mapped_column(String(40), default="")
    # What the page shows of the work so far (rows written; the planner's best plan and gap).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # Where a job that leaves no file points: {"endpoint": ..., "values": {...}}.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # One job per key at most: a periodic job's kind and period, so that two workers' clocks
    # starting the same daily job make one.
    unique_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    # The Huey task that carries it, to revoke while it waits.
    task_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it was last handed to the queue (a retry or a sweep hands it again).
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    owner: Mapped[User | None] = relationship()
    file: Mapped[JobFile | None] = relationship(back_populates="job", uselist=False)

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED


class JobFile(Base):
    """The file a job made (an export, a report), in `JobFileChunk` rows; downloadable once
    `is_complete`, deleted after `expires_at`."""

    __tablename__ = "job_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks: Mapped[int] = mapped_column(default=0)
    is_complete: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    job: Mapped[Job] = relationship(back_populates="file")


class JobFileChunk(Base):
    """A piece of a job's file, in order (`seq` from 0)."""

    __tablename__ = "job_file_chunks"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("job_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
