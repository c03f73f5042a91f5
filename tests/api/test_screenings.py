"""POST /api/v1/screenings: an item screened under every regime in force, with the lines that
could cover it and what each would leave; nothing recorded."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from office.api.models import IdempotencyKey
from office.auth.permissions import Role
from office.waivers import ledger
from office.waivers.models import Authority, Purpose
from tests.api.conftest import assert_ledger_verifies, assert_problem
from tests.factories import NOW, make_steel, make_waiver

PATH = "/screenings"


def body(**changes: Any) -> dict[str, Any]:
    """Five tonnes of Korean steel sections (HS 7216.10) on 2018-10-01."""
    return {
        "hs_code": "7216.10",
        "origin": "KR",
        "us_content_percent": "0",
        "quantity": "5",
        "unit": "t",
        "occurred_on": "2018-10-01",
        **changes,
    }


def regime(answer: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in answer["regimes"] if r["regime"] == code)


@pytest.fixture
def steel_lines(session, every_regime):
    """Steel exempted by the UN (45 t) and approved by the ministry (60 t), 10 t drawn."""
    steel = make_steel(session)
    un = make_waiver(session, [(steel, "t", "45", "45")], reference="UN-STEEL")
    rok = make_waiver(
        session,
        [(steel, "t", "60", "60")],
        reference="MOU-STEEL",
        authority=Authority.ROK_MOU_INDIVIDUAL,
    )
    ledger.record_drawdown(
        session,
        resource=steel,
        quantity="10",
        unit="t",
        occurred_on=date(2018, 10, 1),
        authorisations=[un.lines[0], rok.lines[0]],
        purpose=Purpose.REPAIR,
        actor=None,
        now=NOW,
    )
    session.commit()
    return un.lines[0], rok.lines[0]


def test_steel_is_prohibited_by_the_un_rule_72_needs_the_ministry_and_not_the_us(
    admin_api, every_regime
):
    response = admin_api.post(PATH, body())
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["item"] == {
        "hs_code": "721610",
        "origin": "KR",
        "us_content_percent": "0",
        "quantity": "5",
        "unit": "t",
        "occurred_on": "2018-10-01",
    }
    assert [(r["regime"], r["control"], r["basis"], r["rule"]) for r in answer["regimes"]] == [
        ("un", "prohibited", "rule", {"prefix": "72", "note": "UNSCR 2397 op. 7"}),
        ("rok", "approval_required", "default", None),
        ("us", "none", "not_subject", None),
    ]
    assert [r["best"] for r in answer["regimes"]] == ["uncovered", "uncovered", "not_required"]
    assert answer["overall"] == "uncovered"


def test_computers_of_us_origin_need_a_us_licence(reviewer_api, every_regime):
    answer = reviewer_api.post(
        PATH, body(hs_code="8471.50", origin="US", quantity=3, unit="piece")
    ).get_json()
    us = regime(answer, "us")
    assert (us["control"], us["basis"]) == ("approval_required", "default")


@pytest.mark.parametrize(
    ("share", "control"), [("8", "none"), (8, "none"), ("12", "approval_required")]
)
def test_us_content_counts_only_above_the_share(admin_api, every_regime, share, control):
    answer = admin_api.post(
        PATH,
        body(hs_code="8471.50", origin="JP", us_content_percent=share, quantity=1, unit="piece"),
    ).get_json()
    assert regime(answer, "us")["control"] == control


def test_the_lines_are_listed_with_what_each_would_leave(admin_api, steel_lines):
    un_line, rok_line = steel_lines
    answer = admin_api.post(PATH, body()).get_json()

    (line,) = regime(answer, "un")["lines"]
    assert line == {
        "line_id": un_line.id,
        "line_no": 1,
        "waiver": "UN-STEEL",
        "waiver_status": "granted",
        "valid_from": "2018-01-01",
        "valid_until": "2018-12-31",
        "standing": False,
        "resource": "steel",
        "classification": "covered",
        "reason": None,
        "remaining_before": "35",
        "remaining_after": "30",
        "unit": "t",
    }
    (approval,) = regime(answer, "rok")["lines"]
    assert (approval["line_id"], approval["remaining_before"], approval["remaining_after"]) == (
        rok_line.id,
        "50",
        "45",
    )
    assert regime(answer, "us")["lines"] == []
    assert answer["overall"] == "covered"


def test_a_quantity_over_a_lines_cap_shows_over_cap(admin_api, steel_lines):
    answer = admin_api.post(PATH, body(quantity="40000", unit="kg")).get_json()
    (line,) = regime(answer, "un")["lines"]
    assert (line["classification"], line["remaining_after"]) == ("over_cap", "-5")
    assert regime(answer, "rok")["best"] == "covered"
    assert answer["overall"] == "over_cap"


def test_a_unit_that_cannot_be_compared_is_said_so_not_refused(admin_api, steel_lines):
    answer = admin_api.post(PATH, body(quantity="100", unit="L")).get_json()
    (line,) = regime(answer, "un")["lines"]
    assert line["classification"] is None
    assert line["reason"].startswith("Cannot compare")
    assert line["remaining_before"] == "35" and line["remaining_after"] is None


def test_nothing_is_recorded(app, admin_api, steel_lines, ledger_state, session):
    before = ledger_state()
    for quantity in ("5", "40"):
        assert admin_api.post(PATH, body(quantity=quantity)).status_code == 200
    assert ledger_state() == before
    assert before.entries == 1
    assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    assert_ledger_verifies(app)


def test_an_idempotency_key_gets_the_first_answer_again(admin_api, steel_lines, ledger_state):
    before = ledger_state()
    headers = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    first = admin_api.post(PATH, body(), headers=headers)
    again = admin_api.post(PATH, body(), headers=headers)
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(admin_api.post(PATH, body(quantity="6"), headers=headers), 422)
    assert ledger_state() == before


def test_a_scheduler_may_not_screen(api_as, anonymous_api):
    assert_problem(api_as(Role.SCHEDULER).post(PATH, body()), 403)
    assert_problem(anonymous_api.post(PATH, body()), 401)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hs_code": "72"}, "hs_code"),
        ({"hs_code": "7216.1O"}, "hs_code"),
        ({"origin": "KOR"}, "origin"),
        ({"origin": "kr1"}, "origin"),
        ({"us_content_percent": "100.5"}, "us_content_percent"),
        ({"us_content_percent": -1}, "us_content_percent"),
        ({"us_content_percent": 1e300}, "us_content_percent"),
        ({"us_content_percent": "abc"}, "us_content_percent"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "1.0005"}, "quantity"),
        ({"quantity": "2.5", "unit": "piece"}, "quantity"),
        ({"unit": "furlong"}, "unit"),
        ({"occurred_on": "2018-02-30"}, "occurred_on"),
        ({"occurred_on": "1999-12-31"}, "occurred_on"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(admin_api, every_regime, changes, field):
    problem = assert_problem(admin_api.post(PATH, body(**changes)), 422)
    assert field in problem["errors"], problem
    assert all(isinstance(m, str) and m for m in problem["errors"][field])


def test_a_missing_field_is_named(admin_api):
    sent = body()
    del sent["origin"]
    problem = assert_problem(admin_api.post(PATH, sent), 422)
    assert problem["errors"] == {"origin": ["This field is required."]}


def test_every_field_at_fault_is_named_at_once(admin_api):
    problem = assert_problem(admin_api.post(PATH, body(hs_code="x", origin="?", unit="m")), 422)
    assert set(problem["errors"]) == {"hs_code", "origin", "unit"}


def test_the_share_of_us_content_is_optional(admin_api, every_regime):
    sent = body()
    del sent["us_content_percent"]
    answer = admin_api.post(PATH, sent).get_json()
    assert answer["item"]["us_content_percent"] == "0"
