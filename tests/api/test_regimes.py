"""The regimes through the API: each with its rules, a resource's control under each with what
decided it, and a waiver's regime and standing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from office.waivers import regimes
from office.waivers.models import Resource, Waiver
from tests.api.conftest import assert_problem
from tests.factories import NOW, make_resource

LAPTOP = {"code": "laptop", "name": "Laptop computers", "hs_code": "8471.30", "unit": "piece"}


def test_the_regimes_are_listed_in_screening_order_with_their_rules(admin_api, every_regime):
    response = admin_api.get("/regimes")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(r["code"], r["position"], r["in_force"]) for r in items] == [
        ("un", 1, True),
        ("rok", 2, True),
        ("us", 3, True),
    ]
    un, rok, us = items
    assert {
        "prefix": "2710",
        "control": "capped",
        "note": "UNSCR 2397 op. 5: refined petroleum",
    } in un["rules"]
    assert (rok["rules"], rok["default_control"], rok["us_content_rule"]) == (
        [],
        "approval_required",
        False,
    )
    assert (us["name"], us["name_ko"]) == (
        "US Export Administration Regulations",
        "미국 수출관리규정 (EAR)",
    )
    assert (us["us_content_rule"], us["us_content_threshold"]) == (True, "10")
    assert us["note"].startswith("A licence for items of US origin")
    assert [rule["prefix"] for rule in us["rules"]] == sorted(r["prefix"] for r in us["rules"])


def test_a_regime_changed_shows_in_the_list(session, reviewer_api):
    us = regimes.regime_by_code(session, "us")
    regimes.update_regime(
        session,
        us,
        name_en=us.name_en,
        name_ko=us.name_ko,
        in_force=False,
        default_control="approval_required",
        us_content_threshold="25",
        note="Changed.",
        actor=None,
        now=NOW,
    )
    session.commit()
    listed = {r["code"]: r for r in reviewer_api.get("/regimes").get_json()["items"]}
    assert (listed["us"]["in_force"], listed["us"]["us_content_threshold"]) == (False, "25")
    assert listed["us"]["note"] == "Changed."


def test_only_ledger_readers_list_the_regimes(api_as, anonymous_api):
    assert_problem(anonymous_api.get("/regimes"), 401)
    assert_problem(api_as("scheduler").get("/regimes"), 403)


@pytest.mark.parametrize(
    ("origin", "us_content", "us_control"),
    [
        ("CN", "8", {"control": "none", "basis": "not_subject", "rule_prefix": None}),
        ("CN", 12.5, {"control": "approval_required", "basis": "default", "rule_prefix": None}),
        ("us", "0", {"control": "approval_required", "basis": "default", "rule_prefix": None}),
    ],
)
def test_a_new_resource_is_determined_under_every_regime(
    session, reviewer_api, every_regime, origin, us_content, us_control
):
    response = reviewer_api.post(
        "/resources", {**LAPTOP, "origin": origin, "us_content_percent": us_content}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["origin"], body["us_content_percent"]) == (origin.upper(), str(us_content))
    assert body["controls"] == [
        {"regime": "un", "control": "prohibited", "basis": "rule", "rule_prefix": "84"},
        {"regime": "rok", "control": "approval_required", "basis": "default", "rule_prefix": None},
        {"regime": "us", **us_control},
    ]
    assert body["control"] == "prohibited"  # the UN regime's, as before
    listed = {item["code"]: item for item in reviewer_api.get("/resources").get_json()["items"]}
    assert listed["laptop"] == body


def test_a_resource_given_no_origin_is_korean_with_no_us_content(reviewer_api):
    body = reviewer_api.post("/resources", LAPTOP).get_json()
    assert (body["origin"], body["us_content_percent"]) == ("KR", "0")
    assert body["controls"][2]["basis"] == "not_subject"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"origin": "USA"}, "origin", "The origin is a two-letter country code (ISO 3166)"),
        ({"origin": "k1"}, "origin", "The origin is a two-letter country code (ISO 3166)"),
        ({"origin": None}, "origin", "Must be a string."),
        ({"us_content_percent": 101}, "us_content_percent", "Enter a share in percent"),
        ({"us_content_percent": "-5"}, "us_content_percent", "Enter a share in percent"),
        ({"us_content_percent": "8.125"}, "us_content_percent", "Enter a share in percent"),
        ({"us_content_percent": "lots"}, "us_content_percent", "Must be a finite decimal"),
    ],
)
def test_a_bad_origin_or_us_content_is_refused_naming_the_field(
    session, reviewer_api, changes, field, message
):
    count = session.scalar(select(func.count()).select_from(Resource))
    body = assert_problem(reviewer_api.post("/resources", {**LAPTOP, **changes}), 422)
    assert list(body["errors"]) == [field]
    assert body["errors"][field][0].startswith(message)
    assert session.scalar(select(func.count()).select_from(Resource)) == count


def test_a_us_content_written_as_an_exponent_reads_as_its_value(reviewer_api):
    raw = (
        '{"code": "server", "name": "Server", "hs_code": "8471.50", "unit": "piece", '
        '"origin": "CN", "us_content_percent": 1e2}'
    )
    response = reviewer_api.post("/resources", raw=raw)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["us_content_percent"] == "100"


# --- waivers ------------------------------------------------------------------------------


def waiver(**changes):
    return {
        "reference": "MOU-2018-B1",
        "authority": "rok_mou_blanket",
        "title": "Running the office",
        "status": "granted",
        "valid_from": "2018-01-01",
        "valid_until": "2018-12-31",
        "lines": [{"resource": "diesel", "unit": "L", "requested_quantity": 1000}],
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "regime", "standing"),
    [
        ({}, "rok", True),  # a blanket approval stands unless said otherwise
        ({"standing": None}, "rok", True),
        ({"standing": False}, "rok", False),
        ({"authority": "rok_mou_individual"}, "rok", False),
        ({"authority": "un_1718_committee", "standing": True}, "un", True),
        ({"authority": "us_government"}, "us", False),
    ],
)
def test_a_waiver_is_under_its_authoritys_regime_and_standing_as_asked(
    session, reviewer_api, changes, regime, standing
):
    make_resource(session)
    response = reviewer_api.post("/waivers", waiver(**changes))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["regime"], body["standing"]) == (regime, standing)
    assert reviewer_api.get(f"/waivers/{body['id']}").get_json() == body
    stored = session.get(Waiver, body["id"])
    assert (stored.regime.code, stored.standing) == (regime, standing)


@pytest.mark.parametrize("standing", ["yes", 1, "true"])
def test_standing_is_true_false_or_null(session, reviewer_api, standing):
    make_resource(session)
    body = assert_problem(reviewer_api.post("/waivers", waiver(standing=standing)), 422)
    assert body["errors"] == {"standing": ["Must be true or false."]}
    assert session.scalar(select(func.count()).select_from(Waiver)) == 0
