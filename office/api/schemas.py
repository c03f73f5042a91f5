"""Shapes of the API's JSON: what it accepts and what it returns (and so its OpenAPI schemas).

Only the shape lives here; the rules are the services'.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from office import inputs
from office.fuel.models import FuelUse, LogStatus, MeterSource, ReadingKind
from office.stock.models import MovementKind
from office.waivers.models import (
    Authority,
    Basis,
    Classification,
    Control,
    Purpose,
    WaiverStatus,
)
from office.waivers.petroleum import PetroleumKind
from office.waivers.units import format_quantity


def _decimal_text(value: object) -> object:
    # A JSON number is a number already; a string must be a plain decimal in ASCII digits,
    # which pydantic's Decimal does not require (full-width digits, "1_000", " 1e3" pass it).
    if isinstance(value, str) and inputs.decimal_from(value) is None:
        raise PydanticCustomError("decimal_parsing", "Input should be a valid decimal")
    return value


def _day_text(value: object) -> object:
    # Pydantic reads "0" as 1970-01-01 (a Unix time) and takes any year: the app's dates
    # are YYYY-MM-DD within its range.
    if not isinstance(value, str):
        return value  # and Strict() refuses it: a date is a string in JSON
    day = inputs.date_from(value)
    if day is None:
        raise PydanticCustomError("date_from_datetime_parsing", "Input should be a date")
    if not inputs.in_range(day):
        raise PydanticCustomError("office_date_range", str(inputs.range_message()))
    return day


_DAY_SCHEMA = {
    "type": "string",
    "format": "date",
    "pattern": inputs.DATE_PATTERN,
    "description": (
        f"YYYY-MM-DD, from {inputs.FIRST_DAY.isoformat()} to {inputs.LAST_DAY.isoformat()}"
    ),
}
IsoDate = Annotated[date, BeforeValidator(_day_text), Strict(), WithJsonSchema(_DAY_SCHEMA)]
# A quantity arrives as a JSON number or a decimal string and leaves as a decimal string.
QuantityIn = Annotated[
    Decimal,
    Field(allow_inf_nan=False),  # first: in the decimal schema itself, exact for any size
    BeforeValidator(_decimal_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": inputs.DECIMAL_PATTERN},
            ],
            "examples": ["1000.5", 1000.5],
            "description": "Greater than zero, below a trillion, at most three decimal places",
        }
    ),
]
QuantityOut = Annotated[
    Decimal, PlainSerializer(format_quantity, return_type=str, when_used="json")
]
Id = Annotated[int, Strict(), Field(ge=1, le=inputs.MAX_ID)]


def _whole_text(value: object) -> object:
    # A number in a query string: ASCII digits, not pydantic's "1_000" or " 12 ".
    if isinstance(value, str):
        number = inputs.whole_from(value)
        if number is None:
            raise PydanticCustomError("int_parsing", "Input should be a whole number")
        return number
    return value


# A whole number given as a query parameter.
QueryInt = Annotated[int, BeforeValidator(_whole_text)]


# One line of text, without control characters (each field bounds its length).
Line = Annotated[str, Field(pattern=inputs.LINE_PATTERN)]


# Lines of text: tab, line feed and carriage return allowed, no other control character.
Text = Annotated[str, Field(max_length=2000, pattern=inputs.MULTILINE_PATTERN)]
Reason = Annotated[str, Field(min_length=1, max_length=2000, pattern=inputs.MULTILINE_PATTERN)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# A country of origin: ISO 3166-1 alpha-2 (the service upper-cases it).
ORIGIN_PATTERN = r"^[A-Za-z]{2}$"
# A share in percent: 0 to 100, at most two decimals (the service checks the range).
PercentIn = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    BeforeValidator(_decimal_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 100},
                {"type": "string", "pattern": inputs.DECIMAL_PATTERN},
            ],
            "examples": ["8.5", 10],
            "description": "A share in percent, 0 to 100, at most two decimal places",
        }
    ),
]


class ResourceIn(_In):
    code: Annotated[Line, Field(max_length=40)]
    name: Annotated[Line, Field(max_length=120, description="English name")]
    name_ko: Annotated[Line, Field(max_length=120)] | None = None
    hs_code: Annotated[Line, Field(max_length=20)]
    unit: Annotated[Line, Field(max_length=10)]
    barrels_per_tonne: QuantityIn | None = None
    origin: Annotated[
        str,
        Field(
            pattern=ORIGIN_PATTERN,
            description="Country of origin, ISO 3166-1 alpha-2 (KR when not given)",
            examples=["KR", "US"],
        ),
    ] = "KR"
    us_content_percent: Annotated[
        PercentIn,
        Field(
            description="The share of US-origin content in percent (0 when not given): "
            "the US regime reaches goods with more than its de minimis share"
        ),
    ] = Decimal(0)
    petroleum_kind: Annotated[
        PetroleumKind | None,
        Field(
            description="Whose UN Statistics Division factor converts it when it has no "
            "barrels_per_tonne of its own; without one, the kind its HS code names, if any."
        ),
    ] = None


class WaiverLineIn(_In):
    resource: Annotated[Line, Field(max_length=40, description="resource code")]
    unit: Annotated[Line, Field(max_length=10)]
    requested_quantity: QuantityIn
    granted_quantity: QuantityIn | None = None


class WaiverIn(_In):
    reference: Annotated[Line, Field(max_length=60)]
    authority: Annotated[
        Authority, Field(description="Decides the regime the waiver is under (`regime`)")
    ]
    standing: Annotated[
        Annotated[bool, Strict()] | None,
        Field(
            description="A standing authorisation is drawn on by every drawdown of its "
            "resources that names no line under its regime. Not given (or null): as its "
            "authority has it, true for the ministry's blanket approval only."
        ),
    ] = None
    title: Annotated[Line, Field(max_length=200)]
    purpose: Text = ""
    status: WaiverStatus = WaiverStatus.DRAFT
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    lines: Annotated[list[WaiverLineIn], Field(max_length=500)] = []


class StatusIn(_In):
    status: WaiverStatus
    effective_on: IsoDate
    note: Text = ""


class AuthorisationIn(_In):
    regime: Annotated[Line, Field(max_length=20, description="regime code: un, rok or us")]
    line_id: Id


class DrawdownIn(_In):
    resource: Annotated[Line, Field(max_length=40, description="resource code")]
    quantity: QuantityIn
    unit: Annotated[Line, Field(max_length=10)]
    occurred_on: IsoDate
    waiver_line_id: Annotated[
        Id | None,
        Field(
            description="The short form of `authorisations`: one line, under its waiver's "
            "regime. Regimes that control the resource and have no line named draw on their "
            "standing authorisation, if any."
        ),
    ] = None
    authorisations: Annotated[
        list[AuthorisationIn] | None,
        Field(
            max_length=10,
            description="The line drawn on under each regime that controls the resource, "
            "at most one per regime.",
        ),
    ] = None
    purpose: Purpose
    override_reason: Text | None = None
    note: Text = ""


class ReversalIn(_In):
    reason: Reason


class ControlOut(BaseModel):
    """A resource's control under one regime, and what decided it."""

    regime: str = Field(description="regime code: un, rok or us")
    control: Control
    basis: Basis = Field(
        description="rule: the HS rule `rule_prefix`; default: the regime's control of goods "
        "no rule names; not_subject: outside the regime (US: neither US origin nor US content "
        "above its share)"
    )
    rule_prefix: str | None


class ResourceOut(BaseModel):
    code: str
    name: str
    name_ko: str
    hs_code: str
    unit: str
    control: Control = Field(description="Its control under the UN regime (see `controls`)")
    barrels_per_tonne: Annotated[QuantityOut | None, Field(description="its own factor")]
    petroleum_kind: PetroleumKind | None
    effective_barrels_per_tonne: Annotated[
        QuantityOut | None,
        Field(description="the factor its litres and tonnes convert by; null: they do not"),
    ]
    barrels_per_tonne_is_default: Annotated[
        bool, Field(description="whether that is its kind's UNSD default, for want of its own")
    ]
    origin: str
    us_content_percent: QuantityOut
    controls: list[ControlOut] = Field(description="Under every regime, in screening order")


class HsRuleOut(BaseModel):
    prefix: str
    control: Control
    note: str


class RegimeOut(BaseModel):
    code: str
    name: str
    name_ko: str
    position: int = Field(description="Screening order: 1 first")
    in_force: bool = Field(description="Whether drawdowns are screened under it now")
    default_control: Control = Field(description="The control of goods no rule names")
    us_content_rule: bool = Field(
        description="Whether it reaches only goods of US origin or with US content above "
        "`us_content_threshold`"
    )
    us_content_threshold: QuantityOut | None = Field(description="In percent")
    note: str
    rules: list[HsRuleOut] = Field(description="By prefix; the longest matching prefix wins")


class RegimeList(BaseModel):
    items: list[RegimeOut]


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
    regime: str = Field(description="The code of the regime it is under")
    standing: bool
    title: str
    purpose: str
    status: WaiverStatus
    valid_from: date | None
    valid_until: date | None
    lines: list[WaiverLineOut]


class ScreeningOut(BaseModel):
    """A drawdown under one regime: as recorded, or (in a refusal) as it would have been."""

    regime: str
    control: Control | None
    line_id: int | None
    waiver_status: WaiverStatus | None
    classification: Classification
    message: str | None = None


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
    regimes: list[ScreeningOut]
    flagged: bool
    override_reason: str | None
    reverses_id: int | None
    hash: str


class DrawdownPage(BaseModel):
    items: list[DrawdownOut]
    next_cursor: str | None


class ResourceList(BaseModel):
    items: list[ResourceOut]


class RejectedRow(BaseModel):
    """A row of a batch that was refused."""

    index: int = Field(description="Its position in the batch, from 0")
    field: str | None = Field(description="The field refused, when one is")
    status: int = Field(description="422: invalid; 409: it clashes with what is recorded")
    message: str


class RejectedLine(BaseModel):
    """A line of a CSV file that was refused."""

    line: int = Field(description="Its line number in the file (1 is the header)")
    message: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] | None = None
    rejected: list[RejectedRow] | None = Field(
        default=None, description="In a batch refused: every row refused, by index"
    )
    rejected_lines: list[RejectedLine] | None = Field(
        default=None, description="In a CSV file refused: every line refused, by its number"
    )
    classification: Classification | None = None
    regimes: list[ScreeningOut] | None = None


class ViolationOut(BaseModel):
    rule: str
    date: date
    side: str
    person_id: int | None
    person: str | None
    message: str


class ViolationList(BaseModel):
    items: list[ViolationOut]


# --- what-if screening (POST /screenings; office.waivers.screening) -------------------------


class ScreeningIn(_In):
    hs_code: Annotated[
        Line,
        Field(
            max_length=20,
            description="4 to 10 digits, dots allowed (7216.10). Lines are listed for "
            "resources whose HS code is this one or a prefix of it.",
        ),
    ]
    origin: Annotated[
        Line, Field(max_length=10, description="Country of origin, ISO 3166 alpha-2 (KR, US)")
    ]
    us_content_percent: Annotated[
        PercentIn, Field(description="The share of US-origin content (default 0)")
    ] = Decimal(0)
    quantity: QuantityIn
    unit: Annotated[Line, Field(max_length=10)]
    occurred_on: IsoDate


class ScreeningItemOut(BaseModel):
    """The item as screened: its HS code in digits, its origin in capitals."""

    hs_code: str
    origin: str
    us_content_percent: QuantityOut
    quantity: QuantityOut
    unit: str
    occurred_on: date


class ScreeningRuleOut(BaseModel):
    prefix: str
    note: str


class ScreeningLineOut(BaseModel):
    """An authorisation line that could cover the item, and what drawing the item on it now
    would give; `classification` is null when the item's unit cannot be compared with the
    line's resource's (`reason` says why)."""

    line_id: int
    line_no: int
    waiver: str = Field(description="The waiver's reference")
    waiver_status: WaiverStatus
    valid_from: date | None
    valid_until: date | None
    standing: bool
    resource: str = Field(description="The line's resource code")
    classification: Classification | None
    reason: str | None
    remaining_before: QuantityOut | None = Field(
        description="Left on the line now, in its unit (null: not granted yet)"
    )
    remaining_after: QuantityOut | None = Field(
        description="Left after the item, in the line's unit (negative: over the cap)"
    )
    unit: str


class ScreeningRegimeOut(BaseModel):
    regime: str
    control: Control
    basis: Basis
    rule: ScreeningRuleOut | None
    best: Classification = Field(
        description="The best classification achievable under this regime (its best line's)"
    )
    lines: list[ScreeningLineOut]


class ScreeningResult(BaseModel):
    item: ScreeningItemOut
    regimes: list[ScreeningRegimeOut]
    overall: Classification = Field(
        description="The classification if the office picked the best line under each regime"
    )


# --- operations: meters (office.fuel.services) ----------------------------------------------

# An instant as RFC 3339 gives it, with its offset (Z for UTC); seconds optional.
INSTANT_PATTERN = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_INSTANT = re.compile(INSTANT_PATTERN)


def _instant_text(value: object) -> object:
    # Pydantic takes Unix times and instants without an offset; an instant here is
    # RFC 3339 with its offset, turned to UTC.
    if not isinstance(value, str):
        raise PydanticCustomError("office_instant", "Input should be an RFC 3339 string")
    if not _INSTANT.match(value):
        raise PydanticCustomError("office_instant", "Input should be an RFC 3339 instant")
    try:
        instant = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("office_instant", "Input should be an RFC 3339 instant") from None
    instant = instant.astimezone(UTC)
    if not inputs.in_range(instant.date()):
        raise PydanticCustomError("office_date_range", str(inputs.range_message()))
    return instant


_INSTANT_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "pattern": INSTANT_PATTERN,
    "description": "RFC 3339 with its offset, such as 2018-10-05T09:15:00+09:00 or "
    "2018-10-05T00:15:00Z",
}
Instant = Annotated[datetime, BeforeValidator(_instant_text), WithJsonSchema(_INSTANT_SCHEMA)]
# A register as read: zero or more.
RegisterIn = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    BeforeValidator(_decimal_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": inputs.DECIMAL_PATTERN},
            ],
            "examples": ["10250.5", 10250],
            "description": "As read: zero or more, at most three decimal places",
        }
    ),
]
MAX_BATCH = 5000


class MeterOut(BaseModel):
    id: int
    name: str
    source: MeterSource = Field(description="grid_south: drawn on its waiver line")
    waiver_line_id: int | None
    digits: int = Field(description="The register turns over to zero after 10^digits - 1")
    multiplier: QuantityOut = Field(description="kWh per register unit")
    installed_at: datetime
    removed_at: datetime | None
    last_read_at: datetime | None
    last_value: QuantityOut | None


class MeterList(BaseModel):
    items: list[MeterOut]


Name = Annotated[Line, Field(min_length=1, max_length=80)]
Digits = Annotated[
    int,
    Strict(),
    Field(ge=1, le=12, description="The register turns over to zero after 10^digits - 1"),
]
Multiplier = Annotated[QuantityIn, Field(description="kWh per register unit")]


class MeterIn(_In):
    name: Name
    source: MeterSource = Field(description="grid_south: drawn on its waiver line")
    waiver_line_id: Annotated[
        Id | None, Field(description="Required for grid_south: a line of electricity")
    ] = None
    digits: Digits
    multiplier: Multiplier
    installed_at: Instant
    first_value: Annotated[RegisterIn, Field(description="The register when installed")]
    correction_reason: Annotated[
        Text | None, Field(description="Needed when the day's log is signed off")
    ] = None


class MeterReplacementIn(_In):
    final_value: Annotated[RegisterIn, Field(description="The old meter's register at the end")]
    final_rolled_over: Annotated[
        bool,
        Strict(),
        Field(description="The old register turned over to zero since its last reading"),
    ] = False
    replaced_at: Annotated[
        Instant, Field(description="The old meter's final reading and the new one's first")
    ]
    name: Annotated[Name, Field(description="The new meter's name")]
    digits: Digits
    multiplier: Multiplier
    first_value: Annotated[RegisterIn, Field(description="The new meter's register")]
    override_reason: Annotated[
        Text | None,
        Field(description="Records a final interval the waiver line does not cover, flagged"),
    ] = None
    correction_reason: Annotated[
        Text | None, Field(description="Needed when the day's log is signed off")
    ] = None


class MeterReadingFields(_In):
    value: Annotated[RegisterIn, Field(description="The register in kWh, within its digits")]
    read_at: Instant
    unit: Annotated[Line, Field(max_length=10, description="kWh, the only unit")] = "kWh"
    rolled_over: Annotated[
        bool,
        Strict(),
        Field(description="The register turned over to zero since the last reading"),
    ] = False
    override_reason: Annotated[
        Text | None,
        Field(description="Records an interval the waiver line does not cover, flagged"),
    ] = None
    correction_reason: Annotated[
        Text | None, Field(description="Needed when the day's log is signed off")
    ] = None


class MeterReadingIn(MeterReadingFields):
    meter_id: Id


class MeterReadingBatchIn(_In):
    readings: Annotated[
        list[MeterReadingIn],
        Field(
            min_length=1,
            max_length=MAX_BATCH,
            description="Recorded in this order, all or none",
        ),
    ]


class MeterReadingOut(BaseModel):
    id: int
    meter_id: int
    meter: str = Field(description="The meter's name")
    read_at: datetime
    read_on: date = Field(description="The day in Seoul")
    value: QuantityOut
    kind: ReadingKind
    rolled_over: bool
    consumption: QuantityOut | None = Field(description="kWh since the previous reading")
    previous_at: datetime | None
    flagged: bool
    flag_message: str | None = Field(description="Why it looks implausible")
    drawdown_entry_id: int | None = Field(description="The ledger entry of its interval")
    recorded_at: datetime
    voided_at: datetime | None
    void_reason: str | None


class MeterReadingList(BaseModel):
    items: list[MeterReadingOut]


class MeterReadingPage(BaseModel):
    items: list[MeterReadingOut]
    next_cursor: str | None


class VoidIn(_In):
    reason: Reason


# --- operations: generators, tanks and their fuel (office.fuel.services) --------------------

CorrectionReason = Annotated[
    Text | None, Field(description="Needed when the day's log is signed off")
]


class GeneratorOut(BaseModel):
    id: int
    name: str
    rated_lph: QuantityOut = Field(description="Litres per running hour")
    tank_id: int | None
    is_active: bool


class GeneratorList(BaseModel):
    items: list[GeneratorOut]


class GeneratorIn(_In):
    name: Name
    rated_lph: Annotated[QuantityIn, Field(description="Litres per running hour")]
    tank_id: Annotated[Id | None, Field(description="The tank it is fed from")] = None


class GeneratorReadingIn(_In):
    generator_id: Id
    hours: Annotated[
        RegisterIn, Field(description="The run-hour meter as read; it never goes back")
    ]
    read_at: Instant
    correction_reason: CorrectionReason = None


class GeneratorReadingOut(BaseModel):
    id: int
    generator_id: int
    generator: str
    read_at: datetime
    read_on: date = Field(description="The day in Seoul")
    hours: QuantityOut
    voided_at: datetime | None
    void_reason: str | None


class GeneratorReadingPage(BaseModel):
    items: list[GeneratorReadingOut]
    next_cursor: str | None


class TankOut(BaseModel):
    id: int
    name: str
    resource: str = Field(description="The product's resource code")
    unit: str
    capacity: QuantityOut
    tolerance: QuantityOut | None = Field(description="A dip further off the book is flagged")
    location: str
    is_active: bool


class TankList(BaseModel):
    items: list[TankOut]


class TankIn(_In):
    name: Name
    resource: Annotated[Line, Field(max_length=40, description="The product's resource code")]
    capacity: Annotated[QuantityIn, Field(description="In the product's unit")]
    tolerance: Annotated[
        RegisterIn | None,
        Field(description="A dip further off the book is flagged; default 1% of the capacity"),
    ] = None
    location: Annotated[Line, Field(max_length=120)] = ""
    opening: Annotated[
        RegisterIn | None, Field(description="The stock in it now, in the product's unit")
    ] = None
    opened_on: Annotated[
        IsoDate | None, Field(description="The day of the opening stock; default today")
    ] = None


class ReceiptIn(_In):
    tank_id: Id
    quantity: QuantityIn
    unit: Annotated[Line, Field(max_length=10)]
    received_on: IsoDate
    authorisations: Annotated[
        list[AuthorisationIn],
        Field(
            max_length=10,
            description="The line drawn on under each regime that controls the fuel, at most "
            "one per regime; a regime left out draws on its standing authorisation, if any",
        ),
    ] = []
    parties: Annotated[Line, Field(max_length=200)] = ""
    note: Text = ""
    override_reason: Text | None = None
    correction_reason: CorrectionReason = None


class IssueIn(_In):
    tank_id: Id
    quantity: Annotated[QuantityIn, Field(description="In litres")]
    issued_on: IsoDate
    use: FuelUse
    generator_id: Annotated[Id | None, Field(description="Required for use generator")] = None
    note: Text = ""
    correction_reason: CorrectionReason = None


class ReturnIn(_In):
    tank_id: Id
    quantity: Annotated[QuantityIn, Field(description="In litres")]
    returned_on: IsoDate
    parties: Annotated[Line, Field(max_length=200)] = ""
    note: Text = ""
    correction_reason: CorrectionReason = None


class LotDrawOut(BaseModel):
    lot_id: int
    quantity: QuantityOut
    waiver_line_id: int | None
    classification: Classification
    flagged: bool


class MovementOut(BaseModel):
    id: int
    kind: MovementKind
    tank_id: int
    tank: str
    resource: str
    occurred_on: date
    quantity: QuantityOut = Field(description="In the product's unit")
    unit: str
    use: str | None
    lot_id: int | None = Field(description="A receipt's lot")
    drawdown_entry_id: int | None = Field(description="A receipt's ledger entry")
    draws: list[LotDrawOut] = Field(description="The lots an issue or return drew, oldest first")
    parties: str
    note: str
    recorded_at: datetime
    voided_at: datetime | None
    void_reason: str | None


class MovementPage(BaseModel):
    items: list[MovementOut]
    next_cursor: str | None


class DipIn(_In):
    tank_id: Id
    measured: Annotated[RegisterIn, Field(description="In the product's unit, zero or more")]
    read_at: Instant
    correction_reason: CorrectionReason = None


class DipOut(BaseModel):
    id: int
    tank_id: int
    tank: str
    read_at: datetime
    read_on: date
    measured: QuantityOut
    book: QuantityOut = Field(description="The book stock then")
    variance: QuantityOut = Field(description="measured - book")
    flagged: bool = Field(description="Beyond the tank's tolerance")
    voided_at: datetime | None
    void_reason: str | None


class DipPage(BaseModel):
    items: list[DipOut]
    next_cursor: str | None


# --- operations: the daily log (office.fuel.services) ----------------------------------------


class DailyLogEventOut(BaseModel):
    at: datetime
    by: str | None = Field(description="Who, by their name")
    action: str = Field(description="What, as a code: meter_reading, fuel_issued, signed_off…")
    reason: str | None = Field(description="A correction's reason, once the day was signed off")
    detail: dict[str, str]


class DailyLogOut(BaseModel):
    day: date
    status: LogStatus = Field(description="draft until signed off (also a day with no log yet)")
    incidents: str
    notes: str
    signed_off_at: datetime | None
    signed_off_by: str | None
    history: list[DailyLogEventOut] = Field(description="Every change to the day, in order")


class DailyLogNotesIn(_In):
    incidents: Annotated[str, Field(max_length=10000, pattern=inputs.MULTILINE_PATTERN)] = ""
    notes: Annotated[str, Field(max_length=10000, pattern=inputs.MULTILINE_PATTERN)] = ""
    correction_reason: CorrectionReason = None
