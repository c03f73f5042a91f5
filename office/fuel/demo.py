"""Demo fuel, generators, electricity and daily logs, from July 2018 (in the story's dates,
which the demo's calendar moves) to the calendar's last day.

Generators carried the repairs from July; power came from the South's grid (Munsan) from
2018-08-14 and the generators became the backup. Shown on purpose: an issue from a lot whose
waiver had expired, a leak-like dip variance, a meter rollover, a generator burning more than
rated, a correction after sign-off, and days left without a signed-off log. After the story's
December the same work goes on each day, heating and power at the winter's level.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.fuel import services
from office.fuel.models import FuelUse, MeterSource
from office.staffing.checks import days
from office.stock.models import MovementKind, StockMovement
from office.stock.services import book_stock

if TYPE_CHECKING:
    from office.demo import StoryCalendar

TANKER = "S-Oil Munsan depot / 현대아산 탱크로리 (Hyundai Asan tanker)"
# The story's days (moved with the rest of it by the demo's calendar).
REPAIRS_END = date(2018, 9, 13)  # the generators' waiver MOU-2018-0702-G runs to here
GRID_ON = date(2018, 8, 14)
OPENING = date(2018, 9, 14)
WINTER_PEAK = date(2018, 12, 31)  # heating and power use grow until here, then hold
UNSIGNED = {date(2018, 10, 3), date(2018, 12, 24), date(2018, 12, 25)}
INCIDENTS = {
    OPENING: "Opening ceremony 10:30. Generator 1 on standby all day.",
    date(2018, 10, 11): "Grid supply tripped 10:20-16:30; Generator 1 carried the load.",
    date(2018, 11, 19): "Boiler tank dips 650 L short of the books. Drain valve seal found "
    "weeping and replaced; reported for review.",
}


def schedule(
    session: Session, *, admin: User, waivers: Any, timeline: Any, calendar: StoryCalendar
) -> None:
    """Create the tanks, generators and meters, and put the operations from July to the
    calendar's last day on `timeline` (replayed in date order with the waivers' status
    changes)."""
    on, at, last = calendar.day, calendar.at, calendar.last_day
    diesel = waivers.resources["diesel"]
    repairs_line = waivers.line("MOU-2018-0702-G", "diesel")
    blanket_line = waivers.line("MOU-2018-B-0814", "diesel")
    power_line = waivers.line("MOU-2018-B-0814", "electricity")
    repairs_end, grid_on, opening = on(REPAIRS_END), on(GRID_ON), on(OPENING)
    rng = random.Random(1914)
    generator_tank = services.create_tank(
        session,
        name="Generator tank",
        product=diesel,
        capacity="20000",
        tolerance=None,
        location="Basement generator room",
        opening=None,
        opened_on=on(date(2018, 7, 1)),
        actor=admin,
        now=at(on(date(2018, 7, 1)), 9),
    )
    boiler_tank = services.create_tank(
        session,
        name="Boiler tank",
        product=diesel,
        capacity="30000",
        tolerance="300",
        location="Boiler house, living quarters",
        opening=None,
        opened_on=on(date(2018, 9, 25)),
        actor=admin,
        now=at(on(date(2018, 9, 25)), 9),
    )
    gen1 = services.add_generator(
        session,
        name="Generator 1 (200 kVA)",
        rated_lph="38",
        tank=generator_tank,
        actor=admin,
        now=at(on(date(2018, 7, 1)), 10),
    )
    services.add_generator(
        session,
        name="Generator 2 (100 kVA)",
        rated_lph="19",
        tank=generator_tank,
        actor=admin,
        now=at(on(date(2018, 7, 1)), 10),
    )

    def act(day: date, function: Any, *args: Any, order: int = 2, **kwargs: Any) -> None:
        timeline.at(day, partial(function, session, *args, actor=admin, **kwargs), order=order)

    # Generator 1: ten hours a day through the repairs, then backup runs.
    issued: dict[date, Decimal] = {}
    for day in days(on(date(2018, 7, 2)), last):
        if day <= repairs_end:
            issued[day] = Decimal(rng.randrange(360, 400, 5))
        elif day == opening:
            continue
        elif day == on(date(2018, 9, 15)):
            issued[day] = Decimal(200)
        elif day == on(date(2018, 10, 11)):
            issued[day] = Decimal(235)
        else:
            issued[day] = Decimal(rng.randrange(30, 60, 5))
    # Receipts keep the tank above 2,000 L; the last one under the repairs' waiver leaves
    # 150 L of it for after the waiver expired.
    stock, receipts, last_sent = Decimal(0), {}, False
    still_to_burn = sum(issued[day] for day in days(on(date(2018, 7, 2)), repairs_end))
    for day in days(on(date(2018, 7, 2)), repairs_end):
        if not last_sent and stock - issued[day] < 2000:
            to_end_at_150 = still_to_burn - stock + 150
            last_sent = to_end_at_150 <= 4000
            receipts[day] = to_end_at_150 if last_sent else Decimal(4000)
            stock += receipts[day]
        stock -= issued[day]
        still_to_burn -= issued[day]
    receipts[opening] = Decimal(6000)
    receipts[on(date(2018, 11, 26))] = Decimal(4000)
    # After the story's deliveries, a tanker whenever the tank runs low.
    for day in days(repairs_end + timedelta(days=1), last):
        if day > on(date(2018, 11, 26)) and stock < 1500:
            receipts[day] = Decimal(4000)
        stock += receipts.get(day, Decimal(0)) - issued.get(day, Decimal(0))
    for day, quantity in receipts.items():
        act(
            day,
            services.receive_fuel,
            generator_tank,
            quantity=quantity,
            unit="L",
            received_on=day,
            waiver_line=repairs_line if day <= repairs_end else blanket_line,
            parties=TANKER,
            now=at(day, 9),
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
            now=at(day, 18),
        )
        ran = (litres / 38 * Decimal(rng.uniform(0.97, 1.03))).quantize(Decimal("0.1"))
        if day == on(date(2018, 11, 27)):
            ran = Decimal("0.8")  # 45 L issued for under an hour's run: flagged for review
        hours += ran
        read_on = day + timedelta(days=1)
        if read_on <= calendar.today:  # read the next morning, if it has come
            act(
                read_on,
                services.record_generator_hours,
                gen1,
                hours=hours,
                read_at=at(read_on, 8),
                now=at(read_on, 8),
            )

    # The boiler from October: more every week as winter comes; a return south in December.
    # On the calendar's last day a tanker fills it up in the morning.
    boiler_stock = Decimal(0)
    burning_from, peak = on(date(2018, 10, 10)), on(WINTER_PEAK)
    leak_day = on(date(2018, 11, 19))
    for day in days(on(date(2018, 10, 1)), last):
        if boiler_stock < 5000 or day == calendar.today:
            act(
                day,
                services.receive_fuel,
                boiler_tank,
                quantity="8000",
                unit="L",
                received_on=day,
                waiver_line=blanket_line,
                parties=TANKER,
                now=at(day, 10),
            )
            boiler_stock += 8000
        if day >= burning_from:
            colder = (min(day, peak) - burning_from).days
            burn = Decimal(150 + colder * 8 + rng.randrange(0, 60, 5))
            act(
                day,
                services.issue_fuel,
                boiler_tank,
                quantity=burn,
                issued_on=day,
                use=FuelUse.BOILER,
                now=at(day, 19),
            )
            boiler_stock -= burn
        if day == on(date(2018, 12, 20)):
            act(
                day,
                services.return_fuel,
                boiler_tank,
                quantity="1500",
                returned_on=day,
                parties=TANKER,
                note="Surplus after the boiler service",
                now=at(day, 15),
            )
            boiler_stock -= 1500
        # Dips on Mondays, and the day the leak was found.
        if day == leak_day or (day.weekday() == 0 and day > on(date(2018, 10, 1))):
            leak = Decimal(-650) if day == leak_day else Decimal(rng.randrange(-40, 40, 5))
            timeline.at(day, partial(_dip, session, boiler_tank, leak, admin, at(day, 8)), order=1)

    # Electricity: the Munsan feed's meter (5 digits x 10 kWh: it rolls over in October).
    meter = services.add_meter(
        session,
        name="Main incomer (Munsan feed)",
        source=MeterSource.GRID_SOUTH,
        waiver_line=power_line,
        digits=5,
        multiplier="10",
        installed_at=at(grid_on, 9),
        first_value="91200",
        actor=admin,
        now=at(grid_on, 9),
    )
    register = Decimal(91200)
    heating_from = on(date(2018, 11, 1))
    for day in days(grid_on + timedelta(days=1), last):
        daily = (
            rng.randrange(80, 120)
            if day < opening
            else (rng.randrange(250, 330) + max(0, (min(day, peak) - heating_from).days) * 2)
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
            read_at=at(day, 9),
            rolled_over=rolled,
            now=at(day, 9),
            order=1,
        )

    # The daily log: incidents, then signed off in the evening (but not today's, which is not
    # over); a duplicate issue voided the next morning (a correction, with its reason, in the
    # day's history).
    duplicate_day = on(date(2018, 11, 5))

    def enter_twice() -> None:
        services.issue_fuel(
            session,
            boiler_tank,
            quantity="300",
            issued_on=duplicate_day,
            use=FuelUse.BOILER,
            note="Entered from the paper log",
            actor=admin,
            now=at(duplicate_day, 20),
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
            now=at(duplicate_day + timedelta(days=1), 8),
        )

    timeline.at(duplicate_day + timedelta(days=1), void_duplicate, order=0)
    incidents = {on(day): text for day, text in INCIDENTS.items()}
    unsigned = {on(day) for day in UNSIGNED}
    for day in days(opening, last):
        if day in incidents:
            act(
                day,
                services.save_log,
                day,
                incidents=incidents[day],
                notes="",
                now=at(day, 21),
                order=4,
            )
        if day not in unsigned and day < calendar.today:
            act(day, services.sign_off, day, now=at(day, 22), order=5)


def _dip(session: Session, tank: Any, variance: Decimal, actor: User, at: datetime) -> None:
    measured = max(book_stock(session, tank) + variance, Decimal(0))
    services.record_dip(session, tank, measured=measured, read_at=at, actor=actor, now=at)
