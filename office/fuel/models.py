from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.auth.models import User
from office.db import FLAGGED_ONLY, Base, enum_type, utcnow
from office.i18n import _
from office.stock.models import Store
from office.waivers.models import DrawdownEntry, WaiverLine
from office.waivers.units import Quantity

# The condition of a unique index over the readings that stand (not voided).
STANDING: dict[str, Any] = {
    "sqlite_where": text("voided_at IS NULL"),
    "postgresql_where": text("voided_at IS NULL"),
}


class FuelUse(StrEnum):
    GENERATOR = "generator"
    BOILER = "boiler"
    VEHICLE = "vehicle"


class MeterSource(StrEnum):
    GRID_SOUTH = "grid_south"  # the South's grid through Munsan: drawn on a waiver line
    GENERATOR = "generator"


class ReadingKind(StrEnum):
    REGULAR = "regular"
    FIRST = "first"  # the first reading of a meter: it starts the count
    FINAL = "final"  # the last reading of a meter taken out of service


class LogStatus(StrEnum):
    DRAFT = "draft"
    SIGNED_OFF = "signed_off"


class Generator(Base):
    __tablename__ = "generators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    rated_lph: Mapped[Decimal] = mapped_column(Quantity)  # litres per running hour
    tank_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    is_active: Mapped[bool] = mapped_column(default=True)

    tank: Mapped[Store | None] = relationship()


class GeneratorReading(Base):
    """The generator's run-hour meter at a time."""

    __tablename__ = "generator_readings"
    __table_args__ = (
        Index("ix_generator_readings_generator_id_read_at", "generator_id", "read_at"),
        Index(
            "uq_generator_readings_generator_id_read_at",
            "generator_id",
            "read_at",
            unique=True,
            **STANDING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    generator_id: Mapped[int] = mapped_column(ForeignKey("generators.id"))
    read_at: Mapped[datetime]
    read_on: Mapped[date] = mapped_column(index=True)  # the day in Seoul
    hours: Mapped[Decimal] = mapped_column(Quantity)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)

    generator: Mapped[Generator] = relationship()


class Meter(Base):
    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    source: Mapped[MeterSource] = mapped_column(enum_type(MeterSource, "meter_source"))
    waiver_line_id: Mapped[int | None] = mapped_column(ForeignKey("waiver_lines.id"))
    # The register has this many digits and turns over to zero after 10 ** digits - 1.
    digits: Mapped[int]
    # kWh per unit of the register (current-transformer ratio and the like).
    multiplier: Mapped[Decimal] = mapped_column(Quantity)
    installed_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id"))

    waiver_line: Mapped[WaiverLine | None] = relationship()
    replaces: Mapped[Meter | None] = relationship(remote_side="Meter.id")

    __table_args__ = (CheckConstraint("digits BETWEEN 1 AND 12", name="digits"),)

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class MeterReading(Base):
    __tablename__ = "meter_readings"
    __table_args__ = (
        Index("ix_meter_readings_meter_id_read_at", "meter_id", "read_at"),
        Index("ix_meter_readings_read_on", "read_on"),
        # The review queue looks for the few flagged readings among hundreds of thousands.
        Index("ix_meter_readings_flagged_read_on", "read_on", **FLAGGED_ONLY),
        # Each interval is counted once: no two standing readings start from one reading.
        Index(
            "uq_meter_readings_meter_id_previous_at",
            "meter_id",
            "previous_at",
            unique=True,
            **STANDING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    read_at: Mapped[datetime]
    read_on: Mapped[date]  # the day in Seoul
    value: Mapped[Decimal] = mapped_column(Quantity)  # the register as read
    kind: Mapped[ReadingKind] = mapped_column(enum_type(ReadingKind, "reading_kind"))
    rolled_over: Mapped[bool] = mapped_column(default=False)
    # kWh since the meter's previous reading (none for a first reading).
    consumption: Mapped[Decimal | None] = mapped_column(Quantity)
    previous_at: Mapped[datetime | None]
    flagged: Mapped[bool] = mapped_column(default=False)
    # Why it was flagged, as the facts of the rule it broke (JSON: the rule and its figures),
    # so that each reader reads the reason in their own language (`flag_message`).
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    drawdown_entry_id: Mapped[int | None] = mapped_column(ForeignKey("drawdown_entries.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def flag_message(self) -> str:
        """Why the reading was flagged, in the reader's language."""
        return anomaly_message(self.flag_reason)

    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)

    meter: Mapped[Meter] = relationship()
    drawdown_entry: Mapped[DrawdownEntry | None] = relationship()


class DipReading(Base):
    """A tank's contents as measured, against the book stock at the time."""

    __tablename__ = "dip_readings"
    __table_args__ = (
        Index("ix_dip_readings_store_id_read_at", "store_id", "read_at"),
        Index("ix_dip_readings_flagged_read_on", "read_on", **FLAGGED_ONLY),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    read_at: Mapped[datetime]
    read_on: Mapped[date] = mapped_column(index=True)
    measured: Mapped[Decimal] = mapped_column(Quantity)
    book: Mapped[Decimal] = mapped_column(Quantity)
    variance: Mapped[Decimal] = mapped_column(Quantity)  # measured - book
    flagged: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)

    store: Mapped[Store] = relationship()


class DailyLog(Base):
    """The office administrator's page for one day: drafted, then signed off and locked."""

    __tablename__ = "daily_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    log_on: Mapped[date] = mapped_column(unique=True)
    status: Mapped[LogStatus] = mapped_column(enum_type(LogStatus, "log_status"))
    incidents: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    signed_off_at: Mapped[datetime | None]
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])
    events: Mapped[list[DailyLogEvent]] = relationship(
        back_populates="log", order_by="(DailyLogEvent.at, DailyLogEvent.id)"
    )


class DailyLogEvent(Base):
    """One line of a day's history: saved, signed off, or corrected after sign-off (why)."""

    __tablename__ = "daily_log_events"
    __table_args__ = (UniqueConstraint("log_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("daily_logs.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    log: Mapped[DailyLog] = relationship(back_populates="events")
    by: Mapped[User | None] = relationship()


def anomaly_reason(rule: str, **figures: str) -> str:
    """The facts of a broken rule, as `MeterReading.flag_reason` keeps them."""
    return json.dumps({"rule": rule, **figures}, sort_keys=True)


def anomaly_message(reason: str | None) -> str:
    """The sentence for a kept reason, in the reader's language; a reason kept as a sentence
    (before reasons were kept as facts) as it was written."""
    if not reason:
        return ""
    try:
        facts = json.loads(reason)
    except ValueError:
        return reason
    if not isinstance(facts, dict):
        return reason
    if facts.get("rule") == "generator":
        return _(
            "%(rate)s kWh an hour is above three times this generator's usual output "
            "while running (%(usual)s kWh an hour).",
            rate=facts.get("rate", ""),
            usual=facts.get("usual", ""),
        )
    if facts.get("rule") == "daily":
        return _(
            "%(rate)s kWh a day is above three times the 30-day average (%(average)s).",
            rate=facts.get("rate", ""),
            average=facts.get("average", ""),
        )
    return reason
