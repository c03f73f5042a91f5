"""Print how long a meter head-end's batch of 15-minute readings takes through the API.

    .venv/bin/python bench/meter_batch.py --database-url postgresql+psycopg://.../empty_db
        [--readings 2000] [--runs 5] [--profile]

The issue asks: "A batch of 2,000 meter readings is recorded in under 2 s on PostgreSQL on this
machine (each interval still drawn through the ledger's one door)."

Builds the schema with the real migrations in the empty database given (a temporary SQLite
file without --database-url); adds an administrator with an API token, an electricity waiver
line and a grid meter drawn on it, through the services. Then, run after run, POSTs the next
--readings 15-minute readings of that meter to /api/v1/meter-readings/batch through the Flask
test client with the bearer token: the real request path (token, Idempotency-Key, the view,
`record_meter_readings`: each reading checked as one alone is, each interval drawn through the
ledger's door, `ledger.record_drawdowns`; the commit). Each run continues where the last
ended, so later runs meet the 30-day history the plausibility check reads. Prints each run's
seconds (and this process's CPU seconds) and SQL statements, the median, and the load average
(other work on the machine skews timings); --profile prints where one run's time goes. Checks
the ledger's chain and usage at the end.

Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import Engine, create_engine, event, func, inspect, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from office import create_app  # noqa: E402
from office.auth import services as auth_services  # noqa: E402
from office.auth.permissions import Role  # noqa: E402
from office.cli import alembic_config  # noqa: E402
from office.db import db, utcnow  # noqa: E402
from office.fuel import services as fuel  # noqa: E402
from office.fuel.models import MeterReading, MeterSource  # noqa: E402
from office.waivers import ledger  # noqa: E402
from office.waivers import services as waivers  # noqa: E402
from office.waivers.models import Authority, WaiverStatus  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
KWH_PER_STEP = 25  # a register moving 25 kWh a quarter hour: 100 kW


def migrate(engine: Engine) -> None:
    cfg = alembic_config()
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def seed(engine: Engine) -> tuple[str, int]:
    """Add the administrator, the electricity line and the grid meter; return the token and
    the meter's id."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        if session.scalar(select(func.count()).select_from(MeterReading)):
            raise SystemExit("The database holds data already; give an empty one.")
        admin = auth_services.create_user(
            session,
            email="bench-admin@liaison.example",
            display_name="Bench admin",
            role=Role.ADMIN,
            password=secrets.token_urlsafe(16),
            actor=None,
            now=now,
        )
        _row, token = auth_services.create_api_token(
            session, admin, name="head-end", actor=admin, now=now
        )
        power = waivers.save_resource(
            session,
            code="electricity",
            name_ko="전력",
            name_en="Electricity",
            hs_code="2716.00",
            unit="kWh",
            barrels_per_tonne=None,
            actor=None,
            now=now,
        )
        waiver = waivers.create_waiver(
            session,
            reference="BENCH-POWER",
            authority=Authority.ROK_MOU_BLANKET,
            title="Power from the South's grid",
            status=WaiverStatus.GRANTED,
            valid_from=START.date() - timedelta(days=1),
            valid_until=datetime(2099, 12, 31).date(),
            lines=[waivers.LineSpec(power, power.unit, Decimal(10) ** 11, Decimal(10) ** 11)],
            actor=None,
            now=now,
        )
        meter = fuel.add_meter(
            session,
            name="Main incomer",
            source=MeterSource.GRID_SOUTH,
            waiver_line=waiver.lines[0],
            digits=9,
            multiplier="1",
            installed_at=START,
            first_value="0",
            actor=admin,
            now=now,
        )
        session.commit()
        return token, meter.id


def batch(meter_id: int, first: int, count: int) -> dict[str, Any]:
    """Readings `first` to `first + count - 1` (numbered from the installation)."""
    return {
        "readings": [
            {
                "meter_id": meter_id,
                "value": str(KWH_PER_STEP * n),
                "read_at": (START + STEP * n).isoformat().replace("+00:00", "Z"),
            }
            for n in range(first, first + count)
        ]
    }


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    parser.add_argument("--readings", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the last run")
    parser.add_argument(
        "--statements", type=int, default=0, help="print the N statements taking most time"
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="office-meter-batch-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    try:
        engine = create_engine(url)
        if inspect(engine).has_table("alembic_version") is False:
            migrate(engine)
        token, meter_id = seed(engine)
        engine.dispose()
        app = create_app(
            {
                "OFFICE_ENV": "development",
                "SECRET_KEY": secrets.token_hex(32),
                "OFFICE_DATABASE_URL": url,
            }
        )
        statements = [0]
        spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        began: list[float] = [0.0]

        def before(*_args: Any) -> None:
            statements[0] += 1
            began[0] = time.perf_counter()

        def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            kind = spent[" ".join(statement.split())[:90]]
            kind[0] += 1
            kind[1] += time.perf_counter() - began[0]

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", before)
            event.listen(db.engine, "after_cursor_execute", after)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        print(
            f"database: {engine.dialect.name}; {args.readings} readings a batch, {args.runs} runs"
        )
        print(f"load average before: {load_average()}")
        seconds: list[float] = []
        first = 1
        for run in range(1, args.runs + 1):
            body = batch(meter_id, first, args.readings)
            key = {"Idempotency-Key": f'"bench-{run}-{secrets.token_hex(4)}"'}
            profiler = cProfile.Profile() if args.profile and run == args.runs else None
            statements[0] = 0
            spent.clear()
            started, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            response = client.post(
                "/api/v1/meter-readings/batch", json=body, headers={**headers, **key}
            )
            if profiler is not None:
                profiler.disable()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            if response.status_code != 201:
                raise SystemExit(
                    f"run {run}: {response.status_code} {response.get_data(as_text=True)[:500]}"
                )
            seconds.append(elapsed)
            print(
                f"run {run}: {elapsed:.2f} s ({cpu:.2f} s of this process's CPU), "
                f"{statements[0]} SQL statements "
                f"({statements[0] / args.readings:.1f} a reading), load {load_average()}"
            )
            first += args.readings
            if args.statements:
                ranked = sorted(spent.items(), key=lambda item: -item[1][1])[: args.statements]
                for text_, (times, total) in ranked:
                    print(f"    {total:6.2f} s {int(times):6d}x  {text_}")
            if profiler is not None:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
                print(out.getvalue())
        print(
            f"median: {statistics.median(seconds):.2f} s for {args.readings} readings "
            f"(target under 2 s); load average after: {load_average()}"
        )
        with app.app_context():
            assert ledger.verify_chain(db.session)[1] is None, "the ledger's chain is broken"
            assert ledger.check_usage(db.session) == [], "usage differs from the ledger"
        print("ledger chain and usage verified")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
