"""Bad input through the app's doors, on SQLite and PostgreSQL alike: a clear message (HTML) or a
4xx problem (API), never a server error, and nothing stored.

Findings 6 and 10 of issue #15: a NUL in a text field, ids from 2^31 on, report months 0001-01
and 9999-12, a roster field over 131,072 characters, the stock page of a tank created with
stock in it, lenient numbers and dates, and 405 answers without `Allow`.
"""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from office import create_app
from office.api.openapi import openapi_document
from office.auth.permissions import ROLE_PERMISSIONS, Permission, Role
from office.fuel import services as fuel
from office.staffing.models import StaffMember
from office.waivers.models import DrawdownEntry, Resource, Waiver
from tests.api.conftest import API, issue_token
from tests.conftest import log_in
from tests.factories import NOW, draw, make_resource, make_rice, make_user, make_waiver

CONTROL_MESSAGE = "Remove the control character"


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- ids past the database's INTEGER range ------------------------------------------------


def _rules_with_ids() -> list:
    app = create_app({"SECRET_KEY": "x" * 64, "OFFICE_DATABASE_URL": "sqlite://"})
    params = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        ids = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        if not ids:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            params.append(pytest.param(rule.rule, method, ids, id=f"{method} {rule.rule}"))
    return params


ID_RULES = _rules_with_ids()


def _path(rule: str, ids: list[str], value: object) -> str:
    path = rule
    for name in ids:
        path = path.replace(f"<int:{name}>", str(value))
    return path.replace("<kind>", "drawdown")


def test_every_html_detail_page_and_api_path_with_an_id_is_checked():
    rules = {p.values[0] for p in ID_RULES}
    assert {"/waivers/<int:waiver_id>", "/api/v1/waivers/<int:waiver_id>"} <= rules
    assert len(rules) > 30


@pytest.mark.parametrize(("rule", "method", "ids"), ID_RULES)
def test_an_id_past_the_integer_range_names_nothing_404(client, session, rule, method, ids):
    user = make_user(session, Role.ADMIN, superuser=True)
    log_in(client, user)
    headers = {"Authorization": f"Bearer {issue_token(session, user)}"}
    for big in (2**31, 2**32 - 1, 2**40, 2**63, 10**30, "9" * 5000):
        response = client.open(_path(rule, ids, big), method=method, headers=headers)
        assert response.status_code == 404, big


# --- 405 says what is allowed -------------------------------------------------------------


def test_a_405_page_names_the_methods_the_address_takes(client, session):
    log_in(client, make_user(session, Role.ADMIN))
    response = client.delete("/waivers/new")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "does not accept that kind of request" in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"]


def test_a_405_problem_names_the_methods_the_api_path_takes(client, session):
    token = issue_token(session, make_user(session, Role.ADMIN))
    response = client.put("/api/v1/drawdowns", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


# --- a NUL or another control character -----------------------------------------------------


@pytest.mark.parametrize("email", ["a\x00b@test.example", "\x00", "admin@test.example\x1b"])
def test_a_control_character_in_the_login_form_is_refused_beside_the_field(client, email):
    response = client.post("/login", data={"email": email, "password": "whatever it is"})
    assert response.status_code == 422
    assert CONTROL_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/login?next=%00",
        "/ledger/?date_from=2018-10-01%00",
        "/audit/?actor=1%00",
        "/staffing/calendar?month=2018-10%00",
        "/reviews/queue?kind=%00",
        "/deliveries/stock?resource=%00",
        "/operations/petroleum?start=%01",
    ],
)
def test_a_control_character_in_a_query_string_is_a_400_with_a_message(client, session, path):
    log_in(client, make_user(session, Role.REVIEWER, superuser=True))
    response = client.get(path)
    assert response.status_code == 400
    assert "control character" in response.get_data(as_text=True)


def test_a_control_character_in_an_api_query_is_a_400_problem(client, session):
    token = issue_token(session, make_user(session, Role.ADMIN))
    response = client.get(
        "/api/v1/drawdowns?cursor=%00", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert "control character" in response.get_json()["detail"]


def test_a_control_character_in_a_path_segment_names_nothing_404(client, session):
    log_in(client, make_user(session, Role.ADMIN))
    assert client.get("/staffing/feed/abc%00def.ics").status_code == 404
    assert client.get("/staffing/days/2018-10-01%00").status_code == 404


PERSON = {
    "name_ko": "김철수",
    "name_latin": "Kim Cheolsu",
    "side": "south",
    "category": "official",
    "agency": "통일부",
    "position": "duty_officer",
    "is_duty_qualified": "y",
    "active_from": "2018-09-14",
    "active_until": "",
}
WAIVER = {
    "reference": "MOU-2018-1105",
    "authority": "rok_mou_individual",
    "title": "Winter diesel",
    "purpose": "Heating the office",
    "valid_from": "2018-11-01",
    "valid_until": "2019-03-31",
}
RESOURCE = {
    "code": "cement",
    "name_ko": "시멘트",
    "name_en": "Cement",
    "hs_code": "2523.29",
    "unit": "kg",
    "barrels_per_tonne": "",
}


@pytest.mark.parametrize(
    ("role", "path", "data", "field", "model"),
    [
        *[
            pytest.param(Role.SCHEDULER, "/staffing/people/new", PERSON, f, StaffMember, id=f)
            for f in ("name_ko", "name_latin", "agency")
        ],
        *[
            pytest.param(Role.REVIEWER, "/waivers/new", WAIVER, f, Waiver, id=f)
            for f in ("reference", "title", "purpose")
        ],
        *[
            pytest.param(Role.REVIEWER, "/resources/", RESOURCE, f, Resource, id=f)
            for f in ("code", "name_ko", "name_en", "hs_code")
        ],
    ],
)
def test_a_nul_in_a_form_field_is_refused_beside_it_and_nothing_is_stored(
    client, session, role, path, data, field, model
):
    log_in(client, make_user(session, role))
    before = count(session, model)
    response = client.post(path, data={**data, field: f"{data[field][:3]}\x00x"})
    assert response.status_code == 422
    assert CONTROL_MESSAGE in response.get_data(as_text=True)
    assert count(session, model) == before
    # and the same form without the NUL is taken
    assert client.post(path, data=data).status_code == 302
    assert count(session, model) == before + 1


# (operation, body, text fields of the body)
def _api_cases(line_id: int, entry_id: int, waiver_id: int) -> list:
    resource = {"code": "cement", "name": "Cement", "name_ko": "시멘트", "hs_code": "2523.29"}
    waiver = {
        "reference": "MOU-2018-1106",
        "authority": "rok_mou_individual",
        "title": "Cement",
        "purpose": "Repairs",
        "lines": [{"resource": "rice", "unit": "kg", "requested_quantity": "10"}],
    }
    drawdown = {
        "resource": "rice",
        "quantity": "1",
        "unit": "kg",
        "occurred_on": "2018-10-02",
        "waiver_line_id": line_id,
        "purpose": "operation",
        "note": "note",
        "override_reason": "reason",
    }
    return [
        (Role.REVIEWER, "/resources", {**resource, "unit": "kg"}, [*resource, "unit"]),
        (Role.REVIEWER, "/waivers", waiver, ["reference", "title", "purpose"]),
        (Role.REVIEWER, "/waivers", waiver, ["lines.0.resource", "lines.0.unit"]),
        (
            Role.REVIEWER,
            f"/waivers/{waiver_id}/status",
            {"status": "granted", "effective_on": "2018-06-01", "note": "ok"},
            ["note"],
        ),
        (Role.ADMIN, "/drawdowns", drawdown, ["resource", "unit", "note", "override_reason"]),
        (Role.ADMIN, f"/drawdowns/{entry_id}/reversal", {"reason": "typo"}, ["reason"]),
    ]


def _with(body: dict, dotted: str, value: str) -> dict:
    body = json.loads(json.dumps(body))
    *parents, last = dotted.split(".")
    target = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    return body


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x85"])
def test_a_control_character_in_any_api_text_field_is_a_422_naming_it(client, session, character):
    rice = make_rice(session)
    waiver = make_waiver(session, [(rice, "kg", "500", "500")])
    entry = draw(session, rice, "10", line=waiver.lines[0])
    tokens = {r: issue_token(session, make_user(session, r)) for r in (Role.ADMIN, Role.REVIEWER)}
    entries, resources = count(session, DrawdownEntry), count(session, Resource)
    checked = 0
    for role, path, body, fields in _api_cases(waiver.lines[0].id, entry.id, waiver.id):
        for field in fields:
            original = field.split(".")[-1]
            sent = _with(body, field, f"ab{character}{original}")
            response = client.post(
                API + path, json=sent, headers={"Authorization": f"Bearer {tokens[role]}"}
            )
            assert response.status_code == 422, (path, field, response.get_data(as_text=True))
            problem = response.get_json()
            assert CONTROL_MESSAGE in " ".join(problem["errors"][field]), (path, field, problem)
            checked += 1
    assert checked == 16
    assert (count(session, DrawdownEntry), count(session, Resource)) == (entries, resources)


# --- report months outside the app's range -------------------------------------------------


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1999-12", "2100-01", "２０１８-10"])
@pytest.mark.parametrize("suffix", ["", ".pdf", ".csv"])
def test_a_report_month_outside_the_apps_range_names_nothing_404(client, session, month, suffix):
    log_in(client, make_user(session, Role.REVIEWER))
    assert client.get(f"/reviews/reports/{month}{suffix}").status_code == 404


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "２０１８-10", "2018-1"])
def test_a_calendar_month_not_written_yyyy_mm_in_range_gets_a_message(client, session, month):
    log_in(client, make_user(session, Role.SCHEDULER))
    response = client.get(f"/staffing/calendar?month={month}")
    assert response.status_code == 422
    assert "Choose a month written YYYY-MM" in response.get_data(as_text=True)


# --- the roster import --------------------------------------------------------------------

HEADER = "name_ko,name_latin,side,category,agency,position,duty_qualified,active_from,active_until"
ROW = "김철수,Kim Cheolsu,south,official,통일부,duty_officer,yes,2018-09-14,"


def _import(client, text: str):
    data = {"file": (io.BytesIO(text.encode()), "roster.csv")}
    return client.post("/staffing/people/import", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(
            "김철수," + "K" * 131_073 + ",south,official,,staff,,2018-09-14,",
            "This line has a field of more than 131,072 characters",
            id="field-over-131072-characters",
        ),
        pytest.param(
            '"김철수,Kim,south,official,,staff,,2018-09-14,' + "x" * 140_000,
            "a quote that is never closed",
            id="quote-never-closed",
        ),
        pytest.param(
            "김\x00철수,Kim Cheolsu,south,official,,staff,,2018-09-14,",
            "name_ko: Remove the control character",
            id="nul-in-a-name",
        ),
        pytest.param(
            "김철수,Kim Cheolsu,south,official,통\x1b일부,staff,,2018-09-14,",
            "agency: Remove the control character",
            id="escape-in-the-agency",
        ),
        pytest.param(
            "김철수,Kim Cheolsu,south,official,,staff,,20180914,",
            "active_from: 20180914 is not a date written YYYY-MM-DD.",
            id="basic-iso-date",
        ),
        pytest.param(
            "김철수,Kim Cheolsu,south,official,,staff,,２０１８-09-14,",
            "is not a date written YYYY-MM-DD.",
            id="full-width-date",
        ),
        pytest.param(
            "김철수,Kim Cheolsu,south,official,,staff,,0001-01-01,",
            "Enter a date between 2000-01-01 and 2099-12-31.",
            id="year-one",
        ),
    ],
)
def test_a_bad_roster_is_refused_with_its_line_and_nothing_is_imported(
    client, session, row, message
):
    log_in(client, make_user(session, Role.SCHEDULER))
    response = _import(client, f"{HEADER}\n{ROW}\n{row}\n")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(session, StaffMember) == 0


# --- the stock page of a tank created with stock in it -------------------------------------


@pytest.mark.parametrize(
    "role", [r for r in Role if Permission.VIEW_SUPPLIES in ROLE_PERMISSIONS[r]]
)
def test_the_stock_of_a_tank_opened_with_stock_shows_for_every_role(client, session, role):
    user = make_user(session, role)
    diesel = make_resource(session)
    fuel.create_tank(
        session,
        name="Generator tank",
        product=diesel,
        capacity="25000",
        tolerance="",
        location="Basement",
        opening="3000",
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    log_in(client, user)
    response = client.get(f"/deliveries/stock?resource={diesel.id}")
    assert response.status_code == 200
    assert "opening stock" in response.get_data(as_text=True)


# --- numbers and dates: ASCII digits, within range ------------------------------------------


@pytest.mark.parametrize("quantity", ["１２", "٣", "1_000", "1e3", "१२"])
def test_a_quantity_not_in_ascii_digits_is_refused_on_the_drawdown_form(client, session, quantity):
    rice = make_rice(session)
    waiver = make_waiver(session, [(rice, "kg", "500", "500")])
    log_in(client, make_user(session, Role.ADMIN))
    before = count(session, DrawdownEntry)
    form = {
        "resource": str(rice.id),
        "quantity": quantity,
        "unit": "kg",
        "occurred_on": "2018-10-02",
        "waiver_line_id": str(waiver.lines[0].id),
        "purpose": "operation",
        "action": "record",
    }
    response = client.post("/ledger/new", data=form)
    assert response.status_code == 422
    assert "Enter the quantity as a decimal number." in response.get_data(as_text=True)
    assert count(session, DrawdownEntry) == before
    assert client.post("/ledger/new", data={**form, "quantity": "12"}).status_code == 302
    assert count(session, DrawdownEntry) == before + 1


@pytest.mark.parametrize("quantity", ["１２", "٣", "1_000", "1e3", " 12", "+12"])
def test_a_quantity_string_not_in_ascii_digits_is_refused_by_the_api(client, session, quantity):
    rice = make_rice(session)
    waiver = make_waiver(session, [(rice, "kg", "500", "500")])
    token = issue_token(session, make_user(session, Role.ADMIN))
    before = count(session, DrawdownEntry)
    body = {
        "resource": "rice",
        "quantity": quantity,
        "unit": "kg",
        "occurred_on": "2018-10-02",
        "waiver_line_id": waiver.lines[0].id,
        "purpose": "operation",
    }
    response = client.post(
        f"{API}/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert "quantity" in response.get_json()["errors"]
    assert count(session, DrawdownEntry) == before


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"to": "0"}, "to"),
        ({"from": "0"}, "from"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"to": "20181031"}, "to"),
        ({"flagged": "yes"}, "flagged"),
        ({"waiver_id": "1_000"}, "waiver_id"),
        ({"limit": "１０"}, "limit"),
        ({"cursor": "99999999999999999999"}, "cursor"),
    ],
)
def test_a_lenient_api_query_parameter_is_refused_naming_it(client, session, query, parameter):
    token = issue_token(session, make_user(session, Role.ADMIN))
    response = client.get(
        f"{API}/drawdowns", query_string=query, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert parameter in response.get_json()["errors"]


def test_to_zero_is_no_longer_read_as_1970(client, session):
    rice = make_rice(session)
    draw(session, rice, "10", line=make_waiver(session, [(rice, "kg", "50", "50")]).lines[0])
    token = issue_token(session, make_user(session, Role.ADMIN))
    response = client.get(f"{API}/drawdowns?to=0", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["to"] == ["Must be a real date written YYYY-MM-DD."]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weekday_min", "１２", "Not a valid integer value."),
        ("weekday_min", "1_0", "Not a valid integer value."),
        ("applies_from", "２０１８-10-01", "Not a valid date value."),
        ("applies_from", "0001-01-01", "Enter a date between 2000-01-01 and 2099-12-31."),
    ],
)
def test_a_lenient_number_or_date_is_refused_on_a_form(client, session, field, value, message):
    log_in(client, make_user(session, Role.SCHEDULER))
    form = {
        "south-weekday_min": "3",
        "south-weekend_min": "2",
        "south-max_headcount": "20",
        "south-counted_categories": ["official"],
        "south-min_night_duty": "1",
        "south-max_consecutive_days": "14",
        "south-min_rest_days": "1",
        "south-min_stay_days": "1",
        "south-crossing_weekdays": [str(n) for n in range(7)],
        "south-applies_from": "2018-10-01",
        f"south-{field}": value,
    }
    response = client.post("/staffing/rules/south", data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


# --- the OpenAPI document says what is accepted ---------------------------------------------


def test_the_openapi_document_states_patterns_lengths_and_ranges():
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    params = {p["name"]: p["schema"] for p in doc["paths"]["/drawdowns"]["get"]["parameters"]}
    assert params["cursor"]["pattern"] == "^[1-9][0-9]{0,17}$"
    assert params["to"]["pattern"] == params["from"]["pattern"]
    assert params["waiver_id"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    for path in ("/waivers/{waiver_id}", "/drawdowns/{entry_id}/reversal"):
        operation = next(iter(doc["paths"][path].values()))
        assert operation["parameters"][0]["schema"]["maximum"] == 2**31 - 1
    reason = schemas["ReversalIn"]["properties"]["reason"]
    assert reason["minLength"] == 1 and reason["maxLength"] == 2000
    occurred = schemas["DrawdownIn"]["properties"]["occurred_on"]
    assert occurred["format"] == "date" and occurred["pattern"].startswith("^20")
    quantity = schemas["DrawdownIn"]["properties"]["quantity"]["anyOf"]
    assert {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"} in quantity
    assert schemas["DrawdownIn"]["properties"]["note"]["pattern"]
    assert schemas["ResourceIn"]["properties"]["code"]["pattern"]
    line = schemas["DrawdownIn"]["properties"]["waiver_line_id"]["anyOf"][0]
    assert line["maximum"] == 2**31 - 1
