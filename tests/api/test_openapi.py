"""The OpenAPI 3.1 document: valid, complete, and true to what the API really answers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from office import once
from office.api.idempotency import fingerprint
from office.api.models import IdempotencyKey
from office.auth.permissions import Role
from office.db import utcnow
from office.fuel import services as fuel
from office.fuel.models import Generator, Meter, MeterSource
from office.stock.models import Store
from office.waivers.models import WaiverLine, WaiverStatus
from tests.api.conftest import API, ApiClient, diesel_line, drawdown_body
from tests.api.document_calls import SCHEMAS as DOCUMENT_SCHEMAS
from tests.api.document_calls import document_calls
from tests.api.review_exchanges import REVIEW_SCHEMAS, review_calls
from tests.api.staffing_calls import STAFFING_SCHEMAS, staffing_exchanges
from tests.api.supplies_calls import SCHEMAS as SUPPLY_SCHEMAS
from tests.api.supplies_calls import supply_calls
from tests.factories import NOW, draw, make_resource, make_rice, make_waiver

METHODS = ("get", "post", "put", "patch", "delete")
# A what-if screening of diesel (POST /screenings).
SCREENING = {
    "hs_code": "2710.19",
    "origin": "KR",
    "us_content_percent": "0",
    "quantity": "100",
    "unit": "L",
    "occurred_on": "2018-10-02",
}
DOC_URI = "urn:office:openapi"


@pytest.fixture
def doc(anonymous_api) -> dict[str, Any]:
    response = anonymous_api.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def template(rule: str) -> str:
    """Turn a Flask rule (/api/v1/waivers/<int:waiver_id>) into an OpenAPI path."""
    assert rule.startswith(API)
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule[len(API) :]) or "/"


def api_rules(app) -> list:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(API + "/")]


def operations(doc) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def validator_for(doc: dict[str, Any], ref: str) -> Draft202012Validator:
    """A JSON Schema validator for `ref` (#/components/...) inside `doc`."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": DOC_URI + ref},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def component(doc, name: str) -> dict[str, Any]:
    return doc["components"]["schemas"][name]


# --- the document -------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1.")
    validate(doc)


def test_the_document_is_what_the_app_generates_and_serves_as_json(doc):
    from office.api.openapi import openapi_document

    assert doc == json.loads(json.dumps(openapi_document()))


def test_every_api_route_is_in_the_document_with_each_of_its_methods(app, doc):
    missing = []
    for rule in api_rules(app):
        item = doc["paths"].get(template(rule.rule), {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in item:
                missing.append(f"{method} {rule.rule}")
    assert missing == []


def test_every_documented_operation_is_a_route_of_the_app(app, doc):
    routes = {
        (template(rule.rule), method.lower())
        for rule in api_rules(app)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, method, _op in operations(doc)}
    assert documented - routes == set()
    assert doc["servers"] == [{"url": API}]


def test_path_parameters_match_the_routes(app, doc):
    for rule in api_rules(app):
        for method, operation in doc["paths"][template(rule.rule)].items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(rule.arguments), f"{method} {rule.rule}"


def test_operations_have_unique_ids_and_say_how_they_authenticate(doc):
    ids = [operation["operationId"] for _path, _method, operation in operations(doc)]
    assert len(ids) == len(set(ids))
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    for path, method, operation in operations(doc):
        if path == "/openapi.json":
            assert operation["security"] == []
        else:
            assert "security" not in operation, "protected by the document-wide bearer"
            assert "401" in operation["responses"], f"{method} {path}"
            # 403 wherever some role lacks the permission; every role reads staffing rules,
            # and a document (or a record's) that a role may not see is not there for it (404).
            if operation["operationId"] in ("listDocuments", "getDocument"):
                assert "404" in operation["responses"], f"{method} {path}"
            elif not (path.startswith("/staffing/") and method == "get"):
                assert "403" in operation["responses"], f"{method} {path}"


def test_the_drawdown_listing_documents_every_filter(doc):
    parameters = doc["paths"]["/drawdowns"]["get"]["parameters"]
    names = {p["name"] for p in parameters if p["in"] == "query"}
    assert names == {
        "waiver_id",
        "classification",
        "flagged",
        "from",
        "to",
        "regime",
        "regime_classification",
        "covered_under",
        "not_covered_under",
        "cursor",
        "limit",
    }
    schemas = {p["name"]: p["schema"] for p in parameters}
    for name in ("regime", "covered_under", "not_covered_under"):
        assert schemas[name] == {"type": "string", "enum": ["un", "rok", "us"]}, name
    assert schemas["regime_classification"]["enum"][-1] == "not_checked"
    assert set(schemas["regime_classification"]["enum"]) == {
        *component(doc, "Classification")["enum"],
        "not_checked",
    }


def test_errors_are_documented_as_problem_details(doc):
    problem = component(doc, "Problem")
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert {"errors", "classification"} <= set(problem["properties"])
    for path, method, operation in operations(doc):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert set(response["content"]) == {"application/problem+json"}, (
                    f"{method} {path} {status}"
                )


@pytest.mark.parametrize(
    ("schema", "fields"),
    [
        ("DrawdownOut", ("quantity", "base_quantity")),
        ("WaiverLineOut", ("requested_quantity", "granted_quantity", "used", "remaining")),
        ("ScreeningItemOut", ("quantity", "us_content_percent")),
        ("ScreeningLineOut", ("remaining_before", "remaining_after")),
    ],
)
def test_quantities_are_documented_as_decimal_strings(doc, schema, fields):
    properties = component(doc, schema)["properties"]
    for field in fields:
        kinds = {
            option.get("type") for option in properties[field].get("anyOf", [properties[field]])
        }
        assert kinds <= {"string", "null"}, field
        assert "string" in kinds, field


def test_dates_are_documented_as_dates(doc):
    assert "date" in json.dumps(component(doc, "DrawdownIn")["properties"]["occurred_on"])
    assert component(doc, "DrawdownOut")["properties"]["occurred_on"]["format"] == "date"


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("ResourceIn", {"code": "coal", "name": "Coal", "hs_code": "2701.12", "unit": "t"}),
        (
            "ResourceIn",
            {
                "code": "laptop",
                "name": "Laptop computers",
                "hs_code": "8471.30",
                "unit": "piece",
                "origin": "CN",
                "us_content_percent": "12.5",
            },
        ),
        (
            "WaiverIn",
            {
                "reference": "MOU-2018-0814",
                "authority": "rok_mou_individual",
                "title": "Fuel",
                "status": "granted",
                "valid_from": "2018-08-14",
                "valid_until": "2018-12-31",
                "lines": [
                    {
                        "resource": "diesel",
                        "unit": "L",
                        "requested_quantity": "1000.5",
                        "granted_quantity": 1000,
                    }
                ],
            },
        ),
        (
            "WaiverIn",
            {
                "reference": "MOU-2018-B1",
                "authority": "rok_mou_blanket",
                "title": "Office running",
                "standing": False,
            },
        ),
        ("StatusIn", {"status": "granted", "effective_on": "2018-06-01", "note": "letter"}),
        (
            "DrawdownIn",
            {
                "resource": "diesel",
                "quantity": "1000.5",
                "unit": "L",
                "occurred_on": "2018-10-02",
                "waiver_line_id": 3,
                "purpose": "fuel",
            },
        ),
        (
            "DrawdownIn",
            {
                "resource": "rice",
                "quantity": 1000.5,
                "unit": "kg",
                "occurred_on": "2018-10-02",
                "waiver_line_id": None,
                "purpose": "supplies",
                "override_reason": "Ministry approved by phone",
            },
        ),
        ("ReversalIn", {"reason": "Entered twice"}),
        ("ScreeningIn", SCREENING),
        ("ScreeningIn", {**SCREENING, "us_content_percent": 8, "quantity": 45.5}),
    ],
)
def test_the_contracts_example_requests_fit_the_request_schemas(doc, schema, body):
    validator_for(doc, f"#/components/schemas/{schema}").validate(body)


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("DrawdownIn", {"resource": "diesel", "quantity": "100", "unit": "L"}),
        (
            "DrawdownIn",
            {
                "resource": "diesel",
                "quantity": True,
                "unit": "L",
                "occurred_on": "2018-10-02",
                "waiver_line_id": None,
                "purpose": "fuel",
            },
        ),
        (
            "WaiverIn",
            {"reference": "X", "authority": "rok_mou_individual", "title": "T", "lines": {}},
        ),
        ("ReversalIn", {"reason": "ok", "extra": 1}),
        ("ResourceIn", {"code": "x", "name": "X", "hs_code": "2701", "unit": "t", "origin": "USA"}),
        ("WaiverIn", {"reference": "X", "authority": "us_government", "title": "T", "standing": 1}),
        ("ScreeningIn", {key: v for key, v in SCREENING.items() if key != "origin"}),
        ("ScreeningIn", {**SCREENING, "occurred_on": "2018-10-02T00:00:00"}),
    ],
)
def test_the_request_schemas_refuse_what_the_api_refuses(doc, schema, body):
    assert not validator_for(doc, f"#/components/schemas/{schema}").is_valid(body)


# --- real calls against the document ------------------------------------------------------


PROTECTED = [
    ("/resources", "get"),
    ("/regimes", "get"),
    ("/resources", "post"),
    ("/waivers", "post"),
    ("/waivers/{waiver_id}", "get"),
    ("/waivers/{waiver_id}/status", "post"),
    ("/drawdowns", "get"),
    ("/drawdowns", "post"),
    ("/drawdowns/{entry_id}/reversal", "post"),
    ("/screenings", "post"),
    ("/meters", "get"),
    ("/meters", "post"),
    ("/meters/{meter_id}/replace", "post"),
    ("/meter-readings", "get"),
    ("/meter-readings", "post"),
    ("/meter-readings/batch", "post"),
    ("/meter-readings/{reading_id}", "get"),
    ("/meter-readings/{reading_id}/void", "post"),
    ("/generators", "get"),
    ("/generators", "post"),
    ("/tanks", "get"),
    ("/tanks", "post"),
    ("/generator-readings", "get"),
    ("/generator-readings", "post"),
    ("/fuel/receipts", "post"),
    ("/fuel/issues", "post"),
    ("/fuel/returns", "post"),
    ("/fuel/movements", "get"),
    ("/fuel/movements/{movement_id}", "get"),
    ("/fuel/movements/{movement_id}/void", "post"),
    ("/fuel/dips", "get"),
    ("/fuel/dips", "post"),
    ("/daily-logs/{day}", "get"),
    ("/daily-logs/{day}/notes", "post"),
    ("/daily-logs/{day}/sign-off", "post"),
]


@pytest.mark.xdist_group("openapi-exchanges")
def test_every_real_response_is_documented_and_fits_its_schema(doc, exchanges):
    failures = []
    for exchange in exchanges:
        where = f"{exchange.method.upper()} {exchange.path} {exchange.status}"
        operation = doc["paths"][exchange.path][exchange.method]
        documented = operation["responses"].get(str(exchange.status))
        if documented is None:
            failures.append(f"{where}: status not documented")
            continue
        content = documented.get("content")
        if content is None:
            continue  # the document itself: validated above
        if exchange.mimetype not in content:
            failures.append(f"{where}: {exchange.mimetype} not among {sorted(content)}")
            continue
        if "$ref" not in content[exchange.mimetype]["schema"]:
            continue  # a file (a CSV, a PDF)
        ref = content[exchange.mimetype]["schema"]["$ref"]
        for error in validator_for(doc, ref).iter_errors(exchange.body):
            failures.append(f"{where}: {error.json_path}: {error.message}")
    assert failures == []


@pytest.mark.xdist_group("openapi-exchanges")
def test_every_documented_response_is_given_by_a_real_call(doc, exchanges):
    given = {(e.path, e.method, str(e.status)) for e in exchanges}
    documented = {
        (path, method, status)
        for path, method, operation in operations(doc)
        for status in operation["responses"]
    }
    assert documented - given == set()


@pytest.mark.xdist_group("openapi-exchanges")
def test_the_real_responses_cover_every_schema_the_api_returns(doc, exchanges):
    returned = {
        doc["paths"][e.path][e.method]["responses"][str(e.status)]["content"][e.mimetype]["schema"][
            "$ref"
        ].rsplit("/", 1)[1]
        for e in exchanges
        if e.path != "/openapi.json" and e.body is not None  # not a file, not a redirect
    }
    assert returned == REVIEW_SCHEMAS | {
        "ResourceList",
        "ResourceOut",
        "RegimeList",
        "WaiverOut",
        "DrawdownOut",
        "DrawdownPage",
        "Problem",
        "ViolationList",
        "ScreeningResult",
        "MeterList",
        "MeterOut",
        "MeterReadingOut",
        "MeterReadingList",
        "MeterReadingPage",
        "GeneratorList",
        "GeneratorOut",
        "GeneratorReadingOut",
        "GeneratorReadingPage",
        "TankList",
        "TankOut",
        "MovementOut",
        "MovementPage",
        "DipOut",
        "DipPage",
        "DailyLogOut",
        *STAFFING_SCHEMAS,
        *SUPPLY_SCHEMAS,
        *DOCUMENT_SCHEMAS,
    }


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str  # the OpenAPI path template
    status: int
    mimetype: str
    body: Any


# Recorded once a test process: the three tests that read them run on one process (their
# xdist group) and check the same calls, which take seconds to make.
_RECORDED: list[list[Exchange]] = []


@pytest.fixture
def exchanges(app, client, session, doc, api_as, anonymous_api, monkeypatch) -> list[Exchange]:
    """Real calls that between them give every response each operation documents."""
    if _RECORDED:
        return _RECORDED[0]
    monkeypatch.setattr(once, "ANSWER_WAIT_SECONDS", 0)  # no wait for an answer never coming
    reviewer, admin, scheduler = api_as(Role.REVIEWER), api_as(Role.ADMIN), api_as(Role.SCHEDULER)
    staffing_roles = {"scheduler": scheduler, "admin": admin, "anonymous": anonymous_api}
    requested, _pending_line = diesel_line(session, None, status=WaiverStatus.REQUESTED)
    granted, line = diesel_line(session, "1000")
    make_rice(session)
    entry = draw(session, line.resource, "10", line=line)
    meter = grid_meter(session)
    recorded: list[Exchange] = []
    adapter = app.url_map.bind("localhost")

    def call(
        api: ApiClient,
        method: str,
        path: str,
        body: Any = None,
        raw: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ):
        if method == "get":
            response = api.get(path, body)
        else:
            response = api.post(path, body, raw=raw, headers=headers, content_type=content_type)
        rule, _args = adapter.match(API + path, method.upper(), return_rule=True)
        payload = response.get_json() if response.is_json else None
        recorded.append(
            Exchange(method, template(rule.rule), response.status_code, response.mimetype, payload)
        )
        return response

    waiver_path, status_path = f"/waivers/{granted.id}", f"/waivers/{requested.id}/status"
    reversal_path = f"/drawdowns/{entry.id}/reversal"
    resource = {"code": "coal", "name": "Coal", "hs_code": "2701.12", "unit": "t"}
    waiver = {
        "reference": "MOU-2018-0814",
        "authority": "un_1718_committee",
        "title": "Fuel",
        "status": "granted",
        "valid_from": "2018-01-01",
        "valid_until": "2018-12-31",
        "lines": [{"resource": "diesel", "unit": "bbl", "requested_quantity": 10.5}],
    }
    call(anonymous_api, "get", "/openapi.json")
    # The review's first: its flagged records fall on days the daily log signs off below.
    review_args = review_calls(
        app, session, call, api_as, anonymous_api, line.resource, still_processing
    )
    # Successes, in the order a client would go.
    call(reviewer, "get", "/resources")
    call(reviewer, "post", "/resources", resource)
    call(admin, "get", "/regimes")
    call(reviewer, "post", "/waivers", waiver)
    call(reviewer, "get", waiver_path)
    call(reviewer, "post", status_path, {"status": "granted", "effective_on": "2018-06-01"})
    call(admin, "post", "/drawdowns", drawdown_body(line, quantity=12.5))
    call(admin, "post", "/drawdowns", drawdown_body(line, quantity=5000, override_reason="Cold"))
    call(admin, "get", "/drawdowns", {"limit": 2})
    call(admin, "post", reversal_path, {"reason": "Entered twice"})
    call(reviewer, "post", "/screenings", SCREENING)
    call(admin, "get", "/meters")
    first = call(admin, "post", "/meter-readings", meter_reading(meter, "99100", 10)).get_json()
    batch = [meter_reading(meter, "99200", 11), meter_reading(meter, "99300", 12)]
    call(admin, "post", "/meter-readings/batch", {"readings": batch})
    call(admin, "get", "/meter-readings", {"meter_id": meter.id, "limit": 1})
    call(admin, "get", f"/meter-readings/{first['id']}")
    latest = admin.get("/meter-readings", {"limit": 1}).get_json()["items"][0]["id"]
    call(admin, "post", f"/meter-readings/{latest}/void", {"reason": "Misread"})
    tank, generator, fuel_line = fuel_site(session, line)
    call(admin, "get", "/tanks")
    call(admin, "get", "/generators")
    call(admin, "post", "/tanks", {"name": "Annex tank", "resource": "diesel", "capacity": "800"})
    call(admin, "post", "/generators", {"name": "Generator 2", "rated_lph": 19, "tank_id": tank.id})
    generator_meter = {
        "name": "Generator 2 output",
        "source": "generator",
        "digits": 6,
        "multiplier": "1",
        "installed_at": "2018-10-04T09:00:00+09:00",
        "first_value": "0",
    }
    installed = call(admin, "post", "/meters", generator_meter).get_json()
    replacement = {
        "final_value": "150",
        "replaced_at": "2018-10-05T09:00:00+09:00",
        "name": "Generator 2 output, new",
        "digits": 6,
        "multiplier": "1",
        "first_value": "0",
    }
    call(admin, "post", f"/meters/{installed['id']}/replace", replacement)
    call(admin, "post", f"/meters/{installed['id']}/replace", replacement)  # out of service
    call(admin, "post", "/meters/999999/replace", replacement)
    lines = [{"regime": "un", "line_id": fuel_line.id}]
    receipt = {"tank_id": tank.id, "quantity": "500", "unit": "L", "received_on": "2018-10-02"}
    call(admin, "post", "/fuel/receipts", {**receipt, "authorisations": lines})
    issue = {"tank_id": tank.id, "quantity": "50", "issued_on": "2018-10-03", "use": "boiler"}
    issued = call(admin, "post", "/fuel/issues", issue).get_json()
    back = {"tank_id": tank.id, "quantity": "10", "returned_on": "2018-10-03"}
    call(admin, "post", "/fuel/returns", back)
    call(admin, "get", "/fuel/movements", {"limit": 1})
    call(admin, "get", f"/fuel/movements/{issued['id']}")
    call(admin, "post", f"/fuel/movements/{issued['id']}/void", {"reason": "Twice"})
    dip = {"tank_id": tank.id, "measured": "440", "read_at": "2018-10-03T18:00:00+09:00"}
    call(admin, "post", "/fuel/dips", dip)
    call(admin, "get", "/fuel/dips", {"tank_id": tank.id})
    hours = {"generator_id": generator.id, "hours": "100", "read_at": "2018-10-03T18:00:00Z"}
    call(admin, "post", "/generator-readings", hours)
    call(admin, "get", "/generator-readings", {"generator_id": generator.id})
    call(admin, "post", "/daily-logs/2018-10-11/notes", {"notes": "Quiet."})
    call(admin, "post", "/daily-logs/2018-10-11/sign-off")
    call(admin, "get", "/daily-logs/2018-10-11")
    # Conflicts.
    call(admin, "post", "/daily-logs/2018-10-11/sign-off")
    call(admin, "post", "/daily-logs/2018-10-11/notes", {"notes": "Unexplained."})
    call(admin, "post", f"/fuel/movements/{issued['id']}/void", {"reason": "Again"})
    call(admin, "post", "/fuel/receipts", {**receipt, "quantity": "99999"})  # overfills
    call(admin, "post", "/fuel/issues", {**issue, "issued_on": "2018-10-20"})  # signed off
    call(admin, "post", "/fuel/returns", {**back, "returned_on": "2018-10-20"})
    call(admin, "post", "/fuel/dips", {**dip, "read_at": "2018-10-20T09:00:00+09:00"})
    call(admin, "post", "/generator-readings", {**hours, "read_at": "2018-10-20T09:00:00+09:00"})
    call(admin, "post", f"/meter-readings/{first['id']}/void", {"reason": "Misread"})
    call(admin, "post", "/meter-readings", meter_reading(meter, "99900", 20))  # signed off
    call(admin, "post", "/meters", {**generator_meter, "installed_at": "2018-10-20T09:00:00Z"})
    call(reviewer, "post", status_path, {"status": "draft", "effective_on": "2018-06-01"})
    call(admin, "post", "/drawdowns", drawdown_body(line, quantity=5000))
    call(admin, "post", reversal_path, {"reason": "Again"})
    # Unknown ids.
    call(reviewer, "get", "/waivers/999999")
    call(reviewer, "post", "/waivers/999999/status", {"status": "granted"})
    call(admin, "post", "/drawdowns/999999/reversal", {"reason": "x"})
    call(admin, "get", "/meter-readings/999999")
    call(admin, "post", "/meter-readings/999999/void", {"reason": "x"})
    call(admin, "get", "/fuel/movements/999999")
    call(admin, "get", "/daily-logs/2018-02-30")
    call(admin, "post", "/daily-logs/2018-02-30/notes", {"notes": "x"})
    call(admin, "post", "/daily-logs/2018-02-30/sign-off")
    call(admin, "post", "/fuel/movements/999999/void", {"reason": "x"})
    # Invalid parameters.
    call(admin, "get", "/drawdowns", {"limit": 0})
    call(admin, "get", "/meter-readings", {"limit": 0})
    for path in ("/fuel/movements", "/fuel/dips", "/generator-readings"):
        call(admin, "get", path, {"limit": 0})
    # Staffing.
    call(scheduler, "get", "/staffing/violations", {"from": "2018-10-01", "to": "2018-10-02"})
    call(scheduler, "get", "/staffing/violations", {"from": "2018-10-02", "to": "2018-10-01"})
    call(anonymous_api, "get", "/staffing/violations", {"from": "2018-10-01", "to": "2018-10-02"})
    staffing_ids = staffing_exchanges(call, still_processing, session, **staffing_roles)
    ids = supply_calls(call, session, admin, reviewer, scheduler, anonymous_api)
    ids |= document_calls(app, call, session, admin, reviewer, scheduler, anonymous_api)
    # A control character in a query string.
    for path in {p for p, m, _ in operations(doc) if m == "get" and p != "/openapi.json"}:
        concrete = path.format(
            waiver_id=granted.id,
            reading_id=first["id"],
            movement_id=issued["id"],
            day="2018-10-11",
            **staffing_ids,
            **review_args,
            **ids,
        )
        call(admin if "staffing" not in path else scheduler, "get", concrete, {"x": "\x00"})
    # Every protected operation: no token, a role without the permission, bad bodies.
    for path, method in PROTECTED:
        concrete = path.format(
            waiver_id=requested.id,
            entry_id=entry.id,
            reading_id=first["id"],
            movement_id=issued["id"],
            meter_id=meter.id,
            day="2018-10-12",
        )
        call(anonymous_api, method, concrete, {})
        call(scheduler, method, concrete, {})
        if method == "post":
            allowed = (
                admin
                if path.startswith(
                    (
                        "/drawdowns",
                        "/screenings",
                        "/meter",
                        "/fuel",
                        "/generator",
                        "/tanks",
                        "/daily",
                    )
                )
                else reviewer
            )
            call(allowed, method, concrete, raw="{")
            call(allowed, method, concrete, raw="[]")
            # The same request while another with its Idempotency-Key has no answer yet.
            key = still_processing(session, allowed, concrete)
            call(allowed, method, concrete, raw="{}", headers={"Idempotency-Key": key})
            call(allowed, method, concrete, raw='{"other": 1}', headers={"Idempotency-Key": key})
            call(allowed, method, concrete, raw="{}", headers={"Idempotency-Key": "unquoted"})
    _RECORDED.append(recorded)
    return recorded


def grid_meter(session) -> Meter:
    """A grid meter installed on 2018-10-01 at 99,000, drawn on a line of electricity; the
    log of 2018-10-20 signed off."""
    power = make_resource(
        session, "electricity", hs_code="2716.00", unit="kWh", barrels_per_tonne=None
    )
    line = make_waiver(session, [(power, "kWh", "100000", "100000")], reference="MOU-P").lines[0]
    meter = fuel.add_meter(
        session,
        name="Main incomer",
        source=MeterSource.GRID_SOUTH,
        waiver_line=line,
        digits=5,
        multiplier="1",
        installed_at=datetime(2018, 10, 1, tzinfo=UTC),
        first_value="99000",
        actor=None,
        now=NOW,
    )
    fuel.sign_off(session, date(2018, 10, 20), actor=None, now=NOW)
    session.commit()
    return meter


def fuel_site(session, line: WaiverLine) -> tuple[Store, Generator, WaiverLine]:
    """A 1,000 L tank of `line`'s fuel, empty, a generator fed from it, and a line of that
    fuel with room to spare."""
    tank = fuel.create_tank(
        session,
        name="Boiler tank",
        product=line.resource,
        capacity="1000",
        tolerance=None,
        location="",
        opening=None,
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    generator = fuel.add_generator(
        session, name="Generator 1", rated_lph="38", tank=tank, actor=None, now=NOW
    )
    roomy = make_waiver(session, [(line.resource, "L", "100000", "100000")], reference="MOU-F")
    session.commit()
    return tank, generator, roomy.lines[0]


def meter_reading(meter: Meter, value: str, day: int) -> dict[str, Any]:
    return {"meter_id": meter.id, "value": value, "read_at": f"2018-10-{day:02d}T09:00:00+09:00"}


def still_processing(session, api: ApiClient, path: str) -> str:
    """An Idempotency-Key of `api`'s user for POST `path` with body `{}`, not yet answered."""
    key = f"in-flight {path}"
    sent = fingerprint("POST", API + path, b"", b"{}")
    session.add(IdempotencyKey(user_id=api.user.id, key=key, fingerprint=sent, created_at=utcnow()))
    session.commit()
    return f'"{key}"'
