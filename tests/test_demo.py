"""The demo office is alive on the day it is loaded (#16): its story of 2018 is moved by whole
months to end today, the office's day-by-day work goes on up to today, and every page that
shows today, the last 30 or 90 days or the weeks ahead shows the demo's data.

The calendar is checked for many days (fast); the whole demo is loaded twice, as if on two
days: once through `load` with the day given, once through `flask demo load` on a travelled
clock. Each load takes a while, so the tests share them (module scope)."""

from __future__ import annotations

import calendar as months
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from office import create_app, demo
from office.auth.models import User
from office.db import db
from office.fuel import report as petroleum
from office.fuel import services as fuel
from office.fuel.models import DailyLog, Generator, LogStatus, MeterReading
from office.i18n import SEOUL
from office.periods.models import SignedOffMonth
from office.periods.services import next_month
from office.reviews import dashboard, queries
from office.reviews import report as monthly
from office.reviews.models import ReviewState
from office.staffing import services as staffing
from office.stock.models import StockMovement, Store, StoreKind
from office.supplies.models import Delivery, DeliveryStatus
from office.waivers import ledger
from office.waivers.checkpoints import keys_of
from office.waivers.demo import GOVERNMENT_POSITION_2018
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    LedgerCheckpoint,
    Purpose,
    WaiverLine,
)
from tests.concurrency import TEST_SECRET_KEY, logged_in
from tests.conftest import LEDGER_KEY
from tests.reviews.pages import read
from tests.support import copy_of

# Each full load is shared by the module's tests: keep them on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("demo")

STORY_DAYS = [date(2018, 6, 1) + timedelta(days=n) for n in range(440)]  # to the waivers' ends
BLANKET = "MOU-2018-B-0814"


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=SEOUL).astimezone(UTC)


def month_end(day: date) -> date:
    return day.replace(day=months.monthrange(day.year, day.month)[1])


# --- the calendar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "story_day", "lands_on"),
    [
        # Before the 20th, the story's January (its roof report is on the 20th) is last month.
        (date(2026, 12, 5), date(2019, 1, 20), date(2026, 11, 20)),
        (date(2026, 12, 5), date(2018, 9, 14), date(2026, 7, 14)),
        (date(2027, 1, 19), date(2019, 1, 20), date(2026, 12, 20)),
        # From the 20th on, it is this month.
        (date(2027, 1, 20), date(2019, 1, 20), date(2027, 1, 20)),
        (date(2027, 7, 31), date(2019, 1, 15), date(2027, 7, 15)),
        # A day past the end of a shorter month falls on its last day.
        (date(2027, 7, 31), date(2018, 8, 30), date(2027, 2, 28)),
        (date(2027, 7, 31), date(2018, 8, 31), date(2027, 2, 28)),
        (date(2027, 7, 31), date(2018, 10, 31), date(2027, 4, 30)),
        (date(2027, 3, 1), date(2019, 1, 31), date(2027, 2, 28)),
        (date(2027, 3, 1), date(2018, 12, 31), date(2027, 1, 31)),
        (date(2028, 3, 1), date(2019, 1, 29), date(2028, 2, 29)),
    ],
)
def test_a_live_story_moves_by_whole_months_to_end_by_today(today, story_day, lands_on):
    calendar = demo.StoryCalendar.live(at_noon(today))
    assert calendar.day(story_day) == lands_on
    assert (calendar.today, calendar.last_day) == (today, today)


@given(
    today=st.dates(date(2019, 2, 1), date(2100, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_on_any_day_the_story_ends_in_the_past_and_its_waivers_cover_today(today, hour, minute):
    now = datetime.combine(today, time(hour, minute), tzinfo=SEOUL).astimezone(UTC)
    calendar = demo.StoryCalendar.live(now)
    assert calendar.today == calendar.last_day == today
    last_event = calendar.day(demo.STORY_LAST_EVENT)
    # As late as it can be: a month later, the story's last event would be after today.
    assert (
        last_event
        <= today
        < demo.StoryCalendar(calendar.months + 1, today, today, now).day(demo.STORY_LAST_EVENT)
    )
    # The blanket approval (2018-08-14 to 2019-08-13) and the 1718 exemption's request
    # (2018-12-01 to 2019-05-31) are in force today.
    assert calendar.day(date(2018, 8, 14)) <= today <= calendar.day(date(2019, 8, 13))
    assert calendar.day(date(2018, 12, 1)) <= today <= calendar.day(date(2019, 5, 31))
    # Each story day keeps its day of the month (or its month's last), in order.
    landed = [calendar.day(day) for day in STORY_DAYS]
    assert landed == sorted(landed)
    for day, real in zip(STORY_DAYS, landed, strict=True):
        assert (real.year * 12 + real.month) - (day.year * 12 + day.month) == calendar.months
        assert real.day == min(day.day, months.monthrange(real.year, real.month)[1])
    # The rotation is planned through this month and the staffing overview's 30 days.
    assert calendar.plan_until == max(month_end(today), today + timedelta(days=29))
    # Nothing of today is laid later than now.
    assert calendar.at(today, 22) == min(now, datetime.combine(today, time(22), tzinfo=SEOUL))
    assert calendar.at(today - timedelta(days=1), 22) == datetime.combine(
        today - timedelta(days=1), time(22), tzinfo=SEOUL
    )


def test_the_historical_story_keeps_its_own_dates():
    now = datetime(2026, 12, 5, 3, tzinfo=UTC)
    calendar = demo.StoryCalendar.historical(now)
    assert [calendar.day(day) for day in STORY_DAYS] == STORY_DAYS
    assert (calendar.last_day, calendar.plan_until) == (date(2018, 12, 31), date(2018, 12, 31))
    assert calendar.at(date(2018, 9, 14), 9) == datetime(2018, 9, 14, 0, tzinfo=UTC)


# --- the whole demo, loaded as if on two days -----------------------------------------------


@dataclass
class Loaded:
    app: Flask
    engine: Engine
    now: datetime
    calendar: demo.StoryCalendar
    output: str  # what `flask demo load` printed, if it loaded it

    @property
    def today(self) -> date:
        return self.calendar.today

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def client(self, email: str) -> FlaskClient:
        client = self.app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        with self.session() as session:
            user = session.scalars(select(User).where(User.email == email)).one()
        return logged_in(client, user)


def _app(url: str) -> Flask:
    return create_app(
        {"OFFICE_ENV": "development", "SECRET_KEY": TEST_SECRET_KEY, "OFFICE_DATABASE_URL": url},
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        OFFICE_LEDGER_SIGNING_KEY=LEDGER_KEY,
    )


@pytest.fixture(
    scope="module",
    params=[
        # The story's August falls in February: its 29th to 31st on the 28th.
        pytest.param((date(2027, 7, 31), "load"), id="2027-07-31"),
        # After a short February, on the first day of a month, through the command line.
        pytest.param((date(2027, 3, 1), "cli"), id="2027-03-01-cli"),
    ],
)
def loaded(
    request: pytest.FixtureRequest, template_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    today, how = request.param
    now = at_noon(today)
    with copy_of(template_url, tmp_path_factory.mktemp("demo")) as url:
        app = _app(url)
        with app.app_context():
            engine = db.engine
            if how == "cli":
                with time_machine.travel(now, tick=False):
                    result = app.test_cli_runner().invoke(args=["demo", "load"])
                assert result.exit_code == 0, result.output
                output = result.output
            else:
                with Session(engine) as session:
                    demo.load(
                        session,
                        keys_of(app),
                        calendar=demo.StoryCalendar.live(now),
                    )
                    session.commit()
                output = ""
        try:
            yield Loaded(app, engine, now, demo.StoryCalendar.live(now), output)
        finally:
            engine.dispose()


@pytest.fixture
def travel(loaded: Loaded) -> Iterator[None]:
    """The pages read the clock: it shows the loaded day's afternoon."""
    with time_machine.travel(loaded.now + timedelta(hours=3), tick=True):
        yield


def _blanket_line(session: Session, code: str) -> WaiverLine:
    return next(
        line
        for line in session.scalars(select(WaiverLine))
        if line.waiver.reference == BLANKET and line.resource.code == code
    )


def test_the_demo_logins_sign_in_and_the_command_lists_them(loaded, travel):
    for login in demo.DEMO_LOGINS:
        response = loaded.app.test_client().post(
            "/login", data={"email": login.email, "password": login.password}
        )
        assert response.status_code == 302 and "/login" not in response.location, login.email
    if loaded.output:  # loaded by `flask demo load`
        first = loaded.calendar.day(demo.SET_UP)
        assert f"the office's story runs from {first} to {loaded.today}." in loaded.output
        assert all(login.password in loaded.output for login in demo.DEMO_LOGINS)


def test_todays_daily_log_holds_the_mornings_work_and_is_open(loaded, travel):
    today = loaded.today
    with loaded.session() as session:
        log = session.scalar(select(DailyLog).where(DailyLog.log_on == today))
        yesterday = session.scalar(
            select(DailyLog).where(DailyLog.log_on == today - timedelta(days=1))
        )
        assert log is not None and log.status is LogStatus.DRAFT
        assert yesterday is not None and yesterday.status is LogStatus.SIGNED_OFF
        assert session.scalar(select(func.count()).where(MeterReading.read_on == today)) == 1
    client = loaded.client("admin@liaison.example")
    response = client.get("/operations/today")
    assert response.location == f"/operations/days/{today}"
    page = read(client.get(response.location))
    assert f"Daily log {today}" in page.text
    assert "Main incomer (Munsan feed)" in page.text
    assert "S-Oil Munsan depot" in page.text  # the morning's tanker
    assert "Sign off this day" in page.text


def test_nothing_is_laid_after_the_moment_of_loading(loaded):
    with loaded.session() as session:
        assert session.scalar(select(func.max(DrawdownEntry.occurred_on))) == loaded.today
        assert session.scalar(select(func.max(DrawdownEntry.recorded_at))) <= loaded.now
        assert session.scalar(select(func.max(StockMovement.occurred_on))) == loaded.today
        assert session.scalar(select(func.max(StockMovement.recorded_at))) <= loaded.now
        assert session.scalar(select(func.max(MeterReading.read_at))) <= loaded.now


def test_a_drawdown_and_a_fuel_receipt_recorded_today_on_the_blanket_diesel_line_are_covered(
    loaded,
):
    later = loaded.now + timedelta(minutes=5)
    with loaded.session() as session:
        try:
            admin = session.scalars(select(User).where(User.email == "admin@liaison.example")).one()
            line = _blanket_line(session, "diesel")
            entry = ledger.record_drawdown(
                session,
                resource=line.resource,
                quantity="950",
                unit="L",
                occurred_on=loaded.today,
                waiver_line=line,
                purpose=Purpose.OPERATION,
                actor=admin,
                now=later,
            )
            assert (entry.classification, entry.flagged) == (Classification.COVERED, False)
            # No reason given: a receipt the ledger would not cover is refused.
            tank = session.scalars(select(Store).where(Store.name == "Generator tank")).one()
            receipt = fuel.receive_fuel(
                session,
                tank,
                quantity="2000",
                unit="L",
                received_on=loaded.today,
                waiver_line=line,
                parties="A newcomer's first receipt",
                actor=admin,
                now=later,
            )
            drawn = session.scalars(
                select(DrawdownEntry).where(DrawdownEntry.source_id == receipt.id)
            ).one()
            assert drawn.classification is Classification.COVERED
        finally:
            session.rollback()


def test_the_dashboard_has_the_last_90_days_and_a_runway(loaded):
    today = loaded.today
    with loaded.session() as session:
        board = dashboard.build(session, today, today=today)
        litres = dict(board.series("litres"))
        kwh = dict(board.series("kwh"))
        days = [today - timedelta(days=n) for n in range(90)]
        assert all(litres.get(day) for day in days), "a day without fuel issued"
        assert all(kwh.get(day) for day in days[1:]), "a day without electricity"
        diesel = next(
            state
            for state in board.lines
            if state.waiver.reference == BLANKET and state.line.resource.code == "diesel"
        )
        assert diesel.per_day > 0 and diesel.runs_out_on is not None
        tanks = session.scalars(select(Store).where(Store.kind == StoreKind.TANK)).all()
        assert len(tanks) == 2
        assert all(fuel.days_of_fuel_left(session, tank, today) for tank in tanks)
        generator = session.scalars(select(Generator).order_by(Generator.id)).first()
        assert (
            len(fuel.generator_checks(session, generator, today - timedelta(days=29), today)) >= 28
        )


def test_the_un_petroleum_reports_current_period_has_transfers(loaded):
    start, end = petroleum.period_from(None, loaded.today)
    assert start <= loaded.today <= end
    with loaded.session() as session:
        report = petroleum.petroleum_report(session, start, end)
    assert report.transfers
    assert any(t.day == loaded.today for t in report.transfers)


def test_staffing_holds_every_rule_today_and_in_the_weeks_ahead(loaded, travel):
    today = loaded.today
    with loaded.session() as session:
        found, _people = staffing.violations(
            session, today - timedelta(days=14), today + timedelta(days=29)
        )
        assert found == []
        rules = staffing.rules_by_side(session)
        assert {rule.applies_from for rule in rules.values()} == {
            loaded.calendar.day(date(2018, 9, 14))
        }
    client = loaded.client("scheduler@liaison.example")
    page = read(client.get("/staffing/calendar"))
    headcounts = [row[1:] for row in page.rows if row and row[0].startswith("On site")]
    assert len(headcounts) == 2  # South, North
    for counts in headcounts:
        assert len(counts) == months.monthrange(today.year, today.month)[1]
        assert all(15 <= int(count) <= 20 for count in counts), counts
    assert "No broken rules" in page.text
    overview = read(client.get("/staffing/"))
    assert f"Every rule holds from {today} for 30 days." in overview.text


def test_the_reviews_have_items_in_every_state_and_a_signed_off_month(loaded):
    with loaded.session() as session:
        counts = queries.count_by_state(session, queries.QueueFilters(), today=loaded.today)
        assert all(counts[state] > 0 for state in ReviewState), counts
        signed = list(session.scalars(select(SignedOffMonth.month)))
        assert signed == [loaded.calendar.day(date(2018, 9, 1))]
        kinds = {c.kind.value: c.month for c in session.scalars(select(LedgerCheckpoint))}
        assert kinds["sign_off"] == signed[0] and "daily" in kinds
        checked, problem = ledger.verify_chain(session)
        assert problem is None and checked > 0
        assert ledger.check_usage(session) == []
    runner = loaded.app.test_cli_runner()
    for command in (["ledger", "verify"], ["ledger", "check"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output


def test_every_month_of_the_story_has_a_report_and_the_months_page_links_only_working_ones(
    loaded, travel
):
    today = loaded.today
    month = loaded.calendar.day(date(2018, 6, 1))
    with loaded.session() as session:
        while month <= today:
            built = monthly.build(session, month, today=today)
            assert built.transfers or built.uses, month
            month = next_month(month)
    client = loaded.client("reviewer@liaison.example")
    page = read(client.get("/reviews/months"))
    links = [href for href, _text in page.links if href.startswith("/reviews/reports/")]
    assert f"/reviews/reports/{today:%Y-%m}" in links
    for href in links:
        if href.endswith(".pdf") and not href.startswith(f"/reviews/reports/{today:%Y-%m}"):
            continue  # a PDF takes a second to print: the current month's stands for them
        response = client.get(href)
        assert response.status_code == 200, href
        if href.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
            assert len(rows) > 1, href
    # The PDF is printed by a worker: each month's button asks for it.
    assert (f"/reviews/reports/{today:%Y-%m}.pdf", "PDF") in page.buttons


def test_the_waivers_keep_their_2018_references_and_move_their_dates(loaded):
    on = loaded.calendar.day
    with loaded.session() as session:
        line = _blanket_line(session, "diesel")
        assert line.waiver.reference == BLANKET
        assert (line.waiver.valid_from, line.waiver.valid_until) == (
            on(date(2018, 8, 14)),
            on(date(2019, 8, 13)),
        )
        assert line.granted_base - line.used_base > Decimal(100_000)


def test_the_deliveries_name_the_ministrys_approvals_and_the_repairs_are_not_un_exempted(loaded):
    # 2018 as it was: each delivery names its carry-out approval, whose lines it drew on under
    # the ministry's regime; what the UN bans went with no exemption, recorded anyway with
    # the government's position; the lorry over the steel line was turned back.
    with loaded.session() as session:
        deliveries = {
            d.reference: d
            for d in session.scalars(select(Delivery).where(Delivery.direction == "north"))
        }
        approvals = {ref: d.approval_waiver.reference for ref, d in deliveries.items()}
        assert set(approvals.values()) == {"MOU-2018-0611", "MOU-2018-0702-G", BLANKET}
        assert approvals["KLO-D-2018-03"] == "MOU-2018-0702-G"
        assert approvals["KLO-D-2018-12"] == BLANKET
        assert deliveries["KLO-D-2018-07"].status is DeliveryStatus.REJECTED
        drawn = {
            (d.reference, line.resource.code): line.drawdown_entry
            for d in deliveries.values()
            for line in d.lines
            if line.drawdown_entry is not None
        }
        steel = drawn["KLO-D-2018-01", "steel"]
        by_regime = {s.regime.code: s for s in steel.screenings}
        assert by_regime["un"].classification is Classification.UNCOVERED
        assert by_regime["rok"].classification is Classification.COVERED
        assert by_regime["rok"].waiver.reference == "MOU-2018-0611"
        assert steel.flagged and steel.override_reason == GOVERNMENT_POSITION_2018
        welder = {s.regime.code: s for s in drawn["KLO-D-2018-03", "welder"].screenings}
        assert welder["rok"].waiver.reference == "MOU-2018-0611"  # its own line's approval
        paper = {s.regime.code: s for s in drawn["KLO-D-2018-12", "paper"].screenings}
        assert paper["rok"].waiver.reference == BLANKET
        assert not drawn["KLO-D-2018-12", "paper"].flagged
