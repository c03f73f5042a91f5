"""The review's part of the OpenAPI document (office.api.reviews): its paths and its schemas,
which `openapi_document()` merges into the whole."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from office import inputs
from office.api import review_schemas
from office.api.review_schemas import AUDIT_CURSOR_PATTERN, QUEUE_CURSOR_PATTERN, STATE_CHOICES
from office.reviews.models import ItemKind, ReviewAction, ReviewState

_REF = "#/components/schemas/{model}"
_MONTH = {
    "name": "month",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": inputs.MONTH_PATTERN},
    "description": "YYYY-MM, from the month the office's records begin to this one",
}
_ITEM = [
    {
        "name": "kind",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": [kind.value for kind in ItemKind]},
    },
    {
        "name": "source_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": inputs.MAX_ID},
        "description": "The flagged record's id in its own feature",
    },
]
_JOB = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": inputs.MAX_ID},
}
_ACTIONS = {
    ReviewAction.COMMENT: ("commentOnReviewItem", "Comment on an item, in any state", "any role"),
    ReviewAction.QUERY: ("queryReviewItem", "Ask the office a question", "reviewer"),
    ReviewAction.ANSWER: ("answerReviewItem", "Answer the reviewer's question", "office"),
    ReviewAction.ESCALATE: ("escalateReviewItem", "Refer an item up", "reviewer"),
    ReviewAction.ACKNOWLEDGE: ("acknowledgeReviewItem", "Acknowledge an item", "reviewer"),
    ReviewAction.REOPEN: ("reopenReviewItem", "Reopen an acknowledged item", "reviewer"),
}


def review_components() -> dict[str, Any]:
    """The schemas the review's operations accept and return, by name."""
    models: list[Any] = [(review_schemas.NoteIn, "validation")]
    models += [(review_schemas.SignOffIn, "validation")]
    models += [(model, "serialization") for model in review_schemas.MODELS]
    _keys, definitions = models_json_schema(models, ref_template=_REF)
    return dict(definitions["$defs"])


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _file(mimetype: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}},
    }


def review_paths() -> dict[str, Any]:
    """The review's paths: the queue, items and their actions, reports, the audit trail."""
    # Here, not above: office.api.openapi imports this module.
    from office.api.openapi import _DATE, _ERRORS, _ID, _WRITE_ERRORS, _body, _json, _problem

    no_item = _problem("No such flagged record (or no longer flagged), or no such kind")
    no_month = _problem("No such month, or one without a report (before the records, or ahead)")
    bad_start = _problem("A start that is not a day written YYYY-MM-DD (`errors` names it)")
    start = _query(
        "start",
        _DATE,
        "Any day: the 30 days from it; by default the period counted from 1 January that "
        "holds today",
    )
    paths: dict[str, Any] = {
        "/reviews/items": {
            "get": {
                "operationId": "listReviewItems",
                "summary": "The review queue: flagged records, newest first, paged by cursor",
                "parameters": [
                    _query(
                        "kind",
                        {"type": "string", "enum": [k.value for k in ItemKind]},
                        "Only this kind of flagged record",
                    ),
                    _query(
                        "state",
                        {"type": "string", "enum": list(STATE_CHOICES)},
                        "`awaiting` (every state but acknowledged; the default), `all`, or "
                        "one state",
                    ),
                    _query(
                        "month",
                        {"type": "string", "pattern": inputs.MONTH_PATTERN},
                        "Only records of this month (YYYY-MM)",
                    ),
                    _query("waiver_id", _ID, "Only records drawn on this waiver"),
                    _query(
                        "regime",
                        {"type": "string", "pattern": r"^[a-z0-9_]{1,20}$"},
                        "Only what this regime refused (its code: un, rok, us)",
                    ),
                    _query(
                        "cursor",
                        {"type": "string", "pattern": QUEUE_CURSOR_PATTERN},
                        "next_cursor of the last page",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 500},
                        "Items per page (default 50)",
                    ),
                ],
                "responses": {
                    "200": _json("ReviewQueuePage", "A page of the queue"),
                    "422": _problem("Invalid parameters"),
                    **_ERRORS,
                },
            }
        },
        "/reviews/items/{kind}/{source_id}": {
            "get": {
                "operationId": "getReviewItem",
                "summary": "A flagged record, its facts, its thread and what the caller may do",
                "parameters": _ITEM,
                "responses": {
                    "200": _json("ReviewItemOut", "The item"),
                    "404": no_item,
                    **_ERRORS,
                },
            }
        },
        "/reviews/months": {
            "get": {
                "operationId": "listReviewMonths",
                "summary": "Months with flagged items or a sign-off, and this one, newest first",
                "responses": {"200": _json("MonthList", "The months"), **_ERRORS},
            }
        },
        "/reviews/months/{month}/sign-off": {
            "post": {
                "operationId": "signOffMonth",
                "summary": "Sign a month off once every flagged item of it is acknowledged "
                "(reviewer)",
                "description": (
                    "From then on nothing dated in the month changes; with a ledger signing "
                    "key set, the ledger's head is signed with it and the report prints it."
                ),
                "parameters": [_MONTH],
                "requestBody": _body("SignOffIn"),
                "responses": {
                    "201": _json("MonthOut", "The month, signed off"),
                    "404": _problem("Not a month written YYYY-MM"),
                    "409": _problem("Already signed off, or an item of it is still open"),
                    **_WRITE_ERRORS,
                    "422": _problem(
                        "Invalid fields, a month before the records or not over yet; `errors` "
                        "maps each field to its messages"
                    ),
                },
            }
        },
        "/reports/monthly/{month}": {
            "get": {
                "operationId": "getMonthReport",
                "summary": "The month's supply-usage report, with the figures its page shows",
                "parameters": [_MONTH],
                "responses": {
                    "200": _json("MonthReportOut", "The report"),
                    "404": no_month,
                    **_ERRORS,
                },
            }
        },
        "/reports/monthly/{month}.csv": {
            "get": {
                "operationId": "getMonthReportCsv",
                "summary": "The month's report as one CSV table (a `section` column first)",
                "parameters": [_MONTH],
                "responses": {
                    "200": _file("text/csv", "The CSV file"),
                    "404": no_month,
                    **_ERRORS,
                },
            }
        },
        "/reports/monthly/{month}.pdf": {
            "get": {
                "operationId": "getMonthReportPdf",
                "summary": "The month's PDF in the caller's language, once a worker printed it",
                "description": (
                    "Served when a fresh one exists (printed after the month's sign-off, or in "
                    "the last ten minutes); else 404: POST to this address to have one printed."
                ),
                "parameters": [_MONTH],
                "responses": {
                    "200": _file("application/pdf", "The PDF"),
                    "404": _problem("No such month, or no fresh PDF of it yet"),
                    **_ERRORS,
                },
            },
            "post": {
                "operationId": "printMonthReportPdf",
                "summary": "Ask a worker to print the month's PDF; follow the job it answers",
                "description": (
                    "202 with the job (the same one while it is under way): follow `url` until "
                    "`file_url` is given. 303 to the PDF when a fresh one exists. No body."
                ),
                "parameters": [_MONTH],
                "responses": {
                    "202": _json("ReportJobOut", "The job printing it"),
                    "303": {"description": "A fresh PDF exists: its address in Location"},
                    "404": no_month,
                    **_ERRORS,
                },
            },
        },
        "/reports/jobs/{job_id}": {
            "get": {
                "operationId": "getReportJob",
                "summary": "A job of the caller's printing a report",
                "parameters": [_JOB],
                "responses": {
                    "200": _json("ReportJobOut", "The job"),
                    "404": _problem("No such job of the caller's"),
                    **_ERRORS,
                },
            }
        },
        "/reports/jobs/{job_id}/file": {
            "get": {
                "operationId": "getReportJobFile",
                "summary": "The file a report job left",
                "parameters": [_JOB],
                "responses": {
                    "200": _file("application/pdf", "The file"),
                    "404": _problem("No such job of the caller's, or no file (yet, or any more)"),
                    **_ERRORS,
                },
            }
        },
        "/reports/petroleum": {
            "get": {
                "operationId": "getPetroleumReport",
                "summary": "The UN petroleum report (HS 2710) of a 30-day period",
                "parameters": [start],
                "responses": {
                    "200": _json("PetroleumReportOut", "The report"),
                    "422": bad_start,
                    **_ERRORS,
                },
            }
        },
        "/reports/petroleum.csv": {
            "get": {
                "operationId": "getPetroleumReportCsv",
                "summary": "The UN petroleum report of a 30-day period as the CSV its page gives",
                "description": (
                    "A row per transfer north, then per return south, each with its period, "
                    "product, amounts and factor; UTF-8 with a byte-order mark."
                ),
                "parameters": [start],
                "responses": {
                    "200": _file("text/csv", "The CSV file"),
                    "422": bad_start,
                    **_ERRORS,
                },
            }
        },
        "/reports/petroleum.pdf": {
            "get": {
                "operationId": "getPetroleumReportPdf",
                "summary": "The period's PDF in the caller's language, once a worker printed it",
                "description": (
                    "Served when a fresh one exists (printed in the last ten minutes); else "
                    "404: POST to this address (with the same `start`) to have one printed."
                ),
                "parameters": [start],
                "responses": {
                    "200": _file("application/pdf", "The PDF"),
                    "404": _problem("No fresh PDF of the period yet"),
                    "422": bad_start,
                    **_ERRORS,
                },
            },
            "post": {
                "operationId": "printPetroleumReportPdf",
                "summary": "Ask a worker to print the period's PDF; follow the job it answers",
                "description": (
                    "202 with the job (the same one while it is under way): follow `url` until "
                    "`file_url` is given. 303 to the PDF when a fresh one exists. No body."
                ),
                "parameters": [start],
                "responses": {
                    "202": _json("ReportJobOut", "The job printing it"),
                    "303": {"description": "A fresh PDF exists: its address in Location"},
                    "422": bad_start,
                    **_ERRORS,
                },
            },
        },
        "/audit": {
            "get": {
                "operationId": "listAuditTrail",
                "summary": "The audit trail: actions and logins, newest first, paged by cursor",
                "parameters": [
                    _query("actor_id", _ID, "Only this user's"),
                    _query(
                        "action",
                        {"type": "string", "pattern": r"^[a-z_.]{1,40}$"},
                        "Only this kind of action, by its prefix as the audit page offers "
                        "them: `login`, `user.`, `waiver.`, `drawdown.`, `review.`, `month.` ...",
                    ),
                    _query("from", _DATE, "From this day (Seoul)"),
                    _query("to", _DATE, "To this day (Seoul)"),
                    _query(
                        "cursor",
                        {"type": "string", "pattern": AUDIT_CURSOR_PATTERN},
                        "next_cursor of the last page",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 500},
                        "Rows per page (default 100)",
                    ),
                ],
                "responses": {
                    "200": _json("AuditPage", "A page of the trail"),
                    "422": _problem("Invalid parameters"),
                    **_ERRORS,
                },
            }
        },
    }
    for action, (operation_id, summary, who) in _ACTIONS.items():
        starts = sorted(state.value for state in _starts(action))  # the states it may be taken from
        # A comment is taken in any state, a signed-off month too.
        conflict = (
            {}
            if action is ReviewAction.COMMENT
            else {
                "409": _problem(
                    "The item's state does not allow it now, or its month is signed off"
                )
            }
        )
        paths[f"/reviews/items/{{kind}}/{{source_id}}/{action.value}"] = {
            "post": {
                "operationId": operation_id,
                "summary": f"{summary} ({who})",
                "description": (
                    f"Taken from the states {', '.join(starts)}; `body` holds the words"
                    + (" (optional here)." if action is ReviewAction.ACKNOWLEDGE else ".")
                    + " Answers the item after it."
                ),
                "parameters": _ITEM,
                "requestBody": _body("NoteIn"),
                "responses": {
                    "200": _json("ReviewItemOut", "The item after the action"),
                    "404": no_item,
                    **conflict,
                    **_WRITE_ERRORS,
                },
            }
        }
    return paths


def _starts(action: ReviewAction) -> frozenset[ReviewState]:
    from office.reviews.services import RULES

    return RULES[action][0]
