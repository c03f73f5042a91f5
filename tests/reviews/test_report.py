"""The monthly supply-usage report: transfers north by waiver, resource and purpose; use on site;
stock at the start and end of the month with what came, went and was carried back; every flag
with its state and the last word on it. As HTML, CSV and PDF; a month in which nothing was
recorded has one too, which says so; a month not begun has none."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pypdfium2
import pytest

from office.db import utcnow
from office.errors import NotFoundError
from office.i18n import office_date
from office.periods import services as periods
from office.reviews import report
from office.reviews.models import ItemKind, ReviewAction, ReviewState
from tests.conftest import log_in
from tests.jobs import fetched
from tests.reviews.arrange import OCT, TODAY, act, carry_back
from tests.reviews.pages import read

OCTOBER = date(2018, 10, 1)
K, A = ItemKind, ReviewAction


@pytest.fixture
def reviewed(session, admin, reviewer, flagged):
    """October's flags: the dip queried and answered, the override acknowledged, the rest open;
    the overdue welder escalated, then carried back south on 25 October."""
    act(session, K.OVERDUE_RETURN, flagged.overdue.id, A.ESCALATE, reviewer, "Five days late.")
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where did 300 L go?")
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.ANSWER, admin, "A weeping valve seal.")
    act(session, K.OVERRIDE, flagged.override.id, A.ACKNOWLEDGE, reviewer, "Accepted.")
    carry_back(session, flagged.overdue, OCT(25))
    return flagged


def figures(transfer: report.Transfer) -> tuple[int, Decimal, int]:
    return transfer.entries, transfer.quantity, transfer.flagged


def test_the_month_in_figures(session, reviewed):
    built = report.build(session, OCTOBER, today=TODAY)
    use_waiver = reviewed.use.line.waiver.reference
    # The suite screens under the UN regime alone: one section, each entry once.
    assert [regime.code for regime in built.regimes] == ["un"]
    assert [
        (t.waiver.reference, t.resource.code, t.purpose.value, t.under, *figures(t))
        for t in built.transfers
    ] == [
        # Covered first, by authorisation: 400 L covered on the main line...
        ("MOU-R-MAIN", "diesel", "operation", "covered", 1, Decimal(400), 0),
        ("MOU-R-WELD", "welder", "repair", "covered", 2, Decimal(4), 0),
        (use_waiver, "diesel", "fuel", "covered", 1, Decimal(1000), 0),
        # ...then what it did not cover: 1,100 L recorded anyway (600 L left, 500 L over).
        ("MOU-R-MAIN", "diesel", "operation", "over_cap", 1, Decimal(1100), 1),
    ]
    assert {t.regime.code for t in built.transfers} == {"un"}
    assert built.gaps == []
    assert [(r.code, use, q) for r, use, q in built.uses] == [("diesel", "boilers", Decimal(300))]
    stock = {s.resource.code: s for s in built.stock}
    diesel = stock["diesel"]
    # The dip tank opened on 1 September with 5,000 L; 1,000 L came, 300 L were used.
    assert (diesel.opening, diesel.received, diesel.used, diesel.returned, diesel.closing) == (
        5000,
        1000,
        300,
        0,
        5700,
    )
    welder = stock["welder"]
    assert (welder.opening, welder.received, welder.used, welder.returned, welder.closing) == (
        0,
        4,
        0,
        2,
        2,
    )
    flags = {(f.row.kind, f.row.source_id): f for f in built.flags}
    assert set(flags) == reviewed.keys()
    assert [f.row.occurred_on for f in built.flags] == sorted(
        f.row.occurred_on for f in built.flags
    )
    dip = flags[(K.DIP_VARIANCE, reviewed.dip.id)]
    assert dip.row.state is ReviewState.ANSWERED
    assert (dip.resolution.action, dip.resolution.body) == (A.ANSWER, "A weeping valve seal.")
    override = flags[(K.OVERRIDE, reviewed.override.id)]
    assert (override.row.state, override.resolution.body) == (ReviewState.ACKNOWLEDGED, "Accepted.")
    assert flags[(K.METER_ANOMALY, reviewed.reading.id)].resolution is None
    overdue = flags[(K.OVERDUE_RETURN, reviewed.overdue.id)]
    assert (overdue.row.state, overdue.resolution.body) == (
        ReviewState.ESCALATED,
        "Five days late.",
    )
    assert built.signed_off is None


def test_the_report_page(client, reviewer, reviewed):
    response = log_in(client, reviewer).get("/reviews/reports/2018-10")
    assert response.status_code == 200
    page = read(response)
    assert "Supply-usage report, 2018-10" in page.text
    assert "Period 2018-10-01 to 2018-10-31" in page.text
    assert "Not signed off: figures may still change." in page.text
    rows = page.rows
    assert "UN Security Council sanctions (1718 Committee)" in page.text
    assert ["MOU-R-MAIN", "Diesel", "operation", "covered", "1", "400 L", "0"] in rows
    assert ["MOU-R-MAIN", "Diesel", "operation", "over cap", "1", "1,100 L", "1"] in rows
    assert ["MOU-R-WELD", "Welder", "repair", "covered", "2", "4 pieces", "0"] in rows
    assert "No entry was covered under one regime and not under another." in page.text
    assert ["Diesel", "boilers", "300 L"] in rows
    assert ["Diesel (L)", "5,000", "1,000", "300", "0", "5,700"] in rows
    assert ["Welder (pieces)", "0", "4", "0", "2", "2"] in rows
    flags = [row for row in rows if len(row) == 5 and row[0].startswith("2018-10-")]
    assert len(flags) == 5
    dip = next(row for row in flags if row[1] == "dip variance")
    assert dip[3:] == ["answered", "answered: A weeping valve seal."]
    override = next(row for row in flags if row[1] == "drawdown recorded anyway")
    assert override[3:] == ["acknowledged", "acknowledged: Accepted."]
    meter = next(row for row in flags if row[1] == "meter anomaly")
    assert meter[3:] == ["open", "-"]
    assert ("/reviews/reports/2018-10.pdf", "Download PDF") in page.buttons


def test_a_signed_off_month_says_when(client, session, reviewer, flagged):
    from office.reviews import services
    from tests.factories import NOW
    from tests.reviews.arrange import acknowledge_all

    acknowledge_all(session, reviewer, month=OCTOBER)
    services.sign_off_month(session, OCTOBER, note="", actor=reviewer, now=NOW, today=TODAY)
    session.commit()
    page = read(log_in(client, reviewer).get("/reviews/reports/2018-10"))
    assert "Signed off on 2018-12-31 12:00." in page.text


def test_the_csv_has_one_row_per_figure(client, reviewer, reviewed):
    response = log_in(client, reviewer).get("/reviews/reports/2018-10.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="supply-usage-2018-10.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == [
        "section",
        "waiver",
        "resource",
        "purpose_or_use",
        "entries",
        "quantity",
        "unit",
        "flagged",
        "opening",
        "received",
        "used",
        "returned",
        "closing",
        "state",
        "resolution",
        "regime",
        "classification",
        "not_covered_under",
    ]
    sections = [row["section"] for row in rows]
    assert sections == ["transfer"] * 4 + ["use"] + ["stock"] * 2 + ["flag"] * 5
    main = [row for row in rows if row["waiver"] == "MOU-R-MAIN"]
    assert [
        (row["regime"], row["classification"], row["entries"], row["flagged"]) for row in main
    ] == [("un", "covered", "1", "0"), ("un", "over_cap", "1", "1")]
    assert (main[0]["resource"], main[0]["purpose_or_use"]) == ("diesel", "operation")
    assert [(Decimal(row["quantity"]), row["unit"]) for row in main] == [
        (Decimal(400), "L"),
        (Decimal(1100), "L"),
    ]
    override = next(row for row in rows if row["purpose_or_use"] == "override")
    assert (override["regime"], override["classification"]) == ("un", "over_cap")
    diesel = next(row for row in rows if row["section"] == "stock" and row["resource"] == "diesel")
    assert [Decimal(diesel[k]) for k in ("opening", "received", "used", "returned", "closing")] == [
        5000,
        1000,
        300,
        0,
        5700,
    ]
    dip = next(row for row in rows if row["purpose_or_use"] == "dip_variance")
    assert (dip["state"], dip["resolution"]) == ("answered", "A weeping valve seal.")
    meter = next(row for row in rows if row["purpose_or_use"] == "meter_anomaly")
    assert (meter["state"], meter["resolution"]) == ("open", "")


def test_the_pdf_is_a_printed_report(client, reviewer, reviewed):
    response = fetched(log_in(client, reviewer), "/reviews/reports/2018-10.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert 'filename="supply-usage-2018-10-en.pdf"' in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"%PDF")
    pdf = pypdfium2.PdfDocument(data)
    try:
        text = " ".join(pdf[n].get_textpage().get_text_range() for n in range(len(pdf)))
    finally:
        pdf.close()
    text = " ".join(text.split())
    assert "Supply-usage report, 2018-10" in text
    assert "MOU-R-MAIN" in text and "1,100 L" in text
    assert "A weeping valve seal." in text
    assert "Download PDF" not in text  # the page's buttons are not printed


def test_a_month_in_which_nothing_was_recorded_has_a_report_that_says_so(client, reviewer, flagged):
    log_in(client, reviewer)
    page = read(client.get("/reviews/reports/2018-07"))
    assert "Supply-usage report, 2018-07" in page.text
    for empty in (
        "Nothing went north this month.",
        "Nothing was used from stock this month.",
        "No stock on site.",
        "Nothing was flagged this month.",
    ):
        assert empty in page.text
    assert ("/reviews/reports/2018-07.pdf", "Download PDF") in page.buttons
    response = client.get("/reviews/reports/2018-07.csv")
    assert response.status_code == 200
    assert len(list(csv.reader(io.StringIO(response.get_data(as_text=True))))) == 1  # the header
    response = fetched(client, "/reviews/reports/2018-07.pdf")
    assert (response.status_code, response.mimetype) == (200, "application/pdf")


@pytest.mark.parametrize("suffix", ["", ".csv", ".pdf"])
def test_a_month_not_begun_has_no_report(client, reviewer, flagged, suffix):
    following = periods.next_month(office_date(utcnow()).replace(day=1)).strftime("%Y-%m")
    response = log_in(client, reviewer).get(f"/reviews/reports/{following}{suffix}")
    assert response.status_code == 404
    assert f"{following} has not begun: there is no report for it yet." in read(response).text


def test_every_report_the_months_page_links_answers(client, reviewer, flagged):
    """The current month is listed before anything is recorded in it: its report says so."""
    page = read(log_in(client, reviewer).get("/reviews/months"))
    links = [href for href, _text in page.links if href.startswith("/reviews/reports/")]
    current = office_date(utcnow()).strftime("%Y-%m")
    assert {f"/reviews/reports/{current}{suffix}" for suffix in ("", ".csv")} <= set(links)
    assert "/reviews/reports/2018-10" in links
    for href in links:
        assert client.get(href).status_code == 200, href
    printed = [action for action, text in page.buttons if action.endswith(".pdf")]
    assert f"/reviews/reports/{current}.pdf" in printed
    for action in printed:  # each asks a worker for its PDF, and goes to the job's page
        assert client.post(action).status_code == 303, action


def test_a_month_that_is_not_a_month_is_not_found(client, reviewer):
    log_in(client, reviewer)
    for bad in ("2018-13", "2018-1", "latest"):
        assert client.get(f"/reviews/reports/{bad}").status_code == 404


def test_build_refuses_a_month_not_begun_or_before_the_records(session, flagged):
    with pytest.raises(NotFoundError, match="2019-01 has not begun"):
        report.build(session, date(2019, 1, 1), today=TODAY)
    with pytest.raises(NotFoundError, match="records begin on 2018-04-27: there is no report for"):
        report.build(session, date(2018, 3, 1), today=TODAY)
    assert report.build(session, date(2018, 8, 1), today=TODAY).transfers == []
