"""Bad input of every kind the issue lists: a clear 400, 409 or 422, and the ledger untouched.

Each case runs against a ledger that already holds entries, then checks the row count, the
waiver line's use and the chain head, and runs `flask ledger verify` and `flask ledger check`.
"""

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.waivers.models import Waiver
from tests.api.conftest import (
    assert_ledger_verifies,
    assert_problem,
    diesel_line,
    drawdown_body,
    office_today,
    office_tomorrow,
)
from tests.factories import draw, make_rice, make_waiver

HUGE = "x" * 100_000  # 100 kB
FINITE = 'Must be a finite decimal number, as a JSON number or a string such as "12.5".'
NOT_JSON = "The request body is not valid JSON."


@pytest.fixture
def arranged(app, session):
    """A granted diesel line already drawn on twice, and a rice line on another waiver."""
    waiver, line = diesel_line(session, "1000")
    rice = make_rice(session)
    other = make_waiver(session, [(rice, "kg", "500", "500")])
    draw(session, line.resource, "100", line=line)
    draw(session, line.resource, "50.5", line=line)
    return {"waiver": waiver, "line": line, "rice_line": other.lines[0]}


@pytest.fixture
def unchanged(app, session, ledger_state, admin_api, arranged):
    """Check, after the test, that nothing reached the ledger, the usage or the chain."""
    before = ledger_state()
    waiver_before = admin_api.get(f"/waivers/{arranged['waiver'].id}").get_json()
    yield
    assert ledger_state() == before
    assert before.entries == 2
    assert before.used_base[arranged["line"].id] == Decimal("150.5")
    assert admin_api.get(f"/waivers/{arranged['waiver'].id}").get_json() == waiver_before
    assert_ledger_verifies(app)


def check_refusal(response, status: int, field: str | None, message: str | None) -> dict:
    body = assert_problem(response, status)
    assert len(response.data) < 4000, "the problem must not echo the input back"
    if field is None:
        assert "errors" not in body
    else:
        assert field in body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
        if message is not None:
            assert message in body["errors"][field]
    if message is not None and status != 422:
        assert body["detail"] == message
    return body


QUANTITY_CASES = [
    pytest.param(0, "The quantity must be greater than zero.", id="zero"),
    pytest.param("0", "The quantity must be greater than zero.", id="zero-string"),
    pytest.param("0.000", "The quantity must be greater than zero.", id="zero-decimals"),
    pytest.param(-5, "The quantity must be greater than zero.", id="negative"),
    pytest.param("-0.5", "The quantity must be greater than zero.", id="negative-string"),
    pytest.param("NaN", FINITE, id="nan-string"),
    pytest.param("-NaN", FINITE, id="minus-nan-string"),
    pytest.param("sNaN", FINITE, id="snan-string"),
    pytest.param("Infinity", FINITE, id="infinity-string"),
    pytest.param("-Infinity", FINITE, id="minus-infinity-string"),
    pytest.param("inf", FINITE, id="inf-string"),
    pytest.param("1e400", FINITE, id="1e400-string"),  # a string is plain digits, no exponent
    pytest.param("1" * 30, "The quantity is too large.", id="30-digit-string"),
    pytest.param(int("1" * 30), "The quantity is too large.", id="30-digit-number"),
    pytest.param("1000000000000", "The quantity is too large.", id="a-trillion"),
    pytest.param("1.0005", "The quantity can have at most 3 decimal places.", id="4-places"),
    pytest.param("0." + "0" * 29 + "1", None, id="30-places"),
    pytest.param("abc", FINITE, id="non-numeric"),
    pytest.param("12 L", FINITE, id="number-with-unit"),
    pytest.param("1,000", FINITE, id="thousands-separator"),
    pytest.param("", FINITE, id="empty-string"),
    pytest.param(HUGE, FINITE, id="100-kB-string"),
    pytest.param("9" * 100_000, "The quantity is too large.", id="100-kB-of-digits"),
    pytest.param(True, FINITE, id="true"),
    pytest.param(None, FINITE, id="null"),
    pytest.param([100], FINITE, id="list"),
    pytest.param({"value": 100}, FINITE, id="object"),
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("quantity", "message"), QUANTITY_CASES)
def test_a_bad_quantity_is_refused_naming_the_field(admin_api, arranged, quantity, message):
    response = admin_api.post("/drawdowns", drawdown_body(arranged["line"], quantity=quantity))
    check_refusal(response, 422, "quantity", message)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("literal", "status", "message"),
    [
        pytest.param("NaN", 422, FINITE, id="NaN"),
        pytest.param("Infinity", 422, FINITE, id="Infinity"),
        pytest.param("-Infinity", 422, FINITE, id="-Infinity"),
        pytest.param("1e400", 422, FINITE, id="1e400"),
        pytest.param("-1e400", 422, FINITE, id="-1e400"),
        pytest.param("1e-400", 422, None, id="1e-400"),
        pytest.param("123456789012345678901234567890", 422, None, id="30-digits"),
        pytest.param("9" * 100_000, 400, NOT_JSON, id="100-kB-number"),
        pytest.param("0x10", 400, NOT_JSON, id="hex"),
        pytest.param("01", 400, NOT_JSON, id="leading-zero"),
    ],
)
def test_a_bad_json_number_for_the_quantity_is_refused(
    admin_api, arranged, literal, status, message
):
    text = json.dumps(drawdown_body(arranged["line"], quantity="QUANTITY"))
    raw = text.replace('"QUANTITY"', literal)
    field = "quantity" if status == 422 else None
    check_refusal(admin_api.post("/drawdowns", raw=raw), status, field, message)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param({"unit": "gallon"}, "unit", "Unknown unit gallon.", id="unknown-unit"),
        pytest.param({"unit": "l"}, "unit", "Unknown unit l.", id="unit-in-wrong-case"),
        pytest.param({"unit": "kWh"}, "unit", "kWh cannot be converted to L.", id="energy-unit"),
        pytest.param({"unit": "piece"}, "unit", "piece cannot be converted to L.", id="count"),
        pytest.param({"unit": HUGE}, "unit", "Must have at most 10 characters.", id="huge-unit"),
        pytest.param({"unit": 1}, "unit", "Must be a string.", id="unit-number"),
        pytest.param(
            {"resource": "coal"}, "resource", "No resource has the code coal.", id="unknown"
        ),
        pytest.param(
            {"resource": HUGE}, "resource", "Must have at most 40 characters.", id="huge-resource"
        ),
        pytest.param({"resource": None}, "resource", "Must be a string.", id="resource-null"),
        pytest.param(
            {"waiver_line_id": 999999},
            "waiver_line_id",
            "No waiver line has the id 999999.",
            id="unknown-line",
        ),
        pytest.param(
            {"waiver_line_id": 2**40},
            "waiver_line_id",
            "Must be at most 2147483647.",
            id="line-id-64-bit",
        ),
        pytest.param(
            {"waiver_line_id": 2**63},
            "waiver_line_id",
            "Must be at most 2147483647.",
            id="line-id-beyond-64-bit",
        ),
        pytest.param({"waiver_line_id": 10**30}, "waiver_line_id", None, id="line-id-too-big"),
        pytest.param({"waiver_line_id": -(10**30)}, "waiver_line_id", None, id="line-id-negative"),
        pytest.param({"waiver_line_id": 0}, "waiver_line_id", None, id="line-id-zero"),
        pytest.param(
            {"waiver_line_id": "1"}, "waiver_line_id", "Must be a whole number.", id="line-id-str"
        ),
        pytest.param(
            {"waiver_line_id": 1.5}, "waiver_line_id", "Must be a whole number.", id="line-id-float"
        ),
        pytest.param(
            {"waiver_line_id": True}, "waiver_line_id", "Must be a whole number.", id="line-id-bool"
        ),
        pytest.param(
            {"occurred_on": "2018-02-30"},
            "occurred_on",
            "Must be a real date written YYYY-MM-DD.",
            id="impossible-date",
        ),
        pytest.param({"occurred_on": "2018-13-01"}, "occurred_on", None, id="month-13"),
        pytest.param({"occurred_on": "02/10/2018"}, "occurred_on", None, id="slashed-date"),
        pytest.param({"occurred_on": "2018-10-02T09:00:00"}, "occurred_on", None, id="datetime"),
        pytest.param({"occurred_on": 20181002}, "occurred_on", None, id="date-number"),
        pytest.param({"occurred_on": HUGE}, "occurred_on", None, id="huge-date"),
        pytest.param(
            {"occurred_on": "1999-12-31"},
            "occurred_on",
            "Enter a date between 2000-01-01 and 2099-12-31.",
            id="too-early",
        ),
        pytest.param({"purpose": "pleasure"}, "purpose", None, id="unknown-purpose"),
        pytest.param({"purpose": HUGE}, "purpose", None, id="huge-purpose"),
        pytest.param(
            {"override_reason": HUGE},
            "override_reason",
            "Must have at most 2000 characters.",
            id="huge-override-reason",
        ),
        pytest.param({"note": HUGE}, "note", "Must have at most 2000 characters.", id="huge-note"),
        pytest.param(
            {"classification": "covered"},
            "classification",
            "This field is not part of the request.",
            id="extra-field",
        ),
    ],
)
def test_a_bad_field_is_refused_naming_it(admin_api, arranged, changes, field, message):
    response = admin_api.post("/drawdowns", drawdown_body(arranged["line"], **changes))
    check_refusal(response, 422, field, message)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("missing", ["resource", "quantity", "unit", "occurred_on", "purpose"])
def test_a_missing_field_is_refused_naming_it(admin_api, arranged, missing):
    body = drawdown_body(arranged["line"])
    del body[missing]
    response = admin_api.post("/drawdowns", body)
    check_refusal(response, 422, missing, "This field is required.")


@pytest.mark.usefixtures("unchanged")
def test_a_body_over_the_size_limit_is_refused_with_413(admin_api, arranged):
    raw = json.dumps(drawdown_body(arranged["line"], note="x" * (17 * 1024 * 1024)))
    check_refusal(admin_api.post("/drawdowns", raw=raw), 413, None, None)


@pytest.mark.usefixtures("unchanged")
def test_a_line_of_another_resource_is_refused(admin_api, arranged):
    response = admin_api.post("/drawdowns", drawdown_body(arranged["rice_line"]))
    body = check_refusal(response, 422, "waiver_line_id", None)
    assert body["errors"]["waiver_line_id"] == [body["detail"]]
    assert "is for Rice, not Diesel" in body["detail"]


@pytest.mark.usefixtures("unchanged")
def test_a_date_in_the_future_is_refused(admin_api, arranged):
    # Today in Seoul: a granted line valid until then, so only the future date can be at fault.
    tomorrow = office_tomorrow().isoformat()
    response = admin_api.post("/drawdowns", drawdown_body(arranged["line"], occurred_on=tomorrow))
    message = f"{tomorrow} is in the future; record a drawdown once it has happened."
    check_refusal(response, 422, "occurred_on", message)


def test_today_is_not_in_the_future(session, admin_api):
    rice = make_rice(session)
    request = drawdown_body(
        None, resource="rice", unit="kg", occurred_on=office_today().isoformat()
    )
    response = admin_api.post("/drawdowns", request)
    assert response.status_code == 201
    assert response.get_json()["resource"] == rice.code


@pytest.mark.usefixtures("unchanged")
def test_a_drawdown_over_cap_is_refused_and_leaves_the_ledger_alone(admin_api, arranged):
    response = admin_api.post("/drawdowns", drawdown_body(arranged["line"], quantity="850"))
    body = check_refusal(response, 409, None, None)
    assert body["classification"] == "over_cap"
    assert "has 849.5 L left; this drawdown asks for 850 L." in body["detail"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("raw", "status", "field", "message"),
    [
        pytest.param("{", 400, None, NOT_JSON, id="truncated"),
        pytest.param("", 400, None, NOT_JSON, id="empty-body"),
        pytest.param("{'resource': 'diesel'}", 400, None, NOT_JSON, id="single-quotes"),
        pytest.param('{"resource": "diesel",}', 400, None, NOT_JSON, id="trailing-comma"),
        pytest.param(b"\xff\xfe{}", 400, None, NOT_JSON, id="not-utf8"),
        pytest.param("[]", 422, "body", "Must be a JSON object.", id="array"),
        pytest.param("[{}]", 422, "body", "Must be a JSON object.", id="array-of-object"),
        pytest.param('"diesel"', 422, "body", "Must be a JSON object.", id="string"),
        pytest.param("null", 422, "body", "Must be a JSON object.", id="null"),
        pytest.param("100", 422, "body", "Must be a JSON object.", id="number"),
        pytest.param(
            json.dumps({"x": HUGE} | {str(n): n for n in range(50)}),
            422,
            "x",
            "This field is not part of the request.",
            id="100-kB-unknown-field",
        ),
    ],
)
def test_a_body_that_is_not_a_drawdown_is_refused(admin_api, raw, status, field, message):
    response = admin_api.post("/drawdowns", raw=raw)
    check_refusal(response, status, field, message)


@pytest.mark.parametrize(
    ("raw", "status", "field", "message"),
    [
        pytest.param("{", 400, None, NOT_JSON, id="malformed"),
        pytest.param("[]", 422, "body", "Must be a JSON object.", id="array"),
        pytest.param('{"reason": true}', 422, "reason", "Must be a string.", id="reason-true"),
        pytest.param(
            json.dumps({"reason": HUGE}),
            422,
            "reason",
            "Must have at most 2000 characters.",
            id="100-kB-reason",
        ),
        pytest.param(
            '{"reason": "ok", "undo": true}',
            422,
            "undo",
            "This field is not part of the request.",
            id="extra-field",
        ),
    ],
)
def test_a_bad_reversal_body_is_refused_and_changes_nothing(
    app, session, admin_api, arranged, ledger_state, raw, status, field, message
):
    entry = draw(session, arranged["line"].resource, "1", line=arranged["line"])
    before = ledger_state()
    response = admin_api.post(f"/drawdowns/{entry.id}/reversal", raw=raw)
    check_refusal(response, status, field, message)
    assert ledger_state() == before
    assert_ledger_verifies(app)


def test_a_second_reversal_and_a_reversal_of_the_reversal_change_nothing(
    app, session, admin_api, arranged, ledger_state
):
    entry = draw(session, arranged["line"].resource, "1", line=arranged["line"])
    reversal = admin_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "once"}).get_json()
    before = ledger_state()
    again = admin_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "twice"})
    check_refusal(again, 409, None, None)
    back = admin_api.post(f"/drawdowns/{reversal['id']}/reversal", {"reason": "undo"})
    check_refusal(back, 409, None, None)
    assert ledger_state() == before
    assert before.used_base[arranged["line"].id] == Decimal("150.5")
    assert_ledger_verifies(app)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param('{"lines": {"resource": "diesel"}}', "lines", id="lines-object"),
        pytest.param('{"lines": "diesel"}', "lines", id="lines-string"),
        pytest.param('{"lines": [1]}', "lines.0", id="line-number"),
        pytest.param(
            '{"lines": [{"resource": "diesel", "unit": "L", "requested_quantity": true}]}',
            "lines.0.requested_quantity",
            id="true",
        ),
    ],
)
def test_a_waiver_with_lines_of_the_wrong_json_type_is_refused(
    session, reviewer_api, arranged, raw, field
):
    waivers = session.scalar(select(func.count()).select_from(Waiver))
    request = {
        "reference": "BAD-1",
        "authority": "rok_mou_individual",
        "title": "Bad",
        **json.loads(raw),
    }
    body = check_refusal(reviewer_api.post("/waivers", request), 422, field, None)
    assert body["detail"] == "Some fields are not valid."
    assert session.scalar(select(func.count()).select_from(Waiver)) == waivers
