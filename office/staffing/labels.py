"""On-screen names of the staffing vocabulary, in Korean and English."""

from __future__ import annotations

import re
from datetime import date

from office.i18n import _, _l, register_labels
from office.staffing.checks import RULE_LABELS, Rule
from office.staffing.models import (
    Category,
    CrossingStatus,
    Position,
    ProposalStatus,
    Shift,
    Side,
)

SIDE_LABELS = {Side.SOUTH: _l("South"), Side.NORTH: _l("North")}
CATEGORY_LABELS = {
    Category.OFFICIAL: _l("official"),
    Category.SUPPORT: _l("support staff"),
    Category.CONTRACTOR_WORKER: _l("contractor worker"),
}
POSITION_LABELS = {
    Position.CO_HEAD: _l("co-head"),
    Position.DEPUTY_HEAD: _l("deputy head"),
    Position.SECRETARY_GENERAL: _l("secretary general"),
    Position.DUTY_OFFICER: _l("duty officer"),
    Position.LIAISON_OFFICER: _l("liaison officer"),
    Position.STAFF: _l("staff"),
    Position.TECHNICIAN: _l("technician"),
    Position.WORKER: _l("worker"),
}
SHIFT_LABELS = {Shift.DAY: _l("day"), Shift.NIGHT: _l("night")}
CROSSING_STATUS_LABELS = {
    CrossingStatus.DRAFT: _l("draft"),
    CrossingStatus.SENT: _l("sent"),
    CrossingStatus.ACCEPTED: _l("accepted"),
    CrossingStatus.AMENDED: _l("amended, to send again"),
}
PROPOSAL_STATUS_LABELS = {
    ProposalStatus.PROPOSED: _l("proposed"),
    ProposalStatus.ACCEPTED: _l("accepted"),
    ProposalStatus.DISCARDED: _l("discarded"),
}
# A mark per rule, shown in the calendar's cells beside the rule's full name.
RULE_MARKS = {
    Rule.HEADCOUNT_MIN: "<",
    Rule.HEADCOUNT_MAX: ">",
    Rule.NIGHT_DUTY: "N!",
    Rule.CONSECUTIVE_DAYS: "C!",
    Rule.REST_DAYS: "R!",
    Rule.SHORT_STAY: "S!",
    Rule.CROSSING_DAY: "D!",
    Rule.MONTHLY_CROSSINGS: "X!",
}

# Day names, short, Monday first (as `date.weekday()` counts).
WEEKDAY_LABELS = (
    _l("Mon"),
    _l("Tue"),
    _l("Wed"),
    _l("Thu"),
    _l("Fri"),
    _l("Sat"),
    _l("Sun"),
)


def weekday_label(day: date) -> str:
    return str(WEEKDAY_LABELS[day.weekday()])


register_labels(
    {
        Side: SIDE_LABELS,
        Category: CATEGORY_LABELS,
        Position: POSITION_LABELS,
        Shift: SHIFT_LABELS,
        CrossingStatus: CROSSING_STATUS_LABELS,
        ProposalStatus: PROPOSAL_STATUS_LABELS,
        Rule: RULE_LABELS,
    }
)


_SUMMARY = re.compile(
    r"(?P<status>[A-Za-z_]+); (?P<seconds>[0-9.]+) s; spread of nights (?P<nights>\d+), "
    r"weekends (?P<weekends>\d+), days on site (?P<days>\d+)"
    r"(?:; crossings (?P<crossings>\d+); gap (?P<gap>[0-9.]+)%)?"
)


def planner_summary(objective: str | None) -> str:
    """The planner's summary of its search (kept in its own words) in the reader's."""
    found = {"OPTIMAL": _("the best plan"), "FEASIBLE": _("a good plan, not proven the best")}
    match = _SUMMARY.fullmatch(objective or "")
    if match is None:
        return found.get(objective or "", objective or "")
    what = found.get(match["status"].upper(), match["status"])
    if match["crossings"] is None:  # proposals made before the planner counted crossings
        return _(
            "Found %(what)s in %(seconds)s s; spread of nights %(nights)s, of weekends "
            "%(weekends)s, of days on site %(days)s.",
            what=what,
            seconds=match["seconds"],
            nights=match["nights"],
            weekends=match["weekends"],
            days=match["days"],
        )
    return _(
        "Found %(what)s in %(seconds)s s: %(crossings)s crossings; spread of nights "
        "%(nights)s, of weekends %(weekends)s, of days on site %(days)s; within %(gap)s%% "
        "of the best possible.",
        what=what,
        seconds=match["seconds"],
        crossings=match["crossings"],
        nights=match["nights"],
        weekends=match["weekends"],
        days=match["days"],
        gap=match["gap"],
    )
