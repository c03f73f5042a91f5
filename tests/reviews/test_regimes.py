"""The reviews by regime (#17): the dashboard's and the monthly report's breakdown of the
month's entries under each regime, the one click from "Ministry approval, no UN exemption" to
the ledger listing exactly those entries, and the review queue naming the regimes that
refused a drawdown recorded anyway. The story: tests/regime_cover.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pypdfium2
import pytest

from office.reviews import dashboard, report
from office.reviews.models import ItemKind
from office.waivers.models import Classification
from office.waivers.queries import NOT_CHECKED
from tests.conftest import log_in
from tests.jobs import fetched
from tests.regime_cover import MINISTRY_APPROVAL, UN_EXEMPTION, ministry_without_un
from tests.reviews.arrange import TODAY
from tests.reviews.pages import read

OCTOBER = date(2018, 10, 1)
C = Classification
ONE_CLICK = "Ministry approval, no UN exemption"


@pytest.fixture
def story(session, admin, every_regime):
    return ministry_without_un(session, admin)


def listed(client, href: str) -> list[int]:
    """The ledger entries a link opens, in the page's order."""
    response = client.get(href.replace("&amp;", "&"))
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'href="/ledger/(\d+)"', response.get_data(as_text=True))]


def link(page, text: str) -> str:
    return next(href for href, shown in page.links if shown == text)


# --- the dashboard ------------------------------------------------------------------------


def test_the_dashboard_counts_each_regimes_classifications_of_the_month(session, story):
    board = dashboard.build(session, date(2018, 10, 31), today=TODAY)
    counts = {r.regime.code: {k: n for k, n in r.counts.items() if n} for r in board.regimes}
    assert counts == {
        # The old UN entry and the one on both lines; the ministry's alone, uncovered.
        "un": {C.COVERED: 2, C.UNCOVERED: 1, NOT_CHECKED: 1},
        "rok": {C.COVERED: 3, NOT_CHECKED: 1},
        "us": {C.NOT_REQUIRED: 2, NOT_CHECKED: 2},
    }
    assert {r.regime.code: (r.total, r.refused) for r in board.regimes} == {
        "un": (4, 1),
        "rok": (4, 0),
        "us": (4, 0),
    }
    assert [(g.covered.code, g.missing.code, g.entries) for g in board.gaps] == [
        ("rok", "un", 2),  # the override, and the old entry the UN's rules never saw
        ("un", "rok", 1),
        ("un", "us", 1),
        ("rok", "us", 1),
    ]
    # A month without entries counts nothing.
    assert dashboard.build(session, date(2018, 11, 30), today=TODAY).gaps == []


def test_the_dashboards_one_click_lists_exactly_the_ministrys_cover_without_the_uns(
    client, reviewer, story
):
    log_in(client, reviewer)
    page = read(client.get("/reviews/?as_of=2018-10-31"))
    assert f"{ONE_CLICK}: 2 entries" in page.testids["gaps"]
    href = link(page, ONE_CLICK)
    assert dict(parse_qsl(urlsplit(href.replace("&amp;", "&")).query)) == {
        "covered_under": "rok",
        "not_covered_under": "un",
        "date_from": "2018-10-01",
        "date_to": "2018-10-31",
    }
    assert listed(client, href) == story.ids("ministry_only", "old_ministry")
    assert listed(client, link(page, "UN exemption, no Ministry approval")) == story.ids("old_un")


def test_the_dashboards_table_has_a_row_per_regime_each_count_a_link_to_its_entries(
    client, reviewer, story
):
    log_in(client, reviewer)
    page = read(client.get("/reviews/?as_of=2018-10-31"))
    # covered, not required, uncovered, denied, pending, outside validity, over cap,
    # not checked at the time, and every entry of the month.
    assert [row[1:] for row in page.table("regime-counts")] == [
        ["2", "0", "1", "0", "0", "0", "0", "1", "4"],
        ["3", "0", "0", "0", "0", "0", "0", "1", "4"],
        ["0", "2", "0", "0", "0", "0", "0", "2", "4"],
    ]
    assert [row[0] for row in page.table("regime-counts")] == [
        "UN Security Council sanctions (1718 Committee)",
        "ROK carry-out approval (Ministry of Unification)",
        "US Export Administration Regulations",
    ]
    counted = [href for href, _ in page.links if "regime_classification=" in href]
    assert len(counted) == 7  # every count but the zeros
    expected = {
        ("un", "covered"): story.ids("both", "old_un"),
        ("un", "uncovered"): story.ids("ministry_only"),
        ("un", "not_checked"): story.ids("old_ministry"),
        ("rok", "covered"): story.ids("both", "ministry_only", "old_ministry"),
        ("rok", "not_checked"): story.ids("old_un"),
        ("us", "not_required"): story.ids("both", "ministry_only"),
        ("us", "not_checked"): story.ids("old_un", "old_ministry"),
    }
    for href in counted:
        args = dict(parse_qsl(urlsplit(href.replace("&amp;", "&")).query))
        assert (args["date_from"], args["date_to"]) == ("2018-10-01", "2018-10-31")
        assert listed(client, href) == expected[(args["regime"], args["regime_classification"])]


def test_the_dashboard_without_a_second_regime_in_force_has_no_pairs(client, reviewer, session):
    page = read(log_in(client, reviewer).get("/reviews/?as_of=2018-10-31"))
    assert "No entry was covered under one regime and not under another." in page.text
    assert [row[0] for row in page.table("regime-counts")] == [
        "UN Security Council sanctions (1718 Committee)"
    ]


# --- the monthly report -------------------------------------------------------------------


def test_the_report_shows_each_regimes_authorisations_and_what_it_did_not_cover(session, story):
    built = report.build(session, OCTOBER, today=TODAY)
    assert [r.code for r in built.regimes] == ["un", "rok", "us"]
    shown = {
        section.regime.code: [
            (t.waiver.reference if t.waiver else None, t.under, t.entries, t.quantity, t.flagged)
            for t in section.transfers
        ]
        for section in built.by_regime
    }
    assert shown == {
        "un": [
            (UN_EXEMPTION, "covered", 2, Decimal(10), 0),
            (None, "uncovered", 1, Decimal(5), 1),
            (None, NOT_CHECKED, 1, Decimal(2), 0),
        ],
        "rok": [
            (MINISTRY_APPROVAL, "covered", 3, Decimal(14), 1),
            (None, NOT_CHECKED, 1, Decimal(3), 0),
        ],
        "us": [
            (None, "not_required", 2, Decimal(12), 1),
            (None, NOT_CHECKED, 2, Decimal(5), 0),
        ],
    }
    # Under each regime, each entry of the month once: 17 t of steel went north.
    for section in built.by_regime:
        assert sum(t.quantity for t in section.transfers) == Decimal(17)
        assert sum(t.entries for t in section.transfers) == 4
    un = built.by_regime[0]
    assert [t.under for t in un.covered] == ["covered"]
    assert [t.under for t in un.not_covered] == ["uncovered", NOT_CHECKED]
    first = built.gaps[0]
    assert (first.covered.code, first.missing.code, first.entries) == ("rok", "un", 2)


def test_the_report_page_has_a_section_per_regime_and_the_one_click(client, reviewer, story):
    log_in(client, reviewer)
    page = read(client.get("/reviews/reports/2018-10"))
    assert page.table("transfers-un") == [
        [UN_EXEMPTION, "Steel", "repair", "covered", "2", "10 t", "0"],
        ["none", "Steel", "repair", "uncovered", "1", "5 t", "1"],
        ["none", "Steel", "repair", "not checked at the time", "1", "2 t", "0"],
    ]
    assert page.table("transfers-rok") == [
        [MINISTRY_APPROVAL, "Steel", "repair", "covered", "3", "14 t", "1"],
        ["none", "Steel", "repair", "not checked at the time", "1", "3 t", "0"],
    ]
    assert page.table("transfers-us") == [
        ["none", "Steel", "repair", "not required", "2", "12 t", "1"],
        ["none", "Steel", "repair", "not checked at the time", "2", "5 t", "0"],
    ]
    for name in (
        "UN Security Council sanctions (1718 Committee)",
        "ROK carry-out approval (Ministry of Unification)",
        "US Export Administration Regulations",
    ):
        assert name in page.text
    assert f"{ONE_CLICK}: 2 entries" in page.testids["gaps"]
    assert listed(client, link(page, ONE_CLICK)) == story.ids("ministry_only", "old_ministry")
    # The flag names the regime that refused it.
    flag = next(row for row in page.rows if len(row) == 5 and "recorded anyway" in row[1])
    assert "UN: uncovered" in flag[2]


def test_the_report_csv_gives_each_rows_regime_and_classification_and_the_pairs(
    client, reviewer, story
):
    response = log_in(client, reviewer).get("/reviews/reports/2018-10.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    transfers = [
        (r["regime"], r["waiver"], r["classification"], r["entries"], Decimal(r["quantity"]))
        for r in rows
        if r["section"] == "transfer"
    ]
    assert transfers == [
        ("un", UN_EXEMPTION, "covered", "2", 10),
        ("un", "", "uncovered", "1", 5),
        ("un", "", "not_checked", "1", 2),
        ("rok", MINISTRY_APPROVAL, "covered", "3", 14),
        ("rok", "", "not_checked", "1", 3),
        ("us", "", "not_required", "2", 12),
        ("us", "", "not_checked", "2", 5),
    ]
    gaps = [
        (r["regime"], r["not_covered_under"], r["entries"]) for r in rows if r["section"] == "gap"
    ]
    assert gaps == [("rok", "un", "2"), ("un", "rok", "1"), ("un", "us", "1"), ("rok", "us", "1")]
    flag = next(r for r in rows if r["section"] == "flag")
    assert (flag["purpose_or_use"], flag["regime"], flag["classification"]) == (
        "override",
        "un",
        "uncovered",
    )


def test_the_pdf_prints_each_regimes_section_and_the_pairs(client, reviewer, story):
    response = fetched(log_in(client, reviewer), "/reviews/reports/2018-10.pdf")
    assert response.status_code == 200
    pdf = pypdfium2.PdfDocument(response.get_data())
    try:
        text = " ".join(pdf[n].get_textpage().get_text_range() for n in range(len(pdf)))
    finally:
        pdf.close()
    text = " ".join(text.split())
    assert "Transfers north under each regime" in text
    assert f"{ONE_CLICK}: 2 entries" in text
    for shown in (
        "UN Security Council sanctions (1718 Committee)",
        "ROK carry-out approval (Ministry of Unification)",
        "US Export Administration Regulations",
        UN_EXEMPTION,
        MINISTRY_APPROVAL,
        "not checked at the time",
        "14 t",
    ):
        assert shown in text, shown


# --- the review queue ---------------------------------------------------------------------


def test_an_override_names_the_regimes_that_refused_it(client, reviewer, story):
    page = read(log_in(client, reviewer).get("/reviews/queue"))
    (row,) = page.table("queue")
    assert f"Entry {story.ministry_only.seq}:" in row[2]
    assert page.testids["refused-under"] == "UN: uncovered"


@pytest.mark.parametrize(
    ("regime", "listed_override"), [("un", True), ("rok", False), ("us", False)]
)
def test_the_queue_filters_by_the_regime_that_refused(
    client, reviewer, story, regime, listed_override
):
    page = read(log_in(client, reviewer).get(f"/reviews/queue?regime={regime}&state=all"))
    rows = page.table("queue")
    if listed_override:
        assert len(rows) == 1 and f"Entry {story.ministry_only.seq}:" in rows[0][2]
    else:
        assert rows == [["Nothing here: no flagged item matches."]]
    assert f'<option value="{regime}" selected>' in page.markup


def test_the_item_page_lists_each_regimes_classification_line_and_status(client, reviewer, story):
    url = f"/reviews/items/{ItemKind.OVERRIDE.value}/{story.ministry_only.id}"
    page = read(log_in(client, reviewer).get(url))
    assert page.table("item-regimes") == [
        ["UN Security Council sanctions (1718 Committee)", "uncovered", "-", "-"],
        [
            "ROK carry-out approval (Ministry of Unification)",
            "covered",
            f"{MINISTRY_APPROVAL} · line 1",
            "granted",
        ],
        ["US Export Administration Regulations", "not required", "-", "-"],
    ]
    assert "Refused under" in page.text


# --- Korean -------------------------------------------------------------------------------


def test_the_regimes_read_in_korean(client, reviewer, story):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    log_in(client, reviewer)
    board = read(client.get("/reviews/?as_of=2018-10-31"))
    assert "통일부 승인 있음, 유엔 면제 없음" in board.testids["gaps"]
    assert "유엔 안보리 대북제재 (1718 위원회)" in board.text
    assert "당시 확인되지 않음" in board.text
    assert "Ministry approval" not in board.text and "not checked" not in board.text
    month = read(client.get("/reviews/reports/2018-10"))
    assert "제재 체계별 북측 반출" in month.text
    assert "통일부 승인 있음, 유엔 면제 없음" in month.testids["gaps"]
    uncovered = month.table("transfers-un")[1]
    assert (uncovered[0], uncovered[3]) == ("없음", "승인 없음")
    assert month.table("transfers-un")[2][3] == "당시 확인되지 않음"
    queue = read(client.get("/reviews/queue"))
    assert queue.testids["refused-under"] == "유엔: 승인 없음"
    ledger = read(client.get("/ledger/?covered_under=rok&not_covered_under=un"))
    assert "유엔: 확인 안 됨" in ledger.text and "한국: 승인 범위 내" in ledger.text


def test_under_a_regime_the_queue_holds_its_refusals_alone(session, flagged):
    """A use no longer covered counts under its line's regime; a dip variance, a meter
    anomaly or an overdue return is no regime's refusal."""
    from office.reviews import queries
    from office.waivers.regimes import regime_by_code

    un, rok = regime_by_code(session, "un"), regime_by_code(session, "rok")
    rows, _cursor = queries.queue_page(session, queries.QueueFilters(regime_id=un.id), today=TODAY)
    assert {(row.kind, row.source_id) for row in rows} == {
        (ItemKind.OVERRIDE, flagged.override.id),
        (ItemKind.FLAGGED_USE, flagged.use.flagged.id),
    }
    assert queries.queue_page(session, queries.QueueFilters(regime_id=rok.id), today=TODAY) == (
        [],
        None,
    )
    counts = queries.count_by_state(session, queries.QueueFilters(regime_id=un.id), today=TODAY)
    assert sum(counts.values()) == 2
    described = queries.describe(session, rows)
    assert {
        kind: [(regime.code, c.value) for regime, c in d.refused]
        for (kind, _id), d in described.items()
    } == {ItemKind.OVERRIDE: [("un", "over_cap")], ItemKind.FLAGGED_USE: [("un", "denied")]}
