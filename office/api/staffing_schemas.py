"""Shapes of the staffing part of the API (office.api.staffing): the roster, stays and duty.

Only the shape lives here; the rules are `office.staffing.services`'.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict

from office.api.schemas import Id, IsoDate, Line, _In
from office.inputs import MULTILINE_PATTERN
from office.staffing.models import (
    Category,
    CrossingStatus,
    Position,
    ProposalStatus,
    Shift,
    Side,
)
from office.staffing.services import MAX_PLAN_DAYS

# The most people one duty list names (a side's roster is a few dozen).
MAX_DUTY_PEOPLE = 500
# The longest roster CSV taken in one request: the page's 20,000 rows, long ones among them.
MAX_ROSTER_CSV = 8_000_000
Note = Annotated[Line, Field(max_length=200)]
Pinned = Annotated[bool, Strict(), Field(description="The planner keeps a pinned stay as it is")]


class PersonOut(BaseModel):
    id: int
    name_ko: str
    name_latin: str
    side: Side
    category: Category
    agency: str
    position: Position
    is_duty_qualified: bool = Field(description="May be put on night duty")
    active_from: date
    active_until: date | None


class PersonIn(_In):
    """A person as the roster's page takes one: every field, also to change one."""

    name_ko: Annotated[Line, Field(max_length=60, description="The name in Korean")]
    name_latin: Annotated[
        Line, Field(max_length=100, description="As in the passport; required for the South")
    ] = ""
    side: Side
    category: Category
    agency: Annotated[Line, Field(max_length=100)] = ""
    position: Position
    is_duty_qualified: Annotated[bool, Strict()] = False
    active_from: IsoDate
    active_until: IsoDate | None = None


class PersonList(BaseModel):
    items: list[PersonOut]


class FeedOut(BaseModel):
    person_id: int
    feed_url: str = Field(
        description="The person's secret calendar link (iCalendar), for any calendar program"
    )


class RosterImportIn(_In):
    csv: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_ROSTER_CSV,
            pattern=MULTILINE_PATTERN,
            description="The text of a roster CSV file, with the columns the export has "
            "(name_ko, name_latin, side, category, agency, position, duty_qualified, "
            "active_from, active_until; name_ko, side, category, position and active_from "
            "required)",
        ),
    ]


Weekday = Annotated[int, Strict(), Field(ge=0, le=6, description="0 is Monday, 6 Sunday")]


Headcount = Annotated[int, Strict(), Field(ge=0, le=500)]
Days = Annotated[int, Strict(), Field(ge=1, le=366)]


class RulesOut(BaseModel):
    side: Side
    weekday_min: int = Field(description="Minimum on site, Monday to Friday")
    weekend_min: int = Field(description="Minimum on site, Saturday and Sunday")
    max_headcount: int = Field(description="Maximum on site")
    counted_categories: list[Category] = Field(description="Counted toward the headcount")
    min_night_duty: int = Field(description="Night duty officers, at least")
    max_consecutive_days: int = Field(description="The longest stay: days on site in a row")
    min_stay_days: int = Field(description="The shortest stay; 1 for no minimum")
    min_rest_days: int = Field(description="Rest days between stays, at least")
    crossing_weekdays: list[int] = Field(
        description="The days of the week people may arrive or leave (0 is Monday)"
    )
    max_crossings_per_month: int | None = Field(
        description="Arrivals and departures of a person in a month, at most; null: no limit"
    )
    applies_from: date = Field(description="Daily headcount and night duty count from this day")


class RulesList(BaseModel):
    items: list[RulesOut]


class RulesIn(_In):
    """A side's rules as the rules page takes them: every field, also to change one."""

    weekday_min: Annotated[Headcount, Field(description="Minimum on site, Monday to Friday")]
    weekend_min: Annotated[Headcount, Field(description="Minimum on site, Saturday and Sunday")]
    max_headcount: Annotated[
        Headcount, Field(description="Maximum on site; each minimum is at most this")
    ]
    counted_categories: Annotated[
        list[Category], Field(max_length=10, description="Counted toward the headcount")
    ]
    min_night_duty: Annotated[
        int, Strict(), Field(ge=0, le=50, description="Night duty officers, at least")
    ]
    max_consecutive_days: Annotated[
        Days, Field(description="The longest stay: days on site in a row, at most")
    ]
    min_stay_days: Annotated[
        Days, Field(description="The shortest stay (1 for no minimum); at most the longest")
    ]
    min_rest_days: Annotated[
        int, Strict(), Field(ge=0, le=60, description="Rest days between stays, at least")
    ]
    crossing_weekdays: Annotated[
        list[Weekday],
        Field(max_length=7, description="The days of the week people may arrive or leave"),
    ]
    max_crossings_per_month: Annotated[
        int | None,
        Strict(),
        Field(ge=1, le=62, description="Arrivals and departures a month; null: no limit"),
    ]
    applies_from: IsoDate


class CrossingDayOut(BaseModel):
    day: date
    north: int = Field(description="How many of the South cross north to start a stay")
    south: int = Field(description="How many return south at the end of one")
    status: CrossingStatus = Field(
        description="Where the day's list stands with the North: amended when the stays "
        "changed after it was sent (send it again)"
    )
    sent_at: datetime | None
    accepted_at: datetime | None


class CrossingMonthOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    north: int
    south: int
    days: list[CrossingDayOut] = Field(
        description="Every day someone of the South crosses, or whose list was recorded"
    )


class CrossingPersonOut(BaseModel):
    person_id: int
    name_ko: str
    name_latin: str
    agency: str
    position: Position


class CrossingListOut(BaseModel):
    day: date
    status: CrossingStatus
    sent_at: datetime | None
    accepted_at: datetime | None
    north: list[CrossingPersonOut] = Field(description="Crossing north to start a stay")
    south: list[CrossingPersonOut] = Field(description="Returning south at the end of one")


class CrossingStatusIn(_In):
    status: Annotated[
        Literal["sent", "accepted"],
        Field(description="Sent to the North (again, once amended), or accepted by it"),
    ]


class PlanIn(_In):
    side: Side
    first_day: IsoDate
    days: Annotated[
        int, Strict(), Field(ge=1, le=MAX_PLAN_DAYS, description="How many days to plan")
    ]


class PlanJobOut(BaseModel):
    """A worker's job searching for a plan."""

    id: int
    state: str
    finished: bool
    percent: int | None
    stage: str = Field(description="reading, solving or saving, while it runs")
    solutions: int | None = Field(description="Plans found so far, each better than the last")
    objective: float | None = Field(description="The best plan's objective so far (lower: better)")
    gap: float | None = Field(description="How far the best plan may be from the best possible")
    crossings: int | None = Field(description="The best plan's crossings")
    error: str | None = Field(description="Why it failed, when it did")
    url: str = Field(description="Where to follow it")
    proposal_url: str | None = Field(description="The proposal it made, once done")


class PersonChangeOut(BaseModel):
    person_id: int
    person: str = Field(description="The person's name in Korean")
    added: list[list[date]] = Field(description="Days on site the plan adds: [first, last] each")
    removed: list[list[date]] = Field(description="Days on site it removes: [first, last] each")
    nights_before: int
    nights_after: int


class ProposalOut(BaseModel):
    id: int
    side: Side
    first_day: date
    last_day: date
    status: ProposalStatus
    summary: str = Field(description="The planner's account of its search")
    created_at: datetime
    decided_at: datetime | None
    changes: list[PersonChangeOut] = Field(
        description="Per planned person: what accepting the plan changes"
    )


class ProposalSummaryOut(BaseModel):
    id: int
    side: Side
    first_day: date
    last_day: date
    status: ProposalStatus
    summary: str
    created_at: datetime


class ProposalList(BaseModel):
    items: list[ProposalSummaryOut]


class StayOut(BaseModel):
    id: int
    person_id: int
    person: str = Field(description="The person's name in Korean")
    side: Side
    first_day: date
    last_day: date
    days: int = Field(description="Days on site, the first and the last counted")
    is_pinned: bool
    note: str
    created_at: datetime
    long_stay: str | None = Field(
        description="Set when the stay is longer than its side's rules allow (on its own or "
        "with the stays it touches): it is kept all the same, as on the person's page"
    )


class StayPage(BaseModel):
    items: list[StayOut]
    next_cursor: str | None


class StayIn(_In):
    person_id: Id
    first_day: IsoDate
    last_day: IsoDate
    is_pinned: Pinned = False
    note: Note = ""


class StayChangeIn(_In):
    """A stay's new days, pin or note; what is left out stays as it is."""

    first_day: IsoDate | None = None
    last_day: IsoDate | None = None
    is_pinned: Pinned | None = None
    note: Note | None = None


class DutyOut(BaseModel):
    day: date
    side: Side
    shift: Shift = Field(description="A night belongs to the day it starts")
    person_id: int
    person: str = Field(description="The person's name in Korean")


class DutyList(BaseModel):
    items: list[DutyOut]


class DutyIn(_In):
    day: IsoDate
    side: Side
    shift: Shift
    people: Annotated[
        list[Id],
        Field(
            max_length=MAX_DUTY_PEOPLE,
            description="Who is on this duty list, replacing who was; [] empties it",
        ),
    ]
