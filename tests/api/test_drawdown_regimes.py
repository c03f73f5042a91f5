"""GET /api/v1/drawdowns by regime (#17): by classification under one regime, and covered under
one regime and not another, paged by cursor. The story: tests/regime_cover.py."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_problem
from tests.api.test_drawdown_listing import walk
from tests.regime_cover import ministry_without_un


@pytest.fixture
def story(session, admin, every_regime):
    return ministry_without_un(session, admin)


def listed(api, **query) -> list[int]:
    return [item["id"] for page in walk(api, query, limit=1) for item in page["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"covered_under": "rok", "not_covered_under": "un"}, ["ministry_only", "old_ministry"]),
        ({"covered_under": "un", "not_covered_under": "rok"}, ["old_un"]),
        ({"regime": "un", "regime_classification": "uncovered"}, ["ministry_only"]),
        ({"regime": "un", "regime_classification": "not_checked"}, ["old_ministry"]),
        ({"regime": "us", "regime_classification": "not_required"}, ["both", "ministry_only"]),
        ({"regime": "rok"}, ["both", "ministry_only", "old_ministry"]),
        (
            {"covered_under": "rok", "not_covered_under": "un", "flagged": "true"},
            ["ministry_only"],
        ),
        ({"not_covered_under": "un", "to": "2018-10-01"}, ["old_ministry"]),
    ],
)
def test_drawdowns_are_listed_by_regime_page_by_page(reviewer_api, story, query, expected):
    assert listed(reviewer_api, **query) == story.ids(*expected)


def test_each_listed_drawdown_says_what_each_regime_made_of_it(reviewer_api, story):
    body = reviewer_api.get(
        "/drawdowns", {"covered_under": "rok", "not_covered_under": "un"}
    ).get_json()
    override, old = body["items"]
    assert [(r["regime"], r["classification"]) for r in override["regimes"]] == [
        ("un", "uncovered"),
        ("rok", "covered"),
        ("us", "not_required"),
    ]
    assert override["classification"] == "uncovered" and override["flagged"] is True
    # Written before the UN's regime was in force: screened under the ministry's alone.
    assert [(r["regime"], r["classification"]) for r in old["regimes"]] == [("rok", "covered")]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"regime_classification": "covered"}, "regime_classification", "Name the regime"),
        ({"covered_under": "un", "not_covered_under": "un"}, "not_covered_under", "Name a regime"),
        ({"regime": "eu"}, "regime", "Must be one of: un, rok, us."),
        ({"not_covered_under": "UN"}, "not_covered_under", "Must be one of: un, rok, us."),
        ({"regime": "un", "regime_classification": "fine"}, "regime_classification", "Must be"),
    ],
)
def test_regime_parameters_that_make_no_sense_are_refused_naming_them(
    reviewer_api, story, query, field, message
):
    problem = assert_problem(reviewer_api.get("/drawdowns", query), 422)
    assert problem["errors"][field][0].startswith(message), problem
