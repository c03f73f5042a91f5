"""The reviewers' dashboard: each active waiver line's use, alerts at 75% and 90% of its cap,
waivers expiring within 30 days, the runway at the last 30 days' pace against the expiry, and
the items awaiting review by kind."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from office.fuel import services as fuel
from office.fuel.models import MeterSource
from office.i18n import SEOUL
from office.reviews import dashboard
from office.reviews.models import ItemKind, ReviewAction
from office.waivers.models import WaiverStatus
from tests.conftest import log_in
from tests.factories import NOW, draw, make_rice, make_steel, make_waiver
from tests.reviews.arrange import OCT, act, at
from tests.reviews.pages import read

AS_OF = date(2018, 10, 31)


@pytest.fixture
def waivers(session, diesel):
    rice, steel = make_rice(session), make_steel(session)
    near = make_waiver(
        session,
        [(diesel, "L", "1000", "1000")],
        reference="MOU-DASH-A",
        valid_until=date(2018, 11, 20),
    )
    draw(session, diesel, "600", line=near.lines[0], on=OCT(5))
    draw(session, diesel, "200", line=near.lines[0], on=OCT(20))
    full = make_waiver(session, [(rice, "kg", "1000", "1000")], reference="MOU-DASH-B")
    draw(session, rice, "900", line=full.lines[0], on=date(2018, 6, 1))
    far = make_waiver(
        session, [(steel, "t", "100", "100")], reference="MOU-DASH-C", valid_until=date(2019, 6, 30)
    )
    draw(session, steel, "10", line=far.lines[0], on=OCT(15))
    partial = make_waiver(
        session,
        [(rice, "kg", "2000", "1000")],
        reference="MOU-DASH-D",
        status=WaiverStatus.PARTIALLY_GRANTED,
    )
    make_waiver(
        session, [(rice, "kg", "500", None)], reference="MOU-DASH-E", status=WaiverStatus.DRAFT
    )
    return {"near": near, "full": full, "far": far, "partial": partial}


def by_reference(board: dashboard.Dashboard) -> dict[str, dashboard.LineState]:
    return {state.waiver.reference: state for state in board.lines}


def test_every_active_waiver_line_with_its_use_alert_and_runway(session, waivers):
    board = dashboard.build(session, AS_OF, today=date(2018, 12, 31))
    lines = by_reference(board)
    # Partially granted waivers are active too; drafts are not.
    assert sorted(lines) == ["MOU-DASH-A", "MOU-DASH-B", "MOU-DASH-C", "MOU-DASH-D"]

    near = lines["MOU-DASH-A"]
    assert (near.usage.used, near.usage.remaining, near.usage.percent) == (
        800,
        200,
        Decimal("80.0"),
    )
    assert near.alert == "warn"
    # 800 L in the last 30 days: 26.7 L a day; 200 L left lasts 7 more days.
    assert near.per_day.quantize(Decimal("0.01")) == Decimal("26.67")
    assert near.runs_out_on == date(2018, 11, 7)
    assert near.runs_out_before_expiry

    full = lines["MOU-DASH-B"]
    assert (full.usage.percent, full.alert) == (Decimal("90.0"), "bad")
    assert (full.per_day, full.runs_out_on, full.runs_out_before_expiry) == (0, None, False)

    far = lines["MOU-DASH-C"]
    assert (far.usage.percent, far.alert) == (Decimal("10.0"), None)
    assert far.runs_out_on == date(2019, 7, 28)  # 90 t at 1/3 t a day: after 30 June
    assert not far.runs_out_before_expiry

    assert [w.reference for w in board.expiring] == ["MOU-DASH-A"]  # 20 days left


@pytest.mark.parametrize(
    ("used", "alert"),
    [("749", None), ("750", "warn"), ("899", "warn"), ("900", "bad"), ("1000", "bad")],
)
def test_alerts_at_75_and_90_percent_of_the_cap(session, diesel, used, alert):
    line = make_waiver(session, [(diesel, "L", "1000", "1000")]).lines[0]
    draw(session, diesel, used, line=line, on=OCT(1))
    (state,) = dashboard.build(session, AS_OF, today=date(2018, 12, 31)).lines
    assert state.alert == alert


@pytest.mark.parametrize(
    ("valid_until", "expiring"),
    [(date(2018, 11, 30), True), (date(2018, 12, 1), False), (AS_OF, True)],
)
def test_waivers_expiring_within_30_days(session, diesel, valid_until, expiring):
    make_waiver(session, [(diesel, "L", "1000", "1000")], valid_until=valid_until)
    board = dashboard.build(session, AS_OF, today=date(2018, 12, 31))
    assert bool(board.expiring) is expiring


def test_the_dashboard_page_shows_alerts_lines_and_runway(client, reviewer, waivers):
    response = log_in(client, reviewer).get("/reviews/?as_of=2018-10-31")
    assert response.status_code == 200
    page = read(response)
    alerts = page.testids["alerts"]
    assert "MOU-DASH-A line 1 (Diesel) has used 80% of its cap." in alerts
    assert "MOU-DASH-B line 1 (Rice) has used 90% of its cap." in alerts
    assert "MOU-DASH-C" not in alerts and "MOU-DASH-D" not in alerts
    assert (
        "At the last 30 days' pace, MOU-DASH-A line 1 runs out on 2018-11-07, before the waiver "
        "expires on 2018-11-20."
    ) in alerts
    assert "MOU-DASH-A expires on 2018-11-20." in alerts
    assert re.search(r'<span class="badge warn">80%</span>', page.markup)
    assert re.search(r'<span class="badge bad">90%</span>', page.markup)

    rows = {row[0]: row for row in page.table("waiver-lines")}
    assert rows["MOU-DASH-A · 1"][2:8] == [
        "1,000 L",
        "800",
        "200",
        "80%",
        "2018-11-20",
        "26.7 L a day; runs out 2018-11-07 before expiry",
    ]
    assert rows["MOU-DASH-B · 1"][7] == "no use in the last 30 days"
    assert rows["MOU-DASH-C · 1"][7] == "0.3 t a day; runs out 2019-07-28"
    assert "MOU-DASH-E · 1" not in rows


def test_a_pace_too_slow_for_the_calendar_shows_the_pace_and_no_day(
    client, reviewer, session, diesel
):
    # 10 L in 30 days against a 1,000,000,000 L cap: it would run out after the year 9999.
    line = make_waiver(session, [(diesel, "L", "1000000000", "1000000000")]).lines[0]
    draw(session, diesel, "10", line=line, on=OCT(30))
    (state,) = dashboard.build(session, AS_OF, today=date(2018, 12, 31)).lines
    assert state.per_day > 0 and state.runs_out_on is None
    response = log_in(client, reviewer).get("/reviews/?as_of=2018-10-31")
    assert response.status_code == 200
    (row,) = read(response).table("waiver-lines")
    assert row[7] == "0.3 L a day"


def test_a_quiet_day_has_no_alerts(client, reviewer, session, diesel):
    line = make_waiver(session, [(diesel, "L", "1000", "1000")]).lines[0]
    draw(session, diesel, "100", line=line, on=OCT(1))
    page = read(log_in(client, reviewer).get("/reviews/?as_of=2018-10-31"))
    assert "No waiver line is near its cap and no waiver expires within 30 days." in page.text


def test_items_awaiting_review_are_counted_by_kind(client, session, reviewer, flagged):
    act(session, ItemKind.OVERRIDE, flagged.override.id, ReviewAction.ACKNOWLEDGE, reviewer)
    act(session, ItemKind.DIP_VARIANCE, flagged.dip.id, ReviewAction.QUERY, reviewer, "Where?")
    page = read(log_in(client, reviewer).get("/reviews/"))
    assert page.testids["awaiting-total"] == "4 items await review"
    assert (
        "drawdown recorded anyway: 0 use no longer covered: 1 dip variance: 1 "
        "meter anomaly: 1 overdue return: 1"
    ) in page.text
    assert ("/reviews/queue?kind=dip_variance", "dip variance") in page.links
    assert "awaiting-today" not in page.testids

    # As of a past day the counts stay today's, and the page says so.
    past = read(log_in(client, reviewer).get("/reviews/?as_of=2018-10-31"))
    assert past.testids["awaiting-total"] == "4 items await review"
    assert past.testids["awaiting-today"] == (
        "As they stand today, not as of 2018-10-31: the queue keeps where each item is now."
    )

    board = dashboard.build(session, AS_OF, today=date(2018, 12, 31))
    assert board.awaiting == {
        ItemKind.OVERRIDE: 0,
        ItemKind.FLAGGED_USE: 1,
        ItemKind.DIP_VARIANCE: 1,
        ItemKind.METER_ANOMALY: 1,
        ItemKind.OVERDUE_RETURN: 1,
    }
    assert board.awaiting_total == 4


def test_the_electricity_chart_counts_each_reading_on_its_day_in_seoul(client, session, reviewer):
    meter = fuel.add_meter(
        session,
        name="Generator meter",
        source=MeterSource.GENERATOR,
        waiver_line=None,
        digits=6,
        multiplier="1",
        installed_at=at(OCT(1)),  # 09:00 in Seoul
        first_value="0",
        actor=None,
        now=NOW,
    )
    for value, day, hour, minute in [
        ("140", 1, 23, 0),
        ("146", 1, 23, 40),
        ("150", 2, 0, 0),  # 4 kWh ending at midnight: the 1st's
        ("155", 2, 0, 30),  # 5 kWh from midnight: the 2nd's
        ("185", 2, 21, 0),
        ("215", 3, 3, 0),  # 30 kWh over midnight: 15 on each day
    ]:
        fuel.record_meter_reading(
            session,
            meter,
            value=value,
            read_at=datetime(2018, 10, day, hour, minute, tzinfo=SEOUL),
            actor=None,
            now=NOW,
        )
    session.commit()

    page = read(log_in(client, reviewer).get("/reviews/?as_of=2018-10-04"))

    assert page.table("per-day-kwh")[:5] == [
        ["2018-10-04", "0"],
        ["2018-10-03", "15"],
        ["2018-10-02", "50"],
        ["2018-10-01", "150"],
        ["2018-09-30", "0"],
    ]
