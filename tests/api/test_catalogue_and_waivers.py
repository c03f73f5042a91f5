"""Resources and waivers through the API: their shapes, the HS rules, status changes."""

from datetime import date

import pytest
from sqlalchemy import func, select

from office.waivers.models import Resource, Waiver, WaiverLine, WaiverStatus
from tests.api.conftest import assert_problem, diesel_line, office_tomorrow
from tests.factories import draw, make_resource, make_rice, make_steel, make_waiver

RESOURCE_KEYS = {
    "code",
    "name",
    "hs_code",
    "unit",
    "control",
    "name_ko",
    "barrels_per_tonne",
    "origin",
    "us_content_percent",
    "controls",
}
WAIVER_KEYS = {
    "id",
    "reference",
    "authority",
    "regime",
    "standing",
    "title",
    "status",
    "valid_from",
    "valid_until",
    "lines",
}
LINE_KEYS = {
    "id",
    "resource",
    "unit",
    "requested_quantity",
    "granted_quantity",
    "used",
    "remaining",
}


def waiver_request(**changes):
    body = {
        "reference": "MOU-2018-0814",
        "authority": "rok_mou_individual",
        "title": "Fuel for the office generators",
        "status": "granted",
        "valid_from": "2018-08-14",
        "valid_until": "2018-12-31",
        "lines": [
            {
                "resource": "diesel",
                "unit": "L",
                "requested_quantity": "80000",
                "granted_quantity": 60000.5,
            },
            {"resource": "rice", "unit": "t", "requested_quantity": 2},
        ],
    }
    return {**body, **changes}


# --- resources ----------------------------------------------------------------------------


def test_resources_are_listed_with_their_control_class(session, reviewer_api):
    make_resource(session)
    make_steel(session)
    make_rice(session)
    response = reviewer_api.get("/resources")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert all(set(item) >= RESOURCE_KEYS for item in items)
    by_code = {item["code"]: item for item in items}
    assert by_code["diesel"] == {
        "code": "diesel",
        "name": "Diesel",
        "name_ko": "diesel",
        "hs_code": "271019",
        "unit": "L",
        "control": "capped",
        "barrels_per_tonne": "7.23",
        "petroleum_kind": "gas_diesel_oil",
        "effective_barrels_per_tonne": "7.23",
        "barrels_per_tonne_is_default": False,
        "origin": "KR",
        "us_content_percent": "0",
        "controls": [
            {"regime": "un", "control": "capped", "basis": "rule", "rule_prefix": "2710"},
            {
                "regime": "rok",
                "control": "approval_required",
                "basis": "default",
                "rule_prefix": None,
            },
            {"regime": "us", "control": "none", "basis": "not_subject", "rule_prefix": None},
        ],
    }
    assert (by_code["steel"]["control"], by_code["steel"]["unit"]) == ("prohibited", "t")
    assert (by_code["rice"]["control"], by_code["rice"]["barrels_per_tonne"]) == ("none", None)
    assert [item["code"] for item in items] == sorted(by_code)


@pytest.mark.parametrize(
    ("hs_code", "control"),
    [
        ("2710.19", "capped"),
        ("2710", "capped"),
        ("2710.12.1000", "capped"),
        ("2711.12", "none"),  # gases are not refined petroleum
        ("7101.10", "none"),  # chapter 71, just below the banned metals
        ("7208.10", "prohibited"),  # chapter 72: iron and steel
        ("8703.23", "prohibited"),  # vehicles
        ("8903.10", "prohibited"),  # chapter 89, the last banned one
        ("9001.10", "none"),  # chapter 90, just above
        ("1006.30", "none"),
    ],
)
def test_a_new_resource_takes_its_control_class_from_the_hs_rules(reviewer_api, hs_code, control):
    request = {"code": "thing", "name": "Thing", "hs_code": hs_code, "unit": "kg"}
    response = reviewer_api.post("/resources", request)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= RESOURCE_KEYS
    assert body["control"] == control
    assert (body["code"], body["name"], body["unit"]) == ("thing", "Thing", "kg")
    listed = {item["code"]: item for item in reviewer_api.get("/resources").get_json()["items"]}
    assert listed["thing"]["control"] == control


def test_a_new_resource_keeps_its_korean_name_and_conversion_factor(session, reviewer_api):
    request = {
        "code": "gasoline",
        "name": "Gasoline",
        "name_ko": "휘발유",
        "hs_code": "2710.12",
        "unit": "L",
        "barrels_per_tonne": 8.5,
    }
    response = reviewer_api.post("/resources", request)
    assert response.status_code == 201
    assert response.get_json()["name_ko"] == "휘발유"
    assert response.get_json()["barrels_per_tonne"] == "8.5"
    stored = session.scalar(select(Resource).where(Resource.code == "gasoline"))
    assert (stored.name_ko, str(stored.barrels_per_tonne.normalize())) == ("휘발유", "8.5")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "diesel"}, "code"),  # taken
        ({"code": "No Spaces"}, "code"),
        ({"hs_code": "27"}, "hs_code"),
        ({"hs_code": "abcd"}, "hs_code"),
        ({"unit": "gallon"}, "unit"),
        ({"name": None}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_resource_is_refused_naming_the_field(session, reviewer_api, changes, field):
    make_resource(session)
    count = session.scalar(select(func.count()).select_from(Resource))
    request = {"code": "kerosene", "name": "Kerosene", "hs_code": "2710.19", "unit": "L"}
    response = reviewer_api.post("/resources", {**request, **changes})
    body = assert_problem(response, 422)
    assert list(body["errors"]) == [field]
    assert body["errors"][field][0]
    assert session.scalar(select(func.count()).select_from(Resource)) == count


def test_a_resource_missing_its_fields_lists_each_one(reviewer_api):
    body = assert_problem(reviewer_api.post("/resources", {}), 422)
    assert body["errors"] == {
        field: ["This field is required."] for field in ("code", "name", "hs_code", "unit")
    }


# --- waivers ------------------------------------------------------------------------------


def test_a_waiver_is_created_with_its_lines(session, reviewer_api):
    make_resource(session)
    make_rice(session)
    response = reviewer_api.post("/waivers", waiver_request())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= WAIVER_KEYS
    assert response.headers["Location"].endswith(f"/api/v1/waivers/{body['id']}")
    assert {key: body[key] for key in WAIVER_KEYS - {"id", "lines"}} == {
        "reference": "MOU-2018-0814",
        "authority": "rok_mou_individual",
        "regime": "rok",
        "standing": False,
        "title": "Fuel for the office generators",
        "status": "granted",
        "valid_from": "2018-08-14",
        "valid_until": "2018-12-31",
    }
    assert len(body["lines"]) == 2  # each line once
    diesel, rice = body["lines"]
    assert set(diesel) >= LINE_KEYS
    assert {key: diesel[key] for key in LINE_KEYS - {"id"}} == {
        "resource": "diesel",
        "unit": "L",
        "requested_quantity": "80000",
        "granted_quantity": "60000.5",
        "used": "0",
        "remaining": "60000.5",
    }
    # Granting a line without its own granted quantity grants what was asked.
    assert (rice["resource"], rice["unit"], rice["granted_quantity"]) == ("rice", "t", "2")
    waiver = session.get(Waiver, body["id"])
    assert [line.id for line in session.scalars(select(WaiverLine).filter_by(waiver=waiver))] == [
        diesel["id"],
        rice["id"],
    ]


def test_a_waiver_reads_back_as_it_was_created(session, reviewer_api):
    make_resource(session)
    make_rice(session)
    created = reviewer_api.post("/waivers", waiver_request()).get_json()
    response = reviewer_api.get(f"/waivers/{created['id']}")
    assert response.status_code == 200
    assert response.get_json() == created


def test_a_draft_waiver_has_no_cap_yet(session, reviewer_api):
    make_resource(session)
    request = waiver_request(
        status="draft", lines=[{"resource": "diesel", "unit": "bbl", "requested_quantity": "10"}]
    )
    body = reviewer_api.post("/waivers", request).get_json()
    assert body["status"] == "draft"
    line = body["lines"][0]
    assert (line["granted_quantity"], line["used"], line["remaining"]) == (None, "0", None)


def test_a_waiver_line_reports_use_in_its_own_unit(session, reviewer_api):
    rice = make_rice(session)  # counted in kg
    waiver = make_waiver(session, [(rice, "t", "2", "2")])
    draw(session, rice, "500", unit="kg", line=waiver.lines[0])
    draw(session, rice, "0.25", unit="t", line=waiver.lines[0])
    line = reviewer_api.get(f"/waivers/{waiver.id}").get_json()["lines"][0]
    assert (line["unit"], line["granted_quantity"]) == ("t", "2")
    assert (line["used"], line["remaining"]) == ("0.75", "1.25")


def test_an_unknown_waiver_is_a_404_problem(reviewer_api):
    body = assert_problem(reviewer_api.get("/waivers/999999"), 404)
    assert body["detail"] == "No waiver has the id 999999."


@pytest.mark.parametrize("waiver_id", [0, 2**31 - 1, 2**31, 2**40, 2**63, 10**30])
def test_a_waiver_id_beyond_any_row_is_a_404_problem(reviewer_api, waiver_id):
    body = assert_problem(reviewer_api.get(f"/waivers/{waiver_id}"), 404)
    if waiver_id < 2**31:
        assert body["detail"] == f"No waiver has the id {waiver_id}."
    # else the id is past the database's INTEGER range: no route takes it, as for any address
    request = {"status": "granted", "effective_on": "2018-06-01"}
    assert_problem(reviewer_api.post(f"/waivers/{waiver_id}/status", request), 404)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": {"resource": "diesel"}}, "lines"),
        (
            {"lines": [{"resource": "coal", "unit": "t", "requested_quantity": 1}]},
            "lines.0.resource",
        ),
        (
            {"lines": [{"resource": "diesel", "unit": "gal", "requested_quantity": 1}]},
            "lines.0.unit",
        ),
        pytest.param(
            {"lines": [{"resource": "diesel", "unit": "L", "requested_quantity": "-1"}]},
            "lines.0.requested_quantity",
        ),
        pytest.param(
            {"lines": [{"resource": "diesel", "unit": "kWh", "requested_quantity": "1"}]},
            "lines.0.unit",
        ),
        pytest.param(
            {
                "lines": [
                    {
                        "resource": "diesel",
                        "unit": "L",
                        "requested_quantity": "1",
                        "granted_quantity": "2",
                    }
                ]
            },
            "lines.0.granted_quantity",
        ),
        ({"lines": [{"resource": "diesel", "unit": "L"}]}, "lines.0.requested_quantity"),
        ({"valid_from": "2018-02-30"}, "valid_from"),
        ({"valid_until": "2018-01-01"}, "valid_until"),  # before valid_from
        ({"authority": "someone"}, "authority"),
        ({"status": "approved"}, "status"),
        ({"reference": "x" * 100_000}, "reference"),
        ({"title": ""}, "title"),
    ],
)
def test_an_invalid_waiver_is_refused_naming_the_field(session, reviewer_api, changes, field):
    make_resource(session)
    response = reviewer_api.post("/waivers", waiver_request(**{"lines": [], **changes}))
    body = assert_problem(response, 422)
    assert field in body["errors"]
    assert session.scalar(select(func.count()).select_from(Waiver)) == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            {"resource": "diesel", "unit": "L", "requested_quantity": "-1"},
            "The quantity must be greater than zero.",
        ),
        (
            {"resource": "diesel", "unit": "kWh", "requested_quantity": "1"},
            "Line 1: kWh does not convert to L, the unit of diesel.",
        ),
        (
            {"resource": "diesel", "unit": "L", "requested_quantity": "1", "granted_quantity": 2},
            "Line 1: the granted quantity cannot exceed the requested 1 L.",
        ),
    ],
)
def test_a_waiver_line_the_rules_refuse_is_a_422_problem(session, reviewer_api, line, message):
    make_resource(session)
    body = assert_problem(reviewer_api.post("/waivers", waiver_request(lines=[line])), 422)
    assert body["detail"] == message
    assert [message] in body["errors"].values()
    assert session.scalar(select(func.count()).select_from(Waiver)) == 0


def test_a_waiver_reference_cannot_be_used_twice(session, reviewer_api):
    make_resource(session)
    make_rice(session)
    assert reviewer_api.post("/waivers", waiver_request()).status_code == 201
    body = assert_problem(reviewer_api.post("/waivers", waiver_request()), 422)
    assert body["errors"] == {
        "reference": ["A waiver with the reference MOU-2018-0814 already exists."]
    }


# --- status changes -----------------------------------------------------------------------


def test_granting_a_requested_waiver_fills_its_cap(session, reviewer_api):
    waiver, _line = diesel_line(session, None, status=WaiverStatus.REQUESTED)
    response = reviewer_api.post(
        f"/waivers/{waiver.id}/status",
        {"status": "granted", "effective_on": "2018-06-01", "note": "Letter 2018-06-01"},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["id"], body["status"]) == (waiver.id, "granted")
    assert body["lines"][0]["granted_quantity"] == "1000"
    assert body["lines"][0]["remaining"] == "1000"
    assert reviewer_api.get(f"/waivers/{waiver.id}").get_json() == body


def test_a_status_transition_not_allowed_is_a_409_problem(session, reviewer_api):
    waiver, _line = diesel_line(session, None, status=WaiverStatus.DRAFT)
    response = reviewer_api.post(
        f"/waivers/{waiver.id}/status", {"status": "granted", "effective_on": "2018-06-01"}
    )
    body = assert_problem(response, 409)
    assert waiver.reference in body["detail"]
    session.refresh(waiver)
    assert waiver.status is WaiverStatus.DRAFT


def test_a_revoked_waiver_cannot_be_granted_again(session, reviewer_api):
    waiver, _line = diesel_line(session)
    revoke = {"status": "revoked", "effective_on": "2018-11-01"}
    assert reviewer_api.post(f"/waivers/{waiver.id}/status", revoke).status_code == 200
    again = {"status": "granted", "effective_on": "2018-11-02"}
    assert_problem(reviewer_api.post(f"/waivers/{waiver.id}/status", again), 409)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"effective_on": "tomorrow"}, "effective_on"),
        ({"effective_on": "2018-02-30"}, "effective_on"),
        ({"effective_on": None}, "effective_on"),
        ({"status": "approved"}, "status"),
        ({"note": "x" * 100_000}, "note"),
    ],
)
def test_an_invalid_status_change_is_refused_naming_the_field(
    session, reviewer_api, changes, field
):
    waiver, _line = diesel_line(session, None, status=WaiverStatus.REQUESTED)
    request = {"status": "granted", "effective_on": "2018-06-01", **changes}
    body = assert_problem(reviewer_api.post(f"/waivers/{waiver.id}/status", request), 422)
    assert field in body["errors"]
    session.refresh(waiver)
    assert waiver.status is WaiverStatus.REQUESTED


def test_a_status_change_cannot_take_effect_in_the_future(session, reviewer_api):
    waiver, _line = diesel_line(session, None, status=WaiverStatus.REQUESTED)
    request = {"status": "granted", "effective_on": office_tomorrow().isoformat()}
    body = assert_problem(reviewer_api.post(f"/waivers/{waiver.id}/status", request), 422)
    assert list(body["errors"]) == ["effective_on"]


def test_a_status_change_of_an_unknown_waiver_is_a_404_problem(reviewer_api):
    request = {"status": "granted", "effective_on": date(2018, 6, 1).isoformat()}
    assert_problem(reviewer_api.post("/waivers/999999/status", request), 404)
