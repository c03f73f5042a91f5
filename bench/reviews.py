"""Print how the ministry's review performs with 1,000,000 ledger entries and 10,000 flagged items.

    .venv/bin/python bench/reviews.py [--entries 1000000] [--flagged 10000] [--database-url URL]

The issue asks: "With 1,000,000 ledger entries and 10,000 flagged items: the dashboard opens in
under 200 ms, the review queue's first page in under 100 ms, and the month's PDF report is ready
in under 5 seconds."

1. Builds a database with the real migrations (a temporary SQLite file unless --database-url
   names an empty one). Users, the demo resources and twelve granted waivers come from
   bench/ledger.py's `seed`, and its `load_entries` loads the ledger (--entries): a hash chain,
   head and line usage exactly as `record_drawdown` leaves them, about 0.2% of the entries
   uncovered and flagged (the overrides).
2. Through the services: yearly repair waivers (2019 to last year, expired now), two waivers
   near their caps (one expiring within 30 days) drawn on with `record_drawdown`, five fuel
   tanks, the materials and tool stores, --meters meters and forty people from the South.
3. Bulk-loads with Core executemany, each row as the services would write it: the tanks'
   receipts (lots), daily issues drawn first in, first out, and a daily dip against the book;
   hourly readings on every meter; materials lots and their issues (each lot draw classified
   by `stock.coverage_now`); equipment lots that must go back south; the staff's rotations.
   The flagged items (--flagged, overrides included) are spread over the kinds the queue
   knows: drawdowns recorded anyway, stock used after its yearly waiver ran out, dips beyond
   the tank's tolerance, meter readings above three times the 30-day average, equipment past
   its date to go back; the busy month (the last complete one) has an extra 5% of each. Then,
   for the records the queue's own query finds, the review: months older than --open-months
   signed off with every item acknowledged; in the open months items open, queried, answered,
   escalated or acknowledged, each with its thread and the audit events the services record;
   logins and overrides in the audit trail too.
4. Checks the data: `verify_chain` and `check_usage`; each store's lots against its movements
   and each lot's use against its draws; dips and meter readings against their arithmetic;
   each item's state against its thread; the queue's counts against the plan; no open item in
   a signed-off month; one item queried, answered and acknowledged with `take_action` and the
   busy month's sign-off refused (both rolled back).
5. Times, warm, through the Flask test client logged in as a reviewer: the dashboard, the
   queue's first page (awaiting review, and with a kind), the busy month's PDF, and for
   information the months page, the HTML and CSV report, the dashboard as of 30 days ago, the
   queue's second page, an item and the audit trail. The probes take turns; median, p95, the
   process's CPU time and the SQL statements of one run are printed. A probe that misses its
   target (all with --profile) is profiled: cProfile, statements by kind, the plans of the
   slowest (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN ANALYZE` on PostgreSQL); for the reports
   also the split between building, rendering and printing.

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
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import Connection, Engine, event, func, insert, select, text, update  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402
from sqlalchemy.orm import Session, selectinload  # noqa: E402

from bench import ledger as ledger_bench  # noqa: E402
from bench.supplies import LOT_CHECK, STOCK_CHECK  # noqa: E402
from office import create_app  # noqa: E402
from office.audit.models import AuditEvent  # noqa: E402
from office.auth import services as auth_services  # noqa: E402
from office.auth.models import LoginAttempt, LoginOutcome, User  # noqa: E402
from office.config import normalise_database_url  # noqa: E402
from office.db import create_engine_for, db, utcnow  # noqa: E402
from office.errors import ConflictError  # noqa: E402
from office.fuel import services as fuel  # noqa: E402
from office.fuel.models import (  # noqa: E402
    DipReading,
    Meter,
    MeterReading,
    MeterSource,
    ReadingKind,
)
from office.i18n import SEOUL, office_date  # noqa: E402
from office.periods.models import SignedOffMonth  # noqa: E402
from office.periods.services import month_of, next_month  # noqa: E402
from office.reviews import queries  # noqa: E402
from office.reviews import services as reviews  # noqa: E402
from office.reviews.models import (  # noqa: E402
    ItemKind,
    ReviewAction,
    ReviewItem,
    ReviewNote,
    ReviewState,
)
from office.staffing import services as staffing  # noqa: E402
from office.staffing.models import Category, Position, Side, Stay  # noqa: E402
from office.stock import services as stock  # noqa: E402
from office.stock.models import (  # noqa: E402
    LotDraw,
    LotSource,
    MovementKind,
    StockLot,
    StockMovement,
    StoreKind,
)
from office.supplies import services as supplies  # noqa: E402
from office.waivers import ledger  # noqa: E402
from office.waivers import services as waivers  # noqa: E402
from office.waivers.models import (  # noqa: E402
    Authority,
    Control,
    DrawdownEntry,
    Purpose,
    Resource,
    Source,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.units import Unit  # noqa: E402

TARGETS = {"dashboard": 200.0, "queue": 100.0, "report pdf": 5000.0}
OPENED = ledger_bench.LEDGER_START.date()  # 2018-09-14, the first day of the records
HUGE_CAP = "900000000000"  # per line, in the line's unit: every drawdown stays covered
MILLI = Decimal("0.001")
TANKER = "S-Oil Munsan depot / Hyundai Asan tanker"
CARRIER = "Hyundai Asan logistics"

# Shares of the flagged items that are not overrides (those come with the ledger), and the
# extra share of each kind that lands in the busy month.
SHARES = {
    ItemKind.FLAGGED_USE: 0.42,
    ItemKind.METER_ANOMALY: 0.38,
    ItemKind.DIP_VARIANCE: 0.10,
    ItemKind.OVERDUE_RETURN: 0.10,
}
BUSY_SHARE = 0.05

# name, product, capacity (L), location, what its issues are for, share of the capacity a day
TANKS = (
    ("Generator tank 1", "diesel", 12000, "Basement generator room", "generator", 0.05),
    ("Generator tank 2", "diesel", 8000, "Annex generator room", "generator", 0.04),
    ("Boiler tank", "diesel", 20000, "Boiler house, living quarters", "boiler", 0.035),
    ("Dormitory heating tank", "kerosene", 10000, "Dormitory plant room", "boiler", 0.03),
    ("Vehicle tank", "gasoline", 6000, "Motor pool", "vehicle", 0.05),
)
# name, on the South's grid, kWh per register unit, first register value, mean kWh an hour,
# load profile. Ten registers of nine digits: none turns over in the years loaded.
METERS = (
    ("Grid feeder A (office building)", True, "1", "731204.5", 95, "office"),
    ("Grid feeder B (living quarters)", True, "1", "1204877.2", 70, "home"),
    ("Grid feeder C (boiler house)", True, "10", "64120.3", 60, "flat"),
    ("Grid feeder D (annex)", True, "1", "88012.9", 45, "office"),
    ("Grid feeder E (water works)", True, "1", "402311.0", 80, "flat"),
    ("Grid feeder F (site lighting)", True, "1", "5123.4", 24, "night"),
    ("Generator 1 output", False, "1", "310422.0", 12, "flat"),
    ("Generator 2 output", False, "1", "120871.5", 6, "flat"),
    ("Generator 3 output", False, "1", "57003.2", 9, "flat"),
    ("Generator 4 output", False, "1", "4410.8", 3, "flat"),
)
PROFILES = {
    "office": [0.5] * 7 + [1.2, 1.7, 1.8, 1.8, 1.6, 1.7, 1.8, 1.8, 1.7, 1.5, 1.1] + [0.6] * 6,
    "home": [0.6] * 6
    + [1.3, 1.5, 1.0, 0.7, 0.7, 0.7, 0.8, 0.7, 0.7, 0.8, 1.0, 1.4]
    + [1.7, 1.8, 1.6, 1.3, 1.0, 0.8],
    "flat": [1.0] * 24,
    "night": [1.9] * 6 + [1.0] + [0.1] * 11 + [1.0] + [1.9] * 5,
}
# Materials kept in the materials store; the controlled ones come north under a yearly
# repair waiver (2019 to last year) or, outside those years, under BENCH-0002.
MATERIALS = ("steel", "copper", "cement", "paint", "rice", "paper")
YEARLY = ("steel", "copper", "cement", "paint", "welder")
# Equipment in the tool store: it must go back south within 180 days.
EQUIPMENT = ("generator", "car", "computer", "welder")
RETURN_DAYS = 180
WORK_ORDERS = 997

NOTES = {
    ReviewAction.COMMENT: (
        "Seen; waiting for the monthly fuel reconciliation.",
        "확인함. 월간 정산 후 검토 예정.",
        "Photo of the register requested from the duty officer.",
    ),
    ReviewAction.QUERY: (
        "Which approval covers this? Send the document number.",
        "What caused the difference, and was anything lost?",
        "Please confirm the reading with a photo of the register.",
        "이 사용에 적용된 승인 번호를 알려 주십시오.",
        "When will it go back south, and with which delivery?",
    ),
    ReviewAction.ANSWER: (
        "Leftover stock from the expired approval; the new request is with the ministry.",
        "A calibration error of the dip stick; re-measured the next morning within tolerance.",
        "The register was misread at night; the photo is attached to the daily log.",
        "다음 반출 차량 편에 반환 예정입니다.",
        "Held back for the winter repairs with the ministry's verbal agreement.",
    ),
    ReviewAction.ESCALATE: (
        "Referred to the sanctions team.",
        "Needs the director's decision: repeated variance on this tank.",
        "상급 부서 검토 요청.",
    ),
    ReviewAction.ACKNOWLEDGE: (
        "",
        "Accepted.",
        "Accepted: explained in the office's answer.",
        "확인 완료.",
        "Accepted; no further action.",
    ),
    ReviewAction.REOPEN: ("Reopened: the answer does not match the delivery papers.",),
}
# Threads ending in each state, as the review's rules allow them (services.RULES).
THREADS: dict[ReviewState, tuple[tuple[ReviewAction, ...], ...]] = {
    ReviewState.OPEN: ((ReviewAction.COMMENT,),),
    ReviewState.QUERIED: (
        (ReviewAction.QUERY,),
        (ReviewAction.QUERY, ReviewAction.ANSWER, ReviewAction.QUERY),
    ),
    ReviewState.ANSWERED: ((ReviewAction.QUERY, ReviewAction.ANSWER),),
    ReviewState.ESCALATED: (
        (ReviewAction.ESCALATE,),
        (ReviewAction.QUERY, ReviewAction.ANSWER, ReviewAction.ESCALATE),
    ),
    ReviewState.ACKNOWLEDGED: (
        (ReviewAction.ACKNOWLEDGE,),
        (ReviewAction.ACKNOWLEDGE,),
        (ReviewAction.QUERY, ReviewAction.ANSWER, ReviewAction.ACKNOWLEDGE),
        (ReviewAction.COMMENT, ReviewAction.ACKNOWLEDGE),
        (ReviewAction.ESCALATE, ReviewAction.ACKNOWLEDGE),
        (
            ReviewAction.ACKNOWLEDGE,
            ReviewAction.REOPEN,
            ReviewAction.QUERY,
            ReviewAction.ANSWER,
            ReviewAction.ACKNOWLEDGE,
        ),
    ),
}
# How the items of an open month stand: (no item yet, then each state), older and recent.
OPEN_MIX = {
    "older": ((0.15, None), (0.10, ReviewState.QUERIED), (0.08, ReviewState.ANSWERED),
              (0.07, ReviewState.ESCALATED), (0.60, ReviewState.ACKNOWLEDGED)),
    "recent": ((0.40, None), (0.05, ReviewState.OPEN), (0.15, ReviewState.QUERIED),
               (0.10, ReviewState.ANSWERED), (0.05, ReviewState.ESCALATED),
               (0.25, ReviewState.ACKNOWLEDGED)),
}  # fmt: skip
RECENT_MONTHS = 3


# --- machine and figures ------------------------------------------------------------------

ms = ledger_bench.ms
percentile = ledger_bench.percentile
expect = ledger_bench.expect
logged_in = ledger_bench.logged_in


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


def seoul(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """Return the UTC instant of `day` at hour:minute in Seoul."""
    return datetime.combine(day, clock(hour, minute), tzinfo=SEOUL).astimezone(UTC)


def split_milli(total: int, parts: int, rng: random.Random) -> list[int]:
    """Split `total` thousandths into `parts` positive integers (fewer if it is too small)."""
    parts = max(1, min(parts, total))
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, total]
    return [b - a for a, b in pairwise(edges)]


def milli(value: int) -> Decimal:
    return Decimal(value).scaleb(-3)


# --- what the services set up -------------------------------------------------------------


def fit_caps(engine: Engine, seed: int) -> list[str]:
    """Give bench/ledger.py's waiver lines caps a ministry would grant: above what was used
    by 15% to 250%, two of them at 80% and 93%; return those two.

    Its caps (900,000,000,000 per line) keep every drawdown covered however many are loaded;
    a cap above the final use did so at every entry too (the use only grew), so the ledger
    stays exactly what `record_drawdown` would have recorded.
    """
    rng = random.Random(seed)
    table = WaiverLine.__table__
    near = {}
    with engine.begin() as connection:
        rows = connection.execute(
            select(table.c.id, table.c.used_base, Waiver.reference, Resource.code)
            .join(Waiver, Waiver.id == table.c.waiver_id)
            .join(Resource, Resource.id == table.c.resource_id)
            .where(Waiver.reference.like("BENCH-%"))
            .order_by(table.c.id)
        ).all()
        shares = {rows[4].id: 0.93, rows[16].id: 0.80} if len(rows) > 16 else {}
        for line_id, used, reference, code in rows:
            share = shares.get(line_id, 1 / rng.uniform(1.15, 3.5))
            cap = max((used / Decimal(share)).to_integral_value(rounding="ROUND_CEILING"), 1)
            if line_id in shares:
                near[line_id] = f"{reference} {code} at {used / cap:.0%}"
            connection.execute(
                table.update()
                .where(table.c.id == line_id)
                .values(requested_quantity=cap, granted_quantity=cap, granted_base=cap)
            )
    return list(near.values())


@dataclass
class Site:
    """What the services created, for the bulk load, the checks and the probes."""

    today: date
    now: datetime
    admin_id: int
    reviewer_id: int
    reviewer_session_id: str
    resources: dict[str, Resource]  # detached, as loaded
    lines: dict[int, WaiverLine]  # detached, each with its waiver
    standing: dict[str, int]  # resource code: a line valid throughout (the bench waivers)
    yearly: dict[int, dict[str, int]]  # year: resource code: line of that year's waiver
    tanks: list[dict[str, Any]] = field(default_factory=list)
    stores: dict[str, int] = field(default_factory=dict)
    meters: list[dict[str, Any]] = field(default_factory=list)
    people: list[int] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    @property
    def busy_month(self) -> date:
        return month_of(month_of(self.today) - timedelta(days=1))


def set_up(engine: Engine, fixture: ledger_bench.Fixture, meter_count: int) -> Site:
    """Add the yearly and the near-cap waivers, tanks, stores, meters and people through the
    services, as the office would have."""
    now = utcnow()
    today = office_date(now)
    with Session(engine, expire_on_commit=False) as session:
        admin = session.get(User, fixture.admin_id)
        reviewer = session.scalar(select(User).where(User.email.like("bench-reviewer%")))
        resources = {r.code: r for r in session.scalars(select(Resource))}
        for year in range(2019, today.year):
            waivers.create_waiver(
                session,
                reference=f"MOU-R-{year}",
                authority=Authority.ROK_MOU_INDIVIDUAL,
                title=f"Repair materials and tools for {year}",
                status=WaiverStatus.GRANTED,
                valid_from=date(year, 1, 1),
                valid_until=date(year, 12, 31),
                lines=[waivers.LineSpec(resources[c], resources[c].unit, HUGE_CAP) for c in YEARLY],
                actor=reviewer,
                now=now,
            )
        # Two waivers near their caps: the dashboard's alerts and runways have work to do.
        near = (
            ("MOU-A-0001", "Cement for the dormitory roof", "cement", "800", 0.92, 20),
            ("MOU-A-0002", "Paint for the venue's facade", "paint", "60000", 0.78, 220),
        )
        for reference, title, code, cap, share, days_left in near:
            waiver = waivers.create_waiver(
                session,
                reference=reference,
                authority=Authority.ROK_MOU_INDIVIDUAL,
                title=title,
                status=WaiverStatus.GRANTED,
                valid_from=today - timedelta(days=150),
                valid_until=today + timedelta(days=days_left),
                lines=[waivers.LineSpec(resources[code], resources[code].unit, cap)],
                actor=reviewer,
                now=now,
            )
            line = waiver.lines[0]
            rng = random.Random(reference)
            for amount in split_milli(int(Decimal(cap) * Decimal(share) * 1000), 24, rng):
                ledger.record_drawdown(
                    session,
                    resource=resources[code],
                    quantity=milli(amount),
                    unit=resources[code].unit,
                    occurred_on=today - timedelta(days=rng.randrange(1, 60)),
                    waiver_line=line,
                    purpose=Purpose.REPAIR,
                    source=Source.DELIVERY,
                    source_ref=f"{reference}-D",
                    actor=admin,
                    now=now,
                )
            session.commit()
        tanks = [
            fuel.create_tank(
                session,
                name=name,
                product=resources[product],
                capacity=str(capacity),
                tolerance=None,  # 1% of the capacity
                location=location,
                opening=None,
                opened_on=OPENED,
                actor=admin,
                now=now,
            )
            for name, product, capacity, location, _use, _rate in TANKS
        ]
        stores = {
            "materials": supplies.materials_store(session, actor=admin, now=now, today=OPENED).id
        }
        stores["tools"] = stock.create_store(
            session,
            name="Tool store",
            kind=StoreKind.WAREHOUSE,
            location="Annex, ground floor",
            opened_on=OPENED,
            actor=admin,
            now=now,
        ).id
        lines = {
            line.id: line
            for line in session.scalars(
                select(WaiverLine).options(
                    selectinload(WaiverLine.waiver), selectinload(WaiverLine.resource)
                )
            )
        }
        standing: dict[str, int] = {}
        yearly: dict[int, dict[str, int]] = defaultdict(dict)
        for line in sorted(lines.values(), key=lambda line: line.id):
            reference = line.waiver.reference
            if reference.startswith("BENCH-"):
                standing.setdefault(line.resource.code, line.id)
            elif reference.startswith("MOU-R-"):
                yearly[line.waiver.valid_from.year][line.resource.code] = line.id
        installed_at = seoul(OPENED)
        meters = [
            fuel.add_meter(
                session,
                name=name,
                source=MeterSource.GRID_SOUTH if grid else MeterSource.GENERATOR,
                waiver_line=lines[standing["electricity"]] if grid else None,
                digits=9,
                multiplier=multiplier,
                installed_at=installed_at,
                first_value=first,
                actor=admin,
                now=now,
            )
            for name, grid, multiplier, first, _mean, _profile in METERS[:meter_count]
        ]
        people = []
        for n in range(40):
            category = Category.OFFICIAL if n < 30 else Category.SUPPORT
            person = staffing.save_person(
                session,
                staffing.PersonInput(
                    name_ko=f"검토벤치{n:02d}",
                    name_latin=f"Review bench {n:02d}",
                    side=Side.SOUTH,
                    category=category,
                    agency="Ministry of Unification",
                    position=Position.STAFF,
                    is_duty_qualified=False,
                    active_from=OPENED,
                    active_until=None,
                ),
                actor=admin,
                now=now,
            )
            people.append(person.id)
        # A browser session kept on the server, as a login leaves it.
        reviewer_key = auth_services.start_session(
            session, reviewer, now=utcnow(), remote_addr=None, user_agent="bench"
        )[1]
        session.commit()
        site = Site(
            today=today,
            now=now,
            admin_id=admin.id,
            reviewer_id=reviewer.id,
            reviewer_session_id=reviewer_key,
            resources=resources,
            lines=lines,
            standing=standing,
            yearly=dict(yearly),
            stores=stores,
            people=people,
            alerts=[reference for reference, *_rest in near],
        )
        for tank, spec in zip(tanks, TANKS, strict=True):
            _name, product, _capacity, _location, use, rate = spec
            site.tanks.append(
                {
                    "id": tank.id,
                    "product": product,
                    "capacity": tank.capacity,
                    "tolerance": tank.tolerance,
                    "use": use,
                    "rate": rate,
                }
            )
        for meter, spec in zip(meters, METERS[:meter_count], strict=True):
            _name, _grid, multiplier, first, mean, profile = spec
            site.meters.append(
                {
                    "id": meter.id,
                    "multiplier": Decimal(multiplier),
                    "value": Decimal(first),
                    "mean": mean,
                    "profile": PROFILES[profile],
                }
            )
    return site


# --- the bulk load ------------------------------------------------------------------------

# Insert order: every foreign key points at a table earlier in the list.
TABLES = (
    StockLot.__table__,
    StockMovement.__table__,
    LotDraw.__table__,
    DipReading.__table__,
    MeterReading.__table__,
    Stay.__table__,
    ReviewItem.__table__,
    ReviewNote.__table__,
    AuditEvent.__table__,
    LoginAttempt.__table__,
    SignedOffMonth.__table__,
)
NUMBERED = [table for table in TABLES if "id" in table.c]


class Rows:
    """Rows waiting to be inserted, with ids handed out here, flushed in foreign-key order at
    points where every pending row is final."""

    def __init__(self, connection: Connection, batch: int = 20_000) -> None:
        self.connection = connection
        self.batch = batch
        self.pending: dict[str, list[dict[str, Any]]] = {table.name: [] for table in TABLES}
        self.counts: Counter[str] = Counter()
        self.next_id = {
            table.name: (connection.scalar(select(func.max(table.c.id))) or 0) + 1
            for table in NUMBERED
        }

    def new_id(self, table: str) -> int:
        number = self.next_id[table]
        self.next_id[table] += 1
        return number

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
class Plan:
    """How many flagged items of each kind to make, and how many of them in the busy month."""

    total: dict[ItemKind, int]
    busy: dict[ItemKind, int]

    @classmethod
    def make(cls, flagged: int, overrides: int) -> Plan:
        rest = flagged - overrides
        if rest < 100:
            raise SystemExit(
                f"the ledger already holds {overrides:,} overrides; --flagged {flagged:,} "
                "leaves too few for the other kinds"
            )
        total = {ItemKind.OVERRIDE: overrides}
        kinds = list(SHARES)
        for kind in kinds[:-1]:
            total[kind] = round(rest * SHARES[kind])
        total[kinds[-1]] = rest - sum(total[kind] for kind in kinds[:-1])
        busy = {kind: round(total[kind] * BUSY_SHARE) for kind in kinds}
        return cls(total, busy)


class Loader:
    """Make the office's years of stock, fuel, meters, staff and review as the services would
    have recorded them."""

    def __init__(self, connection: Connection, site: Site, plan: Plan, seed: int) -> None:
        self.connection = connection
        self.site = site
        self.plan = plan
        self.rows = Rows(connection)
        self.rng = random.Random(seed)
        self.days = (site.yesterday - OPENED).days + 1
        self.made: Counter[ItemKind] = Counter()
        self.busy_made: Counter[ItemKind] = Counter()
        self.notes: Counter[str] = Counter()

    # -- helpers --

    def busy_days(self) -> tuple[date, date]:
        first = self.site.busy_month
        return first, next_month(first) - timedelta(days=1)

    def in_busy(self, day: date) -> bool:
        first, last = self.busy_days()
        return first <= day <= last

    def coverage(self, resource: str, line_id: int | None, day: date) -> stock.Coverage:
        line = self.site.lines[line_id] if line_id is not None else None
        return stock.coverage_now(self.site.resources[resource], line, day)

    def lot(
        self,
        *,
        store: int,
        resource: str,
        received_on: date,
        source: LotSource,
        ref: str,
        quantity: Decimal,
        line_id: int | None,
        must_return_by: date | None = None,
    ) -> dict[str, Any]:
        """Add a lot and its receipt movement; return the lot's row (final once its draws
        are added)."""
        lot_id = self.rows.new_id("stock_lots")
        row = {
            "id": lot_id,
            "store_id": store,
            "resource_id": self.site.resources[resource].id,
            "received_on": received_on,
            "source": source,
            "source_ref": ref,
            "quantity": quantity,
            "used": Decimal(0),
            "returned": Decimal(0),
            "remaining": quantity,
            "waiver_line_id": line_id,
            "drawdown_entry_id": None,
            "must_return_by": must_return_by,
        }
        self.rows.add("stock_lots", row)
        self.rows.add(
            "stock_movements",
            self.movement(
                store=store,
                resource=resource,
                kind=MovementKind.RECEIPT,
                day=received_on,
                quantity=quantity,
                use=None,
                use_ref=ref,
                lot_id=lot_id,
                parties=TANKER if source is LotSource.FUEL_RECEIPT else CARRIER,
                hour=14,
            ),
        )
        return row

    def movement(
        self,
        *,
        store: int,
        resource: str,
        kind: MovementKind,
        day: date,
        quantity: Decimal,
        use: str | None,
        use_ref: str | None,
        lot_id: int | None = None,
        parties: str = "",
        hour: int = 17,
    ) -> dict[str, Any]:
        return {
            "id": self.rows.new_id("stock_movements"),
            "store_id": store,
            "resource_id": self.site.resources[resource].id,
            "kind": kind,
            "occurred_on": day,
            "quantity": quantity,
            "use": use,
            "use_ref": use_ref,
            "lot_id": lot_id,
            "parties": parties,
            "note": "",
            "recorded_at": seoul(day, hour),
            "recorded_by_id": self.site.admin_id,
            "voided_at": None,
            "void_reason": None,
        }

    def take(
        self,
        lot: dict[str, Any],
        resource: str,
        kind: MovementKind,
        day: date,
        quantity: Decimal,
        *,
        use: str | None,
        use_ref: str | None,
        movement: dict[str, Any] | None = None,
    ) -> bool:
        """Draw `quantity` from `lot` on `day`, as `stock.draw` does (with its own movement
        unless one is given); return whether the draw is flagged."""
        if movement is None:
            movement = self.movement(
                store=lot["store_id"],
                resource=resource,
                kind=kind,
                day=day,
                quantity=quantity,
                use=use,
                use_ref=use_ref,
                parties="" if kind is MovementKind.ISSUE else CARRIER,
            )
            self.rows.add("stock_movements", movement)
        lot["remaining"] -= quantity
        lot["used" if kind is MovementKind.ISSUE else "returned"] += quantity
        cover = self.coverage(resource, lot["waiver_line_id"], day)
        flagged = cover.flagged and kind is MovementKind.ISSUE
        self.rows.add(
            "lot_draws",
            {
                "id": self.rows.new_id("lot_draws"),
                "movement_id": movement["id"],
                "lot_id": lot["id"],
                "quantity": quantity,
                "waiver_line_id": lot["waiver_line_id"],
                "waiver_status": cover.waiver_status,
                "classification": cover.classification,
                "flagged": flagged,
            },
        )
        return flagged

    def pick(self, candidates: list[tuple[int, date]], count: int, busy: int) -> set[int]:
        """Pick `count` of the (position, day) candidates, `busy` of them in the busy month."""
        in_busy = [n for n, day in candidates if self.in_busy(day)]
        outside = [n for n, day in candidates if not self.in_busy(day)]
        busy = min(busy, len(in_busy))
        return set(self.rng.sample(in_busy, busy)) | set(self.rng.sample(outside, count - busy))

    # -- fuel: receipts, issues first in first out, and a dip every morning --

    def fuel(self) -> None:
        site, rng = self.site, self.rng
        all_days = [OPENED + timedelta(days=n) for n in range(self.days)]
        flagged = self.pick(
            [
                (index * len(all_days) + n, day)
                for index in range(len(site.tanks))
                for n, day in enumerate(all_days)
                if n  # the first morning the tank is still empty: no dip
            ],
            self.plan.total[ItemKind.DIP_VARIANCE],
            self.plan.busy[ItemKind.DIP_VARIANCE],
        )
        for index, tank in enumerate(site.tanks):
            product, capacity, tolerance = tank["product"], tank["capacity"], tank["tolerance"]
            line_id = site.standing[product]
            lots: list[dict[str, Any]] = []  # oldest first, those with fuel left
            held = Decimal(0)
            receipts = 0
            for n, day in enumerate(all_days):
                # The morning dip, against the book as `record_dip` reads it.
                if n:
                    position = index * len(all_days) + n
                    if position in flagged:
                        size = Decimal(rng.uniform(1.3, 5)) * tolerance
                        variance = (-size if rng.random() < 0.7 else size).quantize(MILLI)
                        if not 0 <= held + variance <= capacity:
                            variance = -variance
                        if not 0 <= held + variance <= capacity:
                            variance = Decimal(0)  # an empty tank: no variance to find
                    else:
                        variance = (Decimal(rng.uniform(-0.7, 0.7)) * tolerance).quantize(MILLI)
                        variance = min(max(variance, -held), capacity - held)
                    measured = held + variance
                    is_flagged = abs(variance) > tolerance
                    self.rows.add(
                        "dip_readings",
                        {
                            "id": self.rows.new_id("dip_readings"),
                            "store_id": tank["id"],
                            "read_at": seoul(day, 7),
                            "read_on": day,
                            "measured": measured,
                            "book": held,
                            "variance": variance,
                            "flagged": is_flagged,
                            "recorded_by_id": site.admin_id,
                            "voided_at": None,
                            "void_reason": None,
                        },
                    )
                    if is_flagged:
                        self.made[ItemKind.DIP_VARIANCE] += 1
                        self.busy_made[ItemKind.DIP_VARIANCE] += self.in_busy(day)
                # A tanker on Tuesdays and Fridays tops the tank up; any day when it runs low.
                low = held < capacity * Decimal("0.85") and day.weekday() in (1, 4)
                if n == 0 or low or held < capacity * Decimal("0.2"):
                    quantity = (capacity * Decimal("0.95") - held).quantize(Decimal(10))
                    if quantity > 0:
                        receipts += 1
                        lots.append(
                            self.lot(
                                store=tank["id"],
                                resource=product,
                                received_on=day,
                                source=LotSource.FUEL_RECEIPT,
                                ref=f"FUEL-{tank['id']}-{receipts:05d}",
                                quantity=quantity,
                                line_id=line_id,
                            )
                        )
                        held += quantity
                # The day's issue, oldest lots first.
                season = {12: 1.6, 1: 1.7, 2: 1.5, 6: 0.5, 7: 0.4, 8: 0.4}.get(day.month, 1.0)
                if tank["use"] != "boiler":
                    season = 1.0
                wanted = Decimal(
                    round(float(capacity) * tank["rate"] * season * rng.uniform(0.7, 1.3))
                )
                wanted = min(wanted, held)
                if wanted <= 0:
                    continue
                movement = self.movement(
                    store=tank["id"],
                    resource=product,
                    kind=MovementKind.ISSUE,
                    day=day,
                    quantity=wanted,
                    use=tank["use"],
                    use_ref=None,
                    hour=18,
                )
                self.rows.add("stock_movements", movement)
                left = wanted
                while left > 0:
                    lot = lots[0]
                    taken = min(lot["remaining"], left)
                    self.take(lot, product, MovementKind.ISSUE, day, taken, use=None,
                              use_ref=None, movement=movement)  # fmt: skip
                    left -= taken
                    if lot["remaining"] == 0:
                        lots.pop(0)
                held -= wanted
        self.rows.flush(force=True)  # lots change until the end: only now are they final

    # -- materials: lots under the yearly waivers, issues, and uses after the waiver ended --

    def materials(self, count: int) -> None:
        site, rng = self.site, self.rng
        years = sorted(site.yearly)
        specs = []
        for n in range(count):
            day = OPENED + timedelta(days=n * self.days // count)
            code = rng.choice(MATERIALS)
            if site.resources[code].control is Control.NONE:
                line_id = None
            elif day.year in site.yearly:
                line_id = site.yearly[day.year][code]
            else:
                line_id = site.standing[code]
            specs.append((day, code, line_id))
        eligible = [n for n, (day, _c, line) in enumerate(specs) if day.year in site.yearly
                    and line is not None]  # fmt: skip
        last_year = [n for n in eligible if specs[n][0].year == years[-1]]
        wanted = self.plan.total[ItemKind.FLAGGED_USE]
        busy = min(self.plan.busy[ItemKind.FLAGGED_USE], len(last_year))
        if wanted > len(eligible):
            raise SystemExit(f"--lots {count:,} is too few for {wanted:,} flagged uses")
        late_busy = set(rng.sample(last_year, busy))
        late = late_busy | set(rng.sample([n for n in eligible if n not in late_busy],
                                          wanted - busy))  # fmt: skip
        busy_first, busy_last = self.busy_days()
        for n, (day, code, line_id) in enumerate(specs):
            unit = site.resources[code].unit
            total = (
                rng.randrange(500, 25_000) if unit is Unit.T else rng.randrange(1_000, 2_000_000)
            )
            lot = self.lot(
                store=site.stores["materials"],
                resource=code,
                received_on=day,
                source=LotSource.DELIVERY,
                ref=f"BENCH-D-{n // 40 + 1:05d}/{n % 40 + 1}",
                quantity=milli(total),
                line_id=line_id,
            )
            line = site.lines[line_id] if line_id is not None else None
            until = min(site.yesterday, line.waiver.valid_until) if line else site.yesterday
            roll = rng.random()
            if n in late:
                used = int(total * rng.uniform(0, 0.8))
                parts = rng.randrange(0, 3) if used else 0
            elif roll < 0.55:
                used, parts = total, rng.randrange(1, 4)
            elif roll < 0.85:
                used, parts = int(total * rng.uniform(0.05, 0.95)), rng.randrange(1, 3)
            else:
                used, parts = 0, 0
            span = (until - day).days
            if span >= 1 and used and parts:
                offsets = sorted(rng.randrange(1, min(span, 120) + 1) for _ in range(parts))
                for offset, amount in zip(offsets, split_milli(used, parts, rng), strict=False):
                    self.take(lot, code, MovementKind.ISSUE, day + timedelta(days=offset),
                              milli(amount), use="work_order",
                              use_ref=f"WO-{rng.randrange(WORK_ORDERS):04d}")  # fmt: skip
            if n in late:
                # The rest used after the waiver ran out: the draw is flagged.
                if n in late_busy:
                    when = busy_first + timedelta(days=rng.randrange((busy_last - busy_first).days))
                else:
                    after = line.waiver.valid_until
                    when = min(after + timedelta(days=rng.randrange(1, 121)), site.yesterday)
                rest = lot["remaining"]
                amount = rest if rng.random() < 0.7 else max(
                    (rest * Decimal(rng.uniform(0.3, 0.9))).quantize(MILLI), MILLI)  # fmt: skip
                if self.take(lot, code, MovementKind.ISSUE, when, amount, use="work_order",
                             use_ref=f"WO-{rng.randrange(WORK_ORDERS):04d}"):  # fmt: skip
                    self.made[ItemKind.FLAGGED_USE] += 1
                    self.busy_made[ItemKind.FLAGGED_USE] += self.in_busy(when)
            self.rows.flush()

    # -- equipment: lots that must go back south within 180 days --

    def equipment(self, count: int) -> None:
        site, rng = self.site, self.rng
        wanted = self.plan.total[ItemKind.OVERDUE_RETURN]
        busy = self.plan.busy[ItemKind.OVERDUE_RETURN]
        if count < wanted * 2:
            raise SystemExit(f"--tools {count:,} is too few for {wanted:,} overdue returns")
        busy_first, busy_last = self.busy_days()
        first_due = OPENED + timedelta(days=RETURN_DAYS)
        overdue_span = (busy_first - first_due).days
        for n in range(count):
            overdue = n < wanted
            if n < busy:
                due = busy_first + timedelta(days=rng.randrange((busy_last - busy_first).days + 1))
            elif overdue:
                due = first_due + timedelta(days=rng.randrange(overdue_span))
            else:
                due = OPENED + timedelta(days=rng.randrange(self.days) + RETURN_DAYS)
            day = due - timedelta(days=RETURN_DAYS)
            codes = [c for c in EQUIPMENT if c != "welder" or day.year in site.yearly]
            code = rng.choice(codes)
            line_id = (site.yearly[day.year] if code == "welder" else site.standing)[code]
            lot = self.lot(
                store=site.stores["tools"],
                resource=code,
                received_on=day,
                source=LotSource.DELIVERY,
                ref=f"BENCH-T-{n:05d}",
                quantity=Decimal(rng.randrange(1, 5)),
                line_id=line_id,
                must_return_by=due,
            )
            if overdue:
                self.made[ItemKind.OVERDUE_RETURN] += 1
                self.busy_made[ItemKind.OVERDUE_RETURN] += self.in_busy(due)
            elif due < site.today or rng.random() < 0.2:
                latest = min(due, site.yesterday)
                when = day + timedelta(days=rng.randrange(1, max(2, (latest - day).days + 1)))
                if when <= site.yesterday:
                    self.take(lot, code, MovementKind.RETURN, min(when, latest), lot["quantity"],
                              use=None, use_ref=f"BENCH-R-{n:05d}")  # fmt: skip
            self.rows.flush()

    # -- hourly readings on every meter --

    def meters(self) -> None:
        site, rng = self.site, self.rng
        start = seoul(OPENED)
        hours = int((site.now - start).total_seconds() // 3600)
        slots = len(site.meters) * hours
        wanted = self.plan.total[ItemKind.METER_ANOMALY]
        busy_first, busy_last = self.busy_days()
        # Reading k (from 0) is taken at start + k + 1 hours.
        busy_hours = [
            m * hours + k
            for m in range(len(site.meters))
            for k in range(
                int((seoul(busy_first) - start).total_seconds() // 3600) - 1,
                int((seoul(busy_last + timedelta(days=1)) - start).total_seconds() // 3600) - 1,
            )
        ]
        busy = set(rng.sample(busy_hours, self.plan.busy[ItemKind.METER_ANOMALY]))
        spikes = set(busy)
        while len(spikes) < wanted:
            slot = rng.randrange(slots)
            if slot % hours >= 30 * 24:  # a meter needs 30 days for its average
                spikes.add(slot)
        for m, meter in enumerate(site.meters):
            multiplier, value, mean = meter["multiplier"], meter["value"], meter["mean"]
            profile = meter["profile"]
            previous = start
            for h in range(1, hours + 1):
                read_at = start + timedelta(hours=h)
                local_hour = h % 24  # installed at midnight in Seoul
                kwh = mean * profile[local_hour] * rng.uniform(0.8, 1.2)
                flagged = (m * hours + h - 1) in spikes
                if flagged:
                    kwh *= rng.uniform(4, 8)
                step = max(int(kwh * 1000 / float(multiplier)), 1)  # register thousandths
                value += milli(step)
                consumption = milli(step) * multiplier
                reason = None
                if flagged:
                    average = Decimal(mean * 24)
                    reason = (
                        f"{consumption * 24:,.1f} kWh a day is above three times the 30-day "
                        f"average ({average:,.1f})."
                    )
                    self.made[ItemKind.METER_ANOMALY] += 1
                    self.busy_made[ItemKind.METER_ANOMALY] += self.in_busy(office_date(read_at))
                self.rows.add(
                    "meter_readings",
                    {
                        "id": self.rows.new_id("meter_readings"),
                        "meter_id": meter["id"],
                        "read_at": read_at,
                        "read_on": office_date(read_at),
                        "value": value,
                        "kind": ReadingKind.REGULAR,
                        "rolled_over": False,
                        "consumption": consumption,
                        "previous_at": previous,
                        "flagged": flagged,
                        "flag_reason": reason,
                        "drawdown_entry_id": None,
                        "recorded_by_id": site.admin_id,
                        "recorded_at": read_at + timedelta(minutes=2),
                        "voided_at": None,
                        "void_reason": None,
                    },
                )
                previous = read_at
                self.rows.flush()
        self.rows.flush(force=True)

    # -- the staff's rotations: two weeks on site, one off --

    def stays(self) -> None:
        for n, person in enumerate(self.site.people):
            first = OPENED + timedelta(days=(n * 7) % 21)
            while first <= self.site.today + timedelta(days=60):
                self.rows.add(
                    "stays",
                    {
                        "id": self.rows.new_id("stays"),
                        "staff_member_id": person,
                        "first_day": first,
                        "last_day": first + timedelta(days=13),
                        "is_pinned": False,
                        "note": "",
                        "created_at": seoul(first - timedelta(days=14), 10),
                    },
                )
                first += timedelta(days=21)
        self.rows.flush(force=True)

    # -- the audit trail: overrides, logins --

    def audit(self) -> None:
        site = self.site
        flagged = self.connection.execute(
            select(DrawdownEntry.id, DrawdownEntry.recorded_at, DrawdownEntry.recorded_by_id,
                   DrawdownEntry.classification, DrawdownEntry.override_reason)
            .where(DrawdownEntry.flagged.is_(True))
        )  # fmt: skip
        for entry_id, at, by, classification, reason in flagged:
            self.event(at, by, "drawdown.overridden", "DrawdownEntry", entry_id,
                       {"classification": str(classification), "reason": reason})  # fmt: skip
        users = (
            (site.reviewer_id, "bench-reviewer@liaison.example"),
            (site.admin_id, "bench-admin@liaison.example"),
        )
        for n in range(self.days):
            day = OPENED + timedelta(days=n)
            if day.weekday() >= 5:
                continue
            for user_id, email in users:
                at = seoul(day, 8, self.rng.randrange(60))
                if self.rng.random() < 0.03:
                    self.login(at - timedelta(minutes=1), email, user_id,
                               LoginOutcome.BAD_CREDENTIALS)  # fmt: skip
                self.login(at, email, user_id, LoginOutcome.SUCCEEDED)
            self.rows.flush()
        self.rows.flush(force=True)

    def event(
        self, at: datetime, actor: int | None, action: str, kind: str, object_id: Any, detail: Any
    ) -> None:
        self.rows.add(
            "audit_events",
            {
                "id": self.rows.new_id("audit_events"),
                "occurred_at": at,
                "actor_id": actor,
                "action": action,
                "object_type": kind,
                "object_id": str(object_id) if object_id is not None else None,
                "detail": detail,
            },
        )

    def login(self, at: datetime, email: str, user_id: int, outcome: LoginOutcome) -> None:
        self.rows.add(
            "login_attempts",
            {
                "id": self.rows.new_id("login_attempts"),
                "email": email,
                "user_id": user_id,
                "attempted_at": at,
                "outcome": outcome,
                "remote_addr": "10.18.0.12",
            },
        )

    # -- the review of every flagged record, and the months signed off --

    def review(self, open_months: int) -> list[date]:
        """Give the records the queue finds their review; sign off the older months.

        Returns the months signed off.
        """
        site, rng = self.site, self.rng
        with Session(bind=self.connection) as session:
            records = session.execute(
                queries.flagged_records(queries.QueueFilters(), site.today)  # type: ignore[arg-type]
            ).all()
        current = month_of(site.today)
        first_open = current
        for _ in range(open_months - 1):
            first_open = month_of(first_open - timedelta(days=1))
        recent = current
        for _ in range(RECENT_MONTHS - 1):
            recent = month_of(recent - timedelta(days=1))
        signed: dict[date, Counter[str]] = {}
        month = month_of(OPENED)
        while month < first_open:
            signed[month] = Counter()
            month = next_month(month)
        for record in sorted(records, key=lambda r: (r.occurred_on, r.kind, r.source_id)):
            kind, day = ItemKind(record.kind), record.occurred_on
            month = month_of(day)
            if month in signed:
                state: ReviewState | None = ReviewState.ACKNOWLEDGED
                signed[month][kind.value] += 1
                limit = self.signed_off_at(month) - timedelta(hours=2)
            else:
                mix = OPEN_MIX["recent" if month >= recent else "older"]
                roll, state = rng.random(), None
                for share, outcome in mix:
                    if roll < share:
                        state = outcome
                        break
                    roll -= share
                limit = min(seoul(day, 9) + timedelta(days=40), site.now - timedelta(hours=1))
            if state is not None:
                self.thread(kind, record.source_id, day, state, limit)
        for month, counts in signed.items():
            at = self.signed_off_at(month)
            self.rows.add(
                "signed_off_months",
                {
                    "month": month,
                    "signed_off_at": at,
                    "signed_off_by_id": site.reviewer_id,
                    "note": f"All {month:%Y-%m} items reviewed.",
                    "summary": {
                        kind.value: ({"acknowledged": counts[kind.value]} if counts[kind.value]
                                     else {})
                        for kind in ItemKind
                    },
                },
            )  # fmt: skip
            self.event(at, site.reviewer_id, "month.signed_off", None, None,
                       {"month": f"{month:%Y-%m}"})  # fmt: skip
        self.rows.flush(force=True)
        return sorted(signed)

    @staticmethod
    def signed_off_at(month: date) -> datetime:
        return seoul(next_month(month) + timedelta(days=14), 17)

    def thread(
        self, kind: ItemKind, source_id: int, day: date, state: ReviewState, limit: datetime
    ) -> None:
        """Add the item and its notes, ending in `state`, between `day` and `limit`, with the
        audit event `take_action` records for each."""
        rng, site = self.rng, self.site
        actions = rng.choice(THREADS[state])
        start = min(seoul(day, 9), limit - timedelta(minutes=2 * len(actions)))
        window = (limit - start).total_seconds()
        moments = sorted(start + timedelta(seconds=rng.uniform(60, window))
                         for _ in actions)  # fmt: skip
        item_id = self.rows.new_id("review_items")
        now_state = ReviewState.OPEN
        for action, at in zip(actions, moments, strict=True):
            _starts, to_state, _permission, _words = reviews.RULES[action]
            before, now_state = now_state, to_state or now_state
            author = site.admin_id if action is ReviewAction.ANSWER else site.reviewer_id
            self.rows.add(
                "review_notes",
                {
                    "id": self.rows.new_id("review_notes"),
                    "item_id": item_id,
                    "at": at,
                    "author_id": author,
                    "action": action,
                    "from_state": before,
                    "to_state": now_state,
                    "body": rng.choice(NOTES[action]),
                },
            )
            self.event(at, author, f"review.{action.value}", "ReviewItem", item_id,
                       {"kind": kind.value, "source_id": source_id,
                        "state": now_state.value})  # fmt: skip
            self.notes[action.value] += 1
        if now_state is not state:
            raise SystemExit(f"bench bug: a thread for {state} ends in {now_state}")
        # The item goes first: the notes point at it.
        self.rows.pending["review_items"].append(
            {
                "id": item_id,
                "kind": kind,
                "source_id": source_id,
                "state": state,
                "month": month_of(day),
                "updated_at": moments[-1],
            }
        )
        self.rows.flush()


def load(
    engine: Engine, site: Site, plan: Plan, args: argparse.Namespace
) -> tuple[Loader, list[date], dict[str, float]]:
    """Bulk-load everything after the ledger; return the loader, the months signed off and the
    seconds each part took."""
    seconds: dict[str, float] = {}
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        pragma = connection.connection.driver_connection.execute if sqlite else None
        if pragma:
            # On this connection only, while loading: no fsync, a big page cache. Set outside
            # any transaction, on the driver's connection, as SQLite requires.
            pragma("PRAGMA synchronous=OFF")
            pragma("PRAGMA cache_size=-262144")
        with connection.begin():
            loader = Loader(connection, site, plan, args.seed)
            for name, part in (
                ("fuel", loader.fuel),
                ("materials", lambda: loader.materials(args.lots)),
                ("equipment", lambda: loader.equipment(args.tools)),
                ("meters", loader.meters),
                ("stays", loader.stays),
            ):
                started = time.perf_counter()
                part()
                seconds[name] = time.perf_counter() - started
                print(f"  {name}: {seconds[name]:.1f} s", flush=True)
        with connection.begin():
            started = time.perf_counter()
            signed = loader.review(args.open_months)
            loader.audit()
            seconds["review and audit"] = time.perf_counter() - started
            print(f"  review and audit: {seconds['review and audit']:.1f} s", flush=True)
            if engine.dialect.name == "postgresql":
                for table in NUMBERED:
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                        )
                    )
        if pragma:
            pragma("PRAGMA synchronous=NORMAL")
            pragma("PRAGMA cache_size=-2000")
    return loader, signed, seconds


def settle(engine: Engine, analyze: bool) -> None:
    """Checkpoint SQLite's WAL and, unless told not to, gather the planner's statistics."""
    engine.dispose()  # no pooled connection may hold the checkpoint back
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            driver = connection.connection.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if analyze:
                driver.execute("ANALYZE")
        elif analyze:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


# --- checks -------------------------------------------------------------------------------

DIP_CHECK = """
SELECT count(*) FROM dip_readings d JOIN stores s ON s.id = d.store_id
WHERE d.variance != d.measured - d.book
   OR (d.flagged AND abs(d.variance) <= s.tolerance)
   OR (NOT d.flagged AND abs(d.variance) > s.tolerance)
"""
# A dip's book is what the tank's lots held that morning: received before, less drawn before.
BOOK_CHECK = """
SELECT count(*) FROM (SELECT * FROM dip_readings ORDER BY id LIMIT 400) d WHERE d.book !=
  (SELECT coalesce(sum(quantity), 0) FROM stock_lots
   WHERE store_id = d.store_id AND received_on < d.read_on)
  - (SELECT coalesce(sum(ld.quantity), 0) FROM lot_draws ld
     JOIN stock_movements m ON m.id = ld.movement_id
     WHERE m.store_id = d.store_id AND m.occurred_on < d.read_on)
"""
THREAD_CHECK = """
SELECT count(*) FROM review_items i WHERE i.state != (
  SELECT n.to_state FROM review_notes n WHERE n.item_id = i.id ORDER BY n.at DESC, n.id DESC
  LIMIT 1)
"""


def check(engine: Engine, site: Site, plan: Plan, signed: list[date]) -> list[str]:
    """Confirm the ledger, the stock books, the readings and the review; raise SystemExit at
    the first disagreement."""
    found = []
    checked, seconds = ledger_bench.check_ledger(engine)
    found.append(f"ledger.verify_chain: {checked:,} entries ({seconds:.1f} s); check_usage agrees")
    with Session(engine) as session:
        for name, query in (
            ("store books disagree with their movements", STOCK_CHECK),
            ("lots' use disagrees with their issue draws", LOT_CHECK),
            ("dip readings disagree with their book or tolerance", DIP_CHECK),
            ("dips (of the first 400) read another book than the lots held", BOOK_CHECK),
            ("review items' state differs from their thread's last step", THREAD_CHECK),
        ):
            bad = session.scalar(text(query))
            if bad:
                raise SystemExit(f"{bad} {name}")
        for meter in session.scalars(select(Meter)):
            readings = select(MeterReading.value).where(MeterReading.meter_id == meter.id)
            first = session.scalar(readings.order_by(MeterReading.read_at).limit(1))
            last = session.scalar(readings.order_by(MeterReading.read_at.desc()).limit(1))
            used = session.scalar(
                select(func.sum(MeterReading.consumption)).where(MeterReading.meter_id == meter.id)
            )
            if used != (last - first) * meter.multiplier:
                raise SystemExit(f"{meter.name}: readings sum to {used}, the register moved more")
        found.append(
            "stores' lots sum to their movements, lots' use to their draws; dips, each meter's "
            "consumption and each review thread agree with themselves"
        )
        counts = queries.count_by_kind(session, today=site.today)
        totals = {kind: sum(states.values()) for kind, states in counts.items()}
        if totals != plan.total:
            raise SystemExit(f"the queue finds {totals}, the plan was {plan.total}")
        found.append(
            f"the queue finds {sum(totals.values()):,} flagged items, as planned: "
            + ", ".join(f"{kind.value} {n:,}" for kind, n in totals.items())
        )
        for month in signed:
            still = sum(
                n
                for states in queries.count_by_kind(session, today=site.today, month=month).values()
                for state, n in states.items()
                if state is not ReviewState.ACKNOWLEDGED
            )
            if still:
                raise SystemExit(f"{still} items of the signed-off {month:%Y-%m} are not closed")
        found.append(f"{len(signed)} signed-off months hold no open item")
    found.append(services_continue(engine, site))
    return found


def services_continue(engine: Engine, site: Site) -> str:
    """Take an open item of the busy month through query, answer and acknowledge, and try to
    sign the month off, with the services; roll it all back."""
    month = site.busy_month
    with Session(engine) as session:
        reviewer = session.get(User, site.reviewer_id)
        admin = session.get(User, site.admin_id)
        rows, _cursor = queries.queue_page(
            session,
            queries.QueueFilters(month=month, state=ReviewState.OPEN),
            today=site.today,
            size=5,
        )
        if not rows:
            raise SystemExit(f"no open item in {month:%Y-%m}")
        row = rows[0]
        for action, actor in (
            (ReviewAction.QUERY, reviewer),
            (ReviewAction.ANSWER, admin),
            (ReviewAction.ACKNOWLEDGE, reviewer),
        ):
            item = reviews.take_action(
                session,
                row.kind,
                row.source_id,
                action,
                body="Bench: a step through the service.",
                actor=actor,
                now=utcnow(),
                today=site.today,
            )
        if item.state is not ReviewState.ACKNOWLEDGED:
            raise SystemExit(f"take_action left the item {item.state}")
        try:
            reviews.sign_off_month(
                session, month, note="", actor=reviewer, now=utcnow(), today=site.today
            )
        except ConflictError as exc:
            refused = str(exc)
        else:
            raise SystemExit(f"{month:%Y-%m} was signed off with items still open")
        session.rollback()
    return (
        f"take_action queried, answered and acknowledged {row.kind.value} #{row.source_id}; "
        f"sign_off_month refused: {refused} (rolled back)"
    )


# --- measuring ----------------------------------------------------------------------------


class Watchdog:
    """Cancel the statement a request is running once the request has taken `seconds`, so
    that one pathological query cannot hold the run for an hour; remember what it cancelled."""

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.seconds = seconds
        self.running: tuple[Any, str, Any] | None = None
        self.cancelled: tuple[str, Any] | None = None
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn: Any, cursor: Any, sql: str, params: Any, *_rest: Any) -> None:
        self.running = (conn.connection.driver_connection, sql, params)

    def after(self, *_args: Any) -> None:
        self.running = None

    def cancel(self) -> None:
        running = self.running
        if running is None:
            return  # busy in Python, not in the database: let it finish
        driver, sql, params = running
        self.cancelled = (sql, params)
        if hasattr(driver, "interrupt"):
            driver.interrupt()  # sqlite3: the running statement fails with "interrupted"
        else:  # psycopg: the server cancels the running statement
            getattr(driver, "cancel_safe", driver.cancel)()

    @contextmanager
    def guard(self) -> Iterator[None]:
        self.cancelled = None
        timer = threading.Timer(self.seconds, self.cancel)
        timer.start()
        try:
            yield
        finally:
            timer.cancel()


@dataclass
class Probe:
    group: str  # the issue's target it is held to, or "information"
    name: str
    url: str
    client: FlaskClient
    runs: int
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU time, ms
    statements: list[tuple[float, str, Any]] = field(default_factory=list)
    size: int = 0
    timed_out: tuple[str, Any] | None = None  # the statement the watchdog cancelled

    def run(self, watchdog: Watchdog) -> bool:
        """Make the request; return False when the watchdog had to cancel it."""
        if self.timed_out is not None:
            return False
        try:
            with watchdog.guard():
                response = (
                    self.printed() if self.url.endswith(".pdf") else self.client.get(self.url)
                )
        except DBAPIError:
            if watchdog.cancelled is None:
                raise
            self.timed_out = watchdog.cancelled
            print(f"  {self.name}: cancelled after {watchdog.seconds:.0f} s", flush=True)
            return False
        expect(response, 200, f"GET {self.url}")
        self.size = len(response.data)
        if self.url.endswith(".pdf") and not response.data.startswith(b"%PDF"):
            raise SystemExit(f"GET {self.url} did not return a PDF")
        return True

    def printed(self) -> Any:
        """The month's PDF as a worker prints it: ask for it, run the job here, download it.
        The previous run's PDF is expired first, or the page would serve it again."""
        from office.jobs.models import JobFile
        from office.jobs.runner import run_queued

        app = self.client.application
        with app.app_context():
            db.session.execute(update(JobFile).values(expires_at=utcnow()))
            db.session.commit()
        asked = self.client.post(
            self.url, data={"csrf_token": ledger_bench.csrf_token(self.client, self.url)}
        )
        expect(asked, 303, f"POST {self.url}")
        run_queued(app)
        return self.client.get(f"{asked.location}/download")

    @property
    def target(self) -> float | None:
        return TARGETS.get(self.group)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("inf")

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95) if self.samples else float("inf")

    @property
    def verdict(self) -> str:
        cancelled = " (cancelled: it did not finish)" if self.timed_out else ""
        if self.target is None:
            return f"(information){cancelled}"
        word = "under" if self.median < self.target else "OVER"
        return f"{word} {self.target:.0f} ms{cancelled}"

    @property
    def misses(self) -> bool:
        return self.target is not None and (
            self.timed_out is not None or self.median >= self.target
        )


def second_page(client: FlaskClient) -> str:
    """Return the queue's link to its second page (awaiting review)."""
    body = client.get("/reviews/queue").get_data(as_text=True)
    found = re.search(r'href="(/reviews/queue\?after=[^"]+)"', body)
    if found is None:
        raise SystemExit("the queue has no second page")
    return found.group(1).replace("&amp;", "&")


def probes(
    client: FlaskClient, engine: Engine, site: Site, args: argparse.Namespace
) -> list[Probe]:
    busy = f"{site.busy_month:%Y-%m}"
    as_of = site.today - timedelta(days=30)
    with Session(engine) as session:
        rows, _cursor = queries.queue_page(
            session, queries.QueueFilters(awaiting=True), today=site.today
        )
    row = rows[0]

    def probe(group: str, name: str, url: str, runs: int | None = None) -> Probe:
        return Probe(group, name, url, client, runs or args.runs)

    return [
        probe("dashboard", "GET /reviews/ (dashboard)", "/reviews/"),
        probe("queue", "GET /reviews/queue (awaiting review)", "/reviews/queue"),
        probe(
            "queue",
            "GET /reviews/queue?kind=flagged_use",
            "/reviews/queue?kind=flagged_use",
        ),
        probe(
            "queue",
            "GET /reviews/queue?kind=meter_anomaly",
            "/reviews/queue?kind=meter_anomaly",
        ),
        probe(
            "report pdf",
            f"PDF of {busy} (busy month): asked, printed by the job, downloaded",
            f"/reviews/reports/{busy}.pdf",
            args.pdf_runs,
        ),
        probe("information", f"GET /reviews/?as_of={as_of}", f"/reviews/?as_of={as_of}"),
        probe("information", "GET /reviews/queue?state=all", "/reviews/queue?state=all"),
        probe("information", f"GET /reviews/queue?month={busy}", f"/reviews/queue?month={busy}"),
        probe("information", "GET /reviews/queue, second page", second_page(client)),
        probe(
            "information",
            f"GET /reviews/items/{row.kind.value}/<id>",
            f"/reviews/items/{row.kind.value}/{row.source_id}",
        ),
        probe("information", "GET /reviews/months", "/reviews/months"),
        probe(
            "information",
            f"GET /reviews/reports/{busy} (HTML)",
            f"/reviews/reports/{busy}",
            args.pdf_runs,
        ),
        probe(
            "information",
            f"GET /reviews/reports/{busy}.csv",
            f"/reviews/reports/{busy}.csv",
            args.pdf_runs,
        ),
        probe("information", "GET /audit/", "/audit/"),
    ]


def measure(found: list[Probe], watchdog: Watchdog, warmup: int, rounds: int) -> None:
    """Warm each probe up, then time it, the probes taking turns; a probe with fewer runs
    than rounds takes its turns spread evenly over them."""
    for probe in found:
        for _ in range(warmup if probe.runs >= rounds else 1):
            probe.run(watchdog)
    for round_no in range(rounds):
        for probe in found:
            if (round_no * probe.runs) // rounds == ((round_no + 1) * probe.runs) // rounds:
                continue
            cpu, started = time.process_time(), time.perf_counter()
            if probe.run(watchdog):
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


def count_statements(found: list[Probe], watchdog: Watchdog, engines: list[Engine]) -> None:
    """Run each probe once more, recording its SQL statements."""
    for probe in found:
        with recording(engines) as statements:
            probe.run(watchdog)
        probe.statements = statements


def shape(sql: str) -> str:
    """Return a statement's first words, to group a probe's statements by kind."""
    words = " ".join(sql.split())
    if words.upper().startswith("SELECT"):
        source = re.search(r"\bFROM (\w+)", words)
        return f"SELECT ... FROM {source.group(1) if source else '?'}"
    return words[:60]


@contextmanager
def stopwatches(into: dict[str, list[float]]) -> Iterator[None]:
    """Time the report's parts while it runs: building, rendering, printing to PDF."""
    from office.reviews import report, views

    originals = {
        "report.build": (report, "build", report.build),
        "render_template": (views, "render_template", views.render_template),
        "report.pdf (WeasyPrint)": (report, "pdf", report.pdf),
    }

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                into[name].append(ms(time.perf_counter() - started))

        return wrapper

    for name, (module, attribute, function) in originals.items():
        setattr(module, attribute, timed(name, function))
    try:
        yield
    finally:
        for module, attribute, function in originals.values():
            setattr(module, attribute, function)


def explain(engine: Engine, sql: str, params: Any, *, analyze: bool = True) -> None:
    """Print the plan of a SELECT (on PostgreSQL run and timed, unless told not to)."""
    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        return
    if engine.dialect.name == "sqlite":
        explain = "EXPLAIN QUERY PLAN"
    else:
        explain = "EXPLAIN ANALYZE" if analyze else "EXPLAIN"
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(f"{explain} {sql}", params).all()
    for row in plan:
        print(f"       plan: {row[-1]}")


def diagnose(probe: Probe, watchdog: Watchdog, engine: Engine, top: int = 18) -> None:
    """Print where one run of `probe` spends its time: functions, statements, query plans."""
    if probe.timed_out is not None:
        sql, params = probe.timed_out
        print(
            f"\n  -- {probe.name}: cancelled after {watchdog.seconds:.0f} s in this statement: "
            f"{' '.join(sql.split())[:900]}"
        )
        explain(engine, sql, params, analyze=False)
        return
    if "/reports/" in probe.url:
        parts: dict[str, list[float]] = defaultdict(list)
        with stopwatches(parts):
            started = time.perf_counter()
            probe.run(watchdog)
            whole = ms(time.perf_counter() - started)
        split = ", ".join(f"{name} {sum(times):.0f} ms" for name, times in parts.items())
        print(f"\n  -- {probe.name}: {whole:.0f} ms in all: {split}")
    profiler = cProfile.Profile()
    profiler.enable()
    probe.run(watchdog)
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
        start = next((n for n, line in enumerate(lines) if "ncalls" in line), len(lines))
        for line in lines[start : start + top + 1]:
            if line.strip():
                print(f"    {line.rstrip().replace(str(ROOT) + '/', '')[:150]}")
    kinds: dict[str, list[float]] = defaultdict(list)
    for elapsed, sql, _params in probe.statements:
        kinds[shape(sql)].append(elapsed)
    print(f"\n  -- {probe.name}: statements by kind (count, ms in the driver)")
    for kind, times in sorted(kinds.items(), key=lambda item: -sum(item[1]))[:12]:
        print(f"    {len(times):>5} {sum(times):8.1f}  {kind}")
    slowest = sorted(probe.statements, key=lambda item: -item[0])[:3]
    for elapsed, sql, params in slowest:
        print(f"  -- slowest statement ({elapsed:.1f} ms): {' '.join(sql.split())[:600]}")
        explain(engine, sql, params)


def print_results(found: list[Probe]) -> None:
    """Print each measurement's median, p95 and max against its target."""
    print(
        f"\n  {'measurement':<58}{'runs':>5}{'median':>9}{'p95':>9}{'max':>9}{'CPU':>9}"
        f"  {'SQL':>11}{'KB':>7}  target"
    )
    for probe in found:
        if not probe.samples:
            print(f"  {probe.name:<58}{0:>5}  cancelled after the watchdog's time  {probe.verdict}")
            continue
        sql_ms = sum(elapsed for elapsed, _sql, _params in probe.statements)
        print(
            f"  {probe.name:<58}{len(probe.samples):>5}{probe.median:9.1f}{probe.p95:9.1f}"
            f"{max(probe.samples):9.1f}{statistics.median(probe.cpu):9.1f}  "
            f"{len(probe.statements):>4}/{sql_ms:6.1f}{probe.size / 1024:7.0f}  {probe.verdict}"
        )
    print(
        "  (ms, wall clock; CPU = median CPU time of this process, which holds better than the\n"
        "  wall clock when other work shares the machine, but leaves out a PostgreSQL server's;\n"
        "  SQL = statements in one run / ms spent in the driver's execute; KB = response size)"
    )


def print_sizes(engine: Engine) -> None:
    with engine.connect() as connection:
        counts = {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in (DrawdownEntry.__table__, *TABLES)
        }
    print("  rows: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger entries to load")
    parser.add_argument(
        "--flagged", type=int, default=10_000, help="flagged items, overrides included"
    )
    parser.add_argument("--lots", type=int, default=20_000, help="materials lots to load")
    parser.add_argument("--tools", type=int, default=3_000, help="equipment lots to load")
    parser.add_argument(
        "--meters", type=int, default=len(METERS), help=f"meters read hourly (1 to {len(METERS)})"
    )
    parser.add_argument(
        "--open-months",
        type=int,
        default=12,
        help="months, the current one included, not yet signed off",
    )
    parser.add_argument(
        "--database-url",
        help="an empty database to fill (default: a temporary SQLite file, removed after)",
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each page")
    parser.add_argument("--pdf-runs", type=int, default=7, help="timed runs of each report")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    parser.add_argument(
        "--timeout",
        type=float,
        default=30,
        help="seconds after which a request's running statement is cancelled",
    )
    parser.add_argument("--seed", type=int, default=1727, help="random seed of the data")
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for this load")
    parser.add_argument("--max-wait", type=float, default=120, help="seconds to wait at most")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="skip ANALYZE after the load (the app never runs it; see the planner without)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile every target probe, not only misses"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    args = parser.parse_args(argv)
    if args.entries < 10_000 or args.flagged < 1_000 or args.open_months < RECENT_MONTHS:
        parser.error(f"at least 10,000 entries, 1,000 flagged items, {RECENT_MONTHS} open months")
    if not 1 <= args.meters <= len(METERS):
        parser.error(f"--meters must be 1 to {len(METERS)}")
    if args.pdf_runs > args.runs:
        parser.error("--pdf-runs must not exceed --runs")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="office-bench-reviews-"))
    args.url = normalise_database_url(args.database_url or f"sqlite:///{workdir / 'reviews.db'}")
    engine = create_engine_for(args.url)
    begun = time.perf_counter()
    try:
        print(f"office review benchmark on {engine.dialect.name}")
        print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"  load average {load_average()}")

        print("\n== Building", flush=True)
        ledger_bench.migrate(engine)
        fixture = ledger_bench.seed(engine, args.url)
        step = (utcnow() - timedelta(days=1) - ledger_bench.LEDGER_START) / args.entries
        added, ledger_seconds = ledger_bench.load_entries(
            engine, fixture, args.entries, step=step, seed=args.seed
        )
        print(f"  {added:,} ledger entries in {ledger_seconds:.1f} s", flush=True)
        near = fit_caps(engine, args.seed)
        print(f"  caps fitted to the use; near their caps: {', '.join(near)}", flush=True)
        site = set_up(engine, fixture, args.meters)
        with engine.connect() as connection:
            overrides = connection.scalar(
                select(func.count()).select_from(DrawdownEntry).where(DrawdownEntry.flagged)
            )
        plan = Plan.make(args.flagged, overrides or 0)
        print(
            "  flagged items planned: "
            + ", ".join(
                f"{kind.value} {n:,} ({plan.busy.get(kind, 0):,} more in the busy month)"
                if kind in plan.busy
                else f"{kind.value} {n:,} (from the ledger)"
                for kind, n in plan.total.items()
            ),
            flush=True,
        )
        loader, signed, _seconds = load(engine, site, plan, args)
        print(
            f"  review threads: {sum(loader.notes.values()):,} notes ("
            + ", ".join(f"{action} {n:,}" for action, n in loader.notes.most_common())
            + f"); {len(signed)} months signed off, {signed[0]:%Y-%m} to {signed[-1]:%Y-%m}"
        )
        settle(engine, analyze=not args.no_analyze)
        print_sizes(engine)
        if engine.dialect.name == "sqlite":
            size = Path(engine.url.database or "").stat().st_size / 1e6
            print(f"  database file {size:,.0f} MB")
        print(f"  built in {time.perf_counter() - begun:.0f} s", flush=True)

        print("\n== Checking the data", flush=True)
        for line in check(engine, site, plan, signed):
            print(f"  {line}")

        app = create_app(
            {
                "OFFICE_ENV": "development",
                "SECRET_KEY": secrets.token_hex(32),
                "OFFICE_DATABASE_URL": args.url,
            }
        )
        app.config["PROPAGATE_EXCEPTIONS"] = True  # the exception itself, not a 500 page
        app_engine = app.extensions["office.db"].engine
        watchdog = Watchdog(app_engine, args.timeout)
        client = logged_in(app, site.reviewer_session_id)
        found = probes(client, engine, site, args)

        print("\n== Measuring", flush=True)
        before = wait_for_quiet(args.max_load, args.max_wait)
        print(
            f"  reviewer's pages through the Flask test client; {args.warmup} warm-up runs, then "
            f"{args.runs} rounds taking turns ({args.pdf_runs} runs of each report)"
        )
        measure(found, watchdog, args.warmup, args.runs)
        count_statements(found, watchdog, [app_engine])
        print(f"  load average before {before}, after {load_average()}")
        print_results(found)

        slow = [p for p in found if p.misses or (args.profile and p.target is not None)]
        if slow:
            print("\n== Where the time goes", flush=True)
            for probe in slow:
                diagnose(probe, watchdog, app_engine)

        print(f"\n== Summary ({engine.dialect.name}, load average {load_average()})")
        with Session(engine) as session:
            awaiting = sum(
                n
                for states in queries.count_by_kind(session, today=site.today).values()
                for state, n in states.items()
                if state is not ReviewState.ACKNOWLEDGED
            )
        in_busy = sum(loader.busy_made.values()) + overrides_in(engine, site.busy_month)
        print(
            f"  data: {added:,} ledger entries; {args.flagged:,} flagged items "
            f"({awaiting:,} awaiting review; {in_busy:,} in the busy month "
            f"{site.busy_month:%Y-%m}); {args.lots:,} materials and {args.tools:,} equipment "
            f"lots, five tanks, {len(site.meters)} meters read hourly"
        )
        for probe in found:
            if probe.target is None:
                continue
            if probe.samples:
                figures = f"median {probe.median:.1f} ms, p95 {probe.p95:.1f} ms"
            else:
                figures = f"no figure: cancelled after {args.timeout:.0f} s"
            print(f"  {probe.name}: {figures} ({probe.verdict})")
        print(f"  the whole run took {time.perf_counter() - begun:.0f} s")
        app_engine.dispose()
    finally:
        engine.dispose()
        if args.keep:
            print(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def overrides_in(engine: Engine, month: date) -> int:
    with engine.connect() as connection:
        return (
            connection.scalar(
                select(func.count())
                .select_from(DrawdownEntry)
                .where(
                    DrawdownEntry.flagged,
                    DrawdownEntry.occurred_on >= month,
                    DrawdownEntry.occurred_on < next_month(month),
                )
            )
            or 0
        )


if __name__ == "__main__":
    main()
