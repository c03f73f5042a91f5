"""Print how the daily log, a month's consumption and the 30-day report perform on years of data.

    .venv/bin/python bench/fuel.py [--years 5] [--runs 30] [--database-url URL] [--keep]

The issue asks: "With five years of data (hourly readings on 10 meters, daily movements on 5
tanks, about 450,000 readings): the daily log opens in under 100 ms, a month's consumption and
the 30-day report compute in under 300 ms, on SQLite."

1. Builds a database with the real migrations (a temporary SQLite file unless --database-url
   names an empty one). Users, the petroleum and electricity resources, one blanket waiver with
   caps far beyond reach, 5 tanks, 4 generators, 10 meters (6 on the South's grid, drawn on the
   waiver's electricity line, 4 on the generators) and 60 people go in through the services.
2. Bulk-loads 2014-01-01 to 2018-12-31 (--years counts back from 2018) with Core executemany in
   one transaction, each row as the services would have written it: hourly readings with
   previous_at, consumption, rollovers and the 30-day plausibility flag; tanker receipts on
   Tuesdays and Fridays as ledger entry + lot + movement; daily issues drawn first in, first
   out (lot draws with their waiver coverage); weekly dips against the book; daily generator
   run hours; yearly returns south; a rotation of people on site; every action in its day's
   history and each day signed off. Grid intervals and receipts are ledger entries chained
   with `ledger.entry_digest`; the head and the lines' usage follow. Then `verify_chain`,
   `check_usage`, a sample of plausibility flags recomputed by the service's own query, and
   one more reading and issue through the services (rolled back) confirm the data.
3. Times, warm, through the Flask test client logged in as the administrator and through the
   service functions: the daily log page, a month's consumption (electricity, fuel, per person,
   and the per-person page), the 30-day petroleum report (function, page, CSV). The same
   month and day at the start of the data are timed for comparison.
4. Counts each probe's SQL statements and time in the driver; with --profile prints the
   functions that take the time and the query plans of the slowest statements.

Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_babel import force_locale  # noqa: E402
from sqlalchemy import (  # noqa: E402
    Connection,
    Engine,
    bindparam,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session  # noqa: E402

from office import create_app  # noqa: E402
from office.auth import services as auth_services  # noqa: E402
from office.auth.models import User  # noqa: E402
from office.auth.permissions import Role  # noqa: E402
from office.cli import alembic_config  # noqa: E402
from office.config import normalise_database_url  # noqa: E402
from office.db import create_engine_for, utcnow  # noqa: E402
from office.fuel import report as petroleum  # noqa: E402
from office.fuel import services as fuel  # noqa: E402
from office.fuel.models import (  # noqa: E402
    DailyLog,
    DailyLogEvent,
    DipReading,
    FuelUse,
    GeneratorReading,
    LogStatus,
    Meter,
    MeterReading,
    MeterSource,
    ReadingKind,
)
from office.i18n import SEOUL, _l, format_number, office_date  # noqa: E402
from office.staffing import services as staffing  # noqa: E402
from office.staffing.models import Category, Position, Side, Stay  # noqa: E402
from office.stock.models import (  # noqa: E402
    LotDraw,
    LotSource,
    MovementKind,
    StockLot,
    StockMovement,
    Store,
)
from office.stock.services import book_stock  # noqa: E402
from office.waivers import ledger  # noqa: E402
from office.waivers import services as waivers  # noqa: E402
from office.waivers.demo import PETROLEUM_KINDS, RESOURCES  # noqa: E402
from office.waivers.models import (  # noqa: E402
    Authority,
    Classification,
    DrawdownEntry,
    LedgerHead,
    Purpose,
    Source,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.units import Unit, convert  # noqa: E402

LAST_DAY = date(2018, 12, 31)
LOG_DAY = date(2018, 10, 15)  # the day whose log is opened, and whose 30-day period is reported
MONTH = (date(2018, 10, 1), date(2018, 10, 31))
PASSWORD = "bench-fuel-password-2018"
HUGE_CAP = "900000000000"  # per line, in the line's unit: every drawdown stays covered
TANKER = "S-Oil Munsan depot / Hyundai Asan tanker"
TARGETS = {"daily log": 100.0, "consumption": 300.0, "report": 300.0}

# name, product, capacity (L), location, what its issues are for
TANKS = (
    ("Generator tank 1", "diesel", "12000", "Basement generator room", FuelUse.GENERATOR),
    ("Generator tank 2", "diesel", "8000", "Annex generator room", FuelUse.GENERATOR),
    ("Boiler tank", "diesel", "20000", "Boiler house, living quarters", FuelUse.BOILER),
    ("Dormitory heating tank", "kerosene", "10000", "Dormitory plant room", FuelUse.BOILER),
    ("Vehicle tank", "gasoline", "6000", "Motor pool", FuelUse.VEHICLE),
)
# name, litres per running hour, tank (index in TANKS), kW delivered, run hours at the start
GENERATORS = (
    ("Generator 1 (200 kVA)", "38", 0, 140, "1250"),
    ("Generator 2 (100 kVA)", "19", 0, 70, "860.5"),
    ("Generator 3 (200 kVA)", "38", 1, 140, "412"),
    ("Generator 4 (60 kVA)", "12", 1, 45, "95.2"),
)
# name, source, digits, multiplier, first register value, mean kWh an hour, load profile.
# Two 6-digit registers and one x10 5-digit register turn over a few times in five years.
METERS = (
    ("Grid feeder A (office building)", MeterSource.GRID_SOUTH, 6, "1", "731204.5", 95, "office"),
    ("Grid feeder B (living quarters)", MeterSource.GRID_SOUTH, 7, "1", "1204877.2", 70, "home"),
    ("Grid feeder C (boiler house)", MeterSource.GRID_SOUTH, 5, "10", "64120.3", 60, "flat"),
    ("Grid feeder D (annex)", MeterSource.GRID_SOUTH, 7, "1", "88012.9", 45, "office"),
    ("Grid feeder E (water works)", MeterSource.GRID_SOUTH, 6, "1", "402311.0", 80, "flat"),
    ("Grid feeder F (site lighting)", MeterSource.GRID_SOUTH, 7, "1", "5123.4", 24, "night"),
    ("Generator 1 output", MeterSource.GENERATOR, 7, "1", "310422.0", 0, "generator 0"),
    ("Generator 2 output", MeterSource.GENERATOR, 7, "1", "120871.5", 0, "generator 1"),
    ("Generator 3 output", MeterSource.GENERATOR, 7, "1", "57003.2", 0, "generator 2"),
    ("Generator 4 output", MeterSource.GENERATOR, 7, "1", "4410.8", 0, "generator 3"),
)
SPIKE_CHANCE = 1 / 40_000  # a reading that reads far too much (flagged as implausible)
TANKER_DAYS = (1, 4)  # Tuesday and Friday
TOP_UP_BELOW, TOP_UP_TO, EMERGENCY_BELOW = Decimal("0.85"), Decimal("0.95"), Decimal("0.2")
HOUR = timedelta(hours=1)
ONE = Decimal(1)
TENTH = Decimal("0.1")
MILLI = Decimal("0.001")


# --- machine and figures ------------------------------------------------------------------


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages: other work on the machine skews timings."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def wait_for_quiet(max_load: float, max_wait: float) -> str:
    """Wait until the 1-minute load is at most `max_load` or `max_wait` s pass; return it."""
    waited = 0.0
    while os.getloadavg()[0] > max_load and waited < max_wait:
        if waited == 0:
            print(f"  load average {load_average()} > {max_load}; waiting up to {max_wait:.0f} s")
        time.sleep(10)
        waited += 10
    if os.getloadavg()[0] > max_load:
        print(f"  still busy after {waited:.0f} s; measuring anyway (figures are pessimistic)")
    elif waited:
        print(f"  quiet after {waited:.0f} s")
    return load_average()


def ms(seconds: float) -> float:
    return seconds * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def seoul(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Return the UTC instant of `day` at hour:minute:second in Seoul."""
    return datetime.combine(day, clock(hour, minute, second), tzinfo=SEOUL).astimezone(UTC)


# --- the database and what the services set up ---------------------------------------------


def migrate(engine: Engine) -> None:
    """Run the project's Alembic migrations on `engine` up to head."""
    cfg = alembic_config()
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


@dataclass
class Site:
    """The ids and settings of what the services created, for the bulk load and the probes."""

    admin_id: int
    admin_session_id: str
    reviewer_session_id: str
    resources: dict[str, tuple[int, Unit, Decimal | None]]  # code: id, unit, bbl per tonne
    waiver_id: int
    lines: dict[str, int]  # resource code: waiver line id
    tanks: list[dict[str, Any]] = field(default_factory=list)
    generators: list[dict[str, Any]] = field(default_factory=list)
    meters: list[dict[str, Any]] = field(default_factory=list)
    people: list[int] = field(default_factory=list)  # South people, then North


def set_up(engine: Engine, first_day: date) -> Site:
    """Add users, resources, the blanket waiver, tanks, generators, meters and people through
    the services, as an administrator would on `first_day`."""
    installed_at = seoul(first_day)
    now = installed_at + timedelta(minutes=5)
    with Session(engine, expire_on_commit=False) as session:
        admin = auth_services.create_user(
            session,
            email="bench-admin@liaison.example",
            display_name="Bench admin",
            role=Role.ADMIN,
            password=PASSWORD,
            is_superuser=True,
            actor=None,
            now=now,
        )
        reviewer = auth_services.create_user(
            session,
            email="bench-reviewer@liaison.example",
            display_name="Bench reviewer",
            role=Role.REVIEWER,
            password=PASSWORD,
            actor=admin,
            now=now,
        )
        resources = {}
        for code, name_ko, name_en, hs, unit, factor in RESOURCES:
            if code in ("diesel", "gasoline", "kerosene", "electricity"):
                resources[code] = waivers.save_resource(
                    session,
                    code=code,
                    name_ko=name_ko,
                    name_en=name_en,
                    hs_code=hs,
                    unit=unit,
                    barrels_per_tonne=factor,
                    petroleum_kind=PETROLEUM_KINDS.get(code),
                    actor=reviewer,
                    now=now,
                )
        assert resources["diesel"].barrels_per_tonne == Decimal("7.23")
        waiver = waivers.create_waiver(
            session,
            reference="BENCH-B-FUEL",
            authority=Authority.ROK_MOU_BLANKET,
            title="Bench blanket waiver: fuel and power for the office",
            status=WaiverStatus.GRANTED,
            valid_from=first_day,
            valid_until=date(2099, 12, 31),
            lines=[
                waivers.LineSpec(resource, resource.unit, HUGE_CAP)
                for resource in resources.values()
            ],
            actor=reviewer,
            now=now,
        )
        lines = {line.resource.code: line for line in waiver.lines}
        tanks = []
        for name, product, capacity, location, _use in TANKS:
            tanks.append(
                fuel.create_tank(
                    session,
                    name=name,
                    product=resources[product],
                    capacity=capacity,
                    tolerance=None,  # 1% of the capacity
                    location=location,
                    opening=None,
                    opened_on=first_day,
                    actor=admin,
                    now=now,
                )
            )
        generators = [
            fuel.add_generator(
                session, name=name, rated_lph=rated, tank=tanks[tank], actor=admin, now=now
            )
            for name, rated, tank, _kw, _hours in GENERATORS
        ]
        meters = [
            fuel.add_meter(
                session,
                name=name,
                source=source,
                waiver_line=lines["electricity"] if source is MeterSource.GRID_SOUTH else None,
                digits=digits,
                multiplier=multiplier,
                installed_at=installed_at,
                first_value=first,
                actor=admin,
                now=now,
            )
            for name, source, digits, multiplier, first, _mean, _profile in METERS
        ]
        people = []
        for side, category, count in (
            (Side.SOUTH, Category.OFFICIAL, 30),
            (Side.SOUTH, Category.SUPPORT, 10),
            (Side.NORTH, Category.OFFICIAL, 20),
        ):
            for n in range(count):
                person = staffing.save_person(
                    session,
                    staffing.PersonInput(
                        name_ko=f"벤치{side.value[0]}{category.value[0]}{n:02d}",
                        name_latin=f"Bench {side.value} {category.value} {n:02d}",
                        side=side,
                        category=category,
                        agency="Ministry of Unification" if side is Side.SOUTH else "",
                        position=Position.STAFF,
                        is_duty_qualified=False,
                        active_from=first_day,
                        active_until=None,
                    ),
                    actor=admin,
                    now=now,
                )
                people.append(person.id)
        # Browser sessions kept on the server, as a login leaves them.
        admin_key = auth_services.start_session(
            session, admin, now=utcnow(), remote_addr=None, user_agent="bench"
        )[1]
        reviewer_key = auth_services.start_session(
            session, reviewer, now=utcnow(), remote_addr=None, user_agent="bench"
        )[1]
        session.commit()
        site = Site(
            admin_id=admin.id,
            admin_session_id=admin_key,
            reviewer_session_id=reviewer_key,
            resources={
                code: (r.id, r.unit, r.effective_barrels_per_tonne) for code, r in resources.items()
            },
            waiver_id=waiver.id,
            lines={code: line.id for code, line in lines.items()},
            people=people,
        )
        for tank, (_name, product, _capacity, _location, use) in zip(tanks, TANKS, strict=True):
            site.tanks.append(
                {
                    "id": tank.id,
                    "name": tank.name,
                    "product": product,
                    "capacity": tank.capacity,
                    "tolerance": tank.tolerance,
                    "use": use,
                }
            )
        for generator, spec in zip(generators, GENERATORS, strict=True):
            _name, rated, tank, kw, hours = spec
            site.generators.append(
                {
                    "id": generator.id,
                    "name": generator.name,
                    "rated": Decimal(rated),
                    "tank": tank,
                    "kw": kw,
                    "hours": Decimal(hours),
                }
            )
        for meter, spec in zip(meters, METERS, strict=True):
            _name, source, digits, multiplier, first, mean, profile = spec
            site.meters.append(
                {
                    "id": meter.id,
                    "name": meter.name,
                    "grid": source is MeterSource.GRID_SOUTH,
                    "digits": digits,
                    "modulus": Decimal(10) ** digits,
                    "multiplier": Decimal(multiplier),
                    "value": Decimal(first),
                    "at": installed_at,
                    "mean": mean,
                    "profile": profile,
                }
            )
    return site


# --- the bulk load ------------------------------------------------------------------------

# Insert order: every foreign key points at a table earlier in the list.
TABLES = (
    DrawdownEntry.__table__,
    StockLot.__table__,
    StockMovement.__table__,
    LotDraw.__table__,
    DailyLog.__table__,
    DailyLogEvent.__table__,
    MeterReading.__table__,
    DipReading.__table__,
    GeneratorReading.__table__,
    Stay.__table__,
)


class Rows:
    """Rows waiting to be inserted, by table, flushed in foreign-key order in big batches."""

    def __init__(self, connection: Connection, batch: int = 20_000) -> None:
        self.connection = connection
        self.batch = batch
        self.pending: dict[str, list[dict[str, Any]]] = {table.name: [] for table in TABLES}
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.pending[table].append(row)

    def flush(self, *, force: bool = False) -> None:
        """Insert what is pending once a table has a batch's worth (or anyway with `force`)."""
        if not force and max(len(rows) for rows in self.pending.values()) < self.batch:
            return
        for table in TABLES:
            rows = self.pending[table.name]
            if rows:
                self.connection.execute(insert(table), rows)
                self.counts[table.name] += len(rows)
                self.pending[table.name] = []


@dataclass
class Lot:
    """A lot in a tank, as `stock.draw` reads and moves it."""

    id: int
    quantity: Decimal
    line_id: int
    remaining: Decimal
    used: Decimal = Decimal(0)
    returned: Decimal = Decimal(0)


@dataclass
class MeterState:
    """What `record_meter_reading` would read back: the last reading, and the unflagged
    intervals of the last 30 days its plausibility check averages."""

    spec: dict[str, Any]
    value: Decimal
    at: datetime
    window: deque[tuple[datetime, int, Decimal]] = field(default_factory=deque)
    seconds: int = 0
    total: Decimal = Decimal(0)


class Loader:
    """Make years of operations, day by day, exactly as the services would record them."""

    def __init__(self, connection: Connection, site: Site, first_day: date, seed: int) -> None:
        self.site = site
        self.first_day = first_day
        self.rows = Rows(connection)
        self.rng = random.Random(seed)
        self.admin = site.admin_id
        table_ids = {}
        for table in (DrawdownEntry, StockLot, StockMovement, DailyLog):
            table_ids[table] = connection.scalar(select(func.max(table.id))) or 0
        self.next_entry = table_ids[DrawdownEntry] + 1
        self.next_lot = table_ids[StockLot] + 1
        self.next_movement = table_ids[StockMovement] + 1
        self.next_log = table_ids[DailyLog] + 1
        head = connection.execute(select(LedgerHead.last_seq, LedgerHead.last_hash)).one()
        self.seq, self.last_hash = head
        self.used: dict[int, Decimal] = dict(
            connection.execute(select(WaiverLine.id, WaiverLine.used_base)).all()
        )
        self.logs = dict(connection.execute(select(DailyLog.log_on, DailyLog.id)).all())
        self.meters = [MeterState(spec, spec["value"], spec["at"]) for spec in site.meters]
        self.lots: dict[int, deque[Lot]] = {tank["id"]: deque() for tank in site.tanks}
        self.all_lots: list[Lot] = []
        self.hours = [generator["hours"] for generator in site.generators]
        self.stats: dict[str, int] = defaultdict(int)
        self.signed_later: tuple[int, datetime] | None = None
        # The day being made: its ledger entries (chained at the end of the day, in the order
        # they were recorded, with the rows that name them) and its history lines.
        self.entries: list[tuple[datetime, int, dict[str, Any], list[dict[str, Any]]]] = []
        self.events: list[tuple[datetime, int, str, dict[str, str]]] = []

    # -- one day

    def day(self, day: date) -> None:
        """Record everything of `day`: readings, dips, run hours, receipts, issues, sign-off."""
        self.entries, self.events = [], []
        midnight = seoul(day)
        runs = self.generator_runs(day)
        for hour in range(24):
            at = midnight + HOUR * hour
            if day == self.first_day and hour == 0:
                continue  # the meters' first readings, taken by `add_meter`
            for n, meter in enumerate(self.meters):
                self.reading(day, meter, at, at + timedelta(minutes=2, seconds=n), runs)
        if day.weekday() == 0:
            for n, tank in enumerate(self.site.tanks):
                self.dip(day, tank, seoul(day, 7, n))
        for n, generator in enumerate(self.site.generators):
            self.run_hours(day, n, generator, seoul(day, 8, n))
        for n, tank in enumerate(self.site.tanks):
            self.receipt(day, tank, seoul(day, 9, 30 + n))
        for n, tank in enumerate(self.site.tanks):
            self.issues(day, n, tank, runs)
        if day.month == 12 and day.day == 20:
            self.return_south(day, self.site.tanks[3], seoul(day, 15))
        self.chain()
        self.close_day(day, seoul(day, 23, 50))
        self.rows.flush()

    def generator_runs(self, day: date) -> list[Decimal]:
        """Hours each generator runs from 10:00 (peak shaving, tests; long runs in outages)."""
        rng = self.rng
        outage = rng.random() < 0.02
        runs = []
        for n in range(len(self.site.generators)):
            if outage and n in (0, 2):
                runs.append(Decimal(rng.randrange(40, 120)) * TENTH)
            else:
                runs.append(Decimal(rng.randrange(5, 40)) * TENTH)
        return runs

    def consumption(self, meter: MeterState, at: datetime, runs: list[Decimal]) -> Decimal:
        """kWh the meter counted in the hour before `at` (Seoul), to a tenth of its register."""
        spec, rng = meter.spec, self.rng
        local = at.astimezone(SEOUL)
        hour, weekday, month = (local - HOUR).hour, local.weekday(), local.month
        profile = spec["profile"]
        if profile.startswith("generator"):
            generator = self.site.generators[int(profile.split()[1])]
            run = float(runs[int(profile.split()[1])])
            start = float(hour) - 10  # hours of the interval after the 10:00 start
            overlap = max(0.0, min(start + 1, run) - max(start, 0.0))
            kwh = generator["kw"] * overlap * rng.uniform(0.9, 1.05)
        else:
            winter = 1.35 if month in (12, 1, 2) else 1.15 if month in (11, 3) else 1.0
            if profile == "office":
                shape = (1.8 if 8 <= hour < 19 else 0.45) * (1.0 if weekday < 5 else 0.5)
            elif profile == "home":
                shape = 1.6 if 18 <= hour < 24 or 6 <= hour < 8 else 0.7
            elif profile == "night":
                shape = 2.0 if hour >= 18 or hour < 6 else 0.0
            else:
                shape = 1.0
            kwh = spec["mean"] * shape * winter * rng.uniform(0.85, 1.15)
        if kwh and rng.random() < SPIKE_CHANCE:
            kwh *= 8
        register = (Decimal(kwh) / spec["multiplier"]).quantize(TENTH)
        return register

    def reading(
        self,
        day: date,
        meter: MeterState,
        at: datetime,
        now: datetime,
        runs: list[Decimal],
    ) -> None:
        """A regular reading as `record_meter_reading` records it (and its drawdown)."""
        spec = meter.spec
        delta = self.consumption(meter, at, runs)
        value = meter.value + delta
        rolled_over = value >= spec["modulus"]
        if rolled_over:
            value -= spec["modulus"]
            self.stats["rollovers"] += 1
        consumption = delta * spec["multiplier"]
        # The service's plausibility check: the 30 days of unflagged intervals up to the last.
        before = meter.at
        while meter.window and meter.window[0][0] <= before - timedelta(days=30):
            _at, seconds, amount = meter.window.popleft()
            meter.seconds -= seconds
            meter.total -= amount
        average = None
        if meter.window and meter.seconds > 0:
            average = meter.total / Decimal(meter.seconds / 86400)
        elapsed = Decimal((at - meter.at).total_seconds() / 86400)
        flagged = bool(
            average and elapsed > 0 and consumption / elapsed > fuel.IMPLAUSIBLE_FACTOR * average
        )
        reason = None
        if flagged:
            self.stats[
                "flagged grid readings" if spec["grid"] else "flagged generator readings"
            ] += 1
            reason = str(  # in the recording administrator's language (see `load`)
                _l(
                    "%(rate)s kWh a day is above three times the 30-day average (%(average)s).",
                    rate=format_number(consumption / elapsed, 1),
                    average=format_number(average, 1),
                )
            )
        else:
            seconds = int((at - meter.at).total_seconds())
            meter.window.append((at, seconds, consumption))
            meter.seconds += seconds
            meter.total += consumption
        row = {
            "meter_id": spec["id"],
            "read_at": at,
            "read_on": day,
            "value": value,
            "kind": ReadingKind.REGULAR,
            "rolled_over": rolled_over,
            "consumption": consumption,
            "previous_at": meter.at,
            "flagged": flagged,
            "flag_reason": reason,
            "drawdown_entry_id": None,
            "recorded_by_id": self.admin,
            "recorded_at": now,
            "voided_at": None,
            "void_reason": None,
        }
        self.event(now, "meter_reading", meter=spec["name"], value=value)
        if spec["grid"] and consumption > 0:
            self.entry(
                now,
                row,
                resource="electricity",
                quantity=consumption.quantize(MILLI),
                unit=Unit.KWH,
                day=day,
                purpose=Purpose.OPERATION,
                source=Source.METER,
                source_ref=f"meter {spec['id']}",
            )
        self.rows.add("meter_readings", row)
        meter.value, meter.at = value, at

    def dip(self, day: date, tank: dict[str, Any], at: datetime) -> None:
        """A weekly dip: usually within the tolerance of the book, now and then beyond it."""
        book = sum((lot.remaining for lot in self.lots[tank["id"]]), Decimal(0))
        spread = tank["capacity"] * (Decimal("0.02") if self.rng.random() < 0.02 else MILLI * 3)
        measured = max(
            Decimal(0),
            min(tank["capacity"], book + spread * Decimal(self.rng.uniform(-1, 1))),
        ).quantize(ONE)
        variance = measured - book
        flagged = abs(variance) > tank["tolerance"]
        self.stats["flagged dips"] += flagged
        self.event(at, "dip_reading", tank=tank["name"], measured=measured)
        self.rows.add(
            "dip_readings",
            {
                "store_id": tank["id"],
                "read_at": at,
                "read_on": day,
                "measured": measured,
                "book": book,
                "variance": variance,
                "flagged": flagged,
                "recorded_by_id": self.admin,
                "voided_at": None,
                "void_reason": None,
            },
        )

    def run_hours(self, day: date, n: int, generator: dict[str, Any], at: datetime) -> None:
        """The run-hour meter read each morning: the total after yesterday's runs."""
        self.event(at, "generator_hours", generator=generator["name"], hours=self.hours[n])
        self.rows.add(
            "generator_readings",
            {
                "generator_id": generator["id"],
                "read_at": at,
                "read_on": day,
                "hours": self.hours[n],
                "recorded_by_id": self.admin,
                "voided_at": None,
                "void_reason": None,
            },
        )

    def receipt(self, day: date, tank: dict[str, Any], at: datetime) -> None:
        """The tanker tops tanks up on Tuesdays and Fridays, and comes for a tank run low."""
        held = sum((lot.remaining for lot in self.lots[tank["id"]]), Decimal(0))
        capacity = tank["capacity"]
        low = held < capacity * TOP_UP_BELOW and day.weekday() in TANKER_DAYS
        if not (low or held < capacity * EMERGENCY_BELOW):
            return
        quantity = ((capacity * TOP_UP_TO - held) / 100).to_integral_value() * 100
        if quantity <= 0:
            return
        _resource_id, unit, factor = self.site.resources[tank["product"]]
        base = convert(quantity, Unit.L, unit, factor)
        self.event(at, "fuel_received", tank=tank["name"], quantity=base)
        lot = Lot(self.next_lot, base, self.site.lines[tank["product"]], base)
        self.next_lot += 1
        lot_row = {
            "id": lot.id,
            "store_id": tank["id"],
            "resource_id": self.site.resources[tank["product"]][0],
            "received_on": day,
            "source": LotSource.FUEL_RECEIPT,
            "source_ref": None,  # "ledger <seq>", once chained
            "quantity": base,
            "used": Decimal(0),
            "returned": Decimal(0),
            "remaining": base,
            "waiver_line_id": lot.line_id,
            "drawdown_entry_id": None,
            "must_return_by": None,
        }
        movement_row = {
            "id": self.next_movement,
            "store_id": tank["id"],
            "resource_id": lot_row["resource_id"],
            "kind": MovementKind.RECEIPT,
            "occurred_on": day,
            "quantity": base,
            "use": None,
            "use_ref": None,  # "ledger <seq>", once chained
            "lot_id": lot.id,
            "parties": TANKER,
            "note": "",
            "recorded_at": at,
            "recorded_by_id": self.admin,
            "voided_at": None,
            "void_reason": None,
        }
        self.next_movement += 1
        self.entry(
            at,
            lot_row,
            movement_row,
            resource=tank["product"],
            quantity=quantity,
            unit=Unit.L,
            day=day,
            purpose=Purpose.FUEL,
            source=Source.FUEL_RECEIPT,
            source_ref=f"tank {tank['id']}",
        )
        self.lots[tank["id"]].append(lot)
        self.all_lots.append(lot)
        self.rows.add("stock_lots", lot_row)
        self.rows.add("stock_movements", movement_row)
        self.stats["receipts"] += 1

    def issues(self, day: date, n: int, tank: dict[str, Any], runs: list[Decimal]) -> None:
        """The day's issues from a tank: one per generator it feeds, or for heating or cars."""
        rng, use = self.rng, tank["use"]
        winter = day.month in (11, 12, 1, 2, 3)
        if use is FuelUse.GENERATOR:
            for g, generator in enumerate(self.site.generators):
                if generator["tank"] != n or not runs[g]:
                    continue
                litres = (runs[g] * generator["rated"] * Decimal(rng.uniform(0.96, 1.04))).quantize(
                    ONE
                )
                self.hours[g] += runs[g]
                if litres:
                    self.draw(
                        day,
                        tank,
                        litres,
                        MovementKind.ISSUE,
                        seoul(day, 18, g),
                        use=use,
                        use_ref=f"generator {generator['id']}",
                    )
        elif use is FuelUse.BOILER:
            scale = 1 if tank["product"] == "diesel" else Decimal("0.5")
            litres = Decimal(rng.randrange(300, 600) if winter else rng.randrange(40, 90)) * scale
            self.draw(day, tank, litres.quantize(ONE), MovementKind.ISSUE, seoul(day, 18, 10 + n))
        else:
            litres = Decimal(rng.randrange(40, 120) if day.weekday() < 5 else rng.randrange(10, 30))
            self.draw(day, tank, litres, MovementKind.ISSUE, seoul(day, 18, 10 + n))

    def return_south(self, day: date, tank: dict[str, Any], at: datetime) -> None:
        """Once a year some heating oil goes back south before the holidays."""
        held = sum((lot.remaining for lot in self.lots[tank["id"]]), Decimal(0))
        quantity = min(Decimal(500), held)
        if quantity > 0:
            self.draw(day, tank, quantity, MovementKind.RETURN, at, parties=TANKER)

    def draw(
        self,
        day: date,
        tank: dict[str, Any],
        litres: Decimal,
        kind: MovementKind,
        at: datetime,
        *,
        use: FuelUse | None = None,
        use_ref: str | None = None,
        parties: str = "",
    ) -> None:
        """An issue or return as `stock.draw` records it: oldest lots first, one draw each."""
        _resource_id, unit, factor = self.site.resources[tank["product"]]
        base = convert(litres, Unit.L, unit, factor)
        lots = self.lots[tank["id"]]
        held = sum((lot.remaining for lot in lots), Decimal(0))
        if base > held:
            raise SystemExit(f"bench data error: {tank['name']} has {held}, asked {base} on {day}")
        if kind is MovementKind.ISSUE:
            self.event(
                at,
                "fuel_issued",
                tank=tank["name"],
                quantity=base,
                use=(use or tank["use"]).value,
            )
        else:
            self.event(at, "fuel_returned", tank=tank["name"], quantity=base)
        movement_id = self.next_movement
        self.next_movement += 1
        self.rows.add(
            "stock_movements",
            {
                "id": movement_id,
                "store_id": tank["id"],
                "resource_id": self.site.resources[tank["product"]][0],
                "kind": kind,
                "occurred_on": day,
                "quantity": base,
                "use": (use or tank["use"]).value if kind is MovementKind.ISSUE else "return",
                "use_ref": use_ref,
                "lot_id": None,
                "parties": parties,
                "note": "",
                "recorded_at": at,
                "recorded_by_id": self.admin,
                "voided_at": None,
                "void_reason": None,
            },
        )
        left = base
        while left > 0:
            lot = lots[0]
            taken = min(lot.remaining, left)
            left -= taken
            lot.remaining -= taken
            if kind is MovementKind.ISSUE:
                lot.used += taken
            else:
                lot.returned += taken
            if not lot.remaining:
                lots.popleft()
            self.rows.add(
                "lot_draws",
                {
                    "movement_id": movement_id,
                    "lot_id": lot.id,
                    "quantity": taken,
                    "waiver_line_id": lot.line_id,
                    "waiver_status": WaiverStatus.GRANTED,
                    "classification": Classification.COVERED,
                    "flagged": False,
                },
            )
        self.stats["issues" if kind is MovementKind.ISSUE else "returns"] += 1

    # -- the ledger and the day's history

    def entry(
        self,
        now: datetime,
        *owners: dict[str, Any],
        resource: str,
        quantity: Decimal,
        unit: Unit,
        day: date,
        purpose: Purpose,
        source: Source,
        source_ref: str,
    ) -> None:
        """Queue the drawdown `record_drawdown` would record at `now`; chained at day's end."""
        resource_id, base_unit, factor = self.site.resources[resource]
        line_id = self.site.lines[resource]
        values = {
            "resource_id": resource_id,
            "quantity": quantity,
            "unit": unit,
            "base_quantity": convert(quantity, unit, base_unit, factor),
            "occurred_on": day,
            "recorded_at": now,
            "recorded_by_id": self.admin,
            "purpose": purpose,
            "source": source,
            "source_ref": source_ref,
            "note": "",
            "waiver_id": self.site.waiver_id,
            "waiver_line_id": line_id,
            "waiver_status": WaiverStatus.GRANTED,
            "classification": Classification.COVERED,
            "flagged": False,
            "override_reason": None,
            "reverses_id": None,
            "reversal_reason": None,
        }
        self.entries.append((now, len(self.entries), values, list(owners)))

    def chain(self) -> None:
        """Append the day's drawdowns to the hash chain in the order they were recorded."""
        for _now, _n, values, owners in sorted(self.entries, key=lambda item: item[:2]):
            self.seq += 1
            values["id"] = self.next_entry
            self.next_entry += 1
            values["seq"] = self.seq
            values["prev_hash"] = self.last_hash
            values["hash"] = self.last_hash = ledger.entry_digest(values)
            self.used[values["waiver_line_id"]] += values["base_quantity"]
            for owner in owners:
                if "drawdown_entry_id" in owner:  # a meter reading, or a receipt's lot
                    owner["drawdown_entry_id"] = values["id"]
                if "received_on" in owner:  # the receipt's lot
                    owner["source_ref"] = f"ledger {values['seq']}"
                elif "lot_id" in owner:  # the receipt's movement
                    owner["use_ref"] = f"ledger {values['seq']}"
            self.rows.add("drawdown_entries", values)

    def event(self, at: datetime, action: str, **detail: Any) -> None:
        self.events.append((at, len(self.events), action, {k: str(v) for k, v in detail.items()}))

    def close_day(self, day: date, at: datetime) -> None:
        """Write the day's log, signed off in the evening, with its history in time order."""
        log_id = self.logs.get(day)
        if log_id is None:
            log_id = self.logs[day] = self.next_log
            self.next_log += 1
            self.rows.add(
                "daily_logs",
                {
                    "id": log_id,
                    "log_on": day,
                    "status": LogStatus.SIGNED_OFF,
                    "incidents": "",
                    "notes": "",
                    "signed_off_at": at,
                    "signed_off_by_id": self.admin,
                },
            )
        else:
            self.signed_later = (log_id, at)  # a log the services started: signed at the end
        self.events.append((at, len(self.events), "signed_off", {}))
        for when, _n, action, detail in sorted(self.events, key=lambda item: item[:2]):
            self.rows.add(
                "daily_log_events",
                {
                    "log_id": log_id,
                    "at": when,
                    "by_id": self.admin,
                    "action": action,
                    "reason": None,
                    "detail": detail,
                },
            )

    # -- the whole period

    def people(self, first_day: date, last_day: date) -> None:
        """Stays of 10 days on site and 4 off, staggered so about 70% are on site each day."""
        for n, person_id in enumerate(self.site.people):
            start = first_day - timedelta(days=n % 14)
            while start <= last_day:
                first, last = max(start, first_day), min(start + timedelta(days=9), last_day)
                if first <= last:
                    self.rows.add(
                        "stays",
                        {
                            "staff_member_id": person_id,
                            "first_day": first,
                            "last_day": last,
                            "is_pinned": False,
                            "note": "",
                            "created_at": seoul(first) - timedelta(days=7),
                        },
                    )
                start += timedelta(days=14)

    def finish(self, connection: Connection) -> None:
        """Flush the rest; move the lots, the ledger head, the lines' use and the first log."""
        self.rows.flush(force=True)
        lots = StockLot.__table__
        connection.execute(
            update(lots).where(lots.c.id == bindparam("lot_id")),
            [
                {
                    "lot_id": lot.id,
                    "used": lot.used,
                    "returned": lot.returned,
                    "remaining": lot.remaining,
                }
                for lot in self.all_lots
            ],
        )
        connection.execute(
            update(LedgerHead)
            .where(LedgerHead.id == 1)
            .values(last_seq=self.seq, last_hash=self.last_hash)
        )
        for line_id, used in self.used.items():
            connection.execute(
                update(WaiverLine).where(WaiverLine.id == line_id).values(used_base=used)
            )
        signed = self.signed_later
        if signed is not None:
            connection.execute(
                update(DailyLog)
                .where(DailyLog.id == signed[0])
                .values(
                    status=LogStatus.SIGNED_OFF,
                    signed_off_at=signed[1],
                    signed_off_by_id=self.admin,
                )
            )


def load(
    engine: Engine, app: Flask, site: Site, first_day: date, seed: int
) -> tuple[Loader, float]:
    """Bulk-load `first_day` to LAST_DAY in one transaction; return the loader and seconds.

    Runs in a request context of `app` in English, the language the flag reasons are written
    in (the services write them in the recording user's language).
    """
    started = time.perf_counter()
    with app.test_request_context(), force_locale("en"), engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        pragma = connection.connection.driver_connection.execute if sqlite else None
        if pragma:
            # On this connection only, while loading: no fsync, a big page cache. Set outside
            # any transaction, on the driver's connection, as SQLite requires.
            pragma("PRAGMA synchronous=OFF")
            pragma("PRAGMA cache_size=-262144")
        with connection.begin():
            loader = Loader(connection, site, first_day, seed)
            loader.people(first_day, LAST_DAY)
            for day in days(first_day, LAST_DAY):
                loader.day(day)
                if day.month == 12 and day.day == 31:
                    done = sum(loader.rows.counts.values())
                    print(
                        f"  ... {day.year} done: {done:,} rows in "
                        f"{time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
            loader.finish(connection)
            if engine.dialect.name == "postgresql":
                for table in (DrawdownEntry, StockLot, StockMovement, DailyLog):
                    name = table.__tablename__
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )
        if pragma:
            pragma("PRAGMA synchronous=NORMAL")
            pragma("PRAGMA cache_size=-2000")
    seconds = time.perf_counter() - started
    if sqlite:
        engine.dispose()  # no pooled connection may hold the checkpoint back
        with engine.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.connection.driver_connection.execute("ANALYZE")
    return loader, seconds


# --- checking the loaded data -------------------------------------------------------------

INTERVAL_CHECK = """
SELECT count(*) FROM (
  SELECT r.meter_id, r.read_at, r.previous_at, r.value, r.consumption, r.rolled_over,
         m.digits, m.multiplier,
         lag(r.read_at) OVER w AS last_at, lag(r.value) OVER w AS last_value
  FROM meter_readings r JOIN meters m ON m.id = r.meter_id
  WINDOW w AS (PARTITION BY r.meter_id ORDER BY r.read_at, r.id)
) AS x
WHERE last_at IS NOT NULL AND (
  previous_at != last_at
  OR consumption * 1000000 != (value - last_value + CASE WHEN rolled_over
       THEN (CASE digits {moduli} END) * 1000000 ELSE 0 END) * multiplier
  OR (rolled_over AND value >= last_value) OR (NOT rolled_over AND value < last_value))
""".format(moduli=" ".join(f"WHEN {digits} THEN {10**digits}" for digits in range(1, 13)))

STOCK_CHECK = """
SELECT count(*) FROM stores s WHERE s.kind = 'tank' AND
  (SELECT coalesce(sum(remaining), 0) FROM stock_lots WHERE store_id = s.id) !=
  (SELECT coalesce(sum(CASE WHEN kind = 'receipt' THEN quantity ELSE -quantity END), 0)
   FROM stock_movements WHERE store_id = s.id AND voided_at IS NULL)
"""

DRAWS_CHECK = """
SELECT count(*) FROM stock_movements m WHERE m.kind != 'receipt' AND m.quantity !=
  (SELECT coalesce(sum(quantity), 0) FROM lot_draws WHERE movement_id = m.id)
"""


def check(engine: Engine, site: Site, seed: int) -> list[str]:
    """Confirm the load is what the services would have written; return what was checked.

    Raises SystemExit at the first disagreement: every figure would be meaningless.
    """
    found = []
    with Session(engine) as session:
        started = time.perf_counter()
        checked, problem = ledger.verify_chain(session)
        seconds = time.perf_counter() - started
        if problem is not None:
            raise SystemExit(f"hash chain broken at entry {problem.seq}: {problem.reason}")
        found.append(f"ledger.verify_chain: {checked:,} entries, no problem ({seconds:.1f} s)")
        started = time.perf_counter()
        differences = ledger.check_usage(session)
        seconds = time.perf_counter() - started
        if differences:
            raise SystemExit(f"{len(differences)} waiver lines' usage differs from the ledger")
        found.append(f"ledger.check_usage: no differences ({ms(seconds):.0f} ms)")
        bad = session.scalar(text(INTERVAL_CHECK))
        if bad:
            raise SystemExit(f"{bad} meter readings disagree with the reading before them")
        found.append("every reading's previous_at, consumption and rollover follow the last one")
        for name, query in (("tank", STOCK_CHECK), ("issue/return", DRAWS_CHECK)):
            bad = session.scalar(text(query))
            if bad:
                raise SystemExit(f"{bad} {name} books disagree with the lots")
        found.append("each tank's lots sum to its movements; each issue to its lot draws")
        found.append(sample_flags(session, seed))
        found.append(services_continue(session, site))
    return found


def sample_flags(session: Session, seed: int, sample: int = 300) -> str:
    """Recompute the plausibility flag of random flagged and unflagged readings with the
    service's own 30-day average; return the tally."""
    rng = random.Random(seed)
    chosen = []
    for flagged in (True, False):
        ids = list(
            session.scalars(
                select(MeterReading.id).where(
                    MeterReading.kind == ReadingKind.REGULAR, MeterReading.flagged.is_(flagged)
                )
            )
        )
        chosen.append(rng.sample(ids, min(sample, len(ids))))
    readings = list(
        session.scalars(select(MeterReading).where(MeterReading.id.in_(chosen[0] + chosen[1])))
    )
    for reading in readings:
        average = fuel._thirty_day_average(session, reading.meter, reading.previous_at)
        elapsed = Decimal((reading.read_at - reading.previous_at).total_seconds() / 86400)
        expected = bool(
            average
            and elapsed > 0
            and reading.consumption / elapsed > fuel.IMPLAUSIBLE_FACTOR * average
        )
        if expected != reading.flagged:
            raise SystemExit(f"reading {reading.id}: flagged {reading.flagged}, service {expected}")
    return (
        "plausibility flags recomputed with the service's own 30-day average: "
        f"{len(chosen[0])} flagged and {len(chosen[1])} unflagged readings (sampled) agree"
    )


def services_continue(session: Session, site: Site) -> str:
    """Record one more grid reading and one issue through the services, then roll back."""
    meter = session.get(Meter, site.meters[0]["id"])
    last = fuel.last_reading(session, meter)
    at = last.read_at + HOUR
    now = at + timedelta(minutes=2)
    head = session.get(LedgerHead, 1).last_seq
    admin = session.get(User, site.admin_id)
    reading = fuel.record_meter_reading(
        session,
        meter,
        value=(last.value + 50) % site.meters[0]["modulus"],
        read_at=at,
        rolled_over=last.value + 50 >= site.meters[0]["modulus"],
        actor=admin,
        now=now,
    )
    tank = session.get(Store, site.tanks[2]["id"])
    held = book_stock(session, tank)
    movement = fuel.issue_fuel(
        session,
        tank,
        quantity=Decimal(50),
        issued_on=office_date(at),
        use=FuelUse.BOILER,
        actor=admin,
        now=now,
    )
    ok = (
        reading.consumption == 50 * meter.multiplier
        and reading.drawdown_entry.seq == head + 1
        and book_stock(session, tank) == held - 50
        and len(movement.draws) >= 1
    )
    found = (
        "record_meter_reading and issue_fuel continue the loaded data (ledger entry "
        f"{head + 1:,}, FIFO from lot {movement.draws[0].lot_id}); rolled back"
    )
    session.rollback()
    if not ok:
        raise SystemExit("the services do not continue the loaded data as expected")
    return found


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Probe:
    group: str  # the issue's target it is held to
    name: str
    run: Callable[[], Any]
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU time, ms
    statements: list[tuple[float, str, Any]] = field(default_factory=list)

    @property
    def target(self) -> float:
        return TARGETS[self.group]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    @property
    def verdict(self) -> str:
        return "under" if self.median < self.target else "OVER"


def logged_in(app: Flask, session_id: str) -> FlaskClient:
    """Return a test client whose session holds a login, as a successful login leaves it."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = session_id
        flask_session["_fresh"] = True
    return client


def page(client: FlaskClient, url: str) -> Callable[[], int]:
    def get() -> int:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code}")
        return len(response.data)

    return get


def service(engine: Engine, function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """Call `function(session, *args)` in a new session, as a request would."""

    def call() -> Any:
        with Session(engine) as session:
            return function(session, *args)

    return call


def probes(
    engine: Engine, client: FlaskClient, reader: FlaskClient, first_day: date
) -> list[Probe]:
    """The issue's measurements, then the same at the start of the data for comparison.

    `client` is logged in as the administrator; `reader` as a reviewer, who sees the daily
    log without its forms.
    """
    start, end = MONTH
    found = [
        Probe(
            "daily log",
            f"GET /operations/days/{LOG_DAY}",
            page(client, f"/operations/days/{LOG_DAY}"),
        ),
        Probe(
            "daily log",
            f"GET /operations/days/{LOG_DAY} as a reviewer (no forms)",
            page(reader, f"/operations/days/{LOG_DAY}"),
        ),
        Probe(
            "consumption",
            f"electricity_per_day {start}..{end}",
            service(engine, fuel.electricity_per_day, start, end),
        ),
        Probe(
            "consumption",
            f"fuel_issued_per_day {start}..{end}",
            service(engine, fuel.fuel_issued_per_day, start, end),
        ),
        Probe(
            "consumption",
            f"per_person_day {start}..{end}",
            service(engine, fuel.per_person_day, start, end),
        ),
        Probe(
            "consumption",
            "GET /operations/per-person (that month)",
            page(client, f"/operations/per-person?start={start}&end={end}"),
        ),
        Probe(
            "report",
            "petroleum_report {} .. {}".format(*petroleum.period_of(LOG_DAY)),
            service(engine, petroleum.petroleum_report, *petroleum.period_of(LOG_DAY)),
        ),
        Probe(
            "report",
            f"GET /operations/petroleum?start={LOG_DAY}",
            page(client, f"/operations/petroleum?start={LOG_DAY}"),
        ),
        Probe(
            "report",
            f"GET /operations/petroleum.csv?start={LOG_DAY}",
            page(client, f"/operations/petroleum.csv?start={LOG_DAY}"),
        ),
    ]
    early_day = first_day + timedelta(days=74)
    early_start = early_day.replace(day=1)
    early_end = (early_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if early_day < LOG_DAY - timedelta(days=60):
        found += [
            Probe(
                "daily log",
                f"GET /operations/days/{early_day} (early)",
                page(client, f"/operations/days/{early_day}"),
            ),
            Probe(
                "consumption",
                f"electricity_per_day {early_start}..{early_end} (early)",
                service(engine, fuel.electricity_per_day, early_start, early_end),
            ),
            Probe(
                "consumption",
                f"per_person_day {early_start}..{early_end} (early)",
                service(engine, fuel.per_person_day, early_start, early_end),
            ),
            Probe(
                "report",
                "petroleum_report {} .. {} (early)".format(*petroleum.period_of(early_day)),
                service(engine, petroleum.petroleum_report, *petroleum.period_of(early_day)),
            ),
        ]
    return found


def measure(found: list[Probe], warmup: int, runs: int) -> None:
    """Warm each probe up, then time it `runs` times, the probes taking turns."""
    for probe in found:
        for _ in range(warmup):
            probe.run()
    for _ in range(runs):
        for probe in found:
            started, cpu = time.perf_counter(), time.process_time()
            probe.run()
            probe.samples.append(ms(time.perf_counter() - started))
            probe.cpu.append(ms(time.process_time() - cpu))


@contextmanager
def recording(engines: list[Engine]) -> Iterator[list[tuple[float, str, Any]]]:
    """Yield a list that collects (ms, SQL, parameters) of every statement run meanwhile."""
    statements: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        statements.append((ms(time.perf_counter() - conn.info["bench_started"]), sql, params))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)


def diagnose(probe: Probe, engine: Engine, top: int = 14) -> None:
    """Print where one run of `probe` spends its time: functions, and the slowest queries."""
    profiler = cProfile.Profile()
    profiler.enable()
    probe.run()
    profiler.disable()
    for order, restriction, what in (
        ("cumulative", rf"^{ROOT}/(office|templates)/", "the project's code by cumulative time"),
        ("tottime", "", "all functions by own time"),
    ):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(*(r for r in (restriction,) if r), top)
        print(f"\n  -- {probe.name}: cProfile, {what}")
        lines = out.getvalue().splitlines()
        start = next(n for n, line in enumerate(lines) if "ncalls" in line)
        for line in lines[start : start + top + 1]:
            if line.strip():
                print(f"    {line.rstrip().replace(str(ROOT) + '/', '')[:140]}")
    slowest = sorted(probe.statements, key=lambda item: -item[0])[:2]
    for elapsed, sql, params in slowest:
        print(f"  -- {elapsed:.1f} ms to run and fetch: {' '.join(sql.split())[:400]}")
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            for row in plan:
                print(f"       plan: {row[-1]}")


def sql_cost(
    engine: Engine, statements: list[tuple[float, str, Any]]
) -> list[tuple[float, str, Any]]:
    """Run each SELECT again through the driver, fetching every row; return (ms, SQL, params).

    The timings taken while the probe ran stop at the first row on SQLite; this counts the
    whole statement, without the ORM's work on the rows.
    """
    found = []
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for _elapsed, sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            found.append((ms(time.perf_counter() - started), sql, params))
        cursor.close()
    return found


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=5, help="years of data up to 2018-12-31")
    parser.add_argument(
        "--database-url",
        help="an empty database to fill (default: a temporary SQLite file, removed after)",
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    parser.add_argument("--seed", type=int, default=1914, help="random seed of the data")
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for this load")
    parser.add_argument("--max-wait", type=float, default=300, help="seconds to wait at most")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile every measurement, not only the slowest over its target in each group",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    args = parser.parse_args(argv)
    if not 1 <= args.years <= 15:
        parser.error("--years must be from 1 to 15")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    first_day = date(LAST_DAY.year - args.years + 1, 1, 1)
    workdir = Path(tempfile.mkdtemp(prefix="office-bench-fuel-"))
    url = normalise_database_url(args.database_url or f"sqlite:///{workdir / 'fuel.db'}")
    engine = create_engine_for(url)
    try:
        print(f"office fuel benchmark: {first_day} .. {LAST_DAY} on {engine.dialect.name}")
        print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"  load average {load_average()}")
        migrate(engine)
        with Session(engine) as session:
            if session.scalar(select(func.count()).select_from(DrawdownEntry)) or session.scalar(
                select(func.count()).select_from(Store)
            ):
                raise SystemExit(f"{url} already holds data; give an empty database.")
        site = set_up(engine, first_day)

        app = create_app(
            {
                "OFFICE_ENV": "development",
                "SECRET_KEY": secrets.token_hex(32),
                "OFFICE_DATABASE_URL": url,
            }
        )
        print("\n== Loading", flush=True)
        loader, load_seconds = load(engine, app, site, first_day, args.seed)
        counts = dict(loader.rows.counts)
        with engine.connect() as connection:
            counts["meter_readings"] = connection.scalar(
                select(func.count()).select_from(MeterReading)
            )
            signed = connection.scalar(
                select(func.count())
                .select_from(DailyLog)
                .where(DailyLog.status == LogStatus.SIGNED_OFF)
            )
        total_rows = sum(counts.values())
        print(
            f"  {total_rows:,} rows in {load_seconds:.0f} s ({total_rows / load_seconds:,.0f} "
            f"rows/s), load average {load_average()}"
        )
        for name in (
            "meter_readings",
            "drawdown_entries",
            "daily_log_events",
            "daily_logs",
            "stock_movements",
            "lot_draws",
            "stock_lots",
            "dip_readings",
            "generator_readings",
            "stays",
        ):
            print(f"    {name:<20} {counts.get(name, 0):>9,}")
        stats = ", ".join(f"{name} {n:,}" for name, n in sorted(loader.stats.items()))
        print(f"    {stats}")
        if engine.dialect.name == "sqlite":
            size = Path(engine.url.database or "").stat().st_size / 1e6
            print(f"    database file {size:,.0f} MB")

        print("\n== Checking the data", flush=True)
        checks = check(engine, site, args.seed)
        for line in checks:
            print(f"  {line}")

        client = logged_in(app, site.admin_session_id)
        reader = logged_in(app, site.reviewer_session_id)
        found = probes(engine, client, reader, first_day)
        app_engine = app.extensions["office.db"].engine

        print("\n== Measuring", flush=True)
        before = wait_for_quiet(args.max_load, args.max_wait)
        print(f"  {args.warmup} warm-up runs, then {args.runs} timed runs each, taking turns")
        started = time.perf_counter()
        measure(found, args.warmup, args.runs)
        after = load_average()
        print(
            f"  load average before {before}, after {after} ({time.perf_counter() - started:.0f} s)"
        )
        for probe in found:
            with recording([engine, app_engine]) as statements:
                probe.run()
            probe.statements = sql_cost(engine, statements)
        print_results(found)
        print_sizes(engine)

        slow = [probe for probe in found if args.profile or probe.median >= probe.target]
        if not args.profile:  # the slowest of each group over its target is enough
            slow = [
                max((p for p in slow if p.group == group), key=lambda p: p.median)
                for group in TARGETS
                if any(p.group == group for p in slow)
            ]
        if slow:
            print("\n== Where the time goes", flush=True)
            for probe in slow:
                diagnose(probe, engine)

        print(f"\n== Summary ({engine.dialect.name}, load average {before} -> {after})")
        for line in summary(found, counts, signed, load_seconds):
            print(f"  {line}")
        app_engine.dispose()
    finally:
        engine.dispose()
        if args.keep:
            print(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def print_results(found: list[Probe]) -> None:
    """Print each measurement's median, p95 and max against its target."""
    print(f"\n  {'measurement':<56}{'median':>8}{'p95':>8}{'max':>8}{'CPU':>7}{'SQL':>11}  target")
    for probe in found:
        sql_ms = sum(elapsed for elapsed, _sql, _params in probe.statements)
        print(
            f"  {probe.name:<56}{probe.median:8.1f}{probe.p95:8.1f}{max(probe.samples):8.1f}"
            f"{statistics.median(probe.cpu):7.1f}{len(probe.statements):>5}/{sql_ms:5.1f}"
            f"  {probe.verdict} {probe.target:.0f} ms"
        )
    print(
        "  (ms of wall time; CPU = median CPU time of this process; SQL = SELECTs in one run /"
        " ms they take run again and fetched through the driver alone)"
    )


def print_sizes(engine: Engine) -> None:
    """Print what the measured pages and reports hold, so the figures mean something."""
    start, end = MONTH
    with Session(engine) as session:
        readings = session.scalar(
            select(func.count()).select_from(MeterReading).where(MeterReading.read_on == LOG_DAY)
        )
        events = session.scalar(
            select(func.count())
            .select_from(DailyLogEvent)
            .join(DailyLog)
            .where(DailyLog.log_on == LOG_DAY)
        )
        kwh = sum(fuel.electricity_per_day(session, start, end).values())
        litres = sum(fuel.fuel_issued_per_day(session, start, end).values())
        people = [row.people for row in fuel.per_person_day(session, start, end)]
        report = petroleum.petroleum_report(session, *petroleum.period_of(LOG_DAY))
    print(
        f"  {LOG_DAY}: {readings} meter readings and {events} history lines on the page; "
        f"{start:%Y-%m}: {kwh:,.0f} kWh, {litres:,.0f} L, {min(people)}-{max(people)} people "
        f"a day; report {report.start}..{report.end}: {len(report.transfers)} transfers, "
        f"{len(report.returns)} returns"
    )


def summary(
    found: list[Probe], counts: dict[str, int], signed: int, load_seconds: float
) -> list[str]:
    """Return the lines of the pasteable summary."""
    lines = [
        f"data: {counts['meter_readings']:,} meter readings (10 meters hourly), "
        f"{counts['stock_movements']:,} stock movements on 5 tanks, "
        f"{counts['drawdown_entries']:,} ledger entries, {signed:,} signed-off "
        f"days; bulk-loaded in {load_seconds:.0f} s; chain verified, usage matches",
    ]
    for probe in found:
        lines.append(
            f"{probe.name}: median {probe.median:.1f} ms, p95 {probe.p95:.1f} ms, max "
            f"{max(probe.samples):.1f} ms ({probe.verdict} {probe.target:.0f} ms)"
        )
    return lines


if __name__ == "__main__":
    main()
