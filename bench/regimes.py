"""Print what screening a drawdown under three sanctions regimes costs against one.

    .venv/bin/python bench/regimes.py [--runs 300] [--database-url URL --second-url URL]

The issue asks: "Recording a drawdown under three regimes costs no more than twice recording
it under one today."

Two databases are built with the real migrations (temporary SQLite files, or the two empty
PostgreSQL databases given) and filled through the services:
- one: only the UN regime in force; diesel made in Korea; a drawdown names its UN line
  (`waiver_line_id`), which is every drawdown of the product before regimes;
- three: every regime in force; diesel of US origin, so the UN (capped), the ministry
  (approval) and the US EAR (licence) all control it; a drawdown names a line under each
  (`authorisations`).
Each drawdown is POST /api/v1/drawdowns through the Flask test client (token, JSON, the
ledger's one door, the commit), the two databases taking turns, --warmup untimed first.
Prints the median and 95th percentile of each, their ratio, and the SQL statements each
request runs.

Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.ledger import build_app, migrate  # noqa: E402
from office.auth import services as auth_services  # noqa: E402
from office.auth.permissions import Role  # noqa: E402
from office.db import create_engine_for, utcnow  # noqa: E402
from office.waivers import services  # noqa: E402
from office.waivers.models import Authority, Regime, WaiverStatus  # noqa: E402
from office.waivers.units import Unit  # noqa: E402

PASSWORD = "bench-regimes-password-1"
CAP = "100000000"


def set_up(engine: Engine, regimes: str) -> tuple[str, dict[str, Any]]:
    """Fill a migrated database for `regimes` ("one" or "three"); return an API token and the
    body of a drawdown."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        if regimes == "one":
            session.execute(update(Regime).values(in_force=Regime.code == "un"))
        admin = auth_services.create_user(
            session,
            email="bench@liaison.example",
            display_name="Bench",
            role=Role.ADMIN,
            password=PASSWORD,
            actor=None,
            now=now,
        )
        _row, token = auth_services.create_api_token(session, admin, name="b", actor=None, now=now)
        diesel = services.save_resource(
            session,
            code="diesel",
            name_ko="경유",
            name_en="Diesel",
            hs_code="2710.19",
            unit=Unit.L,
            barrels_per_tonne="7.23",
            origin="KR" if regimes == "one" else "US",
            us_content_percent=0 if regimes == "one" else 100,
            actor=None,
            now=now,
        )
        authorities = (
            [Authority.UN_1718_COMMITTEE]
            if regimes == "one"
            else [
                Authority.UN_1718_COMMITTEE,
                Authority.ROK_MOU_INDIVIDUAL,
                Authority.US_GOVERNMENT,
            ]
        )
        named = []
        for n, authority in enumerate(authorities):
            waiver = services.create_waiver(
                session,
                reference=f"BENCH-{n}",
                authority=authority,
                title="Bench",
                status=WaiverStatus.GRANTED,
                valid_from=None,
                valid_until=None,
                lines=[services.LineSpec(diesel, Unit.L, CAP, CAP)],
                actor=None,
                now=now,
            )
            named.append({"regime": waiver.regime.code, "line_id": waiver.lines[0].id})
        session.commit()
    body: dict[str, Any] = {
        "resource": "diesel",
        "quantity": "12.5",
        "unit": "L",
        "occurred_on": now.date().isoformat(),
        "purpose": "operation",
    }
    if regimes == "one":
        body["waiver_line_id"] = named[0]["line_id"]
    else:
        body["authorisations"] = named
    return token, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--database-url", help="an empty database for one regime")
    parser.add_argument("--second-url", help="an empty database for three regimes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = {
            "one": args.database_url or f"sqlite:///{tmp}/one.db",
            "three": args.second_url or f"sqlite:///{tmp}/three.db",
        }
        setups = {}
        for kind, url in urls.items():
            engine = create_engine_for(url)
            migrate(engine)
            token, body = set_up(engine, kind)
            app = build_app(url, "bench-regimes-secret-key-not-for-production-use")
            statements = [0]

            def count(*_args: Any, statements: list[int] = statements) -> None:
                statements[0] += 1

            with app.app_context():
                from office.db import db

                event.listen(db.engine, "before_cursor_execute", count)
            setups[kind] = (app.test_client(), token, body, statements)
        times: dict[str, list[float]] = {"one": [], "three": []}
        counts: dict[str, int] = {}
        for run in range(args.warmup + args.runs):
            for kind, (client, token, body, statements) in setups.items():
                before = statements[0]
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                elapsed = time.perf_counter() - started
                if response.status_code != 201:
                    raise SystemExit(f"{kind}: {response.status_code} {response.get_json()}")
                counts[kind] = statements[0] - before
                if run >= args.warmup:
                    times[kind].append(elapsed)
    database = "PostgreSQL" if urls["one"].startswith("postgresql") else "SQLite"
    print(f"Recording a drawdown through POST /api/v1/drawdowns on {database}, {args.runs} runs:")
    medians = {}
    for kind, label in (
        ("one", "one regime (UN), one line"),
        ("three", "three regimes, three lines"),
    ):
        values = sorted(times[kind])
        medians[kind] = statistics.median(values)
        p95 = values[int(len(values) * 0.95) - 1]
        print(
            f"  {label:<28} median {medians[kind] * 1000:6.2f} ms, "
            f"p95 {p95 * 1000:6.2f} ms, {counts[kind]} SQL statements"
        )
    ratio = medians["three"] / medians["one"]
    verdict = "within" if ratio <= 2 else "OVER"
    print(f"  three / one: {ratio:.2f}x ({verdict} the 2x the issue allows)")


if __name__ == "__main__":
    main()
