"""A petroleum product created through the API without a barrels-per-tonne factor still has
one (its kind's UNSD default), so the UN petroleum report works for everyone."""

from __future__ import annotations

from office.auth.permissions import Role
from office.waivers.services import find_resource
from tests.api.conftest import assert_problem
from tests.conftest import log_in
from tests.factories import make_user, make_waiver


def test_a_diesel_created_through_the_api_without_a_factor_leaves_the_petroleum_report_working(
    client, session, reviewer_api, admin_api
):
    created = reviewer_api.post(
        "/resources",
        {"code": "diesel", "name": "Diesel", "hs_code": "2710.19", "unit": "L"},
    )
    assert created.status_code == 201, created.get_json()
    diesel = find_resource(session, "diesel")
    line = make_waiver(session, [(diesel, "L", "10000", "10000")]).lines[0]
    drawn = admin_api.post(
        "/drawdowns",
        {
            "resource": "diesel",
            "quantity": "1000",
            "unit": "L",
            "occurred_on": "2018-10-10",
            "waiver_line_id": line.id,
            "purpose": "fuel",
        },
    )
    assert drawn.status_code == 201, drawn.get_json()

    browser = log_in(client, make_user(session, Role.ADMIN))
    page = browser.get("/operations/petroleum?start=2018-09-28")

    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    text = page.get_data(as_text=True)
    # 1,000 L = 6.29 bbl = 0.870 t at the UNSD's 7.23 bbl/t for gas/diesel oil
    assert "0.87" in text and "6.29" in text
    assert "7.23, UNSD default for gas/diesel oil" in text


def test_a_resource_is_created_with_its_kind_and_says_which_factor_it_converts_by(
    reviewer_api,
):
    request = {"code": "kerosene", "name": "Kerosene", "hs_code": "2710.19", "unit": "L"}

    kerosene = reviewer_api.post("/resources", {**request, "petroleum_kind": "kerosene"})
    own = reviewer_api.post("/resources", {**request, "code": "jet", "barrels_per_tonne": "7.9"})
    rice = reviewer_api.post(
        "/resources", {"code": "rice", "name": "Rice", "hs_code": "1006.30", "unit": "kg"}
    )

    assert kerosene.status_code == 201, kerosene.get_json()
    factors = ("petroleum_kind", "barrels_per_tonne", "effective_barrels_per_tonne")
    shown = [
        tuple(body[key] for key in (*factors, "barrels_per_tonne_is_default"))
        for body in (kerosene.get_json(), own.get_json(), rice.get_json())
    ]
    assert shown == [
        ("kerosene", None, "7.77", True),
        ("gas_diesel_oil", "7.9", "7.9", False),  # the kind its HS code names; its own factor
        (None, None, None, False),
    ]
    listed = {item["code"]: item for item in reviewer_api.get("/resources").get_json()["items"]}
    assert listed["kerosene"]["effective_barrels_per_tonne"] == "7.77"
    assert listed["kerosene"]["barrels_per_tonne_is_default"] is True


def test_an_unknown_kind_is_refused_naming_the_field(reviewer_api):
    request = {"code": "naphtha", "name": "Naphtha", "hs_code": "2710.12", "unit": "L"}

    response = reviewer_api.post("/resources", {**request, "petroleum_kind": "naphtha"})

    body = assert_problem(response, 422)
    assert list(body["errors"]) == ["petroleum_kind"]
