"""The OpenAPI description of the staffing routes (office.api.staffing), merged into
`office.api.openapi.openapi_document`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from office import inputs
from office.api import staffing_schemas as shapes
from office.api.openapi import (
    _DATE,
    _ERRORS,
    _ID,
    _WRITE_ERRORS,
    _body,
    _id_param,
    _json,
    _problem,
    _query,
)
from office.api.review_openapi import _file
from office.api.staffing import MAX_DUTY_DAYS, MAX_PAGE
from office.staffing.services import IMPORT_MAX_ROWS, MAX_PLAN_DAYS

MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (shapes.PersonList, "serialization"),
    (shapes.PersonOut, "serialization"),
    (shapes.PersonIn, "validation"),
    (shapes.RosterImportIn, "validation"),
    (shapes.FeedOut, "serialization"),
    (shapes.StayPage, "serialization"),
    (shapes.StayOut, "serialization"),
    (shapes.StayIn, "validation"),
    (shapes.StayChangeIn, "validation"),
    (shapes.DutyList, "serialization"),
    (shapes.RulesList, "serialization"),
    (shapes.RulesOut, "serialization"),
    (shapes.RulesIn, "validation"),
    (shapes.CrossingMonthOut, "serialization"),
    (shapes.CrossingListOut, "serialization"),
    (shapes.CrossingStatusIn, "validation"),
    (shapes.PlanIn, "validation"),
    (shapes.PlanJobOut, "serialization"),
    (shapes.ProposalList, "serialization"),
    (shapes.ProposalOut, "serialization"),
    (shapes.DutyIn, "validation"),
]
_SIDE = {"type": "string", "enum": ["south", "north"]}
_SHIFT = {"type": "string", "enum": ["day", "night"]}
# Every role may see staffing: a read is never refused for the role (no 403).
_READ = {"400": _ERRORS["400"], "401": _ERRORS["401"]}
_BAD_QUERY = _problem("Invalid parameters, or `to` before `from`")
_SCHEDULER = " (scheduler)"
_STAY_REFUSED = (
    "Refused as on the person's page: a stay that ends before it starts or falls outside the "
    "person's dates on the roster (422, naming the field), one that overlaps another of the "
    "person's stays (409)"
)


_PERSON_REFUSED = (
    "Refused as on the roster's pages (422, naming the field): someone already on the side's "
    "roster by those names, a person of the South without a name in Latin letters, dates "
    "out of order"
)


def paths() -> dict[str, Any]:
    person = _id_param("person_id")
    missing_person = _problem("No such person")
    stay = _id_param("stay_id")
    missing_stay = _problem("No such stay (or it was removed meanwhile)")
    side = {"name": "side", "in": "path", "required": True, "schema": _SIDE}
    missing_side = _problem("No such side")
    proposal = _id_param("proposal_id")
    missing_proposal = _problem("No such proposal")
    day = {"name": "day", "in": "path", "required": True, "schema": _DATE}
    missing_day = _problem("Not a day written YYYY-MM-DD within the office's range")
    return {
        "/staffing/people": {
            "get": {
                "operationId": "listStaff",
                "summary": "The roster: everyone on either side's, by side, category and name",
                "parameters": [_query("side", _SIDE, "Only this side's")],
                "responses": {
                    "200": _json("PersonList", "The roster"),
                    "422": _problem("Invalid parameters"),
                    **_READ,
                },
            },
            "post": {
                "operationId": "addStaffMember",
                "summary": "Add a person to a side's roster" + _SCHEDULER,
                "description": _PERSON_REFUSED + ".",
                "requestBody": _body("PersonIn"),
                "responses": {
                    "201": _json("PersonOut", "Added"),
                    **_WRITE_ERRORS,
                    "422": _problem("Invalid fields, or refused (see the description)"),
                },
            },
        },
        "/staffing/people.csv": {
            "get": {
                "operationId": "exportStaff",
                "summary": "The roster as a CSV file, as the roster's page exports it",
                "description": "UTF-8 with a byte order mark; the columns the import reads.",
                "responses": {"200": _file("text/csv", "The CSV file"), **_READ},
            },
        },
        "/staffing/people/import": {
            "post": {
                "operationId": "importStaff",
                "summary": "Add everyone a roster CSV lists, all or none" + _SCHEDULER,
                "description": (
                    "As the roster's page imports a file: the text of the CSV, at most "
                    f"{IMPORT_MAX_ROWS:,} rows, each refused as one person added on the "
                    "page would be, and also someone already on the roster or named twice "
                    "in the file. If any line is refused nobody is added, and the answer "
                    "(422) lists every line refused in `rejected_lines`, by its number."
                ),
                "requestBody": _body("RosterImportIn"),
                "responses": {
                    "201": _json("PersonList", "Everyone added, in the file's order"),
                    **_WRITE_ERRORS,
                    "422": _problem(
                        "Invalid fields, or lines refused (`rejected_lines` lists them); "
                        "nobody added"
                    ),
                },
            },
        },
        "/staffing/people/{person_id}": {
            "get": {
                "operationId": "getStaffMember",
                "summary": "A person on the roster",
                "parameters": [person],
                "responses": {
                    "200": _json("PersonOut", "The person"),
                    "404": missing_person,
                    **_READ,
                },
            },
            "post": {
                "operationId": "changeStaffMember",
                "summary": "Change a person on the roster; send every field, as the page does"
                + _SCHEDULER,
                "description": _PERSON_REFUSED
                + ", and dates on the roster that leave one of the person's stays outside (409).",
                "parameters": [person],
                "requestBody": _body("PersonIn"),
                "responses": {
                    "200": _json("PersonOut", "The person after the change"),
                    "404": missing_person,
                    "409": _problem("A stay of the person would fall outside the roster dates"),
                    **_WRITE_ERRORS,
                    "422": _problem("Invalid fields, or refused (see the description)"),
                },
            },
        },
        "/staffing/people/{person_id}/feed": {
            "get": {
                "operationId": "getStaffFeed",
                "summary": "A person's secret calendar link, as their page shows it" + _SCHEDULER,
                "parameters": [person],
                "responses": {
                    "200": _json("FeedOut", "The link"),
                    "404": missing_person,
                    **_ERRORS,
                },
            },
            "post": {
                "operationId": "renewStaffFeed",
                "summary": "Make a person a new calendar link; the old one stops working"
                + _SCHEDULER,
                "parameters": [person],
                "responses": {
                    "200": _json("FeedOut", "The new link"),
                    "404": missing_person,
                    "401": _ERRORS["401"],
                    "403": _ERRORS["403"],
                },
            },
        },
        "/staffing/stays": {
            "get": {
                "operationId": "listStays",
                "summary": "Stays on site, newest recorded first, paged by cursor",
                "description": (
                    "Broken staffing rules (too few on site, too long a stay…) are listed "
                    "by `GET /staffing/violations`."
                ),
                "parameters": [
                    _query("side", _SIDE, "Only people of this side"),
                    _query("person_id", _ID, "Only this person's"),
                    _query("from", _DATE, "Only stays on site on this day or later"),
                    _query("to", _DATE, "Only stays on site on this day or earlier"),
                    _query("cursor", _ID, "next_cursor of the last page"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                        "Stays per page (default 100)",
                    ),
                ],
                "responses": {
                    "200": _json("StayPage", "A page of stays"),
                    "422": _BAD_QUERY,
                    **_READ,
                },
            },
            "post": {
                "operationId": "addStay",
                "summary": "Record a person's stay on site" + _SCHEDULER,
                "description": _STAY_REFUSED
                + ". A stay longer than the side's rules allow is saved, with `long_stay`.",
                "requestBody": _body("StayIn"),
                "responses": {
                    "201": _json("StayOut", "Recorded"),
                    "409": _problem("It overlaps another stay of the person"),
                    **_WRITE_ERRORS,
                    "422": _problem("Invalid fields, or refused (see the description)"),
                },
            },
        },
        "/staffing/stays/{stay_id}": {
            "get": {
                "operationId": "getStay",
                "summary": "A stay",
                "parameters": [stay],
                "responses": {"200": _json("StayOut", "The stay"), "404": missing_stay, **_READ},
            },
            "post": {
                "operationId": "changeStay",
                "summary": "Change a stay's days, pin or note; what is left out stays" + _SCHEDULER,
                "description": _STAY_REFUSED
                + ", and giving up days that carry duty (409: remove the duty first).",
                "parameters": [stay],
                "requestBody": _body("StayChangeIn"),
                "responses": {
                    "200": _json("StayOut", "The stay after the change"),
                    "404": missing_stay,
                    "409": _problem("It would overlap another stay, or give up days with duty"),
                    **_WRITE_ERRORS,
                    "422": _problem("Invalid fields, or refused (see the description)"),
                },
            },
        },
        "/staffing/stays/{stay_id}/removal": {
            "post": {
                "operationId": "removeStay",
                "summary": "Remove a stay that carries no duty" + _SCHEDULER,
                "parameters": [stay],
                "responses": {
                    "200": _json("StayOut", "The stay removed, as it was"),
                    "404": missing_stay,
                    "409": _problem("The person has duty during the stay: remove the duty first"),
                    "401": _ERRORS["401"],
                    "403": _ERRORS["403"],
                },
            },
        },
        "/staffing/rules": {
            "get": {
                "operationId": "listStaffingRules",
                "summary": "Both sides' staffing rules, as the rules page shows them",
                "description": (
                    "Breaking one is allowed and listed by `GET /staffing/violations`; "
                    "overlapping stays and duty off site are refused instead."
                ),
                "responses": {"200": _json("RulesList", "The south's and the north's"), **_READ},
            },
        },
        "/staffing/rules/{side}": {
            "get": {
                "operationId": "getStaffingRules",
                "summary": "One side's staffing rules",
                "parameters": [side],
                "responses": {
                    "200": _json("RulesOut", "The side's rules"),
                    "404": missing_side,
                    **_READ,
                },
            },
            "post": {
                "operationId": "saveStaffingRules",
                "summary": "Change one side's rules; send every field, as the page does"
                + _SCHEDULER,
                "description": (
                    "Refused as on the rules page (422, naming the field): a minimum above "
                    "the maximum on site, no category counted, no day to cross on, a "
                    "shortest stay longer than the longest."
                ),
                "parameters": [side],
                "requestBody": _body("RulesIn"),
                "responses": {
                    "200": _json("RulesOut", "The side's rules after the change"),
                    "404": missing_side,
                    **_WRITE_ERRORS,
                    "422": _problem("Invalid fields, or refused (see the description)"),
                },
            },
        },
        "/staffing/crossings": {
            "get": {
                "operationId": "listCrossingLists",
                "summary": "A month's crossing lists, as the crossings page shows them",
                "description": "Those of the South only: the North's people do not cross.",
                "parameters": [
                    _query(
                        "month",
                        {"type": "string", "pattern": inputs.MONTH_PATTERN},
                        "YYYY-MM; this month by default",
                    )
                ],
                "responses": {
                    "200": _json("CrossingMonthOut", "The month's days with crossings"),
                    "422": _problem("Not a month"),
                    **_READ,
                },
            },
        },
        "/staffing/crossings/{day}": {
            "get": {
                "operationId": "getCrossingList",
                "summary": "A day's crossing name list, as the printable list shows it",
                "parameters": [day],
                "responses": {
                    "200": _json("CrossingListOut", "Who crosses, and where the list stands"),
                    "404": missing_day,
                    **_READ,
                },
            },
        },
        "/staffing/crossings/{day}.csv": {
            "get": {
                "operationId": "getCrossingListCsv",
                "summary": "A day's crossing name list as the CSV file the day's page gives",
                "parameters": [day],
                "responses": {
                    "200": _file("text/csv", "The CSV file"),
                    "404": missing_day,
                    **_READ,
                },
            },
        },
        "/staffing/crossings/{day}/status": {
            "post": {
                "operationId": "markCrossingList",
                "summary": "Record that a day's list was sent to the North, or accepted by it"
                + _SCHEDULER,
                "description": (
                    "As on the day's page: a draft or amended list becomes sent (refused when "
                    "nobody crosses that day), a sent one accepted; any other step is a 409. "
                    "A list sent is amended by itself when the stays it names change."
                ),
                "parameters": [day],
                "requestBody": _body("CrossingStatusIn"),
                "responses": {
                    "200": _json("CrossingListOut", "The list as it now stands"),
                    "404": missing_day,
                    "409": _problem("Not a step from where the list stands, or nobody crosses"),
                    **_WRITE_ERRORS,
                },
            },
        },
        "/staffing/plans": {
            "get": {
                "operationId": "listPlanProposals",
                "summary": "The ten newest plans the planner proposed, as its page lists them"
                + _SCHEDULER,
                "responses": {
                    "200": _json("ProposalList", "Newest first"),
                    **_ERRORS,
                },
            },
            "post": {
                "operationId": "askForPlan",
                "summary": "Ask a worker to search for a plan of a side's stays and nights"
                + _SCHEDULER,
                "description": (
                    "As the planner page does: 202 with the job (the same one while the "
                    "caller's same search is under way). Follow `url` until `finished`; a "
                    "plan found is kept as a proposal, at `proposal_url`, to accept or discard. "
                    f"At most {MAX_PLAN_DAYS} days, within the office's dates (422 otherwise)."
                ),
                "requestBody": _body("PlanIn"),
                "responses": {
                    "202": _json("PlanJobOut", "The job searching"),
                    **_WRITE_ERRORS,
                },
            },
        },
        "/staffing/plan-jobs/{job_id}": {
            "get": {
                "operationId": "getPlanJob",
                "summary": "A planner job of the caller's: its progress, its proposal once done",
                "parameters": [_id_param("job_id")],
                "responses": {
                    "200": _json("PlanJobOut", "The job"),
                    "404": _problem("No such planner job of the caller's"),
                    **_ERRORS,
                },
            },
        },
        "/staffing/plans/{proposal_id}": {
            "get": {
                "operationId": "getPlanProposal",
                "summary": "A proposed plan and what accepting it changes, per person" + _SCHEDULER,
                "parameters": [proposal],
                "responses": {
                    "200": _json("ProposalOut", "The proposal"),
                    "404": missing_proposal,
                    **_ERRORS,
                },
            },
        },
        "/staffing/plans/{proposal_id}/accept": {
            "post": {
                "operationId": "acceptPlanProposal",
                "summary": "Put a proposed plan in place" + _SCHEDULER,
                "description": (
                    "As on the proposal's page: the planned people's unpinned stays inside "
                    "the period, and their duty there, become the plan's. Refused (409) when "
                    "it was decided already, or the roster or stays changed so that it no "
                    "longer fits."
                ),
                "parameters": [proposal],
                "responses": {
                    "200": _json("ProposalOut", "The proposal, accepted"),
                    "404": missing_proposal,
                    "409": _problem("Decided already, or it no longer fits"),
                    "401": _ERRORS["401"],
                    "403": _ERRORS["403"],
                },
            },
        },
        "/staffing/plans/{proposal_id}/discard": {
            "post": {
                "operationId": "discardPlanProposal",
                "summary": "Discard a proposed plan" + _SCHEDULER,
                "parameters": [proposal],
                "responses": {
                    "200": _json("ProposalOut", "The proposal, discarded"),
                    "404": missing_proposal,
                    "409": _problem("Decided already"),
                    "401": _ERRORS["401"],
                    "403": _ERRORS["403"],
                },
            },
        },
        "/staffing/duty": {
            "get": {
                "operationId": "listDuty",
                "summary": f"Who is on duty between two days (at most {MAX_DUTY_DAYS} days)",
                "parameters": [
                    {**_query("from", _DATE, "First day"), "required": True},
                    {**_query("to", _DATE, "Last day"), "required": True},
                    _query("side", _SIDE, "Only this side's"),
                    _query("shift", _SHIFT, "Only this shift"),
                ],
                "responses": {
                    "200": _json("DutyList", "The duty, by day, side, shift and name"),
                    "422": _problem("Invalid parameters or range"),
                    **_READ,
                },
            },
            "post": {
                "operationId": "setDuty",
                "summary": "Set one side's duty list of a shift on a day" + _SCHEDULER,
                "description": (
                    "As on the day's page: the people named replace those on the list. "
                    "Refused: a person of the other side (422), one not on site that day (409)."
                ),
                "requestBody": _body("DutyIn"),
                "responses": {
                    "200": _json("DutyList", "The duty list as it now is"),
                    "409": _problem("Someone named is not on site that day"),
                    **_WRITE_ERRORS,
                    "422": _problem("Invalid fields, an unknown person or one of the other side"),
                },
            },
        },
    }
