"""Notices: what the daily alerts found and what the office's events call for, each raised
once for the people whose work it is; how each user wants each kind (in the app only, also by
email, or in a daily digest), and the mails owed for each notice."""

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
    # Raised by an event, in its transaction:
    QUERY_ASKED = "query_asked"  # a reviewer's query to the office
    QUERY_ANSWERED = "query_answered"  # the office answered a query
    ITEM_ESCALATED = "item_escalated"  # a reviewer referred an item up
    RECORDED_ANYWAY = "recorded_anyway"  # a refused drawdown recorded anyway, with a reason
    LIST_AMENDED = "list_amended"  # the stays changed after a day's crossing list was sent
    # Raised by the daily alerts: a staffing rule broken in the coming week.
    RULE_BROKEN = "rule_broken"


class Channel(StrEnum):
    """How a user wants a kind of notice: always in the app, and perhaps by mail too."""

    APP = "app"  # in the app only
    EMAIL = "email"  # also by email, one mail a notice
    DIGEST = "digest"  # also in one mail a day of the day's notices


class DeliveryState(StrEnum):
    PENDING = "pending"  # owed, to be sent (again) from `next_attempt_at`
    SENDING = "sending"  # a worker has claimed it and is at the SMTP server
    SENT = "sent"
    FAILED = "failed"  # given up after the last attempt; the notice is still in the app


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


class NoticePreference(Base):
    """How a user wants one kind of notice; a kind without a row is in the app only."""

    __tablename__ = "notice_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NoticeKind] = mapped_column(enum_type(NoticeKind, "notice_kind"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "notice_channel"))
    # The language the page was read in when the choice was made: the mails' language for a
    # user who never chose one with the switch (`User.language` wins when set).
    language: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime]


class NoticeDelivery(Base):
    """A mail owed to a user for a notice: one by itself (channel email) or a line of their
    daily digest (channel digest). The unique key makes a notice owed once per user and
    channel, however often it is raised; a worker claims the row (pending to sending) before
    it sends, so two workers never send it twice."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "user_id", "channel"),
        Index("ix_notice_deliveries_due", "state", "channel", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "notice_channel"))
    state: Mapped[DeliveryState] = mapped_column(enum_type(DeliveryState, "delivery_state"))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
