from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.db import Base, enum_type, utcnow
from office.stock.models import StockLot


class Area(StrEnum):
    BASEMENT = "basement"
    FLOOR_1 = "floor_1"
    FLOOR_2 = "floor_2"
    FLOOR_3 = "floor_3"
    FLOOR_4 = "floor_4"
    LIVING_QUARTERS = "living_quarters"
    PLUMBING = "plumbing"
    POWER = "power"


class WorkStatus(StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        CheckConstraint("budget_krw >= 0", name="budget_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    area: Mapped[Area] = mapped_column(enum_type(Area, "area"))
    room: Mapped[str] = mapped_column(String(80), default="")
    description: Mapped[str] = mapped_column(Text)
    contractor: Mapped[str] = mapped_column(String(120), default="")
    budget_krw: Mapped[int] = mapped_column(BigInteger)
    # The Inter-Korean Exchange and Cooperation Promotion Council decision that funds it.
    funding_decision: Mapped[str] = mapped_column(String(80), default="")
    planned_start: Mapped[date]
    planned_end: Mapped[date]
    actual_start: Mapped[date | None]
    actual_end: Mapped[date | None]
    status: Mapped[WorkStatus] = mapped_column(enum_type(WorkStatus, "work_status"))
    progress: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    costs: Mapped[list[WorkCost]] = relationship(
        back_populates="work_order", order_by="(WorkCost.spent_on, WorkCost.id)"
    )
    equipment: Mapped[list[WorkEquipment]] = relationship(back_populates="work_order")


class WorkCost(Base):
    """Money spent on a work order besides its materials: labour, contractor invoices."""

    __tablename__ = "work_costs"
    __table_args__ = (CheckConstraint("amount_krw > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    spent_on: Mapped[date]
    description: Mapped[str] = mapped_column(String(200))
    amount_krw: Mapped[int] = mapped_column(BigInteger)

    work_order: Mapped[WorkOrder] = relationship(back_populates="costs")


class WorkEquipment(Base):
    """Equipment taken in for a work order (a must-return lot), to come back south."""

    __tablename__ = "work_equipment"
    __table_args__ = (UniqueConstraint("work_order_id", "lot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lots.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    work_order: Mapped[WorkOrder] = relationship(back_populates="equipment")
    lot: Mapped[StockLot] = relationship()
