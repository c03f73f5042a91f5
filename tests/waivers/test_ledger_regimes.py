"""The ledger by regime (#17): filtered by an entry's classification under one regime, or by
cover under one regime and not another ("not covered" includes not checked at the time), on
the page and in the export, paged by key; each entry's classification under each regime shown
as badges and exported as columns. The story: tests/regime_cover.py."""

from __future__ import annotations

import csv
import io

import pytest

from office.waivers.models import Classification
from office.waivers.queries import NOT_CHECKED, LedgerFilters, ledger_page
from office.waivers.regimes import regime_by_code
from tests.conftest import log_in
from tests.jobs import fetched
from tests.regime_cover import MINISTRY_APPROVAL, UN_EXEMPTION, ministry_without_un
from tests.waivers.test_views import entry_ids, read


@pytest.fixture
def story(session, admin, every_regime):
    return ministry_without_un(session, admin)


@pytest.fixture
def as_reviewer(client, reviewer):
    return log_in(client, reviewer)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # The one click: the ministry's approval, no UN exemption (or no UN check at all).
        ("covered_under=rok&not_covered_under=un", ["ministry_only", "old_ministry"]),
        ("covered_under=un&not_covered_under=rok", ["old_un"]),
        ("covered_under=rok", ["both", "ministry_only", "old_ministry"]),
        ("not_covered_under=un", ["ministry_only", "old_ministry"]),
        ("not_covered_under=us", ["old_un", "old_ministry"]),  # not required is no gap
        ("regime=un&regime_classification=uncovered", ["ministry_only"]),
        ("regime=un&regime_classification=covered", ["both", "old_un"]),
        ("regime=un&regime_classification=not_checked", ["old_ministry"]),
        ("regime=us&regime_classification=not_required", ["both", "ministry_only"]),
        ("regime=us&regime_classification=not_checked", ["old_un", "old_ministry"]),
        ("regime=rok", ["both", "ministry_only", "old_ministry"]),
        ("regime=rok&regime_classification=over_cap", []),
        # With the other filters.
        ("covered_under=rok&not_covered_under=un&flagged=no", ["old_ministry"]),
        ("covered_under=rok&not_covered_under=un&date_from=2018-10-02", ["ministry_only"]),
        ("regime=un&regime_classification=covered&classification=covered", ["both", "old_un"]),
    ],
)
def test_the_ledger_filters_by_regime(as_reviewer, story, query, expected):
    response = as_reviewer.get(f"/ledger/?{query}")
    assert response.status_code == 200
    assert entry_ids(response) == story.ids(*expected)
    export = fetched(as_reviewer, f"/ledger/export.csv?{query}")
    seqs = [row[0] for row in csv.reader(io.StringIO(export.get_data(as_text=True)[1:]))][1:]
    assert seqs == [str(getattr(story, name).seq) for name in expected]


def test_the_filters_page_by_key(session, story):
    """Page after page of one entry, the filter holds and no entry comes twice."""
    rok, un = regime_by_code(session, "rok"), regime_by_code(session, "un")
    for filters, expected in (
        (
            LedgerFilters(covered_under=rok.id, not_covered_under=un.id),
            ["ministry_only", "old_ministry"],
        ),
        (LedgerFilters(regime_id=un.id, regime_classification=NOT_CHECKED), ["old_ministry"]),
        (
            LedgerFilters(regime_id=rok.id, regime_classification=Classification.COVERED),
            ["both", "ministry_only", "old_ministry"],
        ),
    ):
        seen, cursor = [], None
        while True:
            page, cursor = ledger_page(session, filters, before_seq=cursor, size=1)
            seen += [entry.id for entry in page]
            if cursor is None:
                break
        assert seen == story.ids(*expected)


def test_the_page_keeps_the_regime_filters_and_shows_each_entrys_regimes(as_reviewer, story):
    response = as_reviewer.get("/ledger/?covered_under=rok&not_covered_under=un")
    page = read(response)
    assert (page.values["covered_under"], page.values["not_covered_under"]) == ("rok", "un")
    assert page.options["regime"] == ["", "un", "rok", "us"]
    assert page.options["regime_classification"][-1] == "not_checked"
    assert "/ledger/export.csv?covered_under=rok&amp;not_covered_under=un" in (
        response.get_data(as_text=True)
    )
    override = page.row(str(story.ministry_only.seq))
    assert override[7] == "UN: uncovered ROK: covered US: not required"
    old = page.row(str(story.old_ministry.seq))
    assert old[7] == "UN: not checked ROK: covered US: not checked"


def test_the_export_has_each_regimes_classification_and_line(as_reviewer, story):
    body = fetched(as_reviewer, "/ledger/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    by_seq = {int(row["seq"]): row for row in rows}

    def regimes(entry) -> list[tuple[str, str, str]]:
        row = by_seq[entry.seq]
        return [
            (row[f"{code}_classification"], row[f"{code}_waiver"], row[f"{code}_line_no"])
            for code in ("un", "rok", "us")
        ]

    assert regimes(story.ministry_only) == [
        ("uncovered", "", ""),
        ("covered", MINISTRY_APPROVAL, "1"),
        ("not_required", "", ""),
    ]
    assert regimes(story.both) == [
        ("covered", UN_EXEMPTION, "1"),
        ("covered", MINISTRY_APPROVAL, "1"),
        ("not_required", "", ""),
    ]
    assert regimes(story.old_un) == [
        ("covered", UN_EXEMPTION, "1"),
        ("not_checked", "", ""),
        ("not_checked", "", ""),
    ]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("regime_classification=covered", "regime_classification", "Choose the regime"),
        ("covered_under=un&not_covered_under=un", "not_covered_under", "Choose a regime other"),
        ("regime=xx", "regime", "Not a valid choice."),
        ("regime=un&regime_classification=fine", "regime_classification", "Not a valid choice."),
        ("covered_under=UN", "covered_under", "Not a valid choice."),
    ],
)
def test_regime_filters_that_make_no_sense_are_named_and_list_nothing(
    as_reviewer, story, query, field, message
):
    response = as_reviewer.get(f"/ledger/?{query}")
    assert response.status_code == 422
    page = read(response)
    assert page.errors[field].startswith(message)
    assert entry_ids(response) == []
    export = as_reviewer.post(f"/ledger/export.csv?{query}")
    assert (export.status_code, export.mimetype) == (422, "text/html")
