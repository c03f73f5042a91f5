"""Shapes of the API's JSON: what it accepts and what it returns (and so its OpenAPI schemas).

Only the shape lives here; the rules are the services'.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, Strict

from office.waivers.models import (
    Authority,
    Classification,
    Control,
    Purpose,
    WaiverStatus,
)
from office.waivers.units import format_quantity

IsoDate = Annotated[date, Strict(), Field(json_schema_extra={"format": "date"})]
# A quantity arrives as a JSON number or a decimal string and leaves as a decimal string.
QuantityIn = Annotated[
    Decimal,
    Field(allow_inf_nan=False, json_schema_extra={"examples": ["1000.5", 1000.5]}),
]
QuantityOut = Annotated[
    Decimal, PlainSerializer(format_quantity, return_type=str, when_used="json")
]
Text = Annotated[str, Field(max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResourceIn(_In):
    code: Annotated[str, Field(max_length=40)]
    name: Annotated[str, Field(max_length=120, description="English name")]
    name_ko: Annotated[str | None, Field(max_length=120)] = None
    hs_code: Annotated[str, Field(max_length=20)]
    unit: Annotated[str, Field(max_length=10)]
    barrels_per_tonne: QuantityIn | None = None


class WaiverLineIn(_In):
    resource: Annotated[str, Field(max_length=40, description="resource code")]
    unit: Annotated[str, Field(max_length=10)]
    requested_quantity: QuantityIn
    granted_quantity: QuantityIn | None = None


class WaiverIn(_In):
    reference: Annotated[str, Field(max_length=60)]
    authority: Authority
    title: Annotated[str, Field(max_length=200)]
    purpose: Text = ""
    status: WaiverStatus = WaiverStatus.DRAFT
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    lines: Annotated[list[WaiverLineIn], Field(max_length=500)] = []


class StatusIn(_In):
    status: WaiverStatus
    effective_on: IsoDate
    note: Text = ""


class DrawdownIn(_In):
    resource: Annotated[str, Field(max_length=40, description="resource code")]
    quantity: QuantityIn
    unit: Annotated[str, Field(max_length=10)]
    occurred_on: IsoDate
    waiver_line_id: Annotated[int, Strict()] | None
    purpose: Purpose
    override_reason: Text | None = None
    note: Text = ""


class ReversalIn(_In):
    reason: Text


class ResourceOut(BaseModel):
    code: str
    name: str
    name_ko: str
    hs_code: str
    unit: str
    control: Control
    barrels_per_tonne: QuantityOut | None


class WaiverLineOut(BaseModel):
    id: int
    line_no: int
    resource: str
    unit: str
    requested_quantity: QuantityOut
    granted_quantity: QuantityOut | None
    used: QuantityOut
    remaining: QuantityOut | None


class WaiverOut(BaseModel):
    id: int
    reference: str
    authority: Authority
    title: str
    purpose: str
    status: WaiverStatus
    valid_from: date | None
    valid_until: date | None
    lines: list[WaiverLineOut]


class DrawdownOut(BaseModel):
    id: int
    seq: int
    resource: str
    quantity: QuantityOut
    unit: str
    base_quantity: QuantityOut
    occurred_on: date
    recorded_at: datetime
    purpose: Purpose
    waiver_line_id: int | None
    waiver_status: WaiverStatus | None
    classification: Classification
    flagged: bool
    override_reason: str | None
    reverses_id: int | None
    hash: str


class DrawdownPage(BaseModel):
    items: list[DrawdownOut]
    next_cursor: str | None


class ResourceList(BaseModel):
    items: list[ResourceOut]


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] | None = None
    classification: Classification | None = None


class ViolationOut(BaseModel):
    rule: str
    date: date
    side: str
    person_id: int | None
    person: str | None
    message: str


class ViolationList(BaseModel):
    items: list[ViolationOut]
