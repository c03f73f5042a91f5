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
from office.waivers.petroleum import UNSD_BARRELS_PER_TONNE, PetroleumKind
from office.waivers.units import Quantity, Unit


class Control(StrEnum):
    """What a regime asks of goods before they go north (strictest first)."""

    PROHIBITED = "prohibited"  # needs an exemption (UN: HS chapters 72-89 by default)
    CAPPED = "capped"  # counted against a cap (UN: refined petroleum, HS 2710)
    APPROVAL = "approval_required"  # needs an approval or licence (ROK: every item; US: EAR)
    NONE = "none"


class Basis(StrEnum):
    """What decided a resource's control under a regime."""

    RULE = "rule"  # the HS rule with the longest matching prefix
    DEFAULT = "default"  # no rule matched: the regime's control for everything else
    NOT_SUBJECT = "not_subject"  # outside the regime (US: neither US origin nor US content)


class Authority(StrEnum):
    UN_1718_COMMITTEE = "un_1718_committee"
    US_GOVERNMENT = "us_government"
    ROK_MOU_INDIVIDUAL = "rok_mou_individual"
    ROK_MOU_BLANKET = "rok_mou_blanket"


# The regime (by code) each authority grants under; migration 0026 seeds the three.
AUTHORITY_REGIMES: dict[Authority, str] = {
    Authority.UN_1718_COMMITTEE: "un",
    Authority.ROK_MOU_INDIVIDUAL: "rok",
    Authority.ROK_MOU_BLANKET: "rok",
    Authority.US_GOVERNMENT: "us",
}
# Authorities whose waivers stand by default (`Waiver.standing`): the ministry's blanket
# approval for running the office.
STANDING_AUTHORITIES = frozenset({Authority.ROK_MOU_BLANKET})


class WaiverStatus(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    GRANTED = "granted"
    PARTIALLY_GRANTED = "partially_granted"
    DENIED = "denied"
    REVOKED = "revoked"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


GRANTED_STATUSES = frozenset({WaiverStatus.GRANTED, WaiverStatus.PARTIALLY_GRANTED})


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


class Regime(Base):
    """A body of sanctions or export rules that goods going north are screened under: the UN
    Security Council's (1718), the Republic of Korea's carry-out approval, the US EAR.

    Each has its own HS rules, its own authorisations (waivers) and, on every ledger entry,
    its own line, status and classification."""

    __tablename__ = "regimes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_ko: Mapped[str] = mapped_column(String(120))
    # Screening order on every page, message and lock: UN, ROK, US.
    position: Mapped[int] = mapped_column(unique=True)
    # Whether drawdowns are screened under it now (entries keep what was screened then).
    in_force: Mapped[bool] = mapped_column(default=True)
    # The control of goods that no rule names (ROK: approval, for every item taken north).
    default_control: Mapped[Control] = mapped_column(enum_type(Control, "default_control"))
    # Only goods of US origin or with US content above `us_content_threshold` percent are
    # subject to it (the EAR's de minimis rule).
    us_content_rule: Mapped[bool] = mapped_column(default=False)
    us_content_threshold: Mapped[Decimal | None] = mapped_column(Quantity)
    note: Mapped[str] = mapped_column(Text, default="")

    rules: Mapped[list[HsRule]] = relationship(back_populates="regime", order_by="HsRule.prefix")

    def name(self, locale: str) -> str:
        return self.name_ko if locale == "ko" else self.name_en

    @property
    def shown_name(self) -> LazyText:
        return LazyText(lambda: self.name(select_locale()))


class HsRule(Base):
    """An HS code prefix and the control of goods under it in one regime (longest prefix
    wins)."""

    __tablename__ = "hs_rules"
    __table_args__ = (UniqueConstraint("regime_id", "prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"))
    prefix: Mapped[str] = mapped_column(String(10))
    control: Mapped[Control] = mapped_column(enum_type(Control, "control"))
    note: Mapped[str] = mapped_column(String(200), default="")

    regime: Mapped[Regime] = relationship(back_populates="rules")


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_ko: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    hs_code: Mapped[str] = mapped_column(String(10))
    unit: Mapped[Unit] = mapped_column(enum_type(Unit, "unit"))
    # Its control under the UN regime, derived from that regime's HS rules whenever the
    # resource or a rule changes (every regime's, with the rule that decided it, is in
    # `controls`).
    control: Mapped[Control] = mapped_column(enum_type(Control, "control"))
    # Petroleum volume to mass: the product's own factor, if it has one (conversions use
    # `effective_barrels_per_tonne`).
    barrels_per_tonne: Mapped[Decimal | None] = mapped_column(Quantity)
    # The kind of petroleum product it is, as chosen or guessed from its HS code; a product
    # without a factor of its own is converted by its kind's UNSD factor.
    petroleum_kind: Mapped[PetroleumKind | None] = mapped_column(
        enum_type(PetroleumKind, "petroleum_kind")
    )
    # ISO 3166-1 alpha-2 country of origin, and the share of US-origin content in percent:
    # what the US regime's de minimis rule reads.
    origin: Mapped[str] = mapped_column(String(2), default="KR")
    us_content_percent: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))

    controls: Mapped[list[ResourceControl]] = relationship(
        back_populates="resource", cascade="all, delete-orphan"
    )

    def name(self, locale: str) -> str:
        return self.name_ko if locale == "ko" else self.name_en

    @property
    def effective_barrels_per_tonne(self) -> Decimal | None:
        """The factor its volume and mass convert by: its own, else its kind's UNSD default;
        None when it has neither (volume and mass then do not convert)."""
        if self.barrels_per_tonne is not None:
            return self.barrels_per_tonne
        return UNSD_BARRELS_PER_TONNE.get(self.petroleum_kind) if self.petroleum_kind else None

    @property
    def barrels_per_tonne_is_default(self) -> bool:
        """Whether it converts by its kind's UNSD default, having no factor of its own."""
        return self.barrels_per_tonne is None and self.effective_barrels_per_tonne is not None

    @property
    def shown_name(self) -> LazyText:
        """The name in the language of whoever reads it: for messages made before shown
        (outside a request, as the command line's messages, in English)."""
        return LazyText(lambda: self.name(select_locale()))


class ResourceControl(Base):
    """A resource's control under one regime and what decided it; recomputed whenever the
    resource, a rule or the regime changes."""

    __tablename__ = "resource_controls"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"), primary_key=True)
    control: Mapped[Control] = mapped_column(enum_type(Control, "control"))
    basis: Mapped[Basis] = mapped_column(enum_type(Basis, "basis"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("hs_rules.id", ondelete="SET NULL"))

    resource: Mapped[Resource] = relationship(back_populates="controls")
    regime: Mapped[Regime] = relationship()
    rule: Mapped[HsRule | None] = relationship()


class Waiver(Base):
    """An authorisation under one regime: a UN exemption, a ministry approval, a US licence."""

    __tablename__ = "waivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    authority: Mapped[Authority] = mapped_column(enum_type(Authority, "authority"))
    # The regime its authority grants under (AUTHORITY_REGIMES).
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"), index=True)
    # A standing authorisation is drawn on by every drawdown of a resource it has a line for
    # that names no line under its regime: a blanket approval, or the refined petroleum
    # notified to the 1718 Committee under op. 5.
    standing: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[WaiverStatus] = mapped_column(enum_type(WaiverStatus, "waiver_status"))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    regime: Mapped[Regime] = relationship()
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
    # Every regime's line, status and classification at recording, as canonical JSON (the
    # hash covers it; migration 0026). None for entries written before, which were screened
    # under one regime: the one their line's waiver is under, or the UN's.
    regimes: Mapped[str | None] = mapped_column(Text)
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
    screenings: Mapped[list[EntryScreening]] = relationship(
        back_populates="entry", order_by="EntryScreening.position"
    )

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class EntryScreening(Base):
    """An entry under one regime, as at recording: the control, the line drawn on, the
    waiver's status and the classification. Written with the entry, never changed; the
    entry's `regimes` (hashed) holds the same. A regime in force with no row for an entry
    was not checked at the time."""

    __tablename__ = "entry_screenings"
    __table_args__ = (
        UniqueConstraint("entry_id", "regime_id"),
        # A line's use up to or after a day, whichever regime it is under.
        Index(
            "ix_entry_screenings_line_day",
            "waiver_line_id",
            "occurred_on",
            "base_quantity",
        ),
        Index("ix_entry_screenings_regime_class_seq", "regime_id", "classification", "seq"),
        Index("ix_entry_screenings_waiver_seq", "waiver_id", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("drawdown_entries.id"))
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"))
    # The regime's position then, to list an entry's regimes in order without a join.
    position: Mapped[int]
    # The entry's, copied: a line's use is read from here alone.
    seq: Mapped[int] = mapped_column(BigInteger)
    occurred_on: Mapped[date]
    base_quantity: Mapped[Decimal] = mapped_column(Quantity)
    # None for entries written before regimes (migration 0026): their control was not kept.
    control: Mapped[Control | None] = mapped_column(enum_type(Control, "control"))
    waiver_id: Mapped[int | None] = mapped_column(ForeignKey("waivers.id"))
    waiver_line_id: Mapped[int | None] = mapped_column(ForeignKey("waiver_lines.id"))
    waiver_status: Mapped[WaiverStatus | None] = mapped_column(
        enum_type(WaiverStatus, "waiver_status")
    )
    classification: Mapped[Classification] = mapped_column(
        enum_type(Classification, "classification")
    )

    entry: Mapped[DrawdownEntry] = relationship(back_populates="screenings")
    regime: Mapped[Regime] = relationship()
    waiver: Mapped[Waiver | None] = relationship()
    waiver_line: Mapped[WaiverLine | None] = relationship()


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
