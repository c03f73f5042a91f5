from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.db import Base, enum_type, utcnow
from office.i18n import _
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    Resource,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.units import Quantity


class StoreKind(StrEnum):
    TANK = "tank"  # one product, a capacity and a dip tolerance
    WAREHOUSE = "warehouse"


class LotSource(StrEnum):
    OPENING = "opening"  # stock on site before the office kept its books here
    FUEL_RECEIPT = "fuel_receipt"
    DELIVERY = "delivery"


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    RETURN = "return"  # carried back south


class Store(Base):
    """A place on site that holds stock: a fuel tank, or the materials store."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[StoreKind] = mapped_column(enum_type(StoreKind, "store_kind"))
    location: Mapped[str] = mapped_column(String(120), default="")
    # For a tank: the one product it holds, its capacity and the dip tolerance, in the
    # product's unit.
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    capacity: Mapped[Decimal | None] = mapped_column(Quantity)
    tolerance: Mapped[Decimal | None] = mapped_column(Quantity)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    resource: Mapped[Resource | None] = relationship()

    @property
    def shown_name(self) -> str:
        """The store's name as its reader reads it: the materials store, opened by the app
        under a name of its own making, is named in the reader's language."""
        if self.kind is StoreKind.WAREHOUSE:
            return _("Materials store")
        return self.name

    @property
    def product(self) -> Resource:
        """The one product a tank holds. Raises ValueError for a store that is not a tank."""
        if self.resource is None:
            raise ValueError(f"Store {self.name} is not a tank: it holds no one product.")
        return self.resource

    @property
    def full(self) -> Decimal:
        """A tank's capacity, in its product's unit. Raises ValueError for a store that is not
        a tank."""
        if self.capacity is None:
            raise ValueError(f"Store {self.name} is not a tank: it has no capacity.")
        return self.capacity


class StockLot(Base):
    """What one receipt brought on site; drawn first in, first out."""

    __tablename__ = "stock_lots"
    __table_args__ = (
        Index("ix_stock_lots_store_id_received_on_id", "store_id", "received_on", "id"),
        Index("ix_stock_lots_resource_id_id", "resource_id", "id"),
        # One lot per ledger entry: a received manifest line or fuel receipt lands once.
        Index("uq_stock_lots_drawdown_entry_id", "drawdown_entry_id", unique=True),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    received_on: Mapped[date]
    source: Mapped[LotSource] = mapped_column(enum_type(LotSource, "lot_source"))
    source_ref: Mapped[str | None] = mapped_column(String(80))
    # In the resource's own unit.
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    used: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    returned: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    remaining: Mapped[Decimal] = mapped_column(Quantity)
    # The waiver line it came north under, and the ledger entry that recorded it.
    waiver_line_id: Mapped[int | None] = mapped_column(ForeignKey("waiver_lines.id"), index=True)
    drawdown_entry_id: Mapped[int | None] = mapped_column(ForeignKey("drawdown_entries.id"))
    # Indexed for the review queue, which lists the lots overdue to go back.
    must_return_by: Mapped[date | None] = mapped_column(index=True)

    store: Mapped[Store] = relationship()
    resource: Mapped[Resource] = relationship()
    waiver_line: Mapped[WaiverLine | None] = relationship()
    drawdown_entry: Mapped[DrawdownEntry | None] = relationship()


class StockMovement(Base):
    """A receipt into, an issue from, or a return south out of a store."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_store_id_occurred_on_id", "store_id", "occurred_on", "id"),
        Index("ix_stock_movements_occurred_on_id", "occurred_on", "id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    kind: Mapped[MovementKind] = mapped_column(enum_type(MovementKind, "movement_kind"))
    occurred_on: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(Quantity)  # in the resource's unit
    # What an issue was for ("generator", "boiler", "vehicle", a work order ...), set by
    # the feature that issues it.
    use: Mapped[str | None] = mapped_column(String(40))
    use_ref: Mapped[str | None] = mapped_column(String(80))
    # A receipt's lot; indexed for the as-of pages, which leave out lots whose receipt was voided.
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lots.id"), index=True)
    # Who supplied and carried it (the UN notification names the parties to a transfer).
    parties: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)

    store: Mapped[Store] = relationship()
    resource: Mapped[Resource] = relationship()
    draws: Mapped[list[LotDraw]] = relationship(back_populates="movement", order_by="LotDraw.id")

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class LotDraw(Base):
    """The part of an issue or return taken from one lot, with that lot's waiver coverage
    at the moment of the draw."""

    __tablename__ = "lot_draws"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_lot_draws_flagged", "flagged"),  # the review queue looks for these
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movements.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lots.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    waiver_line_id: Mapped[int | None] = mapped_column(ForeignKey("waiver_lines.id"))
    waiver_status: Mapped[WaiverStatus | None] = mapped_column(
        enum_type(WaiverStatus, "waiver_status")
    )
    classification: Mapped[Classification] = mapped_column(
        enum_type(Classification, "classification")
    )
    flagged: Mapped[bool] = mapped_column(default=False)

    movement: Mapped[StockMovement] = relationship(back_populates="draws")
    lot: Mapped[StockLot] = relationship()


# What a lot came from or what stock went to, as the app writes it: "<kind> <id>" (a tank's
# opening stock, a ledger entry by its number, a generator, a meter, a work order).
_REFERENCES: dict[str, Callable[[str], str]] = {
    "tank": lambda n: _("tank #%(id)s", id=n),
    "ledger": lambda n: _("ledger entry %(id)s", id=n),
    "generator": lambda n: _("generator #%(id)s", id=n),
    "meter": lambda n: _("meter #%(id)s", id=n),
    "work order": lambda n: _("work order #%(id)s", id=n),
}


def reference_label(reference: str | None) -> str:
    """A lot's source or a movement's use as words; a delivery's reference as it is."""
    if not reference:
        return ""
    kind, _space, number = reference.rpartition(" ")
    if kind in _REFERENCES and number.isdigit():
        return _REFERENCES[kind](number)
    return reference
