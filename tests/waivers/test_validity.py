"""A granted waiver outside its validity says so wherever its status shows (the list, its page,
the pickers, the lots it came in with), by the date in Seoul, while its status history stays as
recorded: the badge agrees with the ledger, which refuses every drawdown dated then."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.db import utcnow
from office.fuel import services as fuel
from office.i18n import office_date
from office.waivers import ledger
from office.waivers.models import Classification, WaiverStatus, WaiverStatusChange
from tests.conftest import log_in
from tests.factories import NOW, make_resource, make_steel, make_user, make_waiver
from tests.supplies.arrange import draft, received
from tests.supplies.arrange import line as manifest_line
from tests.supplies.pages import read

EXPIRED = "expired: valid until 2018-12-31"


def today() -> date:
    return office_date(utcnow())


@pytest.fixture
def as_admin(client, session):
    return log_in(client, make_user(session, Role.ADMIN, name="Admin Kim"))


@pytest.fixture
def diesel(session):
    return make_resource(session)


@pytest.fixture
def lapsed(session, diesel):
    """Granted in 2018, valid through 2018-12-31: today it has expired by its dates."""
    return make_waiver(session, [(diesel, "L", "10000", "10000")], reference="MOU-2018-0611")


def test_a_grant_past_its_last_valid_day_shows_expired_on_the_list_and_its_page(
    as_admin, session, lapsed
):
    history = session.scalar(select(func.count()).select_from(WaiverStatusChange))

    listing = read(as_admin.get("/waivers/"))
    page = read(as_admin.get(f"/waivers/{lapsed.id}"))

    assert listing.marked[f"waiver-status-{lapsed.id}"] == EXPIRED
    assert page.marked["waiver-status"] == EXPIRED
    assert page.marked["recorded-status"] == (
        "granted in its history; drawdowns dated outside its validity are refused."
    )
    # Shown, not written: the status and its history are as they were recorded.
    session.refresh(lapsed)
    assert lapsed.status is WaiverStatus.GRANTED
    assert session.scalar(select(func.count()).select_from(WaiverStatusChange)) == history


def test_the_badge_agrees_with_the_ledger_which_refuses_a_drawdown_dated_today(
    session, diesel, lapsed
):
    from office.waivers.labels import shown_status
    from office.waivers.models import Lapse

    (line,) = lapsed.lines
    assert shown_status(lapsed, today(), lapsed.status).lapse is Lapse.EXPIRED
    assert (
        ledger.classify(diesel, lapsed, line, line.used_base, today())
        is Classification.OUTSIDE_VALIDITY
    )


def test_a_grant_before_its_first_valid_day_shows_not_yet_valid(as_admin, session, diesel):
    start = today() + timedelta(days=10)
    waiver = make_waiver(session, [(diesel, "L", "100", "100")], valid_from=start, valid_until=None)

    page = read(as_admin.get(f"/waivers/{waiver.id}"))

    assert page.marked["waiver-status"] == f"not yet valid: from {start.isoformat()}"
    assert read(as_admin.get("/waivers/")).marked[f"waiver-status-{waiver.id}"] == (
        f"not yet valid: from {start.isoformat()}"
    )


def test_a_grant_within_its_validity_still_shows_granted(as_admin, session, diesel):
    waiver = make_waiver(
        session,
        [(diesel, "L", "100", "100")],
        valid_from=today() - timedelta(days=1),
        valid_until=today(),  # its last day is valid all day long in Seoul
    )

    page = read(as_admin.get(f"/waivers/{waiver.id}"))

    assert page.marked["waiver-status"] == "granted"
    assert "recorded-status" not in page.marked


def test_a_status_that_is_not_a_grant_is_shown_as_recorded_whatever_the_dates(
    as_admin, session, diesel
):
    waiver = make_waiver(session, [(diesel, "L", "100", None)], status=WaiverStatus.REQUESTED)
    assert read(as_admin.get(f"/waivers/{waiver.id}")).marked["waiver-status"] == "requested"


def test_a_waiver_as_of_a_day_shows_expired_after_its_validity_and_granted_within_it(
    as_admin, lapsed
):
    url = f"/waivers/{lapsed.id}"
    assert read(as_admin.get(f"{url}?as_of=2018-12-31")).marked["waiver-status"] == "granted"
    assert read(as_admin.get(f"{url}?as_of=2019-01-01")).marked["waiver-status"] == EXPIRED


def test_the_drawdown_picker_says_the_waiver_has_expired(as_admin, lapsed):
    (line,) = lapsed.lines
    page = read(as_admin.get("/ledger/new"))
    assert page.choice(f"line_{line.waiver.regime.code}", str(line.id)) == (
        f"MOU-2018-0611 · 1 · diesel · 10,000 L left · {EXPIRED}"
    )


def test_the_manifest_picker_shows_each_waiver_as_on_the_day_the_delivery_is_planned(
    as_admin, session, lapsed
):
    (line,) = lapsed.lines
    within = draft(session, planned_on=date(2018, 10, 1))
    after = draft(session, planned_on=date(2019, 1, 2))

    assert read(as_admin.get(f"/deliveries/{within.id}")).choice(
        "waiver_line_id", str(line.id)
    ) == ("MOU-2018-0611 · 1 · diesel · granted")
    assert read(as_admin.get(f"/deliveries/{after.id}")).choice("waiver_line_id", str(line.id)) == (
        f"MOU-2018-0611 · 1 · diesel · {EXPIRED}"
    )


def test_the_stock_page_shows_a_lots_waiver_as_expired_today_and_granted_as_of_then(
    as_admin, session
):
    steel = make_steel(session)
    waiver = make_waiver(session, [(steel, "t", "10", "10")], reference="MOU-2018-0700")
    delivery = received(session, [manifest_line(steel, "2", waiver.lines[0])])
    lot_id = delivery.lines[0].lot_id

    now = read(as_admin.get(f"/deliveries/stock?resource={steel.id}"))
    then = read(as_admin.get(f"/deliveries/stock?resource={steel.id}&as_of=2018-10-31"))

    assert now.row(f"#{lot_id}")[4] == f"MOU-2018-0700 · 1 {EXPIRED}"
    assert then.row(f"#{lot_id}")[4] == "MOU-2018-0700 · 1 granted"


def test_a_tanks_page_shows_its_lots_waiver_as_expired_today(as_admin, session, diesel, lapsed):
    tank = fuel.create_tank(
        session,
        name="Boiler tank",
        product=diesel,
        capacity="10000",
        tolerance=None,
        location="",
        opening=None,
        opened_on=date(2018, 6, 1),
        actor=None,
        now=NOW,
    )
    fuel.receive_fuel(
        session,
        tank,
        quantity="1000",
        unit="L",
        received_on=date(2018, 10, 1),
        waiver_line=lapsed.lines[0],
        actor=None,
        now=NOW,
    )
    session.commit()

    page = read(as_admin.get(f"/operations/tanks/{tank.id}"))

    assert page.row("2018-10-01")[2] == f"MOU-2018-0611 · 1 {EXPIRED}"
