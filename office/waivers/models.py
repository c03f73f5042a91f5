from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
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
from office.i18n import LazyText, select_locale
from office.waivers.units import Quantity, Unit


class Control(StrEnum):
    PROHIBITED = "prohibited"  # needs an exemption (HS chapters 72-89 by default)
    CAPPED = "capped"  # refined petroleum (HS 2710): counts toward the UN 30-day notification
    NONE = "none"


class Authority(StrEnum):
    UN_1718_COMMITTEE = "un_1718_committee"
    US_GOVERNMENT = "us_government"
    ROK_MOU_INDIVIDUAL = "rok_mou_individual"
    ROK_MOU_BLANKET = "rok_mou_blanket"


class WaiverStatus(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    GRANTED = "granted"
    PARTIALLY_GRANTED = "partially_granted"
    DENIED = "denied"
    REVOKED = "revoked"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class Lapse(StrEnum):
    """Where a day falls outside a waiver's validity (computed from its dates, never stored)."""

    NOT_YET_VALID = "not_yet_valid"  # before valid_from
    EXPIRED = "expired"  # after valid_until


class Classification(StrEnum):
    NOT_REQUIRED = "not_required"
    UNCOVERED = "uncovered"
    DENIED = "denied"
    PENDING = "pending"
    OUTSIDE_VALIDITY = "outside_validity"
    OVER_CAP = "over_cap"
    COVERED = "covered"


class Purpose(StrEnum):
    OPERATION = "operation"
    REPAIR = "repair"
    FUEL = "fuel"
    SUPPLIES = "supplies"


class Source(StrEnum):
    MANUAL = "manual"
    DELIVERY = "delivery"
    FUEL_RECEIPT = "fuel_receipt"
    FUEL_ISSUE = "fuel_issue"
    METER = "meter"
    WORK_ORDER = "work_order"


class HsRule(Base):
    """An HS code prefix and the control class of goods under it (longest prefix wins)."""

    __tablename__ = "hs_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(10), unique=True)
    control: Mapped[Control] = mapped_column(enum_type(Control, "control"))
    note: Mapped[str] = mapped_column(String(200), default="")


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_ko: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    hs_code: Mapped[str] = mapped_column(String(10))
    unit: Mapped[Unit] = mapped_column(enum_type(Unit, "unit"))
    # Derived from the HS rules whenever the resource or a rule changes.
    control: Mapped[Control] = mapped_column(enum_type(Control, "control"))
    # Petroleum volume to mass (UN Statistics Division: diesel 7.23, gasoline 8.50, ...).
    barrels_per_tonne: Mapped[Decimal | None] = mapped_column(Quantity)

    def name(self, locale: str) -> str:
        return self.name_ko if locale == "ko" else self.name_en

    @property
    def shown_name(self) -> LazyText:
        """The name in the language of whoever reads it: for messages made before shown
        (outside a request, as the command line's messages, in English)."""
        return LazyText(lambda: self.name(select_locale()))


class Waiver(Base):
    __tablename__ = "waivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    authority: Mapped[Authority] = mapped_column(enum_type(Authority, "authority"))
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[WaiverStatus] = mapped_column(enum_type(WaiverStatus, "waiver_status"))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[WaiverLine]] = relationship(
        back_populates="waiver", order_by="WaiverLine.line_no"
    )
    history: Mapped[list[WaiverStatusChange]] = relationship(
        back_populates="waiver",
        order_by="(WaiverStatusChange.changed_at, WaiverStatusChange.id)",
    )

    def lapse_on(self, day: date) -> Lapse | None:
        """Return whether `day` falls before or after the waiver's validity; None within it."""
        if self.valid_from is not None and day < self.valid_from:
            return Lapse.NOT_YET_VALID
        if self.valid_until is not None and day > self.valid_until:
            return Lapse.EXPIRED
        return None


class WaiverStatusChange(Base):
    __tablename__ = "waiver_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    waiver_id: Mapped[int] = mapped_column(ForeignKey("waivers.id"), index=True)
    from_status: Mapped[WaiverStatus | None] = mapped_column(enum_type(WaiverStatus, "from_status"))
    to_status: Mapped[WaiverStatus] = mapped_column(enum_type(WaiverStatus, "to_status"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    effective_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")

    waiver: Mapped[Waiver] = relationship(back_populates="history")
    changed_by: Mapped[User | None] = relationship()


class WaiverLine(Base):
    __tablename__ = "waiver_lines"
    __table_args__ = (
        UniqueConstraint("waiver_id", "line_no"),
        CheckConstraint("requested_quantity > 0", name="requested_positive"),
        CheckConstraint("granted_quantity >= 0", name="granted_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    waiver_id: Mapped[int] = mapped_column(ForeignKey("waivers.id"))
    line_no: Mapped[int]
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    unit: Mapped[Unit] = mapped_column(enum_type(Unit, "unit"))
    requested_quantity: Mapped[Decimal] = mapped_column(Quantity)
    # The cap, in the line's unit; unknown (None) until the waiver is decided.
    granted_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    value_cap_usd_cents: Mapped[int | None] = mapped_column(BigInteger)
    # The cap and the net use in the resource's own unit, kept in the same transaction as
    # every ledger entry on the line, so usage is read without scanning the ledger.
    granted_base: Mapped[Decimal | None] = mapped_column(Quantity)
    used_base: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))

    waiver: Mapped[Waiver] = relationship(back_populates="lines")
    resource: Mapped[Resource] = relationship()


class DrawdownEntry(Base):
    """One quantity drawn north: the append-only ledger. Never updated, never deleted."""

    __tablename__ = "drawdown_entries"
    __table_args__ = (
        Index("ix_drawdown_entries_waiver_id_seq", "waiver_id", "seq"),
        # A line's use up to or after a day (the as-of pages, the dashboard's runway).
        Index(
            "ix_drawdown_entries_waiver_line_id_occurred_on",
            "waiver_line_id",
            "occurred_on",
            "base_quantity",
        ),
        Index("ix_drawdown_entries_resource_id_seq", "resource_id", "seq"),
        Index("ix_drawdown_entries_classification_seq", "classification", "seq"),
        # Few entries are flagged: every other drawdown skips this index.
        Index("ix_drawdown_entries_flagged_seq", "seq", **FLAGGED_ONLY),
        Index("ix_drawdown_entries_occurred_on_seq", "occurred_on", "seq"),
        # One entry per source (a manifest line, a fuel receipt, a meter reading); its
        # reversal is an entry of its own.
        Index(
            "uq_drawdown_entries_source_source_id",
            "source",
            "source_id",
            unique=True,
            sqlite_where=text("reverses_id IS NULL AND source_id IS NOT NULL"),
            postgresql_where=text("reverses_id IS NULL AND source_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the hash chain: 1, 2, 3... with no gaps.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[Unit] = mapped_column(enum_type(Unit, "unit"))
    base_quantity: Mapped[Decimal] = mapped_column(Quantity)
    occurred_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[Purpose] = mapped_column(enum_type(Purpose, "purpose"))
    source: Mapped[Source] = mapped_column(enum_type(Source, "source"))
    # The id of the record drawn for, in the table its source names (migration 0016; None
    # for a manual drawdown and for entries written before).
    source_id: Mapped[int | None]
    source_ref: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")
    waiver_id: Mapped[int | None] = mapped_column(ForeignKey("waivers.id"))
    waiver_line_id: Mapped[int | None] = mapped_column(ForeignKey("waiver_lines.id"))
    # Snapshots at the moment of recording.
    waiver_status: Mapped[WaiverStatus | None] = mapped_column(
        enum_type(WaiverStatus, "waiver_status")
    )
    classification: Mapped[Classification] = mapped_column(
        enum_type(Classification, "classification")
    )
    flagged: Mapped[bool] = mapped_column(default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("drawdown_entries.id"), unique=True)
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    # Not unique-indexed (migration 0015): each hash covers the entry's unique `seq`.
    hash: Mapped[str] = mapped_column(String(64))

    resource: Mapped[Resource] = relationship()
    waiver: Mapped[Waiver | None] = relationship()
    waiver_line: Mapped[WaiverLine | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    reverses: Mapped[DrawdownEntry | None] = relationship(
        remote_side="DrawdownEntry.id", foreign_keys=[reverses_id]
    )

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class LedgerHead(Base):
    """The single row holding the end of the hash chain; locking it orders ledger writes."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class CheckpointKind(StrEnum):
    DAILY = "daily"  # `flask ledger checkpoint`, run by cron
    SIGN_OFF = "sign_off"  # a month's sign-off


class LedgerCheckpoint(Base):
    """The ledger's head (its entry count and last hash) at a moment, signed with a key that
    is not in the database: whoever rewrites the chain or moves the head back cannot sign
    again, so `flask ledger verify` finds the difference. Append-only."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The number of entries then, which is also the last entry's seq (0: an empty ledger).
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    # Whole seconds, as signed.
    signed_at: Mapped[datetime]
    kind: Mapped[CheckpointKind] = mapped_column(enum_type(CheckpointKind, "checkpoint_kind"))
    # The month whose sign-off made it.
    month: Mapped[date | None] = mapped_column(ForeignKey("signed_off_months.month"), unique=True)
    # SHA-256 of the raw public key, in hex.
    key_id: Mapped[str] = mapped_column(String(64))
    # Ed25519, in hex.
    signature: Mapped[str] = mapped_column(String(128))
