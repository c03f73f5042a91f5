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
from office.waivers.models import (
    Authority,
    DrawdownEntry,
    Purpose,
    Resource,
    Waiver,
    WaiverLine,
)
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


# The ministry's carry-out approvals (waivers of these authorities), and the type each is.
APPROVAL_AUTHORITIES = {
    Authority.ROK_MOU_INDIVIDUAL: ApprovalType.INDIVIDUAL,
    Authority.ROK_MOU_BLANKET: ApprovalType.BLANKET,
}


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
    # North-bound: the Ministry of Unification's carry-out approval, whose lines the manifest
    # draws on under the ministry's regime (migration 0032).
    approval_waiver_id: Mapped[int | None] = mapped_column(ForeignKey("waivers.id"), index=True)
    # South-bound: the ministry's carry-in approval, as typed (no regime screens goods coming
    # south). North-bound: only a number typed before 0032 that named no ministry approval.
    approval_number: Mapped[str] = mapped_column(String(60), default="")
    # The type of the approval typed as text; None where the delivery names an approval (its
    # authority gives the type) or nothing.
    approval_type: Mapped[ApprovalType | None] = mapped_column(
        enum_type(ApprovalType, "approval_type")
    )
    customs_declaration: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "delivery_status"))
    crossed_on: Mapped[date | None]
    received_on: Mapped[date | None]
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    approval_waiver: Mapped[Waiver | None] = relationship()
    lines: Mapped[list[DeliveryLine]] = relationship(
        back_populates="delivery",
        order_by="DeliveryLine.line_no",
        cascade="all, delete-orphan",
    )

    @property
    def approval_kind(self) -> ApprovalType | None:
        """The approval's type: its authority's, or as typed with its number."""
        if self.approval_waiver is not None:
            return APPROVAL_AUTHORITIES.get(self.approval_waiver.authority)
        return self.approval_type

    def approval_line(self, resource: Resource) -> WaiverLine | None:
        """The line of the delivery's carry-out approval for `resource` (its first); None
        without an approval or a line for it."""
        if self.approval_waiver is None:
            return None
        return next((x for x in self.approval_waiver.lines if x.resource_id == resource.id), None)


class DeliveryLine(Base):
    """A manifest line: what, how much, its value, and the waiver line the office chose for it
    (usually the UN exemption's; under the ministry's regime it draws on the delivery's
    approval, unless this line is itself a ministry approval's)."""

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
