"""Shapes of the review's JSON (the queue, an item and its thread, the monthly and petroleum
reports, the audit trail): what the API accepts and returns there, and so its OpenAPI schemas.

Only the shape lives here; the rules are the services' (office.reviews, office.audit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from office import inputs
from office.api.schemas import QuantityOut, _In
from office.documents.models import DocumentKind
from office.reviews.models import ItemKind, ReviewAction, ReviewState
from office.reviews.queries import QUEUE_STATES
from office.reviews.services import NOTE_MAX
from office.waivers.models import Classification, Purpose

# The queue's `state`: one state, those still awaiting review (the page's default), or all.
STATE_CHOICES = QUEUE_STATES
# A queue cursor, as `next_cursor` gives it: the last item's day, kind and record.
QUEUE_CURSOR_PATTERN = (
    r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}\.("
    + "|".join(kind.value for kind in ItemKind)
    + r")\.[1-9][0-9]{0,17}$"
)
# An audit cursor: the last row's time (microseconds since 1970, UTC), its source and id.
AUDIT_CURSOR_PATTERN = r"^[0-9]{1,18}\.(event|login)\.[1-9][0-9]{0,17}$"


def _rfc3339(moment: datetime) -> str:
    # Stored aware in UTC (office.db.UTCDateTime); written with a Z, to the second's fraction.
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# A moment, as RFC 3339 in UTC.
Moment = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "RFC 3339, UTC"}),
]
NOT_CHECKED_SCHEMA = {
    "anyOf": [{"$ref": "#/components/schemas/Classification"}, {"type": "null"}],
    "description": "Its classification there; null: not checked under it at the time",
}


class NoteIn(_In):
    """The words of an action: required for all but an acknowledgement."""

    body: Annotated[str, Field(max_length=NOTE_MAX, pattern=inputs.MULTILINE_PATTERN)] = ""


class RefusedOut(BaseModel):
    regime: str = Field(description="The code of the regime that refused it")
    classification: Classification


class ReviewRowOut(BaseModel):
    """A flagged record in the queue, with its review's state."""

    kind: ItemKind
    source_id: int
    occurred_on: date
    state: ReviewState
    waiver_id: int | None
    title: str
    detail: str
    refused: list[RefusedOut]
    url: str = Field(description="Its address in this API (the item and its thread)")
    record_page: str | None = Field(description="The flagged record's page in the web app")


class ReviewQueuePage(BaseModel):
    items: list[ReviewRowOut]
    next_cursor: str | None
    counts: dict[ReviewState, int] = Field(
        description="How many items the filters (but `state`) select in each state"
    )


class ThreadNoteOut(BaseModel):
    """One step of an item's thread: a comment, a question, an answer or a change of state."""

    at: Moment
    action: ReviewAction
    from_state: ReviewState
    to_state: ReviewState
    author: str | None
    body: str


class ItemDocumentOut(BaseModel):
    """A document attached to the item's thread, as the thread on its page shows it."""

    id: int
    title: str
    filename: str
    kind: DocumentKind
    media_type: str
    size: int = Field(description="In bytes")
    uploaded_at: Moment
    uploaded_by: str | None
    state: Literal["current", "replaced", "withdrawn"] = Field(
        description="Replaced by a later version, or withdrawn (with when, by whom and why)"
    )
    withdrawn_at: Moment | None
    withdrawn_by: str | None
    withdrawn_reason: str | None
    url: str = Field(description="Its address in this API (GET /documents/{id})")
    page: str = Field(description="The document's page in the web app")
    download_url: str | None = Field(
        description="The address of its file in this API (GET /documents/{id}/file, with the "
        "token); null when the caller may not read it: a withdrawn document is the "
        "ministry's reviewers' to read"
    )


class ReviewLineOut(BaseModel):
    """The waiver line the record draws on, with its cap and what is left of it now."""

    id: int
    waiver: str
    line_no: int
    unit: str
    granted: QuantityOut | None
    used: QuantityOut
    remaining: QuantityOut | None


class ScreenedOut(BaseModel):
    regime: str
    classification: Annotated[Classification | None, WithJsonSchema(NOT_CHECKED_SCHEMA)]


class ReviewItemOut(ReviewRowOut):
    """A flagged record with its facts, its thread and what the caller may do with it now."""

    recorded_by: str | None
    recorded_at: Moment | None
    line: ReviewLineOut | None
    screenings: list[ScreenedOut] = Field(
        description="For a drawdown recorded anyway: what each regime made of it at recording"
    )
    month_closed: bool = Field(description="Its month is signed off: only comments are taken")
    actions: list[ReviewAction] = Field(description="What the caller may do with it now")
    thread: list[ThreadNoteOut]
    documents: list[ItemDocumentOut] = Field(
        description="The documents attached to its thread, oldest first, every version"
    )


class SignOffIn(_In):
    note: Annotated[str, Field(max_length=NOTE_MAX, pattern=inputs.MULTILINE_PATTERN)] = ""


class SignedOffOut(BaseModel):
    at: Moment
    by: str | None
    note: str


class MonthOut(BaseModel):
    """A month of the review: its flagged items in each state, and its sign-off."""

    month: str = Field(description="YYYY-MM")
    counts: dict[ReviewState, int]
    signed_off: SignedOffOut | None
    report_url: str = Field(description="Its report in this API")


class MonthList(BaseModel):
    items: list[MonthOut] = Field(description="Newest first")


# --- the monthly report -------------------------------------------------------------------


class TransferOut(BaseModel):
    """Entries of one resource and purpose under one regime, on one authorisation (or none),
    classified alike there."""

    regime: str
    waiver: str | None
    resource: str
    purpose: Purpose
    classification: Annotated[Classification | None, WithJsonSchema(NOT_CHECKED_SCHEMA)]
    covered: bool = Field(description="It stands as cover under the regime")
    entries: int
    quantity: QuantityOut
    unit: str
    flagged: int


class RegimeTransfersOut(BaseModel):
    regime: str
    name: str
    covered: list[TransferOut]
    not_covered: list[TransferOut]


class GapOut(BaseModel):
    covered_under: str
    not_covered_under: str
    entries: int


class UseOut(BaseModel):
    resource: str
    use: str
    quantity: QuantityOut
    unit: str


class StockOut(BaseModel):
    resource: str
    unit: str
    opening: QuantityOut
    received: QuantityOut
    used: QuantityOut
    returned: QuantityOut
    closing: QuantityOut


class FlagOut(BaseModel):
    kind: ItemKind
    source_id: int
    occurred_on: date
    state: ReviewState
    title: str
    resolution: str | None = Field(description="The last step of its thread, in words")
    refused: list[RefusedOut]


class MonthReportOut(BaseModel):
    """The month's supply-usage report, as its page shows it."""

    month: str = Field(description="YYYY-MM")
    first_day: date
    last_day: date
    signed_off: SignedOffOut | None
    ledger_head: str | None = Field(
        description="The ledger's signed head as `flask ledger verify --head` takes it"
    )
    regimes: list[RegimeTransfersOut]
    gaps: list[GapOut]
    uses: list[UseOut]
    stock: list[StockOut]
    flags: list[FlagOut]


class ReportJobOut(BaseModel):
    """A worker's job printing a report's PDF."""

    id: int
    state: str
    finished: bool
    percent: int | None
    url: str = Field(description="Where to follow it")
    file_url: str | None = Field(description="Where to fetch its file, once it has one")


# --- the UN petroleum report --------------------------------------------------------------


class AmountsOut(BaseModel):
    """A quantity in litres, tonnes and barrels; null in a unit it cannot be given in."""

    litres: QuantityOut | None
    tonnes: QuantityOut | None
    barrels: QuantityOut | None


class PetroleumTransferOut(BaseModel):
    day: date
    product: str
    hs_code: str
    amounts: AmountsOut
    un_authorisation: str | None
    parties: str
    ledger_entry: int


class PetroleumReturnOut(BaseModel):
    day: date
    product: str
    hs_code: str
    amounts: AmountsOut
    parties: str


class PetroleumProductOut(BaseModel):
    product: str
    hs_code: str
    transferred: AmountsOut
    returned_litres: QuantityOut | None
    factor: str
    note: str | None


class PetroleumReportOut(BaseModel):
    start: date
    end: date
    transfers: list[PetroleumTransferOut]
    returns: list[PetroleumReturnOut]
    products: list[PetroleumProductOut]


# --- the audit trail ----------------------------------------------------------------------


class AuditRowOut(BaseModel):
    occurred_at: Moment
    source: str = Field(description="`event` (an action) or `login` (a login attempt)")
    id: int
    actor_id: int | None
    actor: str | None
    email: str | None = Field(description="The address a login attempt gave")
    action: str
    object_type: str | None
    object_id: str | None
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditRowOut]
    next_cursor: str | None


MODELS: list[type[BaseModel]] = [
    ReviewQueuePage,
    ReviewItemOut,
    MonthList,
    MonthOut,
    MonthReportOut,
    ReportJobOut,
    PetroleumReportOut,
    AuditPage,
]
