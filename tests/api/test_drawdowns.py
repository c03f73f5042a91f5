"""Recording and reversing drawdowns through the API: classification, refusals, overrides."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from office.waivers.models import DrawdownEntry, WaiverLine, WaiverStatus
from tests.api.conftest import (
    assert_ledger_verifies,
    assert_problem,
    diesel_line,
    drawdown_body,
)
from tests.factories import draw, make_resource, make_rice, make_steel, make_waiver

ENTRY_KEYS = {
    "id",
    "resource",
    "quantity",
    "unit",
    "base_quantity",
    "occurred_on",
    "waiver_line_id",
    "waiver_status",
    "classification",
    "flagged",
    "reverses_id",
    "hash",
}


def used(session, line) -> str:
    value = session.scalar(select(WaiverLine.used_base).where(WaiverLine.id == line.id))
    return f"{value.normalize():f}"


def test_a_covered_drawdown_is_recorded_and_returned(app, session, admin_api):
    waiver, line = diesel_line(session)
    response = admin_api.post("/drawdowns", drawdown_body(line, quantity=250.5))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= ENTRY_KEYS
    assert {key: body[key] for key in ENTRY_KEYS - {"id", "hash"}} == {
        "resource": "diesel",
        "quantity": "250.5",
        "unit": "L",
        "base_quantity": "250.5",
        "occurred_on": "2018-10-02",
        "waiver_line_id": line.id,
        "waiver_status": "granted",
        "classification": "covered",
        "flagged": False,
        "reverses_id": None,
    }
    entry = session.get(DrawdownEntry, body["id"])
    assert re.fullmatch(r"[0-9a-f]{64}", body["hash"]) and body["hash"] == entry.hash
    assert used(session, line) == "250.5"
    line_out = admin_api.get(f"/waivers/{waiver.id}").get_json()["lines"][0]
    assert (line_out["used"], line_out["remaining"]) == ("250.5", "749.5")
    assert_ledger_verifies(app)


@pytest.mark.parametrize(
    ("quantity", "unit", "returned", "base"),
    [
        ("1000.5", "L", "1000.5", "1000.5"),
        (1000.5, "L", "1000.5", "1000.5"),
        (12, "L", "12", "12"),
        (0.1, "L", "0.1", "0.1"),
        ("0.001", "L", "0.001", "0.001"),
        ("2", "bbl", "2", "317.97459"),  # 42 US gallons of 3.785411784 L each
        ("1", "t", "1", "1149.478142"),  # 7.23 bbl per tonne
    ],
)
def test_quantities_arrive_as_numbers_or_strings_and_leave_as_decimal_strings(
    session, admin_api, quantity, unit, returned, base
):
    _waiver, line = diesel_line(session, "5000")
    response = admin_api.post("/drawdowns", drawdown_body(line, quantity=quantity, unit=unit))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["quantity"], body["unit"], body["base_quantity"]) == (returned, unit, base)
    assert used(session, line) == base


def test_a_resource_without_control_needs_no_waiver(session, admin_api):
    make_rice(session)
    request = drawdown_body(None, resource="rice", unit="kg", quantity="40")
    response = admin_api.post("/drawdowns", request)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["classification"], body["flagged"]) == ("not_required", False)
    assert (body["waiver_line_id"], body["waiver_status"]) == (None, None)


def test_a_drawdown_over_cap_is_refused_with_its_classification(
    app, session, admin_api, ledger_state
):
    waiver, line = diesel_line(session, "1000")
    draw(session, line.resource, "990", line=line)
    before = ledger_state()
    response = admin_api.post("/drawdowns", drawdown_body(line, quantity="20"))
    body = assert_problem(response, 409)
    assert body["classification"] == "over_cap"
    assert body["detail"] == (
        f"Waiver {waiver.reference} line 1 has 10 L left; this drawdown asks for 20 L."
    )
    assert ledger_state() == before
    assert used(session, line) == "990"
    assert_ledger_verifies(app)


def test_a_drawdown_up_to_the_cap_exactly_is_covered(session, admin_api):
    _waiver, line = diesel_line(session, "1000")
    draw(session, line.resource, "990", line=line)
    response = admin_api.post("/drawdowns", drawdown_body(line, quantity="10"))
    assert response.get_json()["classification"] == "covered"
    assert used(session, line) == "1000"


@pytest.mark.parametrize(
    ("status", "occurred_on", "classification"),
    [
        (WaiverStatus.REQUESTED, "2018-10-02", "pending"),
        (WaiverStatus.DRAFT, "2018-10-02", "pending"),
        (WaiverStatus.DENIED, "2018-10-02", "denied"),
        (WaiverStatus.WITHDRAWN, "2018-10-02", "denied"),
        (WaiverStatus.GRANTED, "2017-12-31", "outside_validity"),
        (WaiverStatus.GRANTED, "2019-01-01", "outside_validity"),
    ],
)
def test_a_drawdown_on_a_waiver_that_does_not_allow_it_is_refused(
    app, session, admin_api, ledger_state, status, occurred_on, classification
):
    granted = "1000" if status is WaiverStatus.GRANTED else None
    waiver, line = diesel_line(session, granted, status=status)
    before = ledger_state()
    response = admin_api.post("/drawdowns", drawdown_body(line, occurred_on=occurred_on))
    body = assert_problem(response, 409)
    assert body["classification"] == classification
    assert waiver.reference in body["detail"]
    assert ledger_state() == before
    assert_ledger_verifies(app)


@pytest.mark.parametrize(("code", "control"), [("diesel", "capped"), ("steel", "prohibited")])
def test_a_controlled_resource_drawn_without_a_waiver_is_refused_as_uncovered(
    session, admin_api, ledger_state, code, control
):
    make_resource(session)
    make_steel(session)
    before = ledger_state()
    unit = "t" if code == "steel" else "L"
    response = admin_api.post("/drawdowns", drawdown_body(None, resource=code, unit=unit))
    body = assert_problem(response, 409)
    assert body["classification"] == "uncovered"
    assert f"is {control}" in body["detail"]
    assert ledger_state() == before


def test_an_override_reason_records_a_refused_drawdown_flagged(app, session, admin_api):
    _waiver, line = diesel_line(session, "1000")
    draw(session, line.resource, "990", line=line)
    request = drawdown_body(line, quantity="20", override_reason="Generator failure; MOU told")
    response = admin_api.post("/drawdowns", request)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["classification"], body["flagged"]) == ("over_cap", True)
    assert body["override_reason"] == "Generator failure; MOU told"
    assert used(session, line) == "1010"
    assert_ledger_verifies(app)


def test_a_blank_override_reason_does_not_override(session, admin_api, ledger_state):
    _waiver, line = diesel_line(session, "10")
    before = ledger_state()
    response = admin_api.post("/drawdowns", drawdown_body(line, override_reason="   "))
    assert assert_problem(response, 409)["classification"] == "over_cap"
    assert ledger_state() == before


def test_a_superuser_administrator_may_record_drawdowns(session, api_as):
    api = api_as("admin", superuser=True)
    _waiver, line = diesel_line(session)
    assert api.post("/drawdowns", drawdown_body(line)).status_code == 201


def test_a_reviewer_cannot_record_or_reverse_drawdowns(session, reviewer_api, ledger_state):
    _waiver, line = diesel_line(session)
    entry = draw(session, line.resource, "10", line=line)
    before = ledger_state()
    assert_problem(reviewer_api.post("/drawdowns", drawdown_body(line)), 403)
    assert_problem(reviewer_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "x"}), 403)
    assert ledger_state() == before


# --- reversals ----------------------------------------------------------------------------


def test_a_reversal_records_the_negative_entry_and_gives_the_quantity_back(app, session, admin_api):
    waiver, line = diesel_line(session, "1000")
    entry = admin_api.post("/drawdowns", drawdown_body(line, quantity="300")).get_json()
    response = admin_api.post(f"/drawdowns/{entry['id']}/reversal", {"reason": "Typed twice"})
    assert response.status_code == 201, response.get_json()
    reversal = response.get_json()
    assert set(reversal) >= ENTRY_KEYS
    assert reversal["id"] != entry["id"] and reversal["hash"] != entry["hash"]
    assert reversal["reverses_id"] == entry["id"]
    assert (reversal["quantity"], reversal["base_quantity"]) == ("-300", "-300")
    same = ("resource", "unit", "occurred_on", "waiver_line_id", "classification")
    assert {key: reversal[key] for key in same} == {key: entry[key] for key in same}
    assert reversal["flagged"] is False
    assert session.get(DrawdownEntry, reversal["id"]).reversal_reason == "Typed twice"
    line_out = admin_api.get(f"/waivers/{waiver.id}").get_json()["lines"][0]
    assert (line_out["used"], line_out["remaining"]) == ("0", "1000")
    assert_ledger_verifies(app)


def test_an_entry_cannot_be_reversed_twice(app, session, admin_api, ledger_state):
    _waiver, line = diesel_line(session)
    entry = draw(session, line.resource, "10", line=line)
    assert admin_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "a"}).status_code == 201
    before = ledger_state()
    body = assert_problem(admin_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "b"}), 409)
    assert body["detail"] == f"Entry {entry.seq} was already reversed by entry {entry.seq + 1}."
    assert ledger_state() == before
    assert used(session, line) == "0"
    assert_ledger_verifies(app)


def test_a_reversal_cannot_itself_be_reversed(app, session, admin_api, ledger_state):
    _waiver, line = diesel_line(session)
    entry = draw(session, line.resource, "10", line=line)
    reversal = admin_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "a"}).get_json()
    before = ledger_state()
    response = admin_api.post(f"/drawdowns/{reversal['id']}/reversal", {"reason": "b"})
    body = assert_problem(response, 409)
    assert "itself a reversal" in body["detail"]
    assert ledger_state() == before
    assert used(session, line) == "0"
    assert_ledger_verifies(app)


def test_reversing_an_unknown_entry_is_a_404_problem(admin_api, ledger_state):
    before = ledger_state()
    body = assert_problem(admin_api.post("/drawdowns/999999/reversal", {"reason": "x"}), 404)
    assert body["detail"] == "No ledger entry has the id 999999."
    for entry_id in (2**40, 2**63, 10**30):  # past the INTEGER range: no route takes it
        assert_problem(admin_api.post(f"/drawdowns/{entry_id}/reversal", {"reason": "x"}), 404)
    assert ledger_state() == before


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({}, "This field is required."),
        ({"reason": "   "}, "Must not be empty."),
        ({"reason": "x" * 100_000}, "Must have at most 2000 characters."),
        ({"reason": ["typo"]}, "Must be a string."),
    ],
)
def test_a_reversal_needs_a_reason(session, admin_api, ledger_state, request_body, message):
    _waiver, line = diesel_line(session)
    entry = draw(session, line.resource, "10", line=line)
    before = ledger_state()
    response = admin_api.post(f"/drawdowns/{entry.id}/reversal", request_body)
    assert assert_problem(response, 422)["errors"] == {"reason": [message]}
    assert ledger_state() == before


def test_a_drawdown_without_a_waiver_can_be_reversed(session, admin_api):
    rice = make_rice(session)
    entry = draw(session, rice, "40")
    response = admin_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "Wrong day"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["quantity"], body["waiver_line_id"], body["reverses_id"]) == (
        "-40",
        None,
        entry.id,
    )


def test_a_waiver_line_stays_with_its_own_resource(session, admin_api, ledger_state):
    diesel = make_resource(session)
    rice = make_rice(session)
    waiver = make_waiver(
        session, [(diesel, "L", "1000", "1000"), (rice, "kg", "1000", "1000")], valid_until=None
    )
    rice_line = session.scalar(select(WaiverLine).filter_by(waiver=waiver, resource=rice))
    before = ledger_state()
    request = drawdown_body(rice_line, occurred_on=date(2018, 10, 3).isoformat())
    body = assert_problem(admin_api.post("/drawdowns", request), 422)
    assert body["errors"] == {
        "waiver_line_id": [f"Waiver {waiver.reference} line 2 is for Rice, not Diesel."]
    }
    assert ledger_state() == before
