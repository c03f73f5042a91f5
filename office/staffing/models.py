from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.db import Base, enum_type, utcnow


class Side(StrEnum):
    SOUTH = "south"
    NORTH = "north"


class Category(StrEnum):
    OFFICIAL = "official"
    SUPPORT = "support"
    CONTRACTOR_WORKER = "contractor_worker"


class Position(StrEnum):
    CO_HEAD = "co_head"
    DEPUTY_HEAD = "deputy_head"
    SECRETARY_GENERAL = "secretary_general"
    DUTY_OFFICER = "duty_officer"
    LIAISON_OFFICER = "liaison_officer"
    STAFF = "staff"
    TECHNICIAN = "technician"
    WORKER = "worker"


class Shift(StrEnum):
    DAY = "day"
    NIGHT = "night"  # belongs to the date it starts


class CrossingStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    AMENDED = "amended"  # the stays changed after the list was sent: send it again


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DISCARDED = "discarded"


OFFICE_OPENED_ON = date(2018, 9, 14)
ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)  # Monday to Sunday, as `date.weekday()` counts


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class StaffMember(Base):
    __tablename__ = "staff_members"
    # Nobody twice on a side's roster (the services also refuse names that differ only in
    # the case of the Latin letters).
    __table_args__ = (
        Index(
            "uq_staff_members_side_name_ko_name_latin",
            "side",
            "name_ko",
            "name_latin",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name_ko: Mapped[str] = mapped_column(String(60))
    name_latin: Mapped[str] = mapped_column(String(100), default="")
    side: Mapped[Side] = mapped_column(enum_type(Side, "side"))
    category: Mapped[Category] = mapped_column(enum_type(Category, "category"))
    agency: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[Position] = mapped_column(enum_type(Position, "position"))
    # May be put on night duty (the planner only picks qualified people).
    is_duty_qualified: Mapped[bool] = mapped_column(default=False)
    active_from: Mapped[date]
    active_until: Mapped[date | None]
    # The secret of this person's calendar feed link.
    feed_token: Mapped[str] = mapped_column(String(40), unique=True, default=new_feed_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stays: Mapped[list[Stay]] = relationship(
        back_populates="person", order_by="Stay.first_day", cascade="all, delete-orphan"
    )

    def is_active_on(self, day: date) -> bool:
        return self.active_from <= day and (self.active_until is None or day <= self.active_until)

    def display_name(self, locale: str) -> str:
        if locale != "ko" and self.name_latin:
            return self.name_latin
        return self.name_ko


class StaffingRule(Base):
    """The rules of one side, edited by schedulers."""

    __tablename__ = "staffing_rules"
    __table_args__ = (
        CheckConstraint(
            "0 <= weekday_min AND weekday_min <= max_headcount "
            "AND 0 <= weekend_min AND weekend_min <= max_headcount",
            name="headcount_bounds",
        ),
        CheckConstraint("min_night_duty >= 0", name="night_duty"),
        CheckConstraint("max_consecutive_days >= 1 AND min_rest_days >= 0", name="person_rules"),
        CheckConstraint(
            "min_stay_days >= 1 AND min_stay_days <= max_consecutive_days", name="stay_lengths"
        ),
        CheckConstraint(
            "max_crossings_per_month IS NULL OR max_crossings_per_month >= 1",
            name="monthly_crossings",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    side: Mapped[Side] = mapped_column(enum_type(Side, "side"), unique=True)
    weekday_min: Mapped[int] = mapped_column(default=15)
    weekend_min: Mapped[int] = mapped_column(default=15)
    max_headcount: Mapped[int] = mapped_column(default=20)
    # The categories whose people count toward the headcount (default: officials).
    counted_categories: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: [Category.OFFICIAL.value]
    )
    min_night_duty: Mapped[int] = mapped_column(default=1)
    # The longest stay: days on site in a row, at most.
    max_consecutive_days: Mapped[int] = mapped_column(default=12)
    # The shortest stay (1: no minimum). Each stay is two crossings, two name lists for the
    # North and a notification, so schedulers keep stays whole.
    min_stay_days: Mapped[int] = mapped_column(default=1)
    min_rest_days: Mapped[int] = mapped_column(default=2)
    # The days of the week people may cross (arrive or leave), as `date.weekday()` counts them.
    crossing_weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: list(ALL_WEEKDAYS))
    # The most crossings (arrivals and departures) per person in a calendar month; None: no cap.
    max_crossings_per_month: Mapped[int | None]
    # The daily headcount and night-duty rules apply from this day (the office's opening).
    applies_from: Mapped[date] = mapped_column(default=lambda: OFFICE_OPENED_ON)

    def counts(self, category: Category) -> bool:
        return category.value in self.counted_categories

    def minimum_on(self, day: date) -> int:
        return self.weekend_min if day.weekday() >= 5 else self.weekday_min


class Stay(Base):
    """A person's time on site, first and last day inclusive."""

    __tablename__ = "stays"
    __table_args__ = (
        CheckConstraint("last_day >= first_day", name="ordered"),
        Index("ix_stays_staff_member_id_first_day", "staff_member_id", "first_day"),
        Index("ix_stays_first_day_last_day", "first_day", "last_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    # A pinned stay is kept as it is when the planner proposes a new plan.
    is_pinned: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[StaffMember] = relationship(back_populates="stays")

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


class DutyShift(Base):
    __tablename__ = "duty_shifts"
    __table_args__ = (
        UniqueConstraint("staff_member_id", "duty_on", "shift"),
        Index("ix_duty_shifts_duty_on", "duty_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    duty_on: Mapped[date]
    shift: Mapped[Shift] = mapped_column(enum_type(Shift, "shift"))

    person: Mapped[StaffMember] = relationship()


class CrossingList(Base):
    """The name list of one day's crossings, as sent to (and accepted by) the North."""

    __tablename__ = "crossing_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    crossing_on: Mapped[date] = mapped_column(unique=True)
    status: Mapped[CrossingStatus] = mapped_column(enum_type(CrossingStatus, "crossing_status"))
    # The names as last sent: {"north": [...], "south": [...]} of staff member ids.
    sent_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sent_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanProposal(Base):
    """A plan the planner proposed, kept until the scheduler accepts or discards it."""

    __tablename__ = "plan_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    side: Mapped[Side] = mapped_column(enum_type(Side, "side"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    status: Mapped[ProposalStatus] = mapped_column(enum_type(ProposalStatus, "proposal_status"))
    # {"stays": [[person_id, "first", "last"], ...], "nights": [[person_id, "day"], ...]}
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    objective: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
