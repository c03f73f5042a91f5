"""The daily log is signed off once, then corrected only with a reason kept in its history;
the UN report counts gross transfers north of HS 2710, returns apart; person-days."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.errors import ConflictError
from office.fuel import report, services
from office.fuel.models import DailyLogEvent, LogStatus
from office.stock.models import StockMovement
from office.waivers import ledger
from tests.factories import (
    NOW,
    audit_events,
    draw,
    make_person,
    make_resource,
    make_user,
    make_waiver,
    recorded,
    stay,
)

DAY = date(2018, 10, 15)


@pytest.fixture
def tank(session):
    diesel = make_resource(session)
    return services.create_tank(
        session,
        name="T1",
        product=diesel,
        capacity="20000",
        tolerance=None,
        location="",
        opening="5000",
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )


def issue(session, tank, day=DAY, reason=None):
    return services.issue_fuel(
        session,
        tank,
        quantity="100",
        issued_on=day,
        use="boiler",
        correction_reason=reason,
        actor=None,
        now=NOW,
    )


def test_a_day_is_signed_off_once(session):
    log = services.sign_off(session, DAY, actor=None, now=NOW)
    assert log.status is LogStatus.SIGNED_OFF
    with pytest.raises(ConflictError, match="already signed off"):
        services.sign_off(session, DAY, actor=None, now=NOW)


def test_a_signed_off_day_refuses_a_change_without_a_reason(session, tank):
    services.save_log(session, DAY, incidents="Boiler serviced", notes="", actor=None, now=NOW)
    services.sign_off(session, DAY, actor=None, now=NOW)
    for change in (
        lambda: issue(session, tank),
        lambda: services.save_log(session, DAY, incidents="x", notes="", actor=None, now=NOW),
        lambda: services.record_dip(
            session,
            tank,
            measured="5000",
            read_at=NOW.replace(year=2018, month=10, day=15),
            actor=None,
            now=NOW,
        ),
    ):
        with pytest.raises(ConflictError, match="is a correction: give the reason") as refused:
            change()
        assert refused.value.field == "correction_reason"
    assert session.scalars(select(StockMovement).where(StockMovement.use == "boiler")).all() == []
    assert services.log_for(session, DAY).incidents == "Boiler serviced"


def test_a_correction_is_kept_in_the_days_history_with_its_reason(session, tank):
    issue(session, tank)
    services.sign_off(session, DAY, actor=None, now=NOW)
    issue(session, tank, reason="The night shift's issue was missing from the paper log.")
    events = session.scalars(
        select(DailyLogEvent).join(DailyLogEvent.log).order_by(DailyLogEvent.id)
    ).all()
    assert [(e.action, e.reason) for e in events] == [
        ("fuel_issued", None),
        ("signed_off", None),
        ("fuel_issued", "The night shift's issue was missing from the paper log."),
    ]


def test_each_change_to_a_day_is_on_the_audit_trail_with_who_made_it_and_when(session, tank):
    clerk = make_user(session, name="Clerk Lee")
    morning, evening, next_day = (NOW - timedelta(hours=h) for h in (30, 26, 2))
    movement = services.issue_fuel(
        session, tank, quantity="100", issued_on=DAY, use="boiler", actor=clerk, now=morning
    )
    log = services.save_log(
        session, DAY, incidents="Boiler serviced", notes="", actor=clerk, now=morning
    )
    services.sign_off(session, DAY, actor=clerk, now=evening)
    services.void_movement(session, movement, reason="Entered twice.", actor=clerk, now=next_day)

    (issued,) = audit_events(session, "day.fuel_issued")
    assert recorded(issued) == (clerk.id, morning, "Store", str(tank.id))
    assert issued.detail.keys() == {"day", "tank", "quantity", "use"}
    assert (issued.detail["day"], issued.detail["tank"]) == ("2018-10-15", "T1")
    assert Decimal(issued.detail["quantity"]) == 100
    (saved,) = audit_events(session, "day.notes_saved")
    assert recorded(saved) == (clerk.id, morning, "DailyLog", str(log.id))
    (signed,) = audit_events(session, "day.signed_off")
    assert recorded(signed) == (clerk.id, evening, "DailyLog", str(log.id))
    assert signed.detail == {"day": "2018-10-15"}
    (voided,) = audit_events(session, "day.issue_voided")
    assert recorded(voided) == (clerk.id, next_day, "StockMovement", str(movement.id))
    assert voided.detail["reason"] == "Entered twice."


def test_days_not_signed_off_are_listed(session):
    services.sign_off(session, DAY, actor=None, now=NOW)
    missing = services.missing_days(session, DAY - timedelta(days=1), DAY + timedelta(days=1))
    assert missing == [DAY - timedelta(days=1), DAY + timedelta(days=1)]


def test_future_days_cannot_be_logged(session):
    with pytest.raises(Exception, match="between 2000-01-01 and today"):
        services.sign_off(session, date(2019, 1, 1), actor=None, now=NOW)


# --- the UN petroleum notification --------------------------------------------------------


def test_periods_are_consecutive_thirty_days_from_new_year():
    periods = report.periods(2018)
    assert periods[0] == (date(2018, 1, 1), date(2018, 1, 30))
    assert periods[1] == (date(2018, 1, 31), date(2018, 3, 1))
    assert report.period_of(date(2018, 9, 14)) == (date(2018, 8, 29), date(2018, 9, 27))
    assert len(periods) == 13


def test_transfers_are_gross_per_product_in_litres_tonnes_and_barrels(session, tank):
    diesel = tank.resource
    line = make_waiver(session, [(diesel, "L", "100000", "100000")]).lines[0]
    services.receive_fuel(
        session,
        tank,
        quantity="1000",
        unit="L",
        received_on=DAY,
        waiver_line=line,
        parties="S-Oil / Hyundai Asan",
        actor=None,
        now=NOW,
    )
    services.return_fuel(
        session, tank, quantity="400", returned_on=DAY, parties="Tanker", actor=None, now=NOW
    )
    result = report.petroleum_report(session, *report.period_of(DAY))
    (transfer,) = result.transfers
    assert transfer.amounts == report.Amounts(Decimal("1000.0"), Decimal("0.870"), Decimal("6.29"))
    assert transfer.parties == "S-Oil / Hyundai Asan"
    assert transfer.waiver == line.waiver.reference
    total = result.products[diesel.id]
    assert (total.litres, total.returned_litres) == (Decimal("1000.0"), Decimal("400.0"))
    assert [r.amounts.litres for r in result.returns] == [Decimal("400.0")]


def test_a_reversed_transfer_is_not_counted_and_other_goods_never(session, tank):
    diesel = tank.resource
    line = make_waiver(session, [(diesel, "L", "100000", "100000")]).lines[0]
    wrong = draw(session, diesel, "5000", line=line, on=DAY)
    ledger.reverse_entry(session, wrong, reason="typo", actor=None, now=NOW)
    draw(session, diesel, "500", line=line, on=DAY)
    rice = make_resource(session, "rice", hs_code="1006.30", unit="kg", barrels_per_tonne=None)
    draw(session, rice, "100", on=DAY)
    result = report.petroleum_report(session, *report.period_of(DAY))
    assert [t.amounts.litres for t in result.transfers] == [Decimal("500.0")]


def test_only_the_period_counts(session, tank):
    diesel = tank.resource
    line = make_waiver(session, [(diesel, "L", "100000", "100000")]).lines[0]
    start, end = report.period_of(DAY)
    for day in (start - timedelta(days=1), start, end, end + timedelta(days=1)):
        draw(session, diesel, "10", line=line, on=day)
    assert len(report.petroleum_report(session, start, end).transfers) == 2


# --- per person-day -----------------------------------------------------------------------


def test_litres_per_person_day_divide_by_the_south_on_site(session, tank):
    for _ in range(4):
        stay(session, make_person(session), DAY, DAY)
    stay(session, make_person(session, "north"), DAY, DAY)
    issue(session, tank)
    (row,) = services.per_person_day(session, DAY, DAY)
    assert (row.people, row.litres, row.litres_per_person) == (4, Decimal(100), Decimal("25.0"))
    (empty,) = services.per_person_day(session, DAY + timedelta(days=1), DAY + timedelta(days=1))
    assert empty.people == 0 and empty.litres_per_person is None
