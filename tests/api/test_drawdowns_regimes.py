"""POST /api/v1/drawdowns names a line per regime (`authorisations`); `waiver_line_id` is the
short form. Answers carry each regime's classification; a refusal is 409 with the overall
`classification` and `regimes`."""

import pytest

from office.waivers.models import Authority
from tests.api.conftest import drawdown_body
from tests.factories import make_waiver


@pytest.fixture
def lines(session, every_regime, diesel):
    un = make_waiver(
        session, [(diesel, "L", "1000", "1000")], authority=Authority.UN_1718_COMMITTEE
    )
    rok = make_waiver(
        session, [(diesel, "L", "1000", "1000")], authority=Authority.ROK_MOU_INDIVIDUAL
    )
    return un.lines[0], rok.lines[0]


def test_a_drawdown_names_a_line_under_each_regime(admin_api, lines):
    un, rok = lines
    body = drawdown_body(
        authorisations=[{"regime": "un", "line_id": un.id}, {"regime": "rok", "line_id": rok.id}]
    )
    del body["waiver_line_id"]
    response = admin_api.post("/drawdowns", body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["classification"] == "covered"
    assert [(r["regime"], r["line_id"], r["classification"]) for r in answer["regimes"]] == [
        ("un", un.id, "covered"),
        ("rok", rok.id, "covered"),
        ("us", None, "not_required"),
    ]
    assert answer["waiver_line_id"] == un.id


def test_the_short_form_names_one_line_and_a_refusal_lists_every_regime(admin_api, lines):
    un, _rok = lines
    response = admin_api.post("/drawdowns", drawdown_body(un))
    assert response.status_code == 409
    problem = response.get_json()
    assert problem["classification"] == "uncovered"
    by_regime = {r["regime"]: r for r in problem["regimes"]}
    assert by_regime["un"]["classification"] == "covered" and by_regime["un"]["message"] is None
    assert by_regime["rok"] == {
        "regime": "rok",
        "control": "approval_required",
        "line_id": None,
        "waiver_status": None,
        "classification": "uncovered",
        "message": "Diesel (HS 2710.19) needs an approval: choose the line that covers it, or "
        "give a reason to record it uncovered.",
    }
    assert "ROK carry-out approval (Ministry of Unification): Diesel" in problem["detail"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda un, rok: {"waiver_line_id": un.id, "authorisations": []},
            "waiver_line_id",
            "Give either waiver_line_id (the short form) or authorisations, not both.",
        ),
        (
            lambda un, rok: {"authorisations": [{"regime": "un", "line_id": rok.id}]},
            "authorisations.0.regime",
            "is under ROK carry-out approval (Ministry of Unification) (rok), not un.",
        ),
        (
            lambda un, rok: {"authorisations": [{"regime": "rok", "line_id": 999999}]},
            "authorisations.0.line_id",
            "No waiver line has the id 999999.",
        ),
    ],
)
def test_a_bad_authorisation_is_refused_naming_it(
    admin_api, ledger_state, lines, change, field, message
):
    before = ledger_state()
    body = {**drawdown_body(), **change(*lines)}
    if "authorisations" in body and "waiver_line_id" not in change(*lines):
        del body["waiver_line_id"]
    response = admin_api.post("/drawdowns", body)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert any(message in text for text in errors[field]), errors
    assert ledger_state() == before
