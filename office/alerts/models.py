"""Notices: what the daily alerts found, each raised once for the people whose work it is."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from office.db import Base, enum_type


class NoticeKind(StrEnum):
    LINE_75 = "line_75"  # a waiver line passed 75 % of its cap
    LINE_90 = "line_90"
    RUNS_OUT = "runs_out"  # a line runs out before its waiver expires, at the last 30 days' pace
    WAIVER_EXPIRING = "waiver_expiring"  # within 30 days
    RETURN_OVERDUE = "return_overdue"  # equipment past its date to go back south
    DAY_NOT_SIGNED_OFF = "day_not_signed_off"  # two days on


class Notice(Base):
    """One event an alert found, raised once: `key` names the event (the line and the
    threshold, the waiver and its end...), so the next day's run finds it raised already,
    and two runs at once raise it once."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_raised", "raised_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(enum_type(NoticeKind, "notice_kind"))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # The roles whose work it is, as ",admin,reviewer," (values of Role): a page finds its
    # role's notices with one LIKE.
    audience: Mapped[str] = mapped_column(String(60))
    # What the message says, as facts (references, numbers, dates as text), and where it leads.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    endpoint: Mapped[str] = mapped_column(String(100))
    endpoint_args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raised_on: Mapped[date]  # the office's day the alert ran
    raised_at: Mapped[datetime]


class NoticeDismissal(Base):
    """A user has read a notice and put it away."""

    __tablename__ = "notice_dismissals"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    dismissed_at: Mapped[datetime]
