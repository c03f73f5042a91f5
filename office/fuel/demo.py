"""Demo fuel, generators, electricity and daily logs, July to December 2018.

Generators carried the repairs from July; power came from the South's grid (Munsan) from
2018-08-14 and the generators became the backup. Shown on purpose: an issue from a lot whose
waiver had expired, a leak-like dip variance, a meter rollover, a generator burning more than
rated, a correction after sign-off, and days left without a signed-off log.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.fuel import services
from office.fuel.models import FuelUse, MeterSource
from office.i18n import SEOUL
from office.staffing.checks import days
from office.stock.models import MovementKind, StockMovement
from office.stock.services import book_stock

TANKER = "S-Oil Munsan depot / 현대아산 탱크로리 (Hyundai Asan tanker)"
REPAIRS_END = date(2018, 9, 13)  # the generators' waiver MOU-2018-0702-G runs to here
GRID_ON = date(2018, 8, 14)
UNSIGNED = {date(2018, 10, 3), date(2018, 12, 24), date(2018, 12, 25)}
INCIDENTS = {
    date(2018, 9, 14): "Opening ceremony 10:30. Generator 1 on standby all day.",
    date(2018, 10, 11): "Grid supply tripped 10:20-16:30; Generator 1 carried the load.",
    date(2018, 11, 19): "Boiler tank dips 650 L short of the books. Drain valve seal found "
    "weeping and replaced; reported for review.",
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SEOUL).astimezone(UTC)


def schedule(session: Session, *, admin: User, waivers: Any, timeline: Any) -> None:
    """Create the tanks, generators and meters, and put six months of operations on
    `timeline` (replayed in date order with the waivers' status changes)."""
    diesel = waivers.resources["diesel"]
    repairs_line = waivers.line("MOU-2018-0702-G", "diesel")
    blanket_line = waivers.line("MOU-2018-B-0814", "diesel")
    power_line = waivers.line("MOU-2018-B-0814", "electricity")
    rng = random.Random(1914)
    generator_tank = services.create_tank(
        session,
        name="Generator tank",
        product=diesel,
        capacity="20000",
        tolerance=None,
        location="Basement generator room",
        opening=None,
        opened_on=date(2018, 7, 1),
        actor=admin,
        now=_at(date(2018, 7, 1), 9),
    )
    boiler_tank = services.create_tank(
        session,
        name="Boiler tank",
        product=diesel,
        capacity="30000",
        tolerance="300",
        location="Boiler house, living quarters",
        opening=None,
        opened_on=date(2018, 9, 25),
        actor=admin,
        now=_at(date(2018, 9, 25), 9),
    )
    gen1 = services.add_generator(
        session,
        name="Generator 1 (200 kVA)",
        rated_lph="38",
        tank=generator_tank,
        actor=admin,
        now=_at(date(2018, 7, 1), 10),
    )
    services.add_generator(
        session,
        name="Generator 2 (100 kVA)",
        rated_lph="19",
        tank=generator_tank,
        actor=admin,
        now=_at(date(2018, 7, 1), 10),
    )

    def act(day: date, function: Any, *args: Any, order: int = 2, **kwargs: Any) -> None:
        timeline.at(day, partial(function, session, *args, actor=admin, **kwargs), order=order)

    # Generator 1: ten hours a day through the repairs, then backup runs.
    issued: dict[date, Decimal] = {}
    for day in days(date(2018, 7, 2), date(2018, 12, 31)):
        if day <= REPAIRS_END:
            issued[day] = Decimal(rng.randrange(360, 400, 5))
        elif day == date(2018, 9, 14):
            continue
        elif day == date(2018, 9, 15):
            issued[day] = Decimal(200)
        elif day == date(2018, 10, 11):
            issued[day] = Decimal(235)
        else:
            issued[day] = Decimal(rng.randrange(30, 60, 5))
    # Receipts keep the tank above 2,000 L; the last one under the repairs' waiver leaves
    # 150 L of it for after the waiver expired.
    stock, receipts, last_sent = Decimal(0), {}, False
    still_to_burn = sum(issued[day] for day in days(date(2018, 7, 2), REPAIRS_END))
    for day in days(date(2018, 7, 2), REPAIRS_END):
        if not last_sent and stock - issued[day] < 2000:
            to_end_at_150 = still_to_burn - stock + 150
            last_sent = to_end_at_150 <= 4000
            receipts[day] = to_end_at_150 if last_sent else Decimal(4000)
            stock += receipts[day]
        stock -= issued[day]
        still_to_burn -= issued[day]
    receipts[date(2018, 9, 14)] = Decimal(6000)
    receipts[date(2018, 11, 26)] = Decimal(4000)
    for day, quantity in receipts.items():
        act(
            day,
            services.receive_fuel,
            generator_tank,
            quantity=quantity,
            unit="L",
            received_on=day,
            waiver_line=repairs_line if day <= REPAIRS_END else blanket_line,
            parties=TANKER,
            now=_at(day, 9),
        )
    hours = Decimal(1250)
    for day, litres in issued.items():
        act(
            day,
            services.issue_fuel,
            generator_tank,
            quantity=litres,
            issued_on=day,
            use=FuelUse.GENERATOR,
            generator=gen1,
            now=_at(day, 18),
        )
        ran = (litres / 38 * Decimal(rng.uniform(0.97, 1.03))).quantize(Decimal("0.1"))
        if day == date(2018, 11, 27):
            ran = Decimal("0.8")  # 45 L issued for under an hour's run: flagged for review
        hours += ran
        act(
            day + timedelta(days=1),
            services.record_generator_hours,
            gen1,
            hours=hours,
            read_at=_at(day + timedelta(days=1), 8),
            now=_at(day + timedelta(days=1), 8),
        )

    # The boiler from October: more every week as winter comes; a return south in December.
    boiler_stock = Decimal(0)
    for day in days(date(2018, 10, 1), date(2018, 12, 31)):
        if boiler_stock < 5000:
            act(
                day,
                services.receive_fuel,
                boiler_tank,
                quantity="8000",
                unit="L",
                received_on=day,
                waiver_line=blanket_line,
                parties=TANKER,
                now=_at(day, 10),
            )
            boiler_stock += 8000
        if day >= date(2018, 10, 10):
            burn = Decimal(150 + (day - date(2018, 10, 10)).days * 8 + rng.randrange(0, 60, 5))
            act(
                day,
                services.issue_fuel,
                boiler_tank,
                quantity=burn,
                issued_on=day,
                use=FuelUse.BOILER,
                now=_at(day, 19),
            )
            boiler_stock -= burn
        if day == date(2018, 12, 20):
            act(
                day,
                services.return_fuel,
                boiler_tank,
                quantity="1500",
                returned_on=day,
                parties=TANKER,
                note="Surplus after the boiler service",
                now=_at(day, 15),
            )
            boiler_stock -= 1500
        if day.weekday() == 0 and day > date(2018, 10, 1):
            leak = (
                Decimal(-650) if day == date(2018, 11, 19) else Decimal(rng.randrange(-40, 40, 5))
            )
            timeline.at(day, partial(_dip, session, boiler_tank, leak, admin, _at(day, 8)), order=1)

    # Electricity: the Munsan feed's meter (5 digits x 10 kWh: it rolls over in October).
    meter = services.add_meter(
        session,
        name="Main incomer (Munsan feed)",
        source=MeterSource.GRID_SOUTH,
        waiver_line=power_line,
        digits=5,
        multiplier="10",
        installed_at=_at(GRID_ON, 9),
        first_value="91200",
        actor=admin,
        now=_at(GRID_ON, 9),
    )
    register = Decimal(91200)
    for day in days(GRID_ON + timedelta(days=1), date(2018, 12, 31)):
        daily = (
            rng.randrange(80, 120)
            if day < date(2018, 9, 14)
            else (rng.randrange(250, 330) + max(0, (day - date(2018, 11, 1)).days) * 2)
        )
        register += daily
        rolled = register >= 100000
        if rolled:
            register -= 100000
        act(
            day,
            services.record_meter_reading,
            meter,
            value=register,
            read_at=_at(day, 9),
            rolled_over=rolled,
            now=_at(day, 9),
            order=1,
        )

    # The daily log: incidents, then signed off in the evening; a duplicate issue voided the
    # next morning (a correction, with its reason, in the day's history).
    duplicate_day = date(2018, 11, 5)

    def enter_twice() -> None:
        services.issue_fuel(
            session,
            boiler_tank,
            quantity="300",
            issued_on=duplicate_day,
            use=FuelUse.BOILER,
            note="Entered from the paper log",
            actor=admin,
            now=_at(duplicate_day, 20),
        )

    timeline.at(duplicate_day, enter_twice, order=3)

    def void_duplicate() -> None:
        duplicate = session.scalars(
            select(StockMovement).where(
                StockMovement.occurred_on == duplicate_day,
                StockMovement.kind == MovementKind.ISSUE,
                StockMovement.note == "Entered from the paper log",
            )
        ).one()
        services.void_movement(
            session,
            duplicate,
            reason="Entered twice from the paper log.",
            actor=admin,
            now=_at(duplicate_day + timedelta(days=1), 8),
        )

    timeline.at(duplicate_day + timedelta(days=1), void_duplicate, order=0)
    for day in days(date(2018, 9, 14), date(2018, 12, 31)):
        if day in INCIDENTS:
            act(
                day,
                services.save_log,
                day,
                incidents=INCIDENTS[day],
                notes="",
                now=_at(day, 21),
                order=4,
            )
        if day not in UNSIGNED:
            act(day, services.sign_off, day, now=_at(day, 22), order=5)


def _dip(session: Session, tank: Any, variance: Decimal, actor: User, at: datetime) -> None:
    measured = max(book_stock(session, tank) + variance, Decimal(0))
    services.record_dip(session, tank, measured=measured, read_at=at, actor=actor, now=at)
