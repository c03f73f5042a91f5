"""The staffing routes' part of the API-wide tests (test_openapi, test_idempotency,
test_schemathesis): real calls giving every response the document promises for them, and a
POST of each for the Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from office.audit.models import AuditEvent
from office.jobs.models import Job
from office.staffing import services
from office.staffing.models import PlanProposal, ProposalStatus, Shift, Side, Stay
from tests.factories import NOW, make_person, stay

# What the staffing routes answer with, besides problems.
STAFFING_SCHEMAS = {"PersonList", "PersonOut", "StayPage", "StayOut", "DutyList"}
STAFFING_SCHEMAS |= {"RulesList", "RulesOut", "CrossingMonthOut", "CrossingListOut"}
STAFFING_SCHEMAS |= {"PlanJobOut", "ProposalList", "ProposalOut", "FeedOut"}


def staffing_exchanges(
    call: Callable[..., Any],
    still_processing: Callable[[Session, Any, str], str],
    session: Session,
    *,
    scheduler: Any,
    admin: Any,
    anonymous: Any,
) -> dict[str, Any]:
    """Make the calls; return the ids of a person and a stay that exist, and a side (for the
    GETs that follow)."""
    call(scheduler, "get", "/staffing/people")
    call(scheduler, "get", "/staffing/people", {"side": "east"})
    added = call(scheduler, "post", "/staffing/people", PERSON).get_json()
    call(scheduler, "get", f"/staffing/people/{added['id']}")
    call(scheduler, "get", "/staffing/people/999999")
    call(scheduler, "post", f"/staffing/people/{added['id']}", {**PERSON, "agency": "KEPCO"})
    call(scheduler, "post", "/staffing/people/999999", PERSON)
    call(scheduler, "get", "/staffing/people.csv")
    call(scheduler, "get", f"/staffing/people/{added['id']}/feed")
    call(scheduler, "get", "/staffing/people/999999/feed")
    call(admin, "get", f"/staffing/people/{added['id']}/feed")
    call(scheduler, "post", f"/staffing/people/{added['id']}/feed")
    call(scheduler, "post", "/staffing/people/999999/feed")
    call(scheduler, "post", "/staffing/people/import", ROSTER)
    call(scheduler, "post", "/staffing/people/import", ROSTER)  # everyone already on it
    person = make_person(session)
    stay(session, person, date(2018, 9, 1), date(2018, 9, 3))
    late = {**PERSON, "name_ko": person.name_ko, "name_latin": person.name_latin}
    call(scheduler, "post", f"/staffing/people/{person.id}", {**late, "active_from": "2018-09-02"})
    body = {"person_id": person.id, "first_day": "2018-10-01", "last_day": "2018-10-05"}
    first = call(scheduler, "post", "/staffing/stays", body).get_json()["id"]
    call(scheduler, "post", "/staffing/stays", {**body, "last_day": "2018-10-03"})  # overlaps
    later = {**body, "first_day": "2018-10-10", "last_day": "2018-10-12"}
    second = call(scheduler, "post", "/staffing/stays", later).get_json()["id"]
    call(scheduler, "get", "/staffing/stays", {"limit": 1})
    call(scheduler, "get", "/staffing/stays", {"from": "2018-10-02", "to": "2018-10-01"})
    call(scheduler, "get", f"/staffing/stays/{first}")
    call(scheduler, "get", "/staffing/stays/999999")
    call(scheduler, "post", f"/staffing/stays/{first}", {"note": "Boiler"})
    call(scheduler, "post", f"/staffing/stays/{first}", {"last_day": "2018-10-11"})  # overlaps
    call(scheduler, "post", "/staffing/stays/999999", {"note": "x"})
    duty = {"day": "2018-10-02", "side": "south", "shift": "night", "people": [person.id]}
    call(scheduler, "post", "/staffing/duty", duty)
    call(scheduler, "post", "/staffing/duty", {**duty, "day": "2018-10-07"})  # off site
    call(scheduler, "get", "/staffing/duty", {"from": "2018-10-01", "to": "2018-10-31"})
    call(scheduler, "get", "/staffing/duty", {"from": "2018-10-01"})
    call(scheduler, "get", "/staffing/rules")
    call(scheduler, "get", "/staffing/rules/south")
    call(scheduler, "get", "/staffing/rules/east")
    call(scheduler, "post", "/staffing/rules/north", RULES)
    call(scheduler, "post", "/staffing/rules/north", {**RULES, "weekday_min": 9})
    call(scheduler, "post", "/staffing/rules/east", RULES)
    call(scheduler, "get", "/staffing/crossings", {"month": "2018-10"})
    call(scheduler, "get", "/staffing/crossings", {"month": "2018-13"})
    call(scheduler, "get", "/staffing/crossings/2018-10-01")
    call(scheduler, "get", "/staffing/crossings/2018-02-30")
    call(scheduler, "get", "/staffing/crossings/2018-10-01.csv")
    call(scheduler, "get", "/staffing/crossings/2018-02-30.csv")
    sent = {"status": "sent"}
    call(scheduler, "post", "/staffing/crossings/2018-10-01/status", sent)
    call(scheduler, "post", "/staffing/crossings/2018-10-01/status", sent)  # sent already
    call(scheduler, "post", "/staffing/crossings/2018-02-30/status", sent)
    call(scheduler, "get", "/staffing/plans")
    job = call(scheduler, "post", "/staffing/plans", PLAN).get_json()["id"]
    call(scheduler, "get", f"/staffing/plan-jobs/{job}")
    call(scheduler, "get", "/staffing/plan-jobs/999999")
    call(admin, "get", f"/staffing/plan-jobs/{job}")
    accepted, discarded = _proposal(session), _proposal(session)
    call(scheduler, "get", f"/staffing/plans/{accepted}")
    call(scheduler, "get", "/staffing/plans/999999")
    call(admin, "get", "/staffing/plans")
    call(admin, "get", f"/staffing/plans/{accepted}")
    for decision, proposal in (("accept", accepted), ("discard", discarded)):
        call(scheduler, "post", f"/staffing/plans/{proposal}/{decision}")
        call(scheduler, "post", f"/staffing/plans/{proposal}/{decision}")  # decided already
        call(scheduler, "post", f"/staffing/plans/999999/{decision}")
    call(scheduler, "post", f"/staffing/stays/{first}/removal")  # carries duty
    call(scheduler, "post", f"/staffing/stays/{second}/removal")
    call(scheduler, "post", "/staffing/stays/999999/removal")
    gets = [
        "/staffing/people",
        "/staffing/people.csv",
        f"/staffing/people/{added['id']}/feed",
        f"/staffing/people/{person.id}",
        "/staffing/stays",
        "/staffing/duty",
        "/staffing/rules",
        "/staffing/rules/south",
        "/staffing/crossings",
        "/staffing/crossings/2018-10-01",
        "/staffing/crossings/2018-10-01.csv",
        "/staffing/plans",
        f"/staffing/plans/{accepted}",
        f"/staffing/plan-jobs/{job}",
    ]
    gets.append(f"/staffing/stays/{first}")
    for path in gets:
        call(anonymous, "get", path, {})
    posts = ["/staffing/people", f"/staffing/people/{person.id}", "/staffing/stays"]
    posts += ["/staffing/people/import", "/staffing/rules/south"]
    posts += [f"/staffing/people/{person.id}/feed"]
    posts += ["/staffing/crossings/2018-10-01/status", "/staffing/plans"]
    posts += [f"/staffing/plans/{accepted}/accept", f"/staffing/plans/{discarded}/discard"]
    posts += [f"/staffing/stays/{first}", f"/staffing/stays/{first}/removal", "/staffing/duty"]
    for path in posts:
        call(anonymous, "post", path, {})
        call(admin, "post", path, {})  # an office administrator reads staffing, never writes it
        call(scheduler, "post", path, raw="{")
        call(scheduler, "post", path, raw="[]")
        key = still_processing(session, scheduler, path)
        call(scheduler, "post", path, raw="{}", headers={"Idempotency-Key": key})
        call(scheduler, "post", path, raw='{"other": 1}', headers={"Idempotency-Key": key})
        call(scheduler, "post", path, raw="{}", headers={"Idempotency-Key": "unquoted"})
    return {
        "person_id": person.id,
        "stay_id": first,
        "side": "south",
        "proposal_id": accepted,
    }


PERSON = {
    "name_ko": "한지민",
    "name_latin": "HAN Jimin",
    "side": "south",
    "category": "official",
    "position": "duty_officer",
    "is_duty_qualified": True,
    "active_from": "2018-09-01",
}

# A roster CSV of one person, as the roster's page exports it.
ROSTER = {
    "csv": ",".join(services.ROSTER_COLUMNS)
    + "\n박기술,Park Gisul,south,support,KT,technician,no,2018-09-14,\n"
}

# A side's rules, every field (as the rules page sends them).
RULES = {
    "weekday_min": 3,
    "weekend_min": 2,
    "max_headcount": 8,
    "counted_categories": ["official"],
    "min_night_duty": 1,
    "max_consecutive_days": 12,
    "min_stay_days": 1,
    "min_rest_days": 2,
    "crossing_weekdays": [0, 1, 2, 3, 4, 5, 6],
    "max_crossings_per_month": None,
    "applies_from": "2018-09-14",
}

# A week's plan of the South (a worker would search for it).
PLAN = {"side": "south", "first_day": "2018-10-01", "days": 7}


def _proposal(session: Session) -> int:
    """A proposal giving a new person a stay in November 2018, written out by hand."""
    person = make_person(session)
    proposal = PlanProposal(
        side=Side.SOUTH,
        first_day=date(2018, 11, 1),
        last_day=date(2018, 11, 14),
        status=ProposalStatus.PROPOSED,
        plan={
            "people": [person.id],
            "stays": [[person.id, "2018-11-02", "2018-11-05"]],
            "nights": [],
        },
        objective="optimal; 1.0 s; spread of nights 0, weekends 0, days on site 0",
        created_at=NOW,
    )
    session.add(proposal)
    session.commit()
    return proposal.id


def staffed(session: Session) -> None:
    """Two people of the South with stays in October 2018, one on night duty on the 2nd (for
    schemathesis to find ids that exist)."""
    a, b = _stay_of(session), _stay_of(session)
    services.set_duty(
        session, date(2018, 10, 2), Side.SOUTH, Shift.NIGHT, [a.person], actor=None, now=NOW
    )
    stay(session, b.person, date(2018, 10, 10), date(2018, 10, 20))


def _stay_of(session: Session) -> Stay:
    person = make_person(session)
    return stay(session, person, date(2018, 10, 1), date(2018, 10, 5))


def _stay_path(session: Session) -> str:
    return f"/staffing/stays/{_stay_of(session).id}"


def _new_stay(session: Session) -> dict[str, Any]:
    person = make_person(session)
    session.commit()
    return {"person_id": person.id, "first_day": "2018-10-01", "last_day": "2018-10-05"}


def _duty(session: Session) -> dict[str, Any]:
    person = _stay_of(session).person
    return {"day": "2018-10-02", "side": "south", "shift": "night", "people": [person.id]}


# For test_idempotency's POSTS: (path, body, a table each adds a row to: the audit trail).
STAFFING_POSTS: dict[str, tuple[Callable[[Session], str], Callable[[Session], Any], type]] = {
    "addStaffMember": (lambda s: "/staffing/people", lambda s: PERSON, AuditEvent),
    "changeStaffMember": (
        lambda s: f"/staffing/people/{make_person(s).id}",
        lambda s: {**PERSON, "name_ko": "한지성"},
        AuditEvent,
    ),
    "addStay": (lambda s: "/staffing/stays", _new_stay, AuditEvent),
    "changeStay": (_stay_path, lambda s: {"last_day": "2018-10-04"}, AuditEvent),
    "removeStay": (lambda s: _stay_path(s) + "/removal", lambda s: {}, AuditEvent),
    "setDuty": (lambda s: "/staffing/duty", _duty, AuditEvent),
    "renewStaffFeed": (
        lambda s: f"/staffing/people/{make_person(s).id}/feed",
        lambda s: {},
        AuditEvent,
    ),
    "importStaff": (lambda s: "/staffing/people/import", lambda s: ROSTER, AuditEvent),
    "saveStaffingRules": (lambda s: "/staffing/rules/north", lambda s: RULES, AuditEvent),
    "askForPlan": (lambda s: "/staffing/plans", lambda s: PLAN, Job),
    "acceptPlanProposal": (
        lambda s: f"/staffing/plans/{_proposal(s)}/accept",
        lambda s: {},
        AuditEvent,
    ),
    "discardPlanProposal": (
        lambda s: f"/staffing/plans/{_proposal(s)}/discard",
        lambda s: {},
        AuditEvent,
    ),
    "markCrossingList": (
        lambda s: f"/staffing/crossings/{_stay_of(s).first_day}/status",
        lambda s: {"status": "sent"},
        AuditEvent,
    ),
}
