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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.db import Base, enum_type, utcnow
from office.stock.models import StockLot
from office.waivers.models import DrawdownEntry, Purpose, Resource, WaiverLine
from office.waivers.units import Quantity, Unit

DEFAULT_CROSSING_POINT = "Gyeongui road, Dorasan"


class Direction(StrEnum):
    NORTH = "north"  # carried into the North
    SOUTH = "south"  # carried back south


class DeliveryStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    CROSSED = "crossed"
    RECEIVED = "received"
    REJECTED = "rejected"  # turned back at the border


class ApprovalType(StrEnum):
    INDIVIDUAL = "individual"
    BLANKET = "blanket"


class Delivery(Base):
    """A shipment across the border, north-bound or south-bound, with its manifest."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_planned_on_id", "planned_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    direction: Mapped[Direction] = mapped_column(enum_type(Direction, "direction"))
    planned_on: Mapped[date]
    crossing_point: Mapped[str] = mapped_column(String(80), default=DEFAULT_CROSSING_POINT)
    carrier: Mapped[str] = mapped_column(String(120), default="")
    vehicles: Mapped[str] = mapped_column(String(200), default="")
    # The Ministry of Unification's carry-out approval.
    approval_number: Mapped[str] = mapped_column(String(60), default="")
    approval_type: Mapped[ApprovalType] = mapped_column(enum_type(ApprovalType, "approval_type"))
    customs_declaration: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "delivery_status"))
    crossed_on: Mapped[date | None]
    received_on: Mapped[date | None]
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[DeliveryLine]] = relationship(
        back_populates="delivery",
        order_by="DeliveryLine.line_no",
        cascade="all, delete-orphan",
    )


class DeliveryLine(Base):
    """A manifest line: what, how much, its value, and the waiver line it goes north under."""

    __tablename__ = "delivery_lines"
    __table_args__ = (
        UniqueConstraint("delivery_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "unit_value_krw >= 0 AND unit_value_usd_cents >= 0", name="values_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    line_no: Mapped[int]
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    description: Mapped[str] = mapped_column(String(200), default="")
    hs_code: Mapped[str] = mapped_column(String(10))
    hs_code_reason: Mapped[str | None] = mapped_column(Text)  # when it differs from the resource
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[Unit] = mapped_column(enum_type(Unit, "unit"))
    gross_weight_kg: Mapped[Decimal | None] = mapped_column(Quantity)
    unit_value_krw: Mapped[int] = mapped_column(BigInteger, default=0)
    unit_value_usd_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    purpose: Mapped[Purpose] = mapped_column(enum_type(Purpose, "purpose"))
    waiver_line_id: Mapped[int | None] = mapped_column(ForeignKey("waiver_lines.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    must_return: Mapped[bool] = mapped_column(default=False)
    return_due_on: Mapped[date | None]
    # Set when the delivery crosses (north) and is received.
    drawdown_entry_id: Mapped[int | None] = mapped_column(ForeignKey("drawdown_entries.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lots.id"))
    # A south-bound line takes this lot back.
    return_lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lots.id"))

    delivery: Mapped[Delivery] = relationship(back_populates="lines")
    resource: Mapped[Resource] = relationship()
    waiver_line: Mapped[WaiverLine | None] = relationship()
    drawdown_entry: Mapped[DrawdownEntry | None] = relationship()
    lot: Mapped[StockLot | None] = relationship(foreign_keys=[lot_id])
    return_lot: Mapped[StockLot | None] = relationship(foreign_keys=[return_lot_id])

    @property
    def lot_back(self) -> StockLot:
        """The lot a south-bound line takes back. Raises ValueError for a north-bound line."""
        if self.return_lot is None:
            raise ValueError(f"Line {self.line_no} takes no lot back: it goes north.")
        return self.return_lot
