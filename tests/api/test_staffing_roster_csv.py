"""The roster as a CSV file through the API: exported as the roster's page exports it, and
imported as the page imports one (the same service): everyone added, or nobody, with every
refused line listed by its number."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.staffing import services
from office.staffing.models import Side, StaffMember
from tests.api.conftest import assert_problem
from tests.factories import audit_events, make_person

HEADER = "name_ko,name_latin,side,category,agency,position,duty_qualified,active_from,active_until"
KIM = "김철수,Kim Cheolsu,south,official,통일부,duty_officer,yes,2018-09-14,"
RI = "리광혁,,north,official,조국평화통일위원회,staff,no,2018-09-14,"
PARK = "박기술,Park Gisul,south,support,KT,technician,,2018-09-14,2018-12-31"


def roster_csv(*rows: str, header: str = HEADER) -> dict[str, str]:
    return {"csv": "\n".join([header, *rows]) + "\n"}


def people(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(StaffMember.name_ko).order_by(StaffMember.id)))


@pytest.fixture
def scheduler_api(api_as):
    return api_as(Role.SCHEDULER)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SCHEDULER, Role.REVIEWER])
def test_every_role_exports_the_roster_as_the_page_does(api_as, session, role):
    make_person(session, name="김철수")
    make_person(session, Side.NORTH, name="리광혁")

    response = api_as(role).get("/staffing/people.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="roster.csv"'
    text = response.get_data(as_text=True)
    assert text == "\ufeff" + services.export_roster(session)
    assert text.splitlines()[0] == "\ufeff" + HEADER
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["리광혁", "김철수"]


def test_the_export_reads_back_in_once_the_roster_is_empty(scheduler_api, session):
    make_person(session, name="=SUM(A1)")  # made inert on the way out, restored on the way in
    exported = scheduler_api.get("/staffing/people.csv").get_data(as_text=True)
    session.execute(StaffMember.__table__.delete())
    session.commit()

    response = scheduler_api.post("/staffing/people/import", {"csv": exported.lstrip("\ufeff")})

    assert response.status_code == 201, response.get_json()
    assert [p["name_ko"] for p in response.get_json()["items"]] == ["=SUM(A1)"]


def test_a_scheduler_imports_a_roster_csv(scheduler_api, session):
    response = scheduler_api.post("/staffing/people/import", roster_csv(KIM, RI, PARK))

    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == "/api/v1/staffing/people"
    added = response.get_json()["items"]
    assert [(p["name_ko"], p["side"], p["is_duty_qualified"]) for p in added] == [
        ("김철수", "south", True),
        ("리광혁", "north", False),
        ("박기술", "south", False),
    ]
    assert added[2]["active_until"] == "2018-12-31"
    assert people(session) == ["김철수", "리광혁", "박기술"]
    assert [(e.actor_id, e.detail["rows"]) for e in audit_events(session, "staff.imported")] == [
        (scheduler_api.user.id, 3)
    ]


def test_a_refused_import_lists_every_line_and_adds_nobody(scheduler_api, session):
    kim = make_person(session, name="김철수")
    already = f"김철수,{kim.name_latin},south,official,,staff,no,2018-09-14,"
    bad_side = "한수아,Han Sua,east,official,,staff,no,2018-09-14,"
    no_latin = "한지민,,south,official,,staff,no,2018-09-14,"

    response = scheduler_api.post(
        "/staffing/people/import",
        roster_csv(PARK, already, bad_side, no_latin, PARK),
    )

    body = assert_problem(response, 422)
    assert body["detail"] == "The file has 4 errors; nothing was imported."
    assert body["errors"] == {"csv": [body["detail"]]}
    assert body["rejected_lines"] == [
        {"line": 3, "message": "김철수 is already on the roster."},
        {"line": 4, "message": "side: east is not one of south, north."},
        {"line": 5, "message": "Enter the name in Latin letters, as in the passport."},
        {"line": 6, "message": "박기술 appears twice (also on line 2)."},
    ]
    assert people(session) == ["김철수"]
    assert audit_events(session, "staff.imported") == []


def test_a_file_without_the_required_columns_is_refused_on_its_header(scheduler_api, session):
    response = scheduler_api.post(
        "/staffing/people/import", roster_csv("김철수,south", header="name_ko,side")
    )

    body = assert_problem(response, 422)
    assert body["rejected_lines"] == [
        {"line": 1, "message": "Missing columns: category, position, active_from."}
    ]
    assert people(session) == []


def test_import_refusals_come_in_korean_when_asked(scheduler_api, session):
    response = scheduler_api.client.post(
        "/api/v1/staffing/people/import",
        json=roster_csv("한수아,Han Sua,east,official,,staff,no,2018-09-14,"),
        headers={**scheduler_api.headers, "Accept-Language": "ko"},
    )

    body = assert_problem(response, 422)
    assert "nothing was imported" not in body["detail"]
    assert body["rejected_lines"][0]["line"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"csv": ""},
        {"csv": 12},
        {"csv": HEADER + "\n김철수\x00,Kim,south"},
        {"csv": HEADER, "file": "x"},
    ],
)
def test_a_malformed_import_is_refused_beside_its_field(scheduler_api, session, body):
    response = scheduler_api.post("/staffing/people/import", body)

    errors = assert_problem(response, 422)["errors"]
    assert set(errors) <= {"csv", "file"} and errors
    assert "rejected_lines" not in response.get_json()
    assert people(session) == []


def test_a_body_that_is_not_json_is_a_bad_request(scheduler_api, session):
    assert_problem(scheduler_api.post("/staffing/people/import", raw=HEADER), 400)
    assert people(session) == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_only_a_scheduler_imports(api_as, anonymous_api, session, role):
    assert_problem(api_as(role).post("/staffing/people/import", roster_csv(KIM)), 403)
    assert_problem(anonymous_api.post("/staffing/people/import", roster_csv(KIM)), 401)
    assert_problem(anonymous_api.get("/staffing/people.csv"), 401)
    assert session.scalar(select(func.count()).select_from(StaffMember)) == 0
