"""Print how the office holds a day's mixed work under Locust, on PostgreSQL and on SQLite.

    .venv/bin/pip install -c constraints.txt -e '.[bench]'     # Locust, once
    .venv/bin/python bench/load.py [--database postgresql|sqlite|both] [--users 30]

For each database: migrates a fresh one (`flask db upgrade`), loads the demo story on its own
dates (`flask demo load --historical`) and arranges through the services what a working day
needs today: accounts of each role with API tokens, a waiver valid this year and next (diesel,
electricity, cement), a diesel tank, grid meters on the electricity line. That database is the
template of every run: each run gets a copy (PostgreSQL `CREATE DATABASE ... TEMPLATE`, an
SQLite file copy), served by gunicorn with 4 workers, and bench/locustfile.py's administrators,
reviewers and schedulers work on it with 1-3 s between steps. The users log in during the ramp;
the statistics are then reset and the steady part measured. After each run the invariants are
checked on what the load left: `flask ledger verify` and `ledger check`, every store's books
against its lots, every meter's intervals against their drawdowns, one daily log a day, every
delivery's lines on the ledger and in stock, no server error in gunicorn's log. Then a step run
raises the users on a fresh copy each time until the p95 of some kind of request passes 1 s. See
bench/README.md.

The app runs with OFFICE_ENV=development and a SECRET_KEY of the run's own: production marks
the session cookie Secure, which a client speaking plain HTTP to gunicorn does not send back.

Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, make_url, select  # noqa: E402

from bench import ledger as ledger_bench  # noqa: E402
from office import create_app  # noqa: E402
from office.auth import services as auth  # noqa: E402
from office.auth.permissions import Role  # noqa: E402
from office.db import db, utcnow  # noqa: E402
from office.fuel import services as fuel  # noqa: E402
from office.fuel.models import (  # noqa: E402
    DailyLog,
    DailyLogEvent,
    Meter,
    MeterReading,
    MeterSource,
)
from office.i18n import SEOUL, office_date  # noqa: E402
from office.stock import services as stock  # noqa: E402
from office.stock.models import LotDraw, MovementKind, StockLot, StockMovement, Store  # noqa: E402
from office.supplies.models import Delivery, DeliveryLine, DeliveryStatus  # noqa: E402
from office.waivers import ledger  # noqa: E402
from office.waivers import services as waivers  # noqa: E402
from office.waivers.models import (  # noqa: E402
    Authority,
    DrawdownEntry,
    Purpose,
    Source,
    WaiverStatus,
)
from office.waivers.units import Unit  # noqa: E402

PASSWORD = "load-bench-2026"
KWH_PER_MINUTE = 5  # each grid meter's steady rate: no reading looks implausible
METER_START = 100_000
TANK_OPENING = 5_000_000  # litres; receipts of 1,000 L and issues of 300 L keep dips in tolerance
BUSY_MONTH = "2018-10"  # the demo's month with every person on a rotation
TARGET_USERS, TARGET_P95_MS, STEP_LIMIT_MS = 30, 300, 1000
MIN_SAMPLES = 10  # below this a "p95" is the slowest request or so: no kind is judged on it
LOGIN = ("POST", "/login")
CORES = os.cpu_count() or 1


# --- the databases ------------------------------------------------------------------------


def flask_env(url: str, secret_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "OFFICE_ENV": "development",
        "SECRET_KEY": secret_key,
        "OFFICE_DATABASE_URL": url,
        # This tree's code, whatever the virtual environment's editable install points at.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def flask_cli(url: str, secret_key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "app", *args],
        cwd=ROOT,
        env=flask_env(url, secret_key),
        capture_output=True,
        text=True,
        check=False,
    )


class Databases:
    """One template database per kind, and a copy of it for each run."""

    def __init__(self, kind: str, args: argparse.Namespace, workdir: Path) -> None:
        self.kind, self.workdir, self.copies = kind, workdir, 0
        self.name = f"office_load_{os.getpid()}"
        if kind == "postgresql":
            self.server = make_url(args.postgres_url)
            self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
            self.template = self.server.set(database=self.name).render_as_string(False)
        else:
            self.template = f"sqlite:///{workdir / 'template.db'}"
        self.made: list[str] = []

    def _sql(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(statement)

    def create_template(self) -> None:
        if self.kind == "postgresql":
            self._sql(f'CREATE DATABASE "{self.name}"')
            self.made.append(self.name)

    def seal_template(self) -> None:
        """Let nothing of the template linger that a copy would miss."""
        if self.kind == "sqlite":
            path = make_url(self.template).database
            with sqlite3.connect(path) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def copy(self) -> str:
        self.copies += 1
        if self.kind == "postgresql":
            name = f"{self.name}_{self.copies}"
            self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
            self.made.append(name)
            return self.server.set(database=name).render_as_string(False)
        path = self.workdir / f"run{self.copies}" / "office.db"
        path.parent.mkdir()
        shutil.copyfile(make_url(self.template).database, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        if self.kind == "postgresql":
            name = make_url(url).database
            self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.made.remove(name)
        else:
            shutil.rmtree(Path(make_url(url).database).parent, ignore_errors=True)

    def close(self) -> None:
        if self.kind == "postgresql":
            for name in reversed(self.made):
                self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.admin.dispose()


@contextmanager
def app_session(url: str, secret_key: str) -> Iterator[Any]:
    """The app's session on `url`, in an app context; its connections closed afterwards."""
    app = create_app(
        {"OFFICE_ENV": "development", "SECRET_KEY": secret_key, "OFFICE_DATABASE_URL": url}
    )
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.close()
            db.engine.dispose()


def arrange(url: str, secret_key: str, args: argparse.Namespace) -> dict[str, Any]:
    """Add, through the services, what today's work needs; return the users' configuration."""
    now = utcnow()
    today = office_date(now)
    accounts: dict[str, list[dict[str, str]]] = {}
    with app_session(url, secret_key) as session:
        for role, count in (
            (Role.ADMIN, args.admins),
            (Role.REVIEWER, args.reviewers),
            (Role.SCHEDULER, args.schedulers),
        ):
            accounts[role.value] = []
            for number in range(1, count + 1):
                user = auth.create_user(
                    session,
                    email=f"load-{role.value}-{number}@load.example",
                    display_name=f"Load {role.value} {number}",
                    role=role,
                    password=PASSWORD,
                    actor=None,
                    now=now,
                )
                account = {"email": user.email, "password": PASSWORD}
                if role is Role.ADMIN:
                    _row, account["token"] = auth.create_api_token(
                        session, user, name="load benchmark", actor=None, now=now
                    )
                accounts[role.value].append(account)
        diesel = waivers.find_resource(session, "diesel")
        power = waivers.find_resource(session, "electricity")
        cement = waivers.find_resource(session, "cement")
        # Caps of a busy year, so the dashboard's runway shows a day as it would in the office.
        diesel_cap, power_cap = "3000000", "3000000"
        waiver = waivers.create_waiver(
            session,
            reference=f"MOU-LOAD-{today.year}",
            authority=Authority.ROK_MOU_BLANKET,
            title="Load benchmark: a year's diesel, electricity and cement",
            status=WaiverStatus.GRANTED,
            valid_from=date(today.year, 1, 1),
            valid_until=date(today.year + 1, 12, 31),
            lines=[
                waivers.LineSpec(diesel, Unit.L, diesel_cap, diesel_cap),
                waivers.LineSpec(power, Unit.KWH, power_cap, power_cap),
                waivers.LineSpec(cement, Unit.T, "10000", "10000"),
            ],
            actor=None,
            now=now,
        )
        diesel_line, power_line, cement_line = waiver.lines
        tank = fuel.create_tank(
            session,
            name="Load tank",
            product=diesel,
            capacity=str(2 * TANK_OPENING),
            tolerance=None,
            location="Load benchmark",
            opening=str(TANK_OPENING),
            opened_on=date(today.year, 1, 1),
            actor=None,
            now=now,
        )
        # Installed yesterday, so that the load's first write of today creates today's log.
        installed = datetime.combine(today - timedelta(days=1), clock(0, 0), tzinfo=SEOUL)
        meters = []
        for number in range(1, args.meters + 1):
            meter = fuel.add_meter(
                session,
                name=f"Load grid meter {number}",
                source=MeterSource.GRID_SOUTH,
                waiver_line=power_line,
                digits=9,
                multiplier="1",
                installed_at=installed,
                first_value=str(METER_START),
                actor=None,
                now=now,
            )
            # The register at midnight, as if it had counted at the steady rate all day.
            meters.append({"id": meter.id, "value": METER_START + 24 * 60 * KWH_PER_MINUTE})
        # Something drawn this month already, so the month's report exists from the start.
        ledger.record_drawdown(
            session,
            resource=diesel,
            quantity="100",
            unit=Unit.L,
            occurred_on=today,
            waiver_line=diesel_line,
            purpose=Purpose.OPERATION,
            note="load benchmark: the month's first drawdown",
            actor=None,
            now=now,
        )
        session.commit()
        return {
            "today": today.isoformat(),
            "month": today.strftime("%Y-%m"),
            "busy_month": BUSY_MONTH,
            "accounts": accounts,
            "tank_id": str(tank.id),
            "dip": str(TANK_OPENING),
            "diesel_line_id": str(diesel_line.id),
            "cement_line_id": str(cement_line.id),
            "cement_id": str(cement.id),
            "meters": meters,
            "kwh_per_minute": KWH_PER_MINUTE,
        }


def build_template(dbs: Databases, secret_key: str, args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    dbs.create_template()
    # The demo's story on its own dates: BUSY_MONTH is one of its months.
    for command in (("db", "upgrade"), ("demo", "load", "--historical")):
        done = flask_cli(dbs.template, secret_key, *command)
        if done.returncode != 0:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    config = arrange(dbs.template, secret_key, args)
    dbs.seal_template()
    print(
        f"  template built in {time.monotonic() - started:.0f} s: migrations, the demo story, "
        f"{sum(len(a) for a in config['accounts'].values())} accounts, a waiver valid "
        f"{config['today'][:4]}-{int(config['today'][:4]) + 1}, a tank, "
        f"{len(config['meters'])} grid meters; today in Seoul is {config['today']}",
        flush=True,
    )
    return config


# --- a run --------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Run:
    users: int
    result: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    load_before: str = ""
    day_size: str = ""

    @property
    def steady(self) -> dict[str, Any]:
        return self.result["steady"]

    @property
    def kinds(self) -> list[dict[str, Any]]:
        return self.steady["kinds"]

    @property
    def errors(self) -> int:
        return sum(k["failures"] for k in self.kinds) + sum(
            k["failures"] for k in self.result["ramp"]["kinds"]
        )

    @property
    def rps(self) -> float:
        return self.steady["requests"] / self.steady["seconds"]

    @property
    def slowest(self) -> dict[str, Any]:
        """The kind with the highest p95 among those seen often enough to have one."""
        often = [k for k in self.kinds if k["count"] >= MIN_SAMPLES] or self.kinds
        return max(often, key=lambda k: k["p95"] or 0)

    @property
    def invariants_hold(self) -> bool:
        return all(check.ok for check in self.checks)


def locust(
    config: dict[str, Any],
    url: str,
    port: int,
    master: int,
    users: int,
    duration: float,
    rundir: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Run bench/locustfile.py headless in a process of its own; return its measurement."""
    config_path, out = rundir / "config.json", rundir / "result.json"
    config_path.write_text(json.dumps(config))
    with (rundir / "locust.log").open("w") as log:
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "locustfile.py"),
                f"--host=http://127.0.0.1:{port}",
                f"--users={users}",
                f"--spawn-rate={args.spawn_rate}",
                f"--duration={duration}",
                f"--server-pid={master}",
                f"--database={make_url(url).database if url.startswith('postgresql') else ''}",
                f"--out={out}",
            ],
            env={**os.environ, "LOAD_CONFIG": str(config_path)},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not out.exists():
        tail = (rundir / "locust.log").read_text()[-3000:]
        raise SystemExit(f"Locust failed (exit {done.returncode}):\n{tail}")
    return json.loads(out.read_text())


def run_once(
    dbs: Databases,
    config: dict[str, Any],
    secret_key: str,
    users: int,
    duration: float,
    args: argparse.Namespace,
) -> Run:
    """Serve a fresh copy of the template, load it, check its invariants, drop it."""
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    url = dbs.copy()
    rundir = dbs.workdir / f"locust{dbs.copies}"
    rundir.mkdir()
    try:
        with ledger_bench.gunicorn(url, secret_key, rundir, args.workers) as (port, master):
            result = locust(config, url, port, master, users, duration, rundir, args)
        run = Run(users, result, load_before=load_before)
        run.checks = invariants(url, secret_key, run, rundir / "gunicorn.log")
    finally:
        if not args.keep:
            dbs.drop(url)
    return run


# --- the invariants -----------------------------------------------------------------------


def invariants(url: str, secret_key: str, run: Run, gunicorn_log: Path) -> list[Check]:
    checks = []
    for command in ("verify", "check"):
        done = flask_cli(url, secret_key, "ledger", command)
        said = " ".join((done.stdout + done.stderr).split())
        checks.append(Check(f"ledger {command}", done.returncode == 0, said[:300]))
    with app_session(url, secret_key) as session:
        checks.append(stock_books(session))
        checks.append(meter_intervals(session))
        checks.append(daily_logs(session))
        checks.append(deliveries(session))
        run.day_size = day_size(session)
    checks.append(load_errors(run, gunicorn_log))
    return checks


def day_size(session: Any) -> str:
    """What today's log page shows after the load: it grows with every write of the day."""
    today = office_date(utcnow())
    movements = session.scalar(
        select(func.count()).select_from(StockMovement).where(StockMovement.occurred_on == today)
    )
    readings = session.scalar(
        select(func.count()).select_from(MeterReading).where(MeterReading.read_on == today)
    )
    events = session.scalar(
        select(func.count())
        .select_from(DailyLogEvent)
        .join(DailyLog)
        .where(DailyLog.log_on == today)
    )
    return f"{movements} movements, {readings} meter readings, {events} lines of history"


def stock_books(session: Any) -> Check:
    """Each store's book stock (its lots' remainders) equals what its lots received less what
    was drawn from them; each lot kept is quantity = remaining + used + returned, and used +
    returned is what its standing draws took."""
    today = office_date(utcnow())
    drawn = dict(
        session.execute(
            select(LotDraw.lot_id, func.sum(LotDraw.quantity))
            .join(StockMovement, StockMovement.id == LotDraw.movement_id)
            .where(StockMovement.voided_at.is_(None))
            .group_by(LotDraw.lot_id)
        ).all()
    )
    voided = set(
        session.scalars(
            select(StockMovement.lot_id).where(
                StockMovement.kind == MovementKind.RECEIPT, StockMovement.voided_at.is_not(None)
            )
        )
    )
    problems, stores, lots = [], 0, 0
    for store in session.scalars(select(Store).order_by(Store.id)):
        stores += 1
        book, from_lots = (
            stock.book_stock(session, store),
            stock.book_stock_on(session, store, today),
        )
        if book != from_lots:
            problems.append(f"{store.name}: book {book} != received less drawn {from_lots}")
    for lot in session.scalars(select(StockLot).order_by(StockLot.id)):
        lots += 1
        taken = Decimal(drawn.get(lot.id) or 0)
        if lot.id in voided:
            if lot.remaining != 0 or taken != 0:
                problems.append(f"lot {lot.id}: voided receipt still holds or was drawn")
        elif lot.quantity != lot.remaining + lot.used + lot.returned or lot.remaining < 0:
            problems.append(
                f"lot {lot.id}: {lot.quantity} != {lot.remaining} + {lot.used} + {lot.returned}"
            )
        elif lot.used + lot.returned != taken:
            problems.append(f"lot {lot.id}: used + returned {lot.used + lot.returned} != {taken}")
    detail = (
        f"{stores} stores, {lots:,} lots: book stock = lots received less drawn; "
        "quantity = remaining + used + returned"
    )
    return Check("stock equals its lots", not problems, "; ".join(problems[:5]) or detail)


def meter_intervals(session: Any) -> Check:
    """Each grid meter's standing intervals add up to what the ledger holds drawn for its
    readings (entries of source 'meter' for its readings, reversals netting out)."""
    problems, meters, readings = [], 0, 0
    for meter in session.scalars(select(Meter).order_by(Meter.id)):
        meters += 1
        rows = session.execute(
            select(MeterReading.id, MeterReading.consumption, MeterReading.voided_at).where(
                MeterReading.meter_id == meter.id
            )
        ).all()
        readings += len(rows)
        counted = [c.quantize(Decimal("0.001")) for _id, c, v in rows if v is None and c]
        expected = sum((c for c in counted if c > 0), Decimal(0))
        if meter.waiver_line_id is None:
            expected = Decimal(0)
        ids = [reading_id for reading_id, _c, _v in rows]
        drawn = Decimal(
            session.scalar(
                select(func.coalesce(func.sum(DrawdownEntry.base_quantity), 0)).where(
                    DrawdownEntry.source == Source.METER, DrawdownEntry.source_id.in_(ids)
                )
            )
            or 0
        )
        if drawn != expected:
            problems.append(f"{meter.name}: intervals {expected} kWh, ledger {drawn} kWh")
    detail = f"{meters} meters, {readings:,} readings: intervals = their drawdowns"
    return Check("meter intervals = drawdowns", not problems, "; ".join(problems[:5]) or detail)


def daily_logs(session: Any) -> Check:
    twice = session.execute(
        select(DailyLog.log_on, func.count())
        .group_by(DailyLog.log_on)
        .having(func.count() > 1)
        .order_by(DailyLog.log_on)
    ).all()
    days = session.scalar(select(func.count()).select_from(DailyLog))
    detail = f"{days} days logged, none twice"
    return Check(
        "one daily log a day",
        not twice,
        ", ".join(f"{day} x{n}" for day, n in twice) or detail,
    )


def deliveries(session: Any) -> Check:
    """Every line of a delivery that crossed north has one standing ledger entry, and every
    line of one received has its lot."""
    problems, count = [], 0
    reached = (DeliveryStatus.CROSSED, DeliveryStatus.RECEIVED)
    for delivery in session.scalars(select(Delivery).where(Delivery.status.in_(reached))):
        count += 1
        for line in session.scalars(
            select(DeliveryLine).where(DeliveryLine.delivery_id == delivery.id)
        ):
            north = delivery.direction.value == "north"
            if north and line.drawdown_entry_id is None:
                problems.append(f"{delivery.reference}/{line.line_no}: not on the ledger")
            if north and delivery.status is DeliveryStatus.RECEIVED and line.lot_id is None:
                problems.append(f"{delivery.reference}/{line.line_no}: received without a lot")
    detail = f"{count} deliveries crossed or received: lines on the ledger and in stock"
    return Check("deliveries whole", not problems, "; ".join(problems[:5]) or detail)


def load_errors(run: Run, gunicorn_log: Path) -> Check:
    text = gunicorn_log.read_text(errors="replace") if gunicorn_log.exists() else ""
    tracebacks = text.count("Traceback (most recent call last)")
    detail = f"{run.errors} failed requests, {tracebacks} tracebacks in gunicorn's log"
    return Check("no errors in the load", run.errors == 0 and tracebacks == 0, detail)


# --- the report ---------------------------------------------------------------------------


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages: other work on the machine skews timings."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def wait_for_quiet(max_load: float, max_wait: float) -> str:
    """Wait until the 1-minute load is at most `max_load` or `max_wait` s pass; return it."""
    waited = 0.0
    while os.getloadavg()[0] > max_load and waited < max_wait:
        time.sleep(5)
        waited += 5
    return load_average() + (f" (after waiting {waited:.0f} s)" if waited else "")


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def kind_label(kind: dict[str, Any], width: int = 0) -> str:
    return f"{kind['method']:<{width}} {kind['name']}"


def print_cpu(run: Run, kind: str) -> None:
    """Where the machine's CPU went, and what a request of this mix costs the server: that
    holds even when other work shares the machine, and gives the rate that would fill it."""
    cpu, seconds = run.steady["cpu"], run.steady["seconds"]
    other = cpu["machine"] - cpu["workers"] - cpu["locust"] - cpu["postgres"]
    database = f", PostgreSQL {cpu['postgres']:.2f}" if kind == "postgresql" else ""
    print(
        f"  CPU, cores busy of {cpu['machine_capacity']:.0f}: machine {cpu['machine']:.2f} = "
        f"gunicorn workers {cpu['workers']:.2f}{database}, Locust {cpu['locust']:.2f}, "
        f"other work on the machine {max(other, 0):.2f}"
    )
    requests = run.steady["requests"]
    if not requests:
        return
    worker_ms = cpu["workers"] * seconds / requests * 1000
    database_ms = cpu["postgres"] * seconds / requests * 1000
    server_ms = worker_ms + database_ms
    fill = CORES / (server_ms / 1000)
    per_user = run.rps / run.users
    print(
        f"  CPU a request: workers {worker_ms:.1f} ms"
        + (f" + PostgreSQL {database_ms:.1f} ms" if kind == "postgresql" else "")
        + f"; this mix alone would fill {CORES} cores at about {fill:.0f} requests/s, "
        f"i.e. {fill / per_user:.0f} users at {per_user:.2f} requests/s each"
    )


def print_run(run: Run, kind: str, duration: float) -> None:
    ramp = run.result["ramp"]
    logins = next(
        (k for k in ramp["kinds"] if (k["method"], k["name"]) == LOGIN),
        {"count": 0, "failures": 0, "p50": None, "p95": None, "p99": None, "max": None},
    )
    print(f"  load average before: {run.load_before}")
    print(
        f"  ramp: {run.users} users logged in over {ramp['seconds']:.1f} s; steady part "
        f"{run.steady['seconds']:.1f} s"
    )
    print(
        f"  requests/s: {run.rps:.1f} ({run.steady['requests']:,} requests); errors: {run.errors}"
    )
    print_cpu(run, kind)
    print(f"  {'kind of request':<44} {'count':>6} {'errors':>6} {'p50':>6} {'p95':>6} {'p99':>6}")
    for k in run.kinds:
        if not k["count"]:
            continue  # the login's kinds, reset after the ramp
        print(
            f"  {kind_label(k, 4):<44} {k['count']:>6} {k['failures']:>6} {ms(k['p50']):>6} "
            f"{ms(k['p95']):>6} {ms(k['p99']):>6}" + ("  (few)" if k["count"] < MIN_SAMPLES else "")
        )
    print(
        f"  {'POST /login (in the ramp)':<44} {logins['count']:>6} {logins['failures']:>6} "
        f"{ms(logins['p50']):>6} {ms(logins['p95']):>6} {ms(logins['p99']):>6}   (ms)"
    )
    for error in run.result["ramp"]["errors"] + run.steady["errors"]:
        print(f"  ERROR x{error['count']}: {error['method']} {error['name']}: {error['error']}")
    slowest = run.slowest
    judged = [k for k in run.kinds if k["count"] >= MIN_SAMPLES]
    over = [k for k in judged if (k["p95"] or 0) >= TARGET_P95_MS]
    print(
        f"  Targets: {TARGET_USERS} users: {'yes' if run.users >= TARGET_USERS else 'NO'}; "
        f"0 errors: {'yes' if run.errors == 0 else f'NO ({run.errors})'}; p95 of every kind "
        f"< {TARGET_P95_MS} ms: "
        + ("NO" if over else "yes" if judged else "not judged")
        + f" ({len(over)} of the {len(judged)} kinds seen {MIN_SAMPLES} times or more are over;"
        f" slowest {kind_label(slowest)} {ms(slowest['p95'])} ms)"
    )
    print(f"  Today's log after the load: {run.day_size}")
    print_checks(run.checks)


def print_checks(checks: list[Check]) -> None:
    print("  Invariants:")
    for check in checks:
        print(f"    {'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")


def label(kind: str) -> str:
    return {"postgresql": "PostgreSQL", "sqlite": "SQLite"}[kind]


@dataclass
class Outcome:
    kind: str
    main: Run
    steps: list[Run]
    passed_at: int | None


def step_run(
    dbs: Databases, config: dict[str, Any], secret_key: str, main: Run, args: argparse.Namespace
) -> tuple[list[Run], int | None]:
    """Raise the users by `--step` from the main run's, each on a fresh copy, until the p95
    of a kind passes 1 s; when the main run is past it already, lower them by a third of a
    step instead until it is not. Return the runs and the users at which p95 passes 1 s."""
    print(
        f"\n== {label(dbs.kind)}: step run, {args.step} more users a step, "
        f"{args.step_duration:.0f} s steady each on a fresh copy, until a kind's p95 passes "
        f"{STEP_LIMIT_MS} ms (at most {args.max_users} users)",
        flush=True,
    )
    print(
        f"  {'users':>5} {'req/s':>6} {'errors':>6} {'CPU':>5} {'other':>5} {'ms/req':>6}  "
        f"{'invariants':<10} slowest p95"
    )
    steps: list[Run] = []

    def show(run: Run) -> None:
        slowest, cpu = run.slowest, run.steady["cpu"]
        other = cpu["machine"] - cpu["workers"] - cpu["locust"] - cpu["postgres"]
        server_ms = (cpu["workers"] + cpu["postgres"]) * run.steady["seconds"]
        server_ms = server_ms / max(run.steady["requests"], 1) * 1000
        print(
            f"  {run.users:>5} {run.rps:>6.1f} {run.errors:>6} {cpu['machine']:>5.2f} "
            f"{max(other, 0):>5.2f} {server_ms:>6.1f}  "
            f"{'PASS' if run.invariants_hold else 'FAIL':<10} {ms(slowest['p95']):>6} ms  "
            f"{kind_label(slowest)}",
            flush=True,
        )
        if not run.invariants_hold:
            print_checks(run.checks)

    def past(run: Run) -> bool:
        return (run.slowest["p95"] or 0) > STEP_LIMIT_MS

    def step(users: int) -> Run:
        run = run_once(dbs, config, secret_key, users, args.step_duration, args)
        steps.append(run)
        show(run)
        return run

    show(main)
    if past(main):
        down, users = max(1, args.step // 3), main.users
        while users - down > 0:
            if not past(step(users - down)):
                return steps, users
            users -= down
        return steps, users
    users = main.users
    while users + args.step <= args.max_users:
        users += args.step
        if past(step(users)):
            return steps, users
    return steps, None


def print_summary(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    print("\n== Summary")
    print(
        f"  gunicorn {args.workers} workers; {args.users} users (administrators : reviewers : "
        f"schedulers = 3 : 1 : 1), 1-3 s think time, {args.duration:.0f} s steady"
    )
    for outcome in outcomes:
        run = outcome.main
        slowest = run.slowest
        passed = (
            f"p95 passes 1 s at {outcome.passed_at} users"
            if outcome.passed_at
            else (
                f"p95 stayed under 1 s up to {max([run.users] + [s.users for s in outcome.steps])}"
                " users"
                if args.step
                else "no step run"
            )
        )
        invariants = "all invariants hold" if run.invariants_hold else "INVARIANTS BROKEN"
        step_invariants = all(s.invariants_hold for s in outcome.steps)
        print(
            f"  {label(outcome.kind)}: {run.rps:.1f} req/s, {run.errors} errors, slowest p95 "
            f"{ms(slowest['p95'])} ms ({kind_label(slowest)}), {invariants}; {passed}"
            + ("" if step_invariants else "; INVARIANTS BROKEN in the step run")
        )


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Mixed load with Locust against gunicorn (4 workers) on PostgreSQL and "
        "SQLite: figures per kind of request, then every invariant.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database",
        choices=["postgresql", "sqlite", "both"],
        default="both",
        help="where to run: the same scenario on each, PostgreSQL first",
    )
    parser.add_argument("--users", type=int, default=TARGET_USERS, help="users of the main run")
    parser.add_argument("--duration", type=float, default=60, help="steady seconds, main run")
    parser.add_argument(
        "--step", type=int, default=10, help="users added each step of the step run (0: none)"
    )
    parser.add_argument("--step-duration", type=float, default=20, help="steady seconds a step")
    parser.add_argument("--max-users", type=int, default=300, help="the step run stops here")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users starting per second")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--admins", type=int, default=30, help="administrator accounts")
    parser.add_argument("--reviewers", type=int, default=10, help="reviewer accounts")
    parser.add_argument("--schedulers", type=int, default=10, help="scheduler accounts")
    parser.add_argument("--meters", type=int, default=8, help="grid meters to read")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for this load")
    parser.add_argument("--max-wait", type=float, default=60, help="at most this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep databases and logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if importlib.util.find_spec("locust") is None:
        raise SystemExit(
            "Locust is not installed: .venv/bin/pip install -c constraints.txt -e '.[bench]'"
        )
    kinds = ["postgresql", "sqlite"] if args.database == "both" else [args.database]
    secret_key = secrets.token_hex(32)
    print(
        f"bench/load.py on {platform.node()}, {CORES} cores, Python {platform.python_version()}, "
        f"Locust {importlib.metadata.version('locust')}, gunicorn "
        f"{importlib.metadata.version('gunicorn')} ({args.workers} workers, sync); "
        f"{utcnow():%Y-%m-%d %H:%M} UTC; load average {load_average()}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="office-load-"))
    outcomes = []
    try:
        for kind in kinds:
            dbs = Databases(kind, args, workdir / kind)
            (workdir / kind).mkdir()
            try:
                print(f"\n== {label(kind)}: building the template", flush=True)
                config = build_template(dbs, secret_key, args)
                print(
                    f"\n== {label(kind)}: {args.users} users, 1-3 s think time, "
                    f"{args.duration:.0f} s steady, gunicorn {args.workers} workers",
                    flush=True,
                )
                main_run = run_once(dbs, config, secret_key, args.users, args.duration, args)
                print_run(main_run, kind, args.duration)
                steps, passed_at = [], None
                if args.step:
                    steps, passed_at = step_run(dbs, config, secret_key, main_run, args)
                    print(
                        f"  p95 of a kind passes 1 s at {passed_at} users"
                        if passed_at
                        else f"  p95 of every kind stayed under 1 s up to {args.max_users} users"
                    )
                outcomes.append(Outcome(kind, main_run, steps, passed_at))
            finally:
                if not args.keep:
                    dbs.close()
        print_summary(outcomes, args)
    finally:
        if args.keep:
            print(f"\nKept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
