"""Shapes of the API's JSON for deliveries, their manifests and the on-site stock lots they
become, and for the repair works that use them (`office.api.supplies`). Only the shape lives
here; the rules are `office.supplies`'s and `office.repairs`'s.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, Strict

from office import inputs
from office.api.schemas import (
    Id,
    IsoDate,
    Line,
    LotDrawOut,
    QuantityIn,
    QuantityOut,
    Reason,
    Text,
    _In,
)
from office.repairs.models import Area, WorkStatus
from office.stock.models import LotSource
from office.supplies.models import ApprovalType, DeliveryStatus, Direction
from office.waivers.models import Classification, Control, Purpose

# A sum of money as typed on the page: a decimal, KRW whole, USD to the cent.
MoneyIn = Annotated[
    QuantityIn, Field(description="Zero or more; KRW in whole won, USD to the cent")
]


class DeliveryIn(_In):
    """A delivery's header. On a change, a field left out keeps its value."""

    reference: Annotated[
        Line,
        Field(
            max_length=60,
            description="Left out on creation: the next free reference of its direction",
        ),
    ] = ""
    direction: Direction = Direction.NORTH
    planned_on: IsoDate | None = None
    crossing_point: Annotated[Line, Field(max_length=80)] = ""
    carrier: Annotated[Line, Field(max_length=120)] = ""
    vehicles: Annotated[Line, Field(max_length=200)] = ""
    approval_waiver_id: Annotated[
        Id | None,
        Field(description="North-bound: the ministry's carry-out approval (a waiver)"),
    ] = None
    approval_number: Annotated[
        Line, Field(max_length=60, description="South-bound: the carry-in approval's number")
    ] = ""
    approval_type: Annotated[
        ApprovalType, Field(description="South-bound: the carry-in approval's type")
    ] = ApprovalType.INDIVIDUAL
    customs_declaration: Annotated[Line, Field(max_length=60)] = ""
    note: Text = ""


class DeliveryLineIn(_In):
    """A north-bound draft's manifest line, as on the delivery's page."""

    resource: Annotated[Line, Field(max_length=40, description="resource code")]
    quantity: QuantityIn
    unit: Annotated[
        Line | None, Field(max_length=10, description="Left out: the resource's own unit")
    ] = None
    purpose: Purpose
    description: Annotated[Line, Field(max_length=200)] = ""
    hs_code: Annotated[Line, Field(max_length=20, description="Only if not the resource's own")] = (
        ""
    )
    hs_code_reason: Annotated[Text, Field(description="Why the HS code differs")] = ""
    gross_weight_kg: QuantityIn | None = None
    unit_value_krw: MoneyIn | None = None
    unit_value_usd: MoneyIn | None = None
    waiver_line_id: Id | None = None
    must_return: Annotated[bool, Strict()] = False
    return_due_on: IsoDate | None = None
    override_reason: Annotated[
        Text,
        Field(description="To let it cross anyway if it is not covered (flags it for review)"),
    ] = ""


class ReturnLineIn(_In):
    """A south-bound draft's line: a quantity of an on-site lot carried back."""

    lot_id: Id
    quantity: QuantityIn


class CrossIn(_In):
    crossed_on: IsoDate


class StoreChoiceIn(_In):
    line_id: Id
    store_id: Id


class ReceiveIn(_In):
    received_on: IsoDate
    stores: Annotated[
        list[StoreChoiceIn],
        Field(
            max_length=500,
            description="The store for a north-bound line; a line left out goes where the "
            "office suggests (its waiver's store, a tank of its product, the materials store)",
        ),
    ] = []


class RejectIn(_In):
    reason: Reason


class RegimeScreeningOut(BaseModel):
    """A manifest line under one regime: its control there, the line it draws (or would
    draw) on and what it meets (or met) at the border."""

    regime: str
    control: Control | None = Field(description="null for an entry older than regimes")
    line_id: int | None
    standing: bool | None = Field(description="Drawn on a standing approval; null once crossed")
    classification: Classification
    message: str | None = Field(description="Why it is refused, in the page's words")
    remaining_before: QuantityOut | None = Field(description="Left on its line, in its unit")
    remaining_after: QuantityOut | None


class DeliveryLineOut(BaseModel):
    id: int
    line_no: int
    resource: str
    description: str
    hs_code: str
    hs_code_reason: str | None
    quantity: QuantityOut
    unit: str
    gross_weight_kg: QuantityOut | None
    unit_value_krw: int
    unit_value_usd: str = Field(description="Dollars to the cent, as a decimal string")
    purpose: Purpose
    waiver_line_id: int | None
    override_reason: str | None
    must_return: bool
    return_due_on: date | None
    return_lot_id: int | None = Field(description="South-bound: the lot it carries back")
    drawdown_entry_id: int | None = Field(description="Its ledger entry, once crossed")
    lot_id: int | None = Field(description="The on-site lot it became, once received")
    classification: Classification | None = Field(
        description="The worst of its regimes' (null for a line going south)"
    )
    passes: bool | None = Field(
        description="Before crossing: whether it would cross (plainly, or with its override)"
    )
    message: str | None
    regimes: list[RegimeScreeningOut] = Field(
        description="Before crossing: as it would meet the border on the day planned; after: "
        "as its ledger entry was screened"
    )


class LineRefusalOut(BaseModel):
    line_no: int
    message: str


class RefusedCrossingOut(BaseModel):
    at: datetime
    lines: list[LineRefusalOut] = Field(description="Each line refused, and why")


class DeliveryOut(BaseModel):
    id: int
    reference: str
    direction: Direction
    status: DeliveryStatus
    planned_on: date
    crossing_point: str
    carrier: str
    vehicles: str
    approval_waiver_id: int | None
    approval_number: str
    approval_type: ApprovalType | None
    customs_declaration: str
    crossed_on: date | None
    received_on: date | None
    rejected_reason: str | None
    note: str
    created_at: datetime
    line_count: int


class DeliveryDetailOut(DeliveryOut):
    lines: list[DeliveryLineOut]
    refused_crossings: list[RefusedCrossingOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class StockLotOut(BaseModel):
    id: int
    resource: str
    unit: str
    store_id: int
    store: str
    received_on: date
    source: LotSource
    source_ref: str | None
    quantity: QuantityOut
    used: QuantityOut
    returned: QuantityOut
    remaining: QuantityOut
    waiver_line_id: int | None
    drawdown_entry_id: int | None
    must_return_by: date | None


class StockLotPage(BaseModel):
    items: list[StockLotOut]
    next_cursor: str | None
    as_of: date | None = Field(description="The day the quantities stand on; null for now")


# --- repair works (office.repairs) --------------------------------------------------------

Won = Annotated[QuantityIn, Field(description="In whole won, 0 or more (a cost: more than 0)")]


class WorkOrderIn(_In):
    """A work order's details. On a change, a field left out keeps its value."""

    number: Annotated[
        Line,
        Field(max_length=40, description="Left out on creation: the next free number"),
    ] = ""
    area: Area | None = None
    room: Annotated[Line, Field(max_length=80)] = ""
    description: Annotated[str, Field(max_length=4000, pattern=inputs.MULTILINE_PATTERN)] = ""
    contractor: Annotated[Line, Field(max_length=120)] = ""
    budget_krw: Won | None = None
    funding_decision: Annotated[Line, Field(max_length=80)] = ""
    planned_start: IsoDate | None = None
    planned_end: IsoDate | None = None


class WorkStatusIn(_In):
    status: WorkStatus
    on: IsoDate


class WorkProgressIn(_In):
    progress: Annotated[int, Strict(), Field(ge=0, le=100, description="Percent done")]


class MaterialIn(_In):
    resource: Annotated[Line, Field(max_length=40, description="resource code")]
    quantity: QuantityIn
    unit: Annotated[
        Line | None, Field(max_length=10, description="Left out: the resource's own unit")
    ] = None
    used_on: IsoDate


class CostIn(_In):
    spent_on: IsoDate
    description: Annotated[Line, Field(min_length=1, max_length=200)]
    amount_krw: Won


class EquipmentIn(_In):
    lot_id: Id
    note: Annotated[Line, Field(max_length=200)] = ""


class WorkOrderOut(BaseModel):
    id: int
    number: str
    area: Area
    room: str
    description: str
    contractor: str
    budget_krw: int
    funding_decision: str
    planned_start: date
    planned_end: date
    actual_start: date | None
    actual_end: date | None
    status: WorkStatus
    progress: int
    next_statuses: list[WorkStatus] = Field(description="Where it may go from here")
    created_at: datetime


class WorkCostOut(BaseModel):
    id: int
    spent_on: date
    description: str
    amount_krw: int


class MaterialUseOut(BaseModel):
    movement_id: int
    resource: str
    used_on: date
    quantity: QuantityOut
    unit: str
    value_krw: int = Field(description="At its delivery lines' values")
    draws: list[LotDrawOut] = Field(description="The lots drawn, oldest first, and their cover")


class EquipmentOut(BaseModel):
    lot_id: int
    resource: str
    must_return_by: date | None
    note: str


class WorkOrderDetailOut(WorkOrderOut):
    costs: list[WorkCostOut]
    materials: list[MaterialUseOut]
    equipment: list[EquipmentOut]
    materials_krw: int
    costs_krw: int
    spent_krw: int
    flagged: int = Field(description="Material drawn from lots no waiver line covered")


class WorkOrderPage(BaseModel):
    items: list[WorkOrderOut]
    next_cursor: str | None
