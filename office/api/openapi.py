"""The OpenAPI 3.1 description of API v1, its schemas generated from `office.api.schemas`."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from office import inputs
from office.api import schemas
from office.api.idempotency import HEADER, KEY_PATTERN, MAX_KEY_LENGTH, REPLAYED
from office.api.review_openapi import review_components, review_paths
from office.waivers.models import AUTHORITY_REGIMES, Classification
from office.waivers.queries import NOT_CHECKED

_REF = "#/components/schemas/{model}"
# A ledger sequence number, as `next_cursor` gives it.
CURSOR_PATTERN = r"^[1-9][0-9]{0,17}$"
# The regimes (migration 0026 seeds them; their codes never change), in their order.
REGIME_CODES: tuple[str, ...] = tuple(dict.fromkeys(AUTHORITY_REGIMES.values()))
# An entry's classification under one regime, or that the regime did not check it then.
REGIME_CLASSIFICATION_CODES: tuple[str, ...] = (*(c.value for c in Classification), NOT_CHECKED)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


_ERRORS = {
    "400": _problem("A control character (such as a NUL) in the query string"),
    "401": _problem("Missing or invalid bearer token"),
    "403": _problem("The token's user lacks the permission"),
}
_WRITE_ERRORS = {
    **_ERRORS,
    "400": _problem("Malformed JSON, or a control character in the query string"),
    "422": _problem("Invalid fields; `errors` maps each field to its messages"),
}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


_ID = {"type": "integer", "minimum": 1, "maximum": inputs.MAX_ID}
_REGIME = {"type": "string", "enum": list(REGIME_CODES)}
_DATE = {
    "type": "string",
    "format": "date",
    "pattern": inputs.DATE_PATTERN,
    "description": f"From {inputs.FIRST_DAY.isoformat()} to {inputs.LAST_DAY.isoformat()}",
}


def _id_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_IDEMPOTENCY_KEY = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": KEY_PATTERN},
    "description": (
        "Send the request again with the same key, after a timeout or a lost answer, and it "
        "is not carried out again: the first answer comes back, with the header "
        f"`{REPLAYED}: true`. The key is a Structured Field string, without parameters, of 1 "
        f"to {MAX_KEY_LENGTH} printable ASCII characters, new for each request, for example "
        '`"8e03978e-40d5-43e8-bc93-6894a57f9324"` (draft-ietf-httpapi-idempotency-key-header). '
        "Keys belong to the token's user and are kept for 24 hours at least. A request that "
        "was refused (4xx) leaves its key unused."
    ),
}
_IDEMPOTENCY_ERRORS = {
    "400": "a malformed Idempotency-Key",
    "409": "a request with the same Idempotency-Key is still being processed",
    "422": "an Idempotency-Key already sent with another request",
}


def _idempotent(paths: dict[str, Any]) -> None:
    """Declare the Idempotency-Key header, and what it may answer, on every POST."""
    for item in paths.values():
        operation = item.get("post")
        if operation is None:
            continue
        operation["parameters"] = [*operation.get("parameters", []), _IDEMPOTENCY_KEY]
        responses = operation["responses"]
        for status, cause in _IDEMPOTENCY_ERRORS.items():
            if status in responses:
                responses[status] = _problem(f"{responses[status]['description']}; or {cause}")
            else:
                responses[status] = _problem(cause[0].upper() + cause[1:])


@cache
def openapi_document() -> dict[str, Any]:
    from office.api import staffing_openapi  # here: it reads this module's helpers

    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (schemas.ResourceIn, "validation"),
        (schemas.WaiverIn, "validation"),
        (schemas.StatusIn, "validation"),
        (schemas.DrawdownIn, "validation"),
        (schemas.ReversalIn, "validation"),
        (schemas.ResourceOut, "serialization"),
        (schemas.ResourceList, "serialization"),
        (schemas.RegimeList, "serialization"),
        (schemas.WaiverOut, "serialization"),
        (schemas.DrawdownOut, "serialization"),
        (schemas.DrawdownPage, "serialization"),
        (schemas.Problem, "serialization"),
        (schemas.ViolationList, "serialization"),
    ]
    models += _SCREENING_MODELS + _OPERATIONS_MODELS
    models += staffing_openapi.MODELS
    from office.api import supplies_openapi  # here: it builds on this module's helpers

    models += supplies_openapi.SUPPLIES_MODELS
    _, definitions = models_json_schema(models, ref_template=_REF)
    classification = {"$ref": _REF.format(model="Classification")}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "office API",
            "version": "1",
            "description": (
                "Sanctions waivers and the drawdown ledger of the inter-Korean joint liaison "
                "office. Quantities are accepted as JSON numbers or decimal strings and "
                "returned as decimal strings; dates are YYYY-MM-DD. Errors are RFC 9457 "
                "problem details. Create a token with `flask --app app users token EMAIL` or "
                "on the account page."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": definitions["$defs"],
        },
        "paths": {
            "/resources": {
                "get": {
                    "operationId": "listResources",
                    "summary": "The resource catalogue",
                    "responses": {"200": _json("ResourceList", "Every resource"), **_ERRORS},
                },
                "post": {
                    "operationId": "createResource",
                    "summary": "Add a resource (reviewer); its controls follow each regime's rules",
                    "description": (
                        "Under each regime, the HS rule with the longest prefix of its code "
                        "decides its control, else the regime's default; the US regime reaches "
                        "only goods of US origin or with US content above its share. "
                        "`controls` says what decided each."
                    ),
                    "requestBody": _body("ResourceIn"),
                    "responses": {"201": _json("ResourceOut", "Created"), **_WRITE_ERRORS},
                },
            },
            "/regimes": {
                "get": {
                    "operationId": "listRegimes",
                    "summary": "The sanctions regimes, in screening order, with their HS rules",
                    "responses": {"200": _json("RegimeList", "Every regime"), **_ERRORS},
                },
            },
            "/waivers": {
                "post": {
                    "operationId": "createWaiver",
                    "summary": "Add a waiver with its lines (reviewer)",
                    "requestBody": _body("WaiverIn"),
                    "responses": {"201": _json("WaiverOut", "Created"), **_WRITE_ERRORS},
                },
            },
            "/waivers/{waiver_id}": {
                "get": {
                    "operationId": "getWaiver",
                    "summary": "A waiver, its lines and their use (in each line's unit)",
                    "parameters": [_id_param("waiver_id")],
                    "responses": {
                        "200": _json("WaiverOut", "The waiver"),
                        "404": _problem("No such waiver"),
                        **_ERRORS,
                    },
                },
            },
            "/waivers/{waiver_id}/status": {
                "post": {
                    "operationId": "changeWaiverStatus",
                    "summary": "Move a waiver to another status (reviewer)",
                    "parameters": [_id_param("waiver_id")],
                    "requestBody": _body("StatusIn"),
                    "responses": {
                        "200": _json("WaiverOut", "The waiver after the change"),
                        "404": _problem("No such waiver"),
                        "409": _problem("The transition is not allowed"),
                        **_WRITE_ERRORS,
                    },
                },
            },
            "/drawdowns": {
                "get": {
                    "operationId": "listDrawdowns",
                    "summary": "Ledger entries, newest first, paged by cursor",
                    "parameters": [
                        _query("waiver_id", _ID, "Only this waiver's entries"),
                        _query("classification", classification, "Only this classification"),
                        _query(
                            "regime",
                            _REGIME,
                            "Only entries screened under this regime (with "
                            "`regime_classification`: classified so under it)",
                        ),
                        _query(
                            "regime_classification",
                            {"type": "string", "enum": list(REGIME_CLASSIFICATION_CODES)},
                            "With `regime`: only entries so classified under that regime; "
                            "`not_checked`: entries not screened under it at the time "
                            "(written before it was in force)",
                        ),
                        _query(
                            "covered_under",
                            _REGIME,
                            "Only entries a line covered under this regime",
                        ),
                        _query(
                            "not_covered_under",
                            _REGIME,
                            "Only entries not covered under this regime: refused there "
                            "(recorded anyway) or not checked at the time. With "
                            "`covered_under`: covered under one regime and not another, such "
                            "as `covered_under=rok&not_covered_under=un` (a ministry approval, "
                            "no UN exemption)",
                        ),
                        _query("flagged", {"type": "boolean"}, "Only flagged (or unflagged)"),
                        _query("from", _DATE, "From this date"),
                        _query("to", _DATE, "To this date"),
                        _query(
                            "cursor",
                            {"type": "string", "pattern": CURSOR_PATTERN},
                            "next_cursor of the last page",
                        ),
                        _query(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": 500},
                            "Entries per page (default 100)",
                        ),
                    ],
                    "responses": {
                        "200": _json("DrawdownPage", "A page of entries"),
                        "422": _problem(
                            "Invalid parameters (`regime_classification` without `regime`, or "
                            "the same regime covered and not covered)"
                        ),
                        **_ERRORS,
                    },
                },
                "post": {
                    "operationId": "recordDrawdown",
                    "summary": "Record a drawdown (office administrator)",
                    "description": (
                        "Classified against the waiver's status now. A drawdown that is not "
                        "covered is refused (409, with `classification`) unless "
                        "`override_reason` is given; then it is recorded and flagged for review."
                    ),
                    "requestBody": _body("DrawdownIn"),
                    "responses": {
                        "201": _json("DrawdownOut", "Recorded"),
                        "409": _problem("Refused; `classification` says why"),
                        **_WRITE_ERRORS,
                    },
                },
            },
            "/drawdowns/{entry_id}/reversal": {
                "post": {
                    "operationId": "reverseDrawdown",
                    "summary": "Reverse an entry with a reason (office administrator)",
                    "parameters": [_id_param("entry_id")],
                    "requestBody": _body("ReversalIn"),
                    "responses": {
                        "201": _json("DrawdownOut", "The reversal entry"),
                        "404": _problem("No such entry"),
                        "409": _problem("A reversal, or an entry already reversed"),
                        **_WRITE_ERRORS,
                    },
                },
            },
            "/staffing/violations": {
                "get": {
                    "operationId": "listStaffingViolations",
                    "summary": "Every broken staffing rule between two dates (at most 366 days)",
                    "parameters": [
                        {
                            **_query("from", _DATE, "First day"),
                            "required": True,
                        },
                        {
                            **_query("to", _DATE, "Last day"),
                            "required": True,
                        },
                    ],
                    "responses": {
                        "200": _json("ViolationList", "The violations, by day"),
                        "422": _problem("Invalid dates or range"),
                        "400": _ERRORS["400"],
                        "401": _ERRORS["401"],  # every role may read the staffing rules
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                },
            },
        },
    }
    document["paths"]["/screenings"] = _screening_path()
    document["paths"].update(_operations_paths())
    document["paths"].update(staffing_openapi.paths())
    document["components"]["schemas"].update(review_components())
    document["paths"].update(review_paths())
    document["paths"].update(supplies_openapi.supplies_paths())
    from office.api import document_openapi  # here: it builds on this module's helpers

    document["components"]["schemas"].update(document_openapi.document_components())
    document["paths"].update(document_openapi.document_paths())
    _idempotent(document["paths"])
    return document


# --- what-if screening --------------------------------------------------------------------

_SCREENING_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (schemas.ScreeningIn, "validation"),
    (schemas.ScreeningResult, "serialization"),
]


def _screening_path() -> dict[str, Any]:
    return {
        "post": {
            "operationId": "screenItem",
            "summary": "What-if: screen an item under every regime in force, recording nothing",
            "description": (
                "For an item (HS code, origin, US content, quantity, unit, date), each regime "
                "in force with its control and what decided it, and the authorisation lines "
                "that could cover it (its resource's HS code is the item's or a prefix of "
                "it), each with the classification drawing the item on it now would get and "
                "what it would have left, in the line's unit. `overall` is the best the "
                "office could get by picking the best line under each regime. Nothing is "
                "recorded or locked: the ledger decides when a drawdown is recorded. Like "
                "every POST it honours an Idempotency-Key (the answer is kept with the key)."
            ),
            "requestBody": _body("ScreeningIn"),
            "responses": {"200": _json("ScreeningResult", "The screening"), **_WRITE_ERRORS},
        },
    }


# --- daily operations (office.api.operations) ---------------------------------------------

_OPERATIONS_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (schemas.MeterList, "serialization"),
    (schemas.MeterIn, "validation"),
    (schemas.MeterReplacementIn, "validation"),
    (schemas.MeterOut, "serialization"),
    (schemas.MeterReadingIn, "validation"),
    (schemas.MeterReadingBatchIn, "validation"),
    (schemas.MeterReadingOut, "serialization"),
    (schemas.MeterReadingList, "serialization"),
    (schemas.MeterReadingPage, "serialization"),
    (schemas.VoidIn, "validation"),
    (schemas.GeneratorList, "serialization"),
    (schemas.GeneratorIn, "validation"),
    (schemas.GeneratorOut, "serialization"),
    (schemas.GeneratorReadingIn, "validation"),
    (schemas.GeneratorReadingOut, "serialization"),
    (schemas.GeneratorReadingPage, "serialization"),
    (schemas.TankList, "serialization"),
    (schemas.TankIn, "validation"),
    (schemas.TankOut, "serialization"),
    (schemas.ReceiptIn, "validation"),
    (schemas.IssueIn, "validation"),
    (schemas.ReturnIn, "validation"),
    (schemas.MovementOut, "serialization"),
    (schemas.MovementPage, "serialization"),
    (schemas.DipIn, "validation"),
    (schemas.DipOut, "serialization"),
    (schemas.DipPage, "serialization"),
    (schemas.DailyLogOut, "serialization"),
    (schemas.DailyLogNotesIn, "validation"),
]
_INSTANT = {
    "type": "string",
    "format": "date-time",
    "pattern": schemas.INSTANT_PATTERN,
    "description": "RFC 3339 with its offset (Z for UTC)",
}
_READ_ERRORS = {**_ERRORS, "422": _problem("Invalid parameters")}
_RECORD_REFUSALS = (
    "A reading not later than the meter's last, lower without a rollover, beyond its "
    "register, in the future, or dated on a signed-off day without `correction_reason`"
)


def _cursor_params(maximum: int, default: int) -> list[dict[str, Any]]:
    return [
        _query("cursor", _ID, "next_cursor of the last page"),
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": maximum},
            f"Items per page (default {default})",
        ),
    ]


def _operations_paths() -> dict[str, Any]:
    return {**_meter_paths(), **_fuel_paths(), **_daily_log_paths()}


def _daily_log_paths() -> dict[str, Any]:
    day = {"name": "day", "in": "path", "required": True, "schema": _DATE}
    missing = _problem("Not a day, or a day in the future")
    return {
        "/daily-logs/{day}": {
            "get": {
                "operationId": "getDailyLog",
                "summary": "A day's log: its status, incidents and notes, and its history",
                "parameters": [day],
                "responses": {
                    "200": _json("DailyLogOut", "The day's log"),
                    "404": missing,
                    **_ERRORS,
                },
            },
        },
        "/daily-logs/{day}/notes": {
            "post": {
                "operationId": "saveDailyLogNotes",
                "summary": "Save a day's incidents and notes (office administrator)",
                "description": "Once the day is signed off, a correction: give its reason.",
                "parameters": [day],
                "requestBody": _body("DailyLogNotesIn"),
                "responses": {
                    "200": _json("DailyLogOut", "The day's log"),
                    "404": missing,
                    "409": _problem(
                        "Signed off without `correction_reason`, or its month signed off"
                    ),
                    **_WRITE_ERRORS,
                },
            },
        },
        "/daily-logs/{day}/sign-off": {
            "post": {
                "operationId": "signOffDailyLog",
                "summary": "Sign a day off (office administrator); later changes are corrections",
                "parameters": [day],
                "responses": {
                    "200": _json("DailyLogOut", "The day's log, signed off"),
                    "404": missing,
                    "409": _problem("Signed off already, or its month signed off"),
                    **_ERRORS,
                },
            },
        },
    }


_DAY_REFUSED = (
    "the month or a signed-off day without `correction_reason` (409), a day in the future (422)"
)


def _record(operation_id: str, summary: str, body: str, out: str, refusals: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "description": f"As on the day's page, through the same service. Refused: {refusals}.",
            "requestBody": _body(body),
            "responses": {
                "201": _json(out, "Recorded"),
                "409": _problem("Refused by the state of things (see the description)"),
                **_WRITE_ERRORS,
                "422": _problem("Invalid fields, or refused (see the description)"),
            },
        }
    }


def _list(
    operation_id: str, summary: str, page: str, filters: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [*filters, *_cursor_params(1000, 100)],
            "responses": {"200": _json(page, "A page, newest recorded first"), **_READ_ERRORS},
        }
    }


def _fuel_paths() -> dict[str, Any]:
    receipt = _record(
        "receiveFuel",
        "Receive fuel into a tank, drawn on the ledger (office administrator)",
        "ReceiptIn",
        "MovementOut",
        "a line of another product or two under one regime (422), a receipt that would "
        "overfill the tank or that the ledger refuses without `override_reason` (409, with "
        f"`classification`), {_DAY_REFUSED}",
    )
    issue = _record(
        "issueFuel",
        "Issue fuel from a tank, oldest lots first (office administrator)",
        "IssueIn",
        "MovementOut",
        "more than the book stock (409), use generator without `generator_id` (422), "
        + _DAY_REFUSED,
    )
    returned = _record(
        "returnFuel",
        "Carry fuel back south from a tank (office administrator)",
        "ReturnIn",
        "MovementOut",
        f"more than the book stock (409), {_DAY_REFUSED}",
    )
    dips = _record(
        "recordDip",
        "Record a tank's dip; beyond its tolerance from the book it is flagged (office "
        "administrator)",
        "DipIn",
        "DipOut",
        f"more than the tank holds (422), {_DAY_REFUSED}",
    )
    generator_readings = _record(
        "recordGeneratorHours",
        "Record a generator's run-hour meter (office administrator)",
        "GeneratorReadingIn",
        "GeneratorReadingOut",
        f"hours lower than the last reading, or a reading not later than it (422), {_DAY_REFUSED}",
    )
    instant_filters = [
        _query("from", _INSTANT, "Read at or after this instant"),
        _query("to", _INSTANT, "Read at or before this instant"),
    ]
    return {
        "/generators": {
            "get": {
                "operationId": "listGenerators",
                "summary": "Every generator",
                "responses": {"200": _json("GeneratorList", "The generators"), **_ERRORS},
            },
            "post": {
                "operationId": "createGenerator",
                "summary": "Add a generator (office administrator)",
                "description": "As on the equipment page, through the same service. Refused "
                "(422): a name another generator has, a tank that is not one.",
                "requestBody": _body("GeneratorIn"),
                "responses": {"201": _json("GeneratorOut", "Added"), **_WRITE_ERRORS},
            },
        },
        "/tanks": {
            "get": {
                "operationId": "listTanks",
                "summary": "Every fuel tank",
                "responses": {"200": _json("TankList", "The tanks"), **_ERRORS},
            },
            "post": {
                "operationId": "createTank",
                "summary": "Add a fuel tank for one product, with the stock in it now (office "
                "administrator)",
                "description": "As on the tanks page, through the same service. Refused (422): "
                "a name another store has, an unknown resource, an opening stock above the "
                "capacity.",
                "requestBody": _body("TankIn"),
                "responses": {"201": _json("TankOut", "Added"), **_WRITE_ERRORS},
            },
        },
        "/generator-readings": {
            **_list(
                "listGeneratorReadings",
                "Generators' run-hour readings",
                "GeneratorReadingPage",
                [_query("generator_id", _ID, "Only this generator's"), *instant_filters],
            ),
            **generator_readings,
        },
        "/fuel/receipts": receipt,
        "/fuel/issues": issue,
        "/fuel/returns": returned,
        "/fuel/movements": _list(
            "listFuelMovements",
            "Fuel receipts, issues and returns",
            "MovementPage",
            [
                _query("tank_id", _ID, "Only this tank's"),
                _query(
                    "kind", {"type": "string", "enum": ["receipt", "issue", "return"]}, "Only these"
                ),
                _query("from", _DATE, "From this day"),
                _query("to", _DATE, "To this day"),
            ],
        ),
        "/fuel/movements/{movement_id}": {
            "get": {
                "operationId": "getFuelMovement",
                "summary": "A fuel receipt, issue or return",
                "parameters": [_id_param("movement_id")],
                "responses": {
                    "200": _json("MovementOut", "The movement"),
                    "404": _problem("No such movement of a tank"),
                    **_ERRORS,
                },
            },
        },
        "/fuel/movements/{movement_id}/void": {
            "post": {
                "operationId": "voidFuelMovement",
                "summary": "Void a fuel receipt, issue or return with a reason (office "
                "administrator)",
                "description": (
                    "What it did is undone: an issue's or a return's litres go back into "
                    "their lots; a receipt's lot goes and its drawdown is reversed. The day's "
                    "history keeps the reason."
                ),
                "parameters": [_id_param("movement_id")],
                "requestBody": _body("VoidIn"),
                "responses": {
                    "200": _json("MovementOut", "The movement, voided"),
                    "404": _problem("No such movement of a tank"),
                    "409": _problem(
                        "Voided already, a receipt whose fuel was drawn, or its month signed off"
                    ),
                    **_WRITE_ERRORS,
                },
            },
        },
        "/fuel/dips": {
            **_list(
                "listDips",
                "Tanks' dip readings",
                "DipPage",
                [_query("tank_id", _ID, "Only this tank's"), *instant_filters],
            ),
            **dips,
        },
    }


def _meter_paths() -> dict[str, Any]:
    return {
        "/meters": {
            "get": {
                "operationId": "listMeters",
                "summary": "Every meter, in service or not, with its last reading",
                "responses": {"200": _json("MeterList", "The meters"), **_ERRORS},
            },
            "post": {
                "operationId": "createMeter",
                "summary": "Install a meter with its first reading (office administrator)",
                "description": (
                    "As on the equipment page, through the same service. A grid meter draws "
                    "on a waiver line of electricity; the first reading counts nothing."
                ),
                "requestBody": _body("MeterIn"),
                "responses": {
                    "201": _json("MeterOut", "Installed, with its first reading"),
                    "409": _problem("The day or its month is signed off"),
                    **_WRITE_ERRORS,
                    "422": _problem(
                        "Invalid fields, or refused: a grid meter without a line of "
                        "electricity, a first reading beyond its register, a day in the future"
                    ),
                },
            },
        },
        "/meters/{meter_id}/replace": {
            "post": {
                "operationId": "replaceMeter",
                "summary": "Replace a meter: its final reading, the new one's first (office "
                "administrator)",
                "description": (
                    "As on the equipment page, through the same service: the old meter's "
                    "final reading is recorded as any reading (its interval drawn on the "
                    "waiver line through the ledger), the old meter is taken out of service "
                    "at `replaced_at`, and the new one, on the same source and line, is put "
                    "in with its first reading at the same instant."
                ),
                "parameters": [_id_param("meter_id")],
                "requestBody": _body("MeterReplacementIn"),
                "responses": {
                    "201": _json("MeterOut", "The new meter, with its first reading"),
                    "404": _problem("No such meter"),
                    "409": _problem(
                        "The meter is out of service already, the ledger refused the final "
                        "interval, or the day or month is signed off"
                    ),
                    **_WRITE_ERRORS,
                    "422": _problem(f"Invalid fields, or refused: {_RECORD_REFUSALS}"),
                },
            },
        },
        "/meter-readings": {
            "get": {
                "operationId": "listMeterReadings",
                "summary": "Meter readings, newest recorded first",
                "parameters": [
                    _query("meter_id", _ID, "Only this meter's"),
                    _query("from", _INSTANT, "Read at or after this instant"),
                    _query("to", _INSTANT, "Read at or before this instant"),
                    _query(
                        "voided",
                        {"type": "string", "enum": ["true", "false"]},
                        "Only voided (or standing) readings",
                    ),
                    *_cursor_params(1000, 100),
                ],
                "responses": {
                    "200": _json("MeterReadingPage", "A page of readings"),
                    **_READ_ERRORS,
                },
            },
            "post": {
                "operationId": "recordMeterReading",
                "summary": "Record a meter reading (office administrator)",
                "description": (
                    "As on the day's page: the kWh since the meter's last reading are counted "
                    "(across a rollover when `rolled_over`), an implausible interval is "
                    "flagged, and a grid meter's interval is drawn on its waiver line through "
                    "the ledger, refused (409, with `classification`) when the line does not "
                    "cover it unless `override_reason` is given."
                ),
                "requestBody": _body("MeterReadingIn"),
                "responses": {
                    "201": _json("MeterReadingOut", "Recorded"),
                    "409": _problem(
                        "The ledger refused the interval, the meter is out of service, or the "
                        "month or day is signed off"
                    ),
                    **_WRITE_ERRORS,
                    "422": _problem(f"Invalid fields, or refused: {_RECORD_REFUSALS}"),
                },
            },
        },
        "/meter-readings/batch": {
            "post": {
                "operationId": "recordMeterReadings",
                "summary": "Record a batch of readings, all or none (office administrator)",
                "description": (
                    f"Up to {schemas.MAX_BATCH} readings, of one meter or several, recorded in "
                    "the order given, each as `recordMeterReading` records one. If any is "
                    "refused none is recorded, and the answer (422) lists every refused "
                    "reading in `rejected`, by its index in the batch, each tried as if the "
                    "refused ones before it had not been sent."
                ),
                "requestBody": _body("MeterReadingBatchIn"),
                "responses": {
                    "201": _json("MeterReadingList", "Every reading, recorded"),
                    **_WRITE_ERRORS,
                    "422": _problem(
                        "Some readings refused (`rejected` lists them); nothing recorded"
                    ),
                },
            },
        },
        "/meter-readings/{reading_id}": {
            "get": {
                "operationId": "getMeterReading",
                "summary": "A meter reading",
                "parameters": [_id_param("reading_id")],
                "responses": {
                    "200": _json("MeterReadingOut", "The reading"),
                    "404": _problem("No such reading"),
                    **_ERRORS,
                },
            },
        },
        "/meter-readings/{reading_id}/void": {
            "post": {
                "operationId": "voidMeterReading",
                "summary": "Void a meter's latest reading with a reason (office administrator)",
                "description": "Its drawdown is reversed; the day's history keeps the reason.",
                "parameters": [_id_param("reading_id")],
                "requestBody": _body("VoidIn"),
                "responses": {
                    "200": _json("MeterReadingOut", "The reading, voided"),
                    "404": _problem("No such reading"),
                    "409": _problem(
                        "Not the latest reading of a meter in service, or voided already, or "
                        "its month signed off"
                    ),
                    **_WRITE_ERRORS,
                },
            },
        },
    }
