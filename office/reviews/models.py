from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.auth.models import User
from office.db import Base, enum_type, utcnow


class ItemKind(StrEnum):
    """What was flagged, and where: each kind is a row of another feature's table."""

    OVERRIDE = "override"  # a drawdown recorded outside its waiver's cover (drawdown_entries)
    FLAGGED_USE = "flagged_use"  # stock used after its waiver stopped covering it (lot_draws)
    DIP_VARIANCE = "dip_variance"  # a tank measured off its book stock (dip_readings)
    METER_ANOMALY = "meter_anomaly"  # a meter reading out of line (meter_readings)
    OVERDUE_RETURN = "overdue_return"  # equipment past its date to go back south (stock_lots)


class ReviewState(StrEnum):
    OPEN = "open"
    QUERIED = "queried"  # a question to the office, awaiting its answer
    ANSWERED = "answered"  # the office answered; back with the reviewer
    ESCALATED = "escalated"  # referred up, beyond the reviewer
    ACKNOWLEDGED = "acknowledged"  # reviewed and closed


class ReviewAction(StrEnum):
    COMMENT = "comment"
    QUERY = "query"
    ANSWER = "answer"
    ESCALATE = "escalate"
    ACKNOWLEDGE = "acknowledge"
    REOPEN = "reopen"


class ReviewItem(Base):
    """The review of one flagged record. Flagged records are found where their features keep
    them; this row exists from the first action on one and holds its state."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("kind", "source_id"),
        Index("ix_review_items_state_kind", "state", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ItemKind] = mapped_column(enum_type(ItemKind, "item_kind"))
    source_id: Mapped[int]
    state: Mapped[ReviewState] = mapped_column(enum_type(ReviewState, "review_state"))
    month: Mapped[date]  # the first day of the month the flagged record belongs to
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    notes: Mapped[list[ReviewNote]] = relationship(
        back_populates="item", order_by="(ReviewNote.at, ReviewNote.id)"
    )


class ReviewNote(Base):
    """One step of an item's thread: a comment, a question, an answer or a change of state."""

    __tablename__ = "review_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[ReviewAction] = mapped_column(enum_type(ReviewAction, "review_action"))
    from_state: Mapped[ReviewState] = mapped_column(enum_type(ReviewState, "from_state"))
    to_state: Mapped[ReviewState] = mapped_column(enum_type(ReviewState, "to_state"))
    body: Mapped[str] = mapped_column(Text, default="")

    item: Mapped[ReviewItem] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()
