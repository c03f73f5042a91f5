"""Several administrators writing into the operations at the same moment, committed for real
(`tests.concurrency`): the books add up, each interval is counted once, every write lands
before a sign-off or is refused after it, and nobody ever gets a server error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from office.fuel import services
from office.fuel.models import (
    DailyLog,
    DailyLogEvent,
    DipReading,
    Generator,
    GeneratorReading,
    LogStatus,
    Meter,
    MeterReading,
    MeterSource,
)
from office.periods.models import SignedOffMonth
from office.reviews import services as reviews
from office.stock.models import LotDraw, MovementKind, StockLot, StockMovement, Store
from office.waivers import ledger, regimes
from office.waivers.models import DrawdownEntry, Regime, Source, WaiverLine
from tests.concurrency import Office, at_once, held, in_background, post
from tests.factories import NOW, make_approval, make_resource, make_waiver

DAY = date(2018, 10, 5)
OPENING = Decimal(1000)
ANSWERS = {200, 302, 409, 422}  # a page, a redirect, a refusal; never a 500


@dataclass
class Site:
    tank_id: int
    line_id: int
    power_line_id: int
    meter_id: int
    generator_id: int


@pytest.fixture
def site(office: Office) -> Site:
    """A 5,000 L diesel tank holding 1,000 L, a granted diesel line, a grid meter reading
    10,000 kWh on an electricity line, and a generator."""
    with office.session() as session:
        diesel = make_resource(session)
        power = make_resource(
            session, "electricity", hs_code="2716.00", unit="kWh", barrels_per_tonne=None
        )
        line = make_waiver(session, [(diesel, "L", "100000", "100000")]).lines[0]
        power_line = make_waiver(session, [(power, "kWh", "1000000", "1000000")]).lines[0]
        tank = services.create_tank(
            session,
            name="Main tank",
            product=diesel,
            capacity="5000",
            tolerance=None,
            location="",
            opening=str(OPENING),
            opened_on=date(2018, 9, 1),
            actor=None,
            now=NOW,
        )
        meter = services.add_meter(
            session,
            name="Grid",
            source=MeterSource.GRID_SOUTH,
            waiver_line=power_line,
            digits=7,
            multiplier="1",
            installed_at=datetime(2018, 10, 1, tzinfo=UTC),
            first_value="10000",
            actor=None,
            now=NOW,
        )
        generator = services.add_generator(
            session, name="Generator 1", rated_lph="20", tank=tank, actor=None, now=NOW
        )
        # The day's log is open already: each test races on its own subject (the first
        # writes of a day have their own test).
        services.save_log(session, DAY, incidents="", notes="", actor=None, now=NOW)
        session.commit()
        return Site(tank.id, line.id, power_line.id, meter.id, generator.id)


def _day(day: date = DAY) -> str:
    return f"/operations/days/{day.isoformat()}"


def _receipt(site: Site, litres: int, **extra: str) -> dict[str, str]:
    return {
        "receipt-tank": str(site.tank_id),
        "receipt-quantity": str(litres),
        "receipt-unit": "L",
        "receipt-line_un": str(site.line_id),
        **extra,
    }


def _issue(site: Site, litres: int) -> dict[str, str]:
    return {"issue-tank": str(site.tank_id), "issue-quantity": str(litres), "issue-use": "boiler"}


def _return(site: Site, litres: int) -> dict[str, str]:
    return {"return-tank": str(site.tank_id), "return-quantity": str(litres)}


def _assert_books_add_up(session: Session, site: Site) -> None:
    """Every litre in exactly one lot: each lot's quantity is what remains of it plus what was
    drawn from it; the tank's movements account for what its lots hold; the ledger is whole,
    each receipt drawn once, and its entry reversed if and only if the receipt was voided."""
    lots = session.scalars(select(StockLot).where(StockLot.store_id == site.tank_id)).all()
    for lot in lots:
        drawn = session.scalar(
            select(func.coalesce(func.sum(LotDraw.quantity), 0))
            .join(StockMovement, StockMovement.id == LotDraw.movement_id)
            .where(LotDraw.lot_id == lot.id, StockMovement.voided_at.is_(None))
        )
        assert lot.remaining >= 0
        assert lot.used + lot.returned == drawn, f"lot {lot.id}"
        voided_receipt = session.scalar(
            select(StockMovement.voided_at).where(
                StockMovement.lot_id == lot.id, StockMovement.kind == MovementKind.RECEIPT
            )
        )
        if voided_receipt is not None:
            assert lot.remaining == 0 and drawn == 0
        else:
            assert lot.remaining + lot.used + lot.returned == lot.quantity, f"lot {lot.id}"
    movements = session.scalars(
        select(StockMovement).where(
            StockMovement.store_id == site.tank_id, StockMovement.voided_at.is_(None)
        )
    ).all()
    received = sum((m.quantity for m in movements if m.kind is MovementKind.RECEIPT), Decimal(0))
    drawn_out = sum(
        (m.quantity for m in movements if m.kind is not MovementKind.RECEIPT), Decimal(0)
    )
    held = sum((lot.remaining for lot in lots), Decimal(0))
    assert held == OPENING + received - drawn_out
    assert 0 <= held <= 5000
    for movement in movements:
        if movement.kind is not MovementKind.RECEIPT:
            assert sum(part.quantity for part in movement.draws) == movement.quantity
    receipts = session.scalars(
        select(StockMovement).where(
            StockMovement.store_id == site.tank_id, StockMovement.kind == MovementKind.RECEIPT
        )
    ).all()
    for receipt in receipts:
        entries = session.scalars(
            select(DrawdownEntry).where(
                DrawdownEntry.source == Source.FUEL_RECEIPT, DrawdownEntry.source_id == receipt.id
            )
        ).all()
        drawn = [e for e in entries if e.reverses_id is None]
        reversals = [e for e in entries if e.reverses_id is not None]
        assert len(drawn) == 1, f"receipt {receipt.id} drawn {len(drawn)} times"
        assert len(reversals) == (1 if receipt.voided_at is not None else 0)
    _checked, problem = ledger.verify_chain(session)
    assert problem is None
    assert ledger.check_usage(session) == []
    assert ledger.drawn_twice(session) == []


def test_receipts_issues_and_returns_on_one_tank_keep_every_litre_in_one_lot(office, site):
    calls = (
        [
            post(office, office.admin, f"{_day()}/receipts", data=_receipt(site, 700))
            for _ in range(6)
        ]
        + [post(office, office.admin, f"{_day()}/issues", data=_issue(site, 400)) for _ in range(6)]
        + [
            post(office, office.admin, f"{_day()}/returns", data=_return(site, 150))
            for _ in range(4)
        ]
    )

    statuses = at_once(calls)

    assert set(statuses) <= ANSWERS, statuses
    with office.session() as session:
        _assert_books_add_up(session, site)
        kinds = dict(
            session.execute(
                select(StockMovement.kind, func.count())
                .where(StockMovement.store_id == site.tank_id)
                .group_by(StockMovement.kind)
            ).all()
        )
        # Each request that was answered with a redirect was recorded, and only those.
        assert sum(kinds.values()) == statuses.count(302)
        assert kinds.get(MovementKind.RECEIPT, 0) >= 1


@pytest.mark.parametrize(("un_cap", "rok_cap"), [("100000", "3000"), ("3000", "100000")])
def test_receipts_naming_one_ministry_line_at_once_hold_the_caps_and_refused_ones_leave_nothing(
    office, site, un_cap, rok_cap
):
    """Every regime in force, twelve receipts of 500 L at once, each naming the same UN
    exemption and the same individual ministry approval: the smaller cap lets six through
    (the tank has room for eight), under each regime; a receipt refused leaves no lot, no
    movement, no entry and nothing in the day's history."""
    with office.session() as session:
        session.execute(update(Regime).values(in_force=True))
        session.commit()
        regimes.refresh_controls(session)
        session.commit()
        diesel = session.get(WaiverLine, site.line_id).resource
        un_id = make_waiver(session, [(diesel, "L", un_cap, un_cap)]).lines[0].id
        rok_id = make_approval(session, [(diesel, "L", rok_cap, rok_cap)]).lines[0].id
    data = _receipt(site, 500, **{"receipt-line_un": str(un_id), "receipt-line_rok": str(rok_id)})

    statuses = at_once(
        [post(office, office.admin, f"{_day()}/receipts", data=data) for _ in range(12)]
    )

    assert sorted(statuses) == [302] * 6 + [422] * 6, statuses
    with office.session() as session:
        _assert_books_add_up(session, site)
        assert session.get(WaiverLine, un_id).used_base == 3000
        assert session.get(WaiverLine, rok_id).used_base == 3000
        receipts = session.scalars(
            select(StockMovement).where(
                StockMovement.store_id == site.tank_id, StockMovement.kind == MovementKind.RECEIPT
            )
        ).all()
        assert len(receipts) == 6
        lots = session.scalars(select(StockLot).where(StockLot.store_id == site.tank_id)).all()
        assert len(lots) == 1 + 6  # the opening stock's and the receipts'
        entries = session.scalars(select(DrawdownEntry)).all()
        assert len(entries) == 6
        for entry in entries:
            assert {
                s.regime.code: (s.classification.value, s.waiver_line_id) for s in entry.screenings
            } == {
                "un": ("covered", un_id),
                "rok": ("covered", rok_id),
                "us": ("not_required", None),
            }
        received = session.scalar(
            select(func.count())
            .select_from(DailyLogEvent)
            .where(DailyLogEvent.action == "fuel_received")
        )
        assert received == 6


def test_one_issue_voided_ten_times_at_once_is_voided_once(office, site):
    with office.session() as session:
        tank = session.get(Store, site.tank_id)
        issue = services.issue_fuel(
            session, tank, quantity="100", issued_on=DAY, use="boiler", actor=None, now=NOW
        )
        session.commit()
        issue_id = issue.id

    statuses = at_once(
        [
            post(
                office,
                office.admin,
                f"/operations/movements/{issue_id}/void",
                data={"reason": f"entered twice ({n})"},
            )
            for n in range(10)
        ]
    )

    assert set(statuses) == {302}
    with office.session() as session:
        held = session.scalar(
            select(func.sum(StockLot.remaining)).where(StockLot.store_id == site.tank_id)
        )
        assert held == OPENING  # not 1,900 L
        voids = session.scalars(
            select(DailyLogEvent).where(DailyLogEvent.action == "issue_voided")
        ).all()
        assert len(voids) == 1
        _assert_books_add_up(session, site)


def test_voiding_receipts_while_others_are_received_and_the_month_is_signed_off(office, site):
    """The void takes the tank, then the waiver line and the ledger; a receipt the same; the
    month's sign-off only the month: nobody waits in a circle, nobody gets a 500."""
    with office.session() as session:
        tank = session.get(Store, site.tank_id)
        line = session.get(WaiverLine, site.line_id)
        receipts = [
            services.receive_fuel(
                session,
                tank,
                quantity="300",
                unit="L",
                received_on=DAY,
                waiver_line=line,
                actor=None,
                now=NOW,
            ).id
            for _ in range(4)
        ]
        session.commit()

    calls = [
        post(office, office.admin, f"/operations/movements/{receipt}/void", data={"reason": "x"})
        for receipt in receipts
    ]
    calls += [
        post(office, office.admin, f"{_day()}/receipts", data=_receipt(site, 200)) for _ in range(4)
    ]
    calls += [post(office, office.reviewer, "/reviews/months/2018-10/sign-off", data={"note": ""})]
    statuses = at_once(calls)

    assert set(statuses) <= ANSWERS, statuses
    with office.session() as session:
        _assert_books_add_up(session, site)
        signed = session.get(SignedOffMonth, date(2018, 10, 1))
        if signed is not None:
            # Whatever landed in October landed before the sign-off took the month.
            assert statuses[-1] == 302


def test_two_readings_of_one_meter_at_once_count_each_interval_once(office, site):
    # Five readings of the grid meter sent at once, each later and higher than the last one
    # recorded. Whichever order they land in, the line is charged what the register moved.
    readings = [
        ("10:00", 10100),
        ("11:00", 10250),
        ("12:00", 10300),
        ("13:00", 10480),
        ("14:00", 10500),
    ]
    statuses = at_once(
        [
            post(
                office,
                office.admin,
                f"{_day()}/meter-readings",
                data={
                    "reading-meter": str(site.meter_id),
                    "reading-value": str(value),
                    "reading-unit": "kWh",
                    "reading-at": at,
                },
            )
            for at, value in readings
        ]
    )

    assert set(statuses) <= ANSWERS, statuses
    assert statuses.count(302) >= 1
    with office.session() as session:
        standing = session.scalars(
            select(MeterReading)
            .where(MeterReading.meter_id == site.meter_id, MeterReading.voided_at.is_(None))
            .order_by(MeterReading.read_at)
        ).all()
        assert [r.previous_at for r in standing[1:]] == [r.read_at for r in standing[:-1]]
        counted = sum(r.consumption for r in standing[1:])
        assert counted == standing[-1].value - standing[0].value
        line = session.get(WaiverLine, site.power_line_id)
        assert line.used_base == counted  # not more: no interval twice
        assert ledger.check_usage(session) == [] and ledger.drawn_twice(session) == []


def test_readings_of_one_generator_at_once_never_make_its_meter_go_back(office, site):
    # Ten readings, each later and lower than the one before: any two of them contradict each
    # other, so one lands and the other nine are refused, whatever the order.
    readings = [(f"{8 + n:02d}:00", 200 - n) for n in range(10)]
    statuses = at_once(
        [
            post(
                office,
                office.admin,
                f"{_day()}/generator-hours",
                data={
                    "hours-generator": str(site.generator_id),
                    "hours-hours": str(hours),
                    "hours-at": at,
                },
            )
            for at, hours in readings
        ]
    )

    assert set(statuses) <= ANSWERS, statuses
    assert statuses.count(302) == 1, statuses
    with office.session() as session:
        standing = session.scalars(
            select(GeneratorReading).where(GeneratorReading.generator_id == site.generator_id)
        ).all()
        assert len(standing) == 1


def test_the_first_writes_of_a_day_by_several_administrators_open_one_log(office, site):
    day = date(2018, 10, 20)
    calls = [
        post(office, office.admin, f"{_day(day)}/notes", data={"notes-notes": "Quiet day."}),
        post(
            office,
            office.admin,
            f"{_day(day)}/dips",
            data={"dip-tank": str(site.tank_id), "dip-measured": "990", "dip-at": "08:00"},
        ),
        post(office, office.admin, f"{_day(day)}/issues", data=_issue(site, 50)),
        post(
            office,
            office.admin,
            f"{_day(day)}/generator-hours",
            data={
                "hours-generator": str(site.generator_id),
                "hours-hours": "5",
                "hours-at": "09:00",
            },
        ),
    ]

    statuses = at_once(calls)

    assert statuses == [302] * 4
    with office.session() as session:
        logs = session.scalars(select(DailyLog).where(DailyLog.log_on == day)).all()
        assert len(logs) == 1
        actions = sorted(event.action for event in logs[0].events)
        assert actions == ["dip_reading", "fuel_issued", "generator_hours", "notes_saved"]
        assert logs[0].notes == "Quiet day."
        assert session.scalar(select(func.count()).select_from(DipReading)) == 1


# --- a sign-off and the writes into what it closes ----------------------------------------


def _open_log(office: Office, day: date) -> None:
    with office.session() as session:
        services.save_log(session, day, incidents="", notes="", actor=None, now=NOW)
        session.commit()


def test_a_write_into_a_day_being_signed_off_waits_and_is_then_refused(office, site):
    day = date(2018, 10, 21)
    _open_log(office, day)
    with held(office, lambda s: services.sign_off(s, day, actor=None, now=NOW)):
        thread, answered = in_background(
            post(office, office.admin, f"{_day(day)}/notes", data={"notes-notes": "late"})
        )
        thread.join(timeout=1)
        assert answered == [], "the write did not wait for the day's sign-off"
    thread.join(timeout=30)

    assert answered == [422]  # refused: a correction needs its reason
    with office.session() as session:
        log = session.scalar(select(DailyLog).where(DailyLog.log_on == day))
        assert log.status is LogStatus.SIGNED_OFF and log.notes == ""


def test_a_sign_off_waits_for_a_write_into_the_day_and_comes_after_it(office, site):
    day = date(2018, 10, 22)
    _open_log(office, day)
    write = lambda s: services.save_log(  # noqa: E731
        s, day, incidents="", notes="first", actor=None, now=NOW
    )
    with held(office, write):
        thread, answered = in_background(
            post(office, office.admin, f"{_day(day)}/sign-off", data={})
        )
        thread.join(timeout=1)
        assert answered == [], "the sign-off did not wait for the write in flight"
    thread.join(timeout=30)

    assert answered == [302]
    with office.session() as session:
        log = session.scalar(select(DailyLog).where(DailyLog.log_on == day))
        assert log.status is LogStatus.SIGNED_OFF and log.notes == "first"
        assert [e.action for e in log.events][-2:] == ["notes_saved", "signed_off"]


def test_a_write_dated_in_a_month_being_signed_off_waits_and_is_then_refused(office, site):
    sign = lambda s: reviews.sign_off_month(  # noqa: E731
        s, date(2018, 10, 1), note="", actor=office.reviewer, now=NOW, today=NOW.date()
    )
    with held(office, sign):
        thread, answered = in_background(
            post(office, office.admin, f"{_day()}/issues", data=_issue(site, 10))
        )
        thread.join(timeout=1)
        assert answered == [], "the write did not wait for the month's sign-off"
    thread.join(timeout=30)

    assert answered == [422]
    with office.session() as session:
        issued = session.scalar(
            select(func.count())
            .select_from(StockMovement)
            .where(StockMovement.kind == MovementKind.ISSUE)
        )
        assert issued == 0


def test_a_month_sign_off_waits_for_a_write_dated_in_it_and_comes_after_it(office, site):
    def write(session: Session) -> None:
        tank = session.get(Store, site.tank_id)
        services.issue_fuel(
            session, tank, quantity="10", issued_on=DAY, use="boiler", actor=None, now=NOW
        )

    with held(office, write):
        thread, answered = in_background(
            post(office, office.reviewer, "/reviews/months/2018-10/sign-off", data={"note": ""})
        )
        thread.join(timeout=1)
        assert answered == [], "the sign-off did not wait for the write in flight"
    thread.join(timeout=30)

    assert answered == [302]
    with office.session() as session:
        assert session.get(SignedOffMonth, date(2018, 10, 1)) is not None
        assert (
            session.scalar(
                select(func.count())
                .select_from(StockMovement)
                .where(StockMovement.kind == MovementKind.ISSUE)
            )
            == 1
        )


def test_a_meter_and_a_generator_take_one_reading_per_interval_in_the_database(office, site):
    """The database refuses a second standing reading counted from the same one, and two
    standing run-hour readings of one moment, whatever the code above it does."""
    from sqlalchemy.exc import IntegrityError

    with office.session() as session:
        meter = session.get(Meter, site.meter_id)
        first = services.last_reading(session, meter)
        at = datetime(2018, 10, 5, 3, tzinfo=UTC)
        for value in ("10100", "10200"):
            session.add(
                MeterReading(
                    meter_id=meter.id,
                    read_at=at,
                    read_on=DAY,
                    value=Decimal(value),
                    kind="regular",
                    consumption=Decimal(100),
                    previous_at=first.read_at,
                    recorded_at=NOW,
                )
            )
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        generator = session.get(Generator, site.generator_id)
        for hours in ("1", "2"):
            session.add(
                GeneratorReading(
                    generator_id=generator.id, read_at=at, read_on=DAY, hours=Decimal(hours)
                )
            )
        with pytest.raises(IntegrityError):
            session.flush()
