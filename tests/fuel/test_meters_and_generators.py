"""Meters count kWh across rollover and replacement and flag implausible days; a grid meter
draws each interval on its waiver line; generators are checked against their rated burn."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.errors import ConflictError, InvalidInput
from office.fuel import services
from office.fuel.models import Meter, MeterReading, MeterSource
from office.i18n import SEOUL
from office.waivers.models import DrawdownEntry, Source
from tests.factories import NOW, audit_events, make_resource, make_user, make_waiver, recorded

START = datetime(2018, 10, 1, 0, 0, tzinfo=UTC)  # 09:00 in Seoul


def at(days: float) -> datetime:
    return START + timedelta(days=days)


@pytest.fixture
def power_line(session):
    power = make_resource(
        session, "electricity", hs_code="2716.00", unit="kWh", barrels_per_tonne=None
    )
    return make_waiver(session, [(power, "MWh", "1000", "1000")]).lines[0]


def meter(
    session, line=None, digits=5, multiplier="10", first="99000", name="Main", installed_at=START
):
    return services.add_meter(
        session,
        name=name,
        source=MeterSource.GRID_SOUTH if line else MeterSource.GENERATOR,
        waiver_line=line,
        digits=digits,
        multiplier=multiplier,
        installed_at=installed_at,
        first_value=first,
        actor=None,
        now=NOW,
    )


def read(session, m, value, days, **kwargs):
    return services.record_meter_reading(
        session, m, value=str(value), read_at=at(days), actor=None, now=NOW, **kwargs
    )


def test_consumption_is_the_register_difference_times_the_multiplier(session):
    m = meter(session)
    reading = read(session, m, 99300, 1)
    assert reading.consumption == Decimal(3000)


def test_a_rollover_is_counted_through_zero(session):
    m = meter(session)
    reading = read(session, m, 200, 1, rolled_over=True)  # 99000 -> 99999 -> 0 -> 200
    assert reading.consumption == Decimal((100000 - 99000 + 200) * 10)


def test_a_lower_reading_without_a_rollover_is_refused(session):
    m = meter(session)
    with pytest.raises(InvalidInput, match="is lower than the last reading of Main"):
        read(session, m, 98000, 1)


def test_a_rollover_that_reads_higher_is_refused(session):
    m = meter(session)
    with pytest.raises(InvalidInput, match="rolled over reads less"):
        read(session, m, 99500, 1, rolled_over=True)


def test_readings_before_installation_or_in_litres_or_off_the_register_are_refused(session):
    m = meter(session)
    with pytest.raises(InvalidInput, match="installed on"):
        read(session, m, 99100, -1)
    with pytest.raises(InvalidInput, match="read in kWh, not L") as error:
        read(session, m, 99100, 1, unit="L")
    assert error.value.field == "unit"
    with pytest.raises(InvalidInput, match="5 digits"):
        read(session, m, 100000, 1)
    read(session, m, 99100, 1)
    with pytest.raises(InvalidInput, match="must be later"):
        read(session, m, 99200, 1)


def test_a_replacement_keeps_the_count_going(session):
    old = meter(session, first="1000")
    read(session, old, 1100, 1)
    new = services.replace_meter(
        session,
        old,
        final_value="1150",
        final_rolled_over=False,
        at=at(1.5),
        name="Main 2",
        digits=6,
        multiplier="1",
        first_value="0",
        actor=None,
        now=NOW,
    )
    read(session, new, 700, 2)
    # Readings at 09:00 (1,000 kWh to the 2nd), the old meter's last at 21:00 on the 2nd
    # (500 kWh), the new meter's 700 kWh to 09:00 on the 3rd; each shared by the hour.
    assert services.electricity_per_day(session, date(2018, 10, 1), date(2018, 10, 3)) == {
        date(2018, 10, 1): Decimal("625.000"),
        date(2018, 10, 2): Decimal("1050.000"),  # 375 + 500 + 175
        date(2018, 10, 3): Decimal("525.000"),
    }
    with pytest.raises(ConflictError, match="taken out of service"):
        read(session, old, 1200, 3)


def test_an_interval_over_midnight_is_shared_by_time(session):
    m = meter(session, digits=6, multiplier="1", first="0")
    read(session, m, 240, 1)  # 24 hours from 09:00: 15 h on the 1st, 9 h on the 2nd
    days = services.electricity_per_day(session, date(2018, 10, 1), date(2018, 10, 2))
    assert days == {date(2018, 10, 1): Decimal("150.000"), date(2018, 10, 2): Decimal("90.000")}


def per_day_as_before(session, start, end, source=None):
    """electricity_per_day as it was first written: every interval with read_at after the
    start and previous_at before the end, each shared among its days by `_spread`."""
    since = datetime.combine(start, time(), tzinfo=SEOUL).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time(), tzinfo=SEOUL).astimezone(UTC)
    query = (
        select(MeterReading.previous_at, MeterReading.read_at, MeterReading.consumption)
        .join(Meter)
        .where(
            MeterReading.voided_at.is_(None),
            MeterReading.consumption.is_not(None),
            MeterReading.read_at > since,
            MeterReading.previous_at < until,
        )
    )
    if source is not None:
        query = query.where(Meter.source == source)
    totals = defaultdict(Decimal)
    for previous_at, read_at, consumption in session.execute(query):
        lo, hi = max(previous_at, since), min(read_at, until)
        share = Decimal((hi - lo).total_seconds() / (read_at - previous_at).total_seconds())
        services._spread(totals, lo, hi, consumption * share)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return {day: totals.get(day, Decimal(0)).quantize(Decimal("0.001")) for day in days}


def test_intervals_over_midnight_and_over_the_periods_ends_are_shared_by_time(session, power_line):
    generator = meter(session, digits=6, multiplier="1", first="0")  # 10-01 09:00 in Seoul
    read(session, generator, 120, 0.5)  # 12 h to 21:00: all on the 1st
    read(session, generator, 300, 1.25)  # 18 h to 15:00 on the 2nd: 3 h on the 1st, 15 h
    read(session, generator, 480, 2)  # 18 h to 09:00 on the 3rd: 9 h on the 2nd, 9 h
    mistake = read(session, generator, 600, 2.5)
    services.void_meter_reading(session, mistake, reason="misread", actor=None, now=NOW)
    read(session, generator, 720, 3)  # 24 h from 09:00 on the 3rd: 15 h on it, 9 h on the 4th
    grid = meter(  # from midnight in Seoul, 10-02
        session,
        power_line,
        digits=6,
        multiplier="1",
        first="0",
        name="Grid",
        installed_at=at(0.625),
    )
    read(session, grid, 480, 2.625)  # 48 h to midnight, 10-04: ends exactly with the 3rd
    october = {n: date(2018, 10, n) for n in range(1, 6)}

    assert services.electricity_per_day(session, october[1], october[3]) == {
        october[1]: Decimal("150.000"),
        october[2]: Decimal("480.000"),  # 150 + 90 from the generator, 240 from the grid
        october[3]: Decimal("480.000"),
    }
    assert services.electricity_per_day(session, october[2], october[2]) == {
        october[2]: Decimal("480.000")
    }
    assert services.electricity_per_day(
        session, october[3], october[4], source=MeterSource.GENERATOR
    ) == {october[3]: Decimal("240.000"), october[4]: Decimal("90.000")}
    assert services.electricity_per_day(session, october[4], october[5]) == {
        october[4]: Decimal("90.000"),
        october[5]: Decimal("0.000"),
    }
    for first in [date(2018, 9, 30), *october.values()]:
        for last in [first + timedelta(days=n) for n in range(4)]:
            for source in (None, *MeterSource):
                assert services.electricity_per_day(
                    session, first, last, source=source
                ) == per_day_as_before(session, first, last, source), (first, last, source)


def read_in_seoul(session, m, value, day, hour, minute=0):
    """Read `m` at `hour`:`minute` on October `day` in Seoul."""
    read_at = datetime(2018, 10, day, hour, minute, tzinfo=SEOUL)
    return services.record_meter_reading(
        session, m, value=value, read_at=read_at, actor=None, now=NOW
    )


def test_each_seoul_day_counts_the_readings_within_it_whole_and_shares_one_over_midnight(
    session, power_line
):
    generator = meter(session, digits=6, multiplier="1", first="0")  # 10-01 09:00 in Seoul
    read_in_seoul(session, generator, "10.125", 1, 15)
    read_in_seoul(session, generator, "30.5", 1, 23)
    read_in_seoul(session, generator, "36", 1, 23, 45)  # 5.5 kWh in the last hour but 15 min
    read_in_seoul(session, generator, "42", 2, 0)  # 6 kWh ending at midnight: all on the 1st
    read_in_seoul(session, generator, "44.25", 2, 0, 30)  # 2.25 kWh from midnight: the 2nd's
    read_in_seoul(session, generator, "74.25", 2, 9)
    read_in_seoul(session, generator, "100.25", 2, 21)
    read_in_seoul(session, generator, "130.25", 3, 3)  # 30 kWh over midnight: 15 each day
    read_in_seoul(session, generator, "140.375", 3, 9)
    mistake = read_in_seoul(session, generator, "160", 3, 14)
    services.void_meter_reading(session, mistake, reason="misread", actor=None, now=NOW)
    grid = meter(
        session,
        power_line,
        digits=6,
        multiplier="1",
        first="0",
        name="Grid",
        installed_at=datetime(2018, 10, 2, tzinfo=SEOUL),
    )
    read_in_seoul(session, grid, "7.5", 2, 1, 48)
    october = {n: date(2018, 10, n) for n in range(1, 5)}

    assert services.electricity_per_day(session, october[1], october[4]) == {
        october[1]: Decimal("42.000"),  # 10.125 + 20.375 + 5.5 + 6
        october[2]: Decimal("80.750"),  # 2.25 + 30 + 26 + 15, and 7.5 from the grid
        october[3]: Decimal("25.125"),  # 15 + 10.125
        october[4]: Decimal("0.000"),
    }
    assert services.electricity_per_day(
        session, october[2], october[3], source=MeterSource.GENERATOR
    ) == {october[2]: Decimal("73.250"), october[3]: Decimal("25.125")}
    assert services.electricity_per_day(
        session, october[2], october[2], source=MeterSource.GRID_SOUTH
    ) == {october[2]: Decimal("7.500")}
    for first in [date(2018, 9, 30), *october.values()]:
        for last in [first + timedelta(days=n) for n in range(3)]:
            for source in (None, *MeterSource):
                assert services.electricity_per_day(
                    session, first, last, source=source
                ) == per_day_as_before(session, first, last, source), (first, last, source)


def test_a_day_above_three_times_the_thirty_day_average_is_flagged(session, power_line):
    m = meter(session, power_line, digits=6, multiplier="1", first="0")
    value = 0
    for day in range(1, 11):
        value += 100
        assert not read(session, m, value, day).flagged
    normal = read(session, m, value + 300, 11)  # three times the average: not above it
    spike = read(session, m, value + 300 + 400, 12)  # average now 1,300 / 11 days
    assert not normal.flagged
    assert spike.flagged and "above three times the 30-day average" in spike.flag_message


def read_hourly(session, m, days, kwh_in_hour) -> list:
    """Read `m` every hour for `days` days from START; `kwh_in_hour(day, hour)` it counted."""
    value, readings = Decimal(0), []
    for day in range(days):
        for hour in range(24):
            if (day, hour) == (0, 0):
                continue  # the first reading, at START
            value += kwh_in_hour(day, hour)
            readings.append(
                services.record_meter_reading(
                    session,
                    m,
                    value=str(value),
                    read_at=START + timedelta(days=day, hours=hour),
                    actor=None,
                    now=NOW,
                )
            )
    return readings


def generator_output(day: int, hour: int) -> int:
    """kWh in the hour to `hour` of `day`: a 60 kW generator run from 10:00 in Seoul (an hour
    after START) for 2.5 h a day, and for 10 h on day 4 (a grid outage)."""
    run = 10 if day == 4 else 2.5
    return round(60 * max(0.0, min(hour, run + 1) - max(hour - 1, 1)))


def test_a_generator_meter_read_hourly_is_not_flagged_for_running_nor_for_an_outage(session):
    m = meter(session, digits=7, multiplier="1", first="0")  # a generator's meter

    readings = read_hourly(session, m, 6, generator_output)

    assert sum(r.consumption for r in readings) == 60 * (5 * 2.5 + 10)
    assert [r for r in readings if r.flagged] == []


def test_a_generator_meter_counting_far_more_than_its_usual_hour_is_flagged(session):
    m = meter(session, digits=7, multiplier="1", first="0")
    read_hourly(session, m, 3, generator_output)
    value = sum(generator_output(day, hour) for day in range(3) for hour in range(24))

    usual = read(session, m, value + 60, 3)  # a full hour at 60 kW
    misread = services.record_meter_reading(  # ten times that in the next hour
        session,
        m,
        value=str(value + 60 + 600),
        read_at=START + timedelta(days=3, hours=1),
        actor=None,
        now=NOW,
    )

    assert not usual.flagged
    assert misread.flagged
    assert misread.flag_message == (
        "600 kWh an hour is above three times this generator's usual output while running "
        "(51 kWh an hour)."  # 3 x 150 kWh in 3 x 3 hours of running, then 60 kWh in 1
    )


def test_a_grid_meter_read_hourly_keeps_the_daily_average_rule(session, power_line):
    m = meter(session, power_line, digits=7, multiplier="1", first="0")

    readings = read_hourly(session, m, 6, generator_output)

    flagged = [r for r in readings if r.flagged]
    assert flagged  # the same hours on the grid are far above its daily average
    assert all("above three times the 30-day average" in r.flag_message for r in flagged)


def test_each_grid_interval_is_one_drawdown_on_its_waiver_line(session, power_line):
    m = meter(session, power_line, first="99000")
    first = read(session, m, 99300, 1)
    second = read(session, m, 100, 2, rolled_over=True)
    entries = session.scalars(select(DrawdownEntry).order_by(DrawdownEntry.seq)).all()
    assert [(e.source, e.base_quantity) for e in entries] == [
        (Source.METER, Decimal(3000)),
        (Source.METER, Decimal(8000)),
    ]
    assert (first.drawdown_entry_id, second.drawdown_entry_id) == (entries[0].id, entries[1].id)
    assert power_line.used_base == Decimal(11000)


def test_only_the_latest_reading_can_be_voided_and_its_drawdown_is_reversed(session, power_line):
    m = meter(session, power_line, first="99000")
    first = read(session, m, 99300, 1)
    latest = read(session, m, 99500, 2)
    with pytest.raises(ConflictError, match="Only the latest reading"):
        services.void_meter_reading(session, first, reason="typo", actor=None, now=NOW)
    services.void_meter_reading(session, latest, reason="typo", actor=None, now=NOW)
    assert power_line.used_base == Decimal(3000)
    assert session.scalar(select(func.count()).select_from(DrawdownEntry)) == 3  # + reversal
    again = read(session, m, 99400, 2)  # counted from the first reading again
    assert again.consumption == Decimal(1000)


def test_installing_and_replacing_a_meter_are_on_the_audit_trail(session):
    electrician = make_user(session, name="Electrician Choi")
    installed_at, replaced_at = NOW - timedelta(days=2), NOW - timedelta(days=1)
    old = services.add_meter(
        session,
        name="Main",
        source=MeterSource.GENERATOR,
        waiver_line=None,
        digits=5,
        multiplier="1",
        installed_at=START,
        first_value="1000",
        actor=electrician,
        now=installed_at,
    )
    new = services.replace_meter(
        session,
        old,
        final_value="1150",
        final_rolled_over=False,
        at=at(1.5),
        name="Main 2",
        digits=6,
        multiplier="1",
        first_value="0",
        actor=electrician,
        now=replaced_at,
    )
    (installed,) = audit_events(session, "day.meter_installed")
    assert recorded(installed) == (electrician.id, installed_at, "Meter", str(old.id))
    (final,) = audit_events(session, "day.meter_reading")
    assert recorded(final) == (electrician.id, replaced_at, "Meter", str(old.id))
    (replaced,) = audit_events(session, "meter.replaced")
    assert recorded(replaced) == (electrician.id, replaced_at, "Meter", str(new.id))
    assert replaced.detail == {
        "meter": "Main 2",
        "replaces": "Main",
        "replaced_at": at(1.5).isoformat(),
    }


def test_a_grid_meter_needs_a_waiver_line(session):
    with pytest.raises(InvalidInput, match="drawn on a waiver line"):
        services.add_meter(
            session,
            name="Grid",
            source=MeterSource.GRID_SOUTH,
            waiver_line=None,
            digits=6,
            multiplier="1",
            installed_at=START,
            first_value="0",
            actor=None,
            now=NOW,
        )


# --- generators ---------------------------------------------------------------------------


@pytest.fixture
def generator(session):
    diesel = make_resource(session)
    tank = services.create_tank(
        session,
        name="Gen tank",
        product=diesel,
        capacity="20000",
        tolerance=None,
        location="",
        opening="10000",
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    return services.add_generator(
        session, name="G1", rated_lph="40", tank=tank, actor=None, now=NOW
    )


def test_adding_a_generator_is_on_the_audit_trail(session, generator):
    engineer = make_user(session, name="Engineer Jung")
    added_at = NOW - timedelta(hours=3)
    second = services.add_generator(
        session, name="G2", rated_lph="19.5", tank=generator.tank, actor=engineer, now=added_at
    )
    added = audit_events(session, "generator.added")
    assert [recorded(event) for event in added] == [
        (None, NOW, "Generator", str(generator.id)),
        (engineer.id, added_at, "Generator", str(second.id)),
    ]
    assert added[1].detail == {"name": "G2", "rated_lph": "19.5", "tank": "Gen tank"}


def run(session, generator, hours, day, litres):
    services.issue_fuel(
        session,
        generator.tank,
        quantity=str(litres),
        issued_on=day,
        use="generator",
        generator=generator,
        actor=None,
        now=NOW,
    )
    services.record_generator_hours(
        session,
        generator,
        hours=str(hours),
        read_at=datetime(day.year, day.month, day.day, 23, tzinfo=UTC),
        actor=None,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("litres", "flagged"), [(460, False), (461, True), (340, False), (339, True)]
)
def test_burn_beyond_fifteen_percent_of_the_rated_consumption_is_flagged(
    session, generator, litres, flagged
):
    services.record_generator_hours(
        session,
        generator,
        hours="100",
        read_at=datetime(2018, 10, 1, 0, tzinfo=UTC),
        actor=None,
        now=NOW,
    )
    run(session, generator, 110, date(2018, 10, 1), litres)  # 10 h x 40 L = 400 L expected
    (check,) = services.generator_checks(session, generator, date(2018, 10, 1), date(2018, 10, 2))
    assert check.expected == Decimal(400) and check.issued == Decimal(litres)
    assert check.flagged is flagged


def test_the_run_hour_meter_never_goes_back(session, generator):
    services.record_generator_hours(
        session,
        generator,
        hours="100",
        read_at=datetime(2018, 10, 1, 0, tzinfo=UTC),
        actor=None,
        now=NOW,
    )
    with pytest.raises(InvalidInput, match="cannot go back"):
        services.record_generator_hours(
            session,
            generator,
            hours="99",
            read_at=datetime(2018, 10, 2, 0, tzinfo=UTC),
            actor=None,
            now=NOW,
        )


def test_days_of_fuel_left_follow_the_last_seven_days(session, generator):
    for offset in range(7):
        services.issue_fuel(
            session,
            generator.tank,
            quantity="100",
            issued_on=date(2018, 10, 1) + timedelta(days=offset),
            use="boiler",
            actor=None,
            now=NOW,
        )
    left = services.days_of_fuel_left(session, generator.tank, date(2018, 10, 7))
    assert left == Decimal("93.0")  # 9,300 L at 100 L a day
    assert services.days_of_fuel_left(session, generator.tank, date(2018, 12, 1)) is None


def irregular_readings(seed: int, days: int) -> list[tuple[datetime, int]]:
    """Readings every 1 to 30 hours for `days` days, counting 0 to 80 kWh an hour, with some
    idle stretches and some spikes far above the usual (a misread register)."""
    rng = random.Random(seed)
    moment, value, readings = START, 0, []
    while moment < START + timedelta(days=days):
        moment += timedelta(hours=rng.randint(1, 30), minutes=rng.choice([0, 15, 40]))
        hours = 1 + rng.random() * 3
        rate = rng.choice([0, 0, 20, 40, 80, 80, 80, 2000])
        value += round(rate * hours)
        readings.append((moment, value))
    return readings


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_flags_and_counts_each_reading_as_one_at_a_time_would(session, power_line, seed):
    # Forty-five days: the 30 days each reading is held to move past the oldest intervals.
    readings = irregular_readings(seed, 45)
    for line in (power_line, None):  # a grid meter, then a generator's
        one_by_one = meter(session, line, digits=9, multiplier="1", first="0", name="A")
        batched = meter(session, line, digits=9, multiplier="1", first="0", name="B")

        singly = [
            read(session, one_by_one, value, (when - START) / timedelta(days=1))
            for when, value in readings
        ]
        together = services.record_meter_readings(
            session,
            [services.ReadingSpec(batched, str(value), when) for when, value in readings],
            actor=None,
            now=NOW,
        )

        def seen(recorded: list[MeterReading]) -> list[tuple]:
            return [
                (r.read_at, r.consumption, r.flagged, r.flag_message, bool(r.drawdown_entry_id))
                for r in recorded
            ]

        assert seen(together) == seen(singly)
        assert sum(r.flagged for r in singly) >= 3  # the spikes were flagged...
        assert sum(not r.flagged and r.consumption > 0 for r in singly) >= 10  # ...not all
