from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from office.db import Base


class SignedOffMonth(Base):
    """A month a reviewer signed off. Nothing dated in it changes any more: a correction is
    recorded in the first open month, linked to what it corrects."""

    __tablename__ = "signed_off_months"

    month: Mapped[date] = mapped_column(primary_key=True)  # its first day
    signed_off_at: Mapped[datetime]
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # What the month held when it was signed off (counts of items by kind and state).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
