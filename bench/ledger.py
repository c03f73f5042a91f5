"""Print how the drawdown ledger performs at 1,000 and at 1,000,000 entries.

    .venv/bin/python bench/ledger.py [--entries 1000000] [--database-url URL]

Builds two databases, a small and a large one, with the real migrations; adds users, resources
and waivers through the services; then bulk-loads ledger entries whose hash chain, head and
line usage are exactly what `record_drawdown` would have produced (checked with `verify_chain`
and `check_usage`). It times, through the Flask test client and the real request path, both
sizes side by side in interleaved rounds: recording a drawdown, reading a waiver, the ledger's
first page (plain, filtered, from the middle) and asking for the CSV export (the request only
queues a job; `bench/exports.py` times the whole export on a worker). See bench/README.md.

Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from queue import Empty
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import (  # noqa: E402
    Engine,
    create_engine,
    func,
    insert,
    inspect,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session  # noqa: E402

from office import create_app  # noqa: E402
from office.auth import services as auth_services  # noqa: E402
from office.auth.permissions import Role  # noqa: E402
from office.cli import alembic_config  # noqa: E402
from office.config import normalise_database_url  # noqa: E402
from office.db import create_engine_for, utcnow  # noqa: E402
from office.demo import database_is_empty  # noqa: E402
from office.i18n import office_date  # noqa: E402
from office.waivers import ledger, services  # noqa: E402
from office.waivers.demo import PETROLEUM_KINDS, RESOURCES  # noqa: E402
from office.waivers.models import (  # noqa: E402
    Authority,
    Classification,
    Control,
    DrawdownEntry,
    LedgerHead,
    Purpose,
    Source,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.units import Unit, convert  # noqa: E402

ENTRY_TABLE = DrawdownEntry.__table__
HEAD_TABLE = LedgerHead.__table__
LINE_TABLE = WaiverLine.__table__

LEDGER_START = datetime(2018, 9, 14, 0, 0, tzinfo=UTC)  # the office opened that day
HUGE_CAP = "900000000000"  # per line, in the resource's unit: drawdowns stay covered
PASSWORD = "bench-password-2018"
WITHIN = 1.5  # the issue's bound on (large / small)

# Each bench waiver draws on these resources; the first waiver is the busiest.
WAIVER_LINES = (
    ("diesel", "gasoline", "kerosene", "electricity"),
    ("steel", "copper", "nickel", "cement", "paint"),
    ("diesel", "generator"),
    ("rice", "paper"),
    ("computer", "water_heater"),
    ("kerosene", "electricity"),
    ("steel", "cement"),
    ("diesel", "kerosene"),
    ("paint", "copper", "water_heater"),
    ("gasoline", "car"),
    ("electricity",),
    ("computer", "paper", "rice"),
)
# Quantity range per unit, in thousandths, and an occasional second unit per resource unit.
QUANTITY_RANGE = {
    Unit.L: (10_000, 2_000_000),
    Unit.BBL: (500, 12_500),
    Unit.KWH: (100_000, 5_000_000),
    Unit.MWH: (1_000, 100_000),
    Unit.T: (500, 25_000),
    Unit.KG: (1_000, 2_000_000),
    Unit.PIECE: (1, 20),  # whole pieces
}
OTHER_UNIT = {Unit.L: Unit.BBL, Unit.KWH: Unit.MWH, Unit.T: Unit.KG}
PURPOSE = {
    "diesel": Purpose.FUEL,
    "gasoline": Purpose.FUEL,
    "kerosene": Purpose.FUEL,
    "steel": Purpose.REPAIR,
    "copper": Purpose.REPAIR,
    "nickel": Purpose.REPAIR,
    "cement": Purpose.REPAIR,
    "paint": Purpose.REPAIR,
    "rice": Purpose.SUPPLIES,
    "paper": Purpose.SUPPLIES,
}
SOURCES = {
    Purpose.FUEL: (Source.FUEL_ISSUE, Source.FUEL_RECEIPT, Source.MANUAL),
    Purpose.REPAIR: (Source.WORK_ORDER, Source.DELIVERY, Source.MANUAL),
    Purpose.SUPPLIES: (Source.DELIVERY, Source.MANUAL),
    Purpose.OPERATION: (Source.METER, Source.DELIVERY, Source.MANUAL),
}
NOTES = ("", "", "", "", "", "", "Generator fuel", "발전기 연료", "Night shift", "Boiler refill")


# --- the database -------------------------------------------------------------------------


@dataclass
class Fixture:
    """What the measurements need to know about the seeded database."""

    url: str
    admin_id: int
    admin_session_id: str
    reviewer_session_id: str
    token: str
    hot_waiver_id: int
    hot_line_id: int
    hot_resource: str
    other_waiver_id: int
    rare_resource_id: int
    lines: list[tuple[int, int, str, float]] = field(default_factory=list)
    plain: list[int] = field(default_factory=list)  # resources needing no waiver
    controlled: list[int] = field(default_factory=list)  # capped or prohibited
    resources: dict[int, tuple[str, Unit, Decimal | None]] = field(default_factory=dict)


def migrate(engine: Engine) -> None:
    """Run the project's Alembic migrations on `engine` up to head."""
    cfg = alembic_config()
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def seed(engine: Engine, url: str) -> Fixture:
    """Add users, an API token, resources and granted waivers through the services."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        if inspect(session.connection()).has_table("drawdown_entries") and not (
            database_is_empty(session)
        ):
            raise SystemExit(f"{url} already holds data; give an empty database.")
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
        _row, token = auth_services.create_api_token(
            session, admin, name="bench", actor=admin, now=now
        )
        resources = {}
        for code, name_ko, name_en, hs, unit, factor in RESOURCES:
            resources[code] = services.save_resource(
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
        waivers = []
        for number, codes in enumerate(WAIVER_LINES, start=1):
            waivers.append(
                services.create_waiver(
                    session,
                    reference=f"BENCH-{number:04d}",
                    authority=Authority.ROK_MOU_BLANKET,
                    title=f"Bench waiver {number}",
                    status=WaiverStatus.GRANTED,
                    valid_from=date(2018, 1, 1),
                    valid_until=date(2099, 12, 31),
                    lines=[
                        services.LineSpec(resources[c], resources[c].unit, HUGE_CAP) for c in codes
                    ],
                    actor=reviewer,
                    now=now,
                )
            )
        # Browser sessions kept on the server, as a login leaves them.
        admin_key = auth_services.start_session(
            session, admin, now=utcnow(), remote_addr=None, user_agent="bench"
        )[1]
        reviewer_key = auth_services.start_session(
            session, reviewer, now=utcnow(), remote_addr=None, user_agent="bench"
        )[1]
        session.commit()
        hot_line = waivers[0].lines[0]
        fixture = Fixture(
            url=url,
            admin_id=admin.id,
            admin_session_id=admin_key,
            reviewer_session_id=reviewer_key,
            token=token,
            hot_waiver_id=waivers[0].id,
            hot_line_id=hot_line.id,
            hot_resource=hot_line.resource.code,
            other_waiver_id=waivers[6].id,
            rare_resource_id=resources["nickel"].id,
        )
        # Zipf-like weights: the first waiver takes about a third of all drawdowns.
        for rank, waiver in enumerate(waivers, start=1):
            lines = {line.id: line for line in waiver.lines}  # each once, however loaded
            for line in lines.values():
                fixture.lines.append(
                    (line.id, waiver.id, line.resource.code, 1 / rank / len(lines))
                )
        for resource in resources.values():
            fixture.resources[resource.id] = (
                resource.code,
                resource.unit,
                resource.effective_barrels_per_tonne,
            )
            target = fixture.plain if resource.control is Control.NONE else fixture.controlled
            target.append(resource.id)
    return fixture


class EntryMaker:
    """Make the content of ledger entries as `record_drawdown` would record them."""

    def __init__(self, fixture: Fixture, step: timedelta, seed: str) -> None:
        self.fixture = fixture
        self.step = step
        self.rng = random.Random(seed)
        self.codes = {code: rid for rid, (code, _u, _f) in fixture.resources.items()}
        self.lines = [(line_id, waiver_id, code) for line_id, waiver_id, code, _w in fixture.lines]
        self.cum_weights = []
        total = 0.0
        for *_rest, weight in fixture.lines:
            total += weight
            self.cum_weights.append(total)

    def quantity(self, unit: Unit) -> Decimal:
        low, high = QUANTITY_RANGE[unit]
        if unit is Unit.PIECE:
            return Decimal(self.rng.randrange(low, high))
        return Decimal(self.rng.randrange(low, high)).scaleb(-3)

    def make(self, seq: int) -> dict[str, Any]:
        """Return the values of entry `seq`, all but its hashes."""
        rng = self.rng
        roll = rng.random()
        line_id = waiver_id = None
        flagged = False
        reason = None
        if roll < 0.94:
            line_id, waiver_id, code = rng.choices(self.lines, cum_weights=self.cum_weights)[0]
            resource_id = self.codes[code]
            classification = Classification.COVERED
        elif roll < 0.998:
            resource_id = rng.choice(self.fixture.plain)
            classification = Classification.NOT_REQUIRED
        else:
            resource_id = rng.choice(self.fixture.controlled)
            classification = Classification.UNCOVERED
            flagged = True
            reason = "Bench: recorded before the waiver arrived; request filed the same day."
        code, base_unit, factor = self.fixture.resources[resource_id]
        unit = base_unit
        if base_unit in OTHER_UNIT and rng.random() < 0.1:
            unit = OTHER_UNIT[base_unit]
        quantity = self.quantity(unit)
        recorded_at = LEDGER_START + self.step * seq
        lag = 0 if rng.random() < 0.8 else rng.randrange(1, 7)
        purpose = PURPOSE.get(code, Purpose.OPERATION)
        source = rng.choice(SOURCES[purpose])
        return {
            "seq": seq,
            "resource_id": resource_id,
            "quantity": quantity,
            "unit": unit,
            "base_quantity": convert(quantity, unit, base_unit, factor),
            "occurred_on": max(office_date(recorded_at) - timedelta(days=lag), date(2018, 9, 14)),
            "recorded_at": recorded_at,
            "recorded_by_id": self.fixture.admin_id,
            "purpose": purpose,
            "source": source,
            "source_ref": None if source is Source.MANUAL else f"B-{seq:08d}",
            "note": rng.choice(NOTES),
            "waiver_id": waiver_id,
            "waiver_line_id": line_id,
            "waiver_status": WaiverStatus.GRANTED if line_id else None,
            "classification": classification,
            "flagged": flagged,
            "override_reason": reason,
            "reverses_id": None,
            "reversal_reason": None,
        }


@dataclass(frozen=True)
class LoadJob:
    """What the producer process needs to continue the chain from the ledger's head."""

    fixture: Fixture
    step: timedelta
    seed: int
    after_seq: int
    after_hash: str
    target: int
    columns: tuple[str, ...]
    positional: bool
    batch: int


@dataclass(frozen=True)
class Batch:
    rows: list[Any]  # parameters for the driver, already converted by the column types
    last_seq: int
    last_hash: str
    used: dict[int, Decimal]  # base quantity added per waiver line


def produce(job: LoadJob, queue: Any) -> None:
    """Make, chain and convert entries after `job.after_seq` up to `job.target`; queue them.

    Runs in its own process. Each entry is hashed with `ledger.entry_digest` on the values
    `_append` would hash; the values then go through the bind processors of the table's column
    types for the target dialect, exactly the conversion a Core insert would apply.
    """
    dialect = create_engine(job.fixture.url).dialect  # no connection is made
    processors = [
        ENTRY_TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in job.columns
    ]
    maker = EntryMaker(job.fixture, job.step, f"{job.seed}:{job.after_seq}")
    seq, previous = job.after_seq, job.after_hash
    while seq < job.target:
        rows = []
        used: dict[int, Decimal] = defaultdict(Decimal)
        for _ in range(min(job.batch, job.target - seq)):
            seq += 1
            values = maker.make(seq)
            values["prev_hash"] = previous
            values["hash"] = previous = ledger.entry_digest(values)
            if values["waiver_line_id"] is not None:
                used[values["waiver_line_id"]] += values["base_quantity"]
            params = [
                values[name] if process is None else process(values[name])
                for name, process in zip(job.columns, processors, strict=True)
            ]
            rows.append(
                tuple(params) if job.positional else dict(zip(job.columns, params, strict=True))
            )
        queue.put(Batch(rows, seq, previous, dict(used)))
    queue.put(None)


def count_entries(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(ENTRY_TABLE)) or 0


# The entries loaded carry no record of regimes (`DrawdownEntry.regimes` is NULL, so their
# hashes are as before migration 0026): each is screened as 0026 screens the entries written
# before it, once, under its waiver's regime or, naming none, the UN's. Usage per line and
# `ledger check` read these rows.
SCREEN_LOADED = text(
    """
    INSERT INTO entry_screenings (entry_id, regime_id, position, seq, occurred_on,
        base_quantity, control, waiver_id, waiver_line_id, waiver_status, classification)
    SELECT e.id, r.id, r.position, e.seq, e.occurred_on, e.base_quantity, NULL,
        e.waiver_id, e.waiver_line_id, e.waiver_status, e.classification
    FROM drawdown_entries e
    LEFT JOIN waivers w ON w.id = e.waiver_id
    JOIN regimes r ON r.id = COALESCE(w.regime_id, (SELECT id FROM regimes WHERE code = 'un'))
    WHERE e.seq > :after
    """
)


def load_entries(
    engine: Engine,
    fixture: Fixture,
    target: int,
    *,
    step: timedelta,
    seed: int,
    batch: int = 5_000,
    per_transaction: int = 100_000,
) -> tuple[int, float]:
    """Append entries until the ledger holds `target`; return how many were added and seconds.

    A producer process makes and chains the entries while this one inserts them with the
    driver's executemany; each transaction of up to `per_transaction` entries also moves the
    ledger head and the lines' usage, so the database is valid at every commit.
    """
    started = time.perf_counter()
    sqlite = engine.dialect.name == "sqlite"
    columns = (*EntryMaker(fixture, step, "").make(1), "prev_hash", "hash")
    compiled = insert(ENTRY_TABLE).compile(dialect=engine.dialect, column_keys=list(columns))
    if compiled.positional:
        columns = tuple(compiled.positiontup or ())
    added = 0
    with engine.connect() as connection:
        # On this connection only, while loading: no fsync, a big page cache. Set outside any
        # transaction, on the driver's connection, as SQLite requires.
        pragma = connection.connection.driver_connection.execute if sqlite else None
        if pragma:
            pragma("PRAGMA synchronous=OFF")
            pragma("PRAGMA cache_size=-262144")
        with connection.begin():
            used = dict(connection.execute(select(LINE_TABLE.c.id, LINE_TABLE.c.used_base)).all())
            head = connection.execute(select(HEAD_TABLE).where(HEAD_TABLE.c.id == 1)).one()
        job = LoadJob(
            fixture,
            step,
            seed,
            head.last_seq,
            head.last_hash,
            target,
            columns,
            bool(compiled.positional),
            batch,
        )
        # Forked, so the producer runs exactly the code this process imported.
        context = multiprocessing.get_context("fork")
        queue = context.Queue(maxsize=8)
        producer = context.Process(target=produce, args=(job, queue), daemon=True)
        producer.start()
        try:
            done = False
            while not done:
                with connection.begin():
                    changed: set[int] = set()
                    in_transaction = 0
                    first_seq = connection.execute(select(HEAD_TABLE.c.last_seq)).scalar_one()
                    while in_transaction < per_transaction:
                        item = next_batch(queue, producer)
                        if item is None:
                            done = True
                            break
                        connection.exec_driver_sql(compiled.string, item.rows)
                        in_transaction += len(item.rows)
                        for line_id, quantity in item.used.items():
                            used[line_id] += quantity
                            changed.add(line_id)
                        last_seq, last_hash = item.last_seq, item.last_hash
                    if in_transaction:
                        connection.execute(
                            update(HEAD_TABLE)
                            .where(HEAD_TABLE.c.id == 1)
                            .values(last_seq=last_seq, last_hash=last_hash)
                        )
                        connection.execute(SCREEN_LOADED, {"after": first_seq})
                    for line_id in sorted(changed):
                        connection.execute(
                            update(LINE_TABLE)
                            .where(LINE_TABLE.c.id == line_id)
                            .values(used_base=used[line_id])
                        )
                added += in_transaction
                if in_transaction and added % 200_000 < per_transaction:
                    rate = added / (time.perf_counter() - started)
                    print(f"  ... {last_seq:,} entries ({rate:,.0f} entries/s)", flush=True)
        finally:
            producer.join(timeout=10)
            if producer.is_alive():
                producer.terminate()
        if pragma:
            pragma("PRAGMA synchronous=NORMAL")
            pragma("PRAGMA cache_size=-2000")
    return added, time.perf_counter() - started


def next_batch(queue: Any, producer: Any) -> Batch | None:
    """Return the producer's next batch, None at the end; stop if the producer died."""
    while True:
        try:
            return queue.get(timeout=5)
        except Empty:
            if not producer.is_alive():
                raise SystemExit(
                    f"the producer process failed (exit {producer.exitcode})"
                ) from None


def check_ledger(engine: Engine) -> tuple[int, float]:
    """Verify the hash chain and the lines' usage; return the entries checked and seconds taken.

    Raises SystemExit when the chain is broken: every figure would be meaningless.
    """
    with Session(engine) as session:
        started = time.perf_counter()
        checked, problem = ledger.verify_chain(session)
        seconds = time.perf_counter() - started
        differences = ledger.check_usage(session)
    if problem is not None:
        raise SystemExit(f"hash chain broken at entry {problem.seq}: {problem.reason}")
    if differences:
        raise SystemExit(f"{len(differences)} waiver lines' usage differs from the ledger")
    return checked, seconds


# --- measuring through the Flask test client ----------------------------------------------

HEADLINE = {
    "record": "POST /api/v1/drawdowns",
    "waiver_api": "GET /api/v1/waivers/<id>",
    "waiver_page": "GET /waivers/<id> (reviewer)",
}


def ms(seconds: float) -> float:
    return seconds * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Timing:
    """Latencies of one kind of request, in milliseconds."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)


def expect(response: Any, status: int, what: str) -> None:
    if response.status_code != status:
        body = response.get_data(as_text=True)[:300]
        raise SystemExit(f"{what}: expected {status}, got {response.status_code}: {body}")


def csrf_token(client: FlaskClient, page: str) -> str:
    """The CSRF token of the forms on `page` (the same for every form of the session)."""
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(True))
    if found is None:
        raise SystemExit(f"no form with a CSRF token on {page}")
    return found[1]


def build_app(url: str, secret_key: str) -> Flask:
    environ = {"OFFICE_ENV": "development", "SECRET_KEY": secret_key, "OFFICE_DATABASE_URL": url}
    return create_app(environ)


def logged_in(app: Flask, session_id: str) -> FlaskClient:
    """Return a test client whose session holds a login, as a successful login leaves it."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = session_id
        flask_session["_fresh"] = True
    return client


def drawdown_body(fixture: Fixture) -> dict[str, Any]:
    return {
        "resource": fixture.hot_resource,
        "quantity": "12.5",
        "unit": "L",
        "occurred_on": office_date(utcnow()).isoformat(),
        "waiver_line_id": fixture.hot_line_id,
        "purpose": "fuel",
        "note": "bench",
    }


@dataclass
class Target:
    """One database under test, with its app and the clients that measure it."""

    fixture: Fixture
    engine: Engine
    app: Flask
    size: int = 0

    def __post_init__(self) -> None:
        self.api = self.app.test_client()
        self.bearer = {"Authorization": f"Bearer {self.fixture.token}", "Accept-Language": "en"}
        self.admin = logged_in(self.app, self.fixture.admin_session_id)
        self.reviewer = logged_in(self.app, self.fixture.reviewer_session_id)
        self.size = count_entries(self.engine)

    @property
    def label(self) -> str:
        return f"{self.size:,}"


def ledger_filters(target: Target) -> dict[str, str]:
    """Name the ledger queries worth timing, as query strings of /ledger/."""
    fixture = target.fixture
    middle = office_date(LEDGER_START + (utcnow() - LEDGER_START) / 2)
    month = f"date_from={middle}&date_to={middle + timedelta(days=30)}"
    return {
        "no filter": "",
        "busiest waiver": f"waiver={fixture.hot_waiver_id}",
        "a quieter waiver": f"waiver={fixture.other_waiver_id}",
        "a rare resource": f"resource={fixture.rare_resource_id}",
        "classification=uncovered": "classification=uncovered",
        "flagged=yes": "flagged=yes",
        "one month": month,
        "since a date": f"date_from={middle}",
        "busiest waiver, one month": f"waiver={fixture.hot_waiver_id}&{month}",
        "page at the middle": f"before={target.size // 2}",
    }


def probes(target: Target) -> dict[str, Callable[[], float]]:
    """Return, by name, functions that make one request to `target` and return its ms."""
    fixture = target.fixture
    body = drawdown_body(fixture)

    def post() -> float:
        started = time.perf_counter()
        response = target.api.post("/api/v1/drawdowns", json=body, headers=target.bearer)
        elapsed = time.perf_counter() - started
        expect(response, 201, "POST /api/v1/drawdowns")
        return ms(elapsed)

    def get(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> Callable:
        def probe() -> float:
            started = time.perf_counter()
            response = client.get(url, headers=headers or {})
            elapsed = time.perf_counter() - started
            expect(response, 200, url)
            return ms(elapsed)

        return probe

    def ask(url: str) -> Callable:
        token = {"csrf_token": csrf_token(target.admin, url)}

        def probe() -> float:
            started = time.perf_counter()
            response = target.admin.post(url, data=token)
            elapsed = time.perf_counter() - started
            expect(response, 303, url)
            return ms(elapsed)

        return probe

    waiver = fixture.hot_waiver_id
    found: dict[str, Callable[[], float]] = {
        "record": post,
        "waiver_api": get(target.api, f"/api/v1/waivers/{waiver}", target.bearer),
        "waiver_page": get(target.reviewer, f"/waivers/{waiver}"),
        "GET /api/v1/drawdowns (100 newest)": get(target.api, "/api/v1/drawdowns", target.bearer),
        "GET /api/v1/drawdowns?waiver_id=busiest": get(
            target.api, f"/api/v1/drawdowns?waiver_id={waiver}", target.bearer
        ),
    }
    for name, query in ledger_filters(target).items():
        found[f"GET /ledger/ {name}"] = get(target.admin, f"/ledger/?{query}")
    # The request records the job (or finds the same one still queued) and answers.
    found["POST /ledger/export.csv (asks a worker)"] = ask("/ledger/export.csv")
    return found


def share(total: int, rounds: int, round_no: int) -> int:
    return total // rounds + (1 if round_no < total % rounds else 0)


def measure_side_by_side(
    targets: list[Target], args: argparse.Namespace
) -> dict[str, dict[str, Timing]]:
    """Time every probe on every target, interleaved in rounds so both see the same machine.

    Returns the timings by target label and probe name.
    """
    plans = {target.label: probes(target) for target in targets}
    names = list(plans[targets[0].label])
    for target in targets:
        for name, probe in plans[target.label].items():
            for _ in range(args.warmup if name in HEADLINE else 1):
                probe()
    samples: dict[str, dict[str, list[float]]] = {
        target.label: {name: [] for name in names} for target in targets
    }
    for round_no in range(args.latency_rounds):
        order = targets if round_no % 2 == 0 else targets[::-1]
        for name in names:
            total = args.requests if name in HEADLINE else args.page_repeats
            for target in order:
                for _ in range(share(total, args.latency_rounds, round_no)):
                    samples[target.label][name].append(plans[target.label][name]())
    return {
        label: {name: Timing(values) for name, values in by_name.items()}
        for label, by_name in samples.items()
    }


def print_side_by_side(targets: list[Target], timings: dict[str, dict[str, Timing]]) -> None:
    """Print each request's median and p95 at both sizes, and the ratio of the medians."""
    small, large = (timings[target.label] for target in targets)
    heading = "".join(f"{f'at {t.label}: median / p95 ms':>32}" for t in targets)
    print(f"\n  {'request':<62}{heading}{'ratio':>9}")
    for name in small:
        a, b = small[name], large[name]
        ratio = b.median / a.median
        mark = f"  {verdict(ratio)}" if name in HEADLINE else ""
        print(
            f"  {HEADLINE.get(name, name):<62}{a.median:22.1f} /{a.p95:8.1f}"
            f"{b.median:22.1f} /{b.p95:8.1f}{ratio:8.2f}x{mark}"
        )
    counts = sorted({len(timing.samples) for timing in small.values()})
    print(f"  timed requests per row and size: {', '.join(map(str, counts))}")
    filters = "; ".join(f"{name}: {q}" for name, q in ledger_filters(targets[1]).items() if q)
    print(f"  ledger filters at {targets[1].label}: {filters}")


# --- gunicorn -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(url: str, secret_key: str, workdir: Path, workers: int) -> Iterator[tuple[int, int]]:
    """Serve the app with gunicorn on a free port; yield the port and the master's pid."""
    port = free_port()
    binary = Path(sys.executable).with_name("gunicorn")
    env = {
        **os.environ,
        "OFFICE_ENV": "development",
        "OFFICE_DATABASE_URL": url,
        "SECRET_KEY": secret_key,
        # This tree's code, whatever the virtual environment's editable install points at.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    log = (workdir / "gunicorn.log").open("w")
    command_line = [
        str(binary),
        f"--workers={workers}",
        f"--bind=127.0.0.1:{port}",
        f"--chdir={ROOT}",
        "app:app",
    ]
    process = subprocess.Popen(
        command_line,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log_path = workdir / "gunicorn.log"
                    raise SystemExit(f"gunicorn did not start; see {log_path}") from None
                time.sleep(0.2)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# --- the report ---------------------------------------------------------------------------


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages: other work on the machine skews timings."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def verdict(ratio: float) -> str:
    return f"within {WITHIN}x" if ratio <= WITHIN else f"NOT within {WITHIN}x"


def summary_lines(
    targets: list[Target],
    timings: dict[str, dict[str, Timing]],
) -> list[str]:
    """Return the lines of the pasteable summary."""
    a, b = (target.label for target in targets)
    small, large = timings[a], timings[b]
    lines = []
    for key, label in (
        ("record", "record drawdown (POST /api/v1/drawdowns)"),
        ("waiver_api", "read waiver (GET /api/v1/waivers/<id>)"),
        ("waiver_page", "read waiver page (GET /waivers/<id>)"),
    ):
        ratio = large[key].median / small[key].median
        lines.append(
            f"{label}: median {small[key].median:.1f} ms at {a}, {large[key].median:.1f} ms at "
            f"{b} ({ratio:.2f}x, {verdict(ratio)}); p95 {small[key].p95:.1f} / "
            f"{large[key].p95:.1f} ms"
        )
    for key, label in (
        ("GET /ledger/ no filter", "ledger first page (GET /ledger/)"),
        ("GET /api/v1/drawdowns (100 newest)", "API first page (GET /api/v1/drawdowns)"),
        ("POST /ledger/export.csv (asks a worker)", "asking for the CSV export"),
    ):
        ratio = large[key].median / small[key].median
        lines.append(
            f"{label}: {small[key].median:.1f} ms at {a}, {large[key].median:.1f} ms at {b} "
            f"({ratio:.2f}x)"
        )
    pages = {name: t for name, t in large.items() if name.startswith("GET /ledger/ ")}
    slowest = max(pages, key=lambda name: pages[name].median)
    lines.append(
        f"slowest ledger first page at {b}: {slowest.removeprefix('GET /ledger/ ')} "
        f"{pages[slowest].median:.1f} ms ({pages[slowest].median / small[slowest].median:.2f}x)"
    )
    return lines


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="the large size")
    parser.add_argument("--small", type=int, default=1_000, help="the size to compare with")
    parser.add_argument(
        "--database-url",
        help="an empty database for the large ledger (default: a temporary SQLite file); on "
        "PostgreSQL the small one is created beside it as <name>_small and dropped after",
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--page-repeats", type=int, default=10, help="timings per other page")
    parser.add_argument("--latency-rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite files")
    parser.add_argument("--seed", type=int, default=1718, help="random seed of the data")
    return parser.parse_args(argv)


@contextmanager
def databases(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[str, str]]:
    """Yield the URLs of the small and the large database; drop what this script created."""
    large = normalise_database_url(args.database_url or f"sqlite:///{workdir / 'large.db'}")
    if large.startswith("sqlite"):
        yield f"sqlite:///{workdir / 'small.db'}", large
        return
    server = make_url(large)
    name = f"{server.database}_small"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False), large
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def build(url: str, size: int, seed_value: int) -> tuple[Engine, Fixture, float, float]:
    """Migrate, seed and load a database of `size` entries; verify it.

    Returns the engine, the fixture, and the seconds loading and verifying took.
    """
    engine = create_engine_for(url)
    migrate(engine)
    fixture = seed(engine, url)
    # Entries are spread evenly from the opening to yesterday by their place in the chain.
    step = (utcnow() - timedelta(days=1) - LEDGER_START) / size
    added, load_seconds = load_entries(engine, fixture, size, step=step, seed=seed_value)
    if engine.dialect.name == "sqlite":
        engine.dispose()  # no pooled reader may hold the checkpoint back
        with engine.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checked, verify_seconds = check_ledger(engine)
    print(
        f"  {added:,} entries loaded in {load_seconds:.1f} s ({added / load_seconds:,.0f}/s); "
        f"verify_chain checked {checked:,} in {verify_seconds:.1f} s "
        f"({checked / verify_seconds:,.0f}/s); check_usage: no differences",
        flush=True,
    )
    return engine, fixture, load_seconds, verify_seconds


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.small >= args.entries:
        raise SystemExit("--small must be below --entries")
    workdir = Path(tempfile.mkdtemp(prefix="office-bench-"))
    secret_key = secrets.token_hex(32)
    engines: list[Engine] = []
    try:
        with databases(args, workdir) as (small_url, large_url):
            kind = make_url(large_url).get_backend_name()
            print(f"office ledger benchmark: {kind}, {args.small:,} and {args.entries:,} entries")
            print(
                f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {platform.platform()}"
            )
            print(f"  load average {load_average()}")
            targets = []
            for url, size in ((small_url, args.small), (large_url, args.entries)):
                print(
                    f"\nBuilding {make_url(url).render_as_string(hide_password=True)}", flush=True
                )
                engine, fixture, load_seconds, verify_seconds = build(url, size, args.seed)
                engines.append(engine)
                targets.append(Target(fixture, engine, build_app(url, secret_key)))
            if kind == "sqlite":
                size_mb = Path(make_url(large_url).database or "").stat().st_size / 1e6
                print(f"  large database file: {size_mb:,.0f} MB")

            print(
                f"\n== Latency, Flask test client through the real request path; "
                f"{args.latency_rounds} interleaved rounds; load average {load_average()}",
                flush=True,
            )
            timings = measure_side_by_side(targets, args)
            print_side_by_side(targets, timings)

            print()
            for target in targets:
                checked, seconds = check_ledger(target.engine)
                print(
                    f"After the run: chain of {checked:,} entries verified in {seconds:.0f} s; "
                    "usage matches the ledger"
                )
            print(
                f"\n== Summary ({kind}; loading {args.entries:,} entries took "
                f"{load_seconds:.0f} s, verify_chain {verify_seconds:.0f} s)"
            )
            for line in summary_lines(targets, timings):
                print(f"  {line}")
            for target in targets:
                target.app.extensions["office.db"].engine.dispose()
            for engine in engines:
                engine.dispose()
    finally:
        if args.keep:
            print(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
