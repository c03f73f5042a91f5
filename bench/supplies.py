"""Print how crossing a 200-line delivery and the on-site stock page perform.

    .venv/bin/python bench/supplies.py [--entries 50000] [--lots 100000] [--database-url URL]

The issue asks: "Crossing a delivery of 200 manifest lines takes under 1 second on SQLite; the
stock page with 100,000 lots opens in under 200 ms."

1. Builds a database with the real migrations (a temporary SQLite file unless --database-url
   names an empty one). Users, the demo resources and twelve granted waivers come from
   bench/ledger.py's `seed`; 35 more materials (51 resources in all) and two granted waivers
   covering the controlled ones go in through the services, and so do the stores: the
   materials store, a tool store and a tank per fuel.
2. Loads the ledger with bench/ledger.py's `load_entries` (--entries, 50,000 by default): a
   hash chain, head and line usage exactly as `record_drawdown` leaves them.
3. Bulk-loads --lots stock lots (100,000) over the 50 resources that are kept in stock,
   Zipf-like (the busiest about 22,000, the rarest about 450), with Core executemany in one
   transaction, as `stock.receive` and `stock.draw` write them: each lot with its receipt
   movement; a lot partly or wholly used with an issue movement and its lot draw; returned
   equipment with a return movement and draw; some tools overdue. The lots' own columns
   (used, returned, remaining) are what the stock page reads; they are checked against the
   movements and draws, and the ledger with `verify_chain` and `check_usage`.
4. Times, warm, through the Flask test client logged in as an administrator:
   GET /deliveries/stock (the summary), ?resource=<id> for the busiest and the rarest
   resource, an older page of the busiest, and the deliveries list (its overdue returns scan
   the lots). Median over --runs, the probes taking turns.
5. Times the crossing of a north-bound delivery of --lines (200) manifest lines, each on a
   new delivery prepared (untimed) through the services as an administrator would:
   `save_delivery`, `add_line` for every line, `approve`. Every regime is in force (the
   UN's, the ministry's, the US EAR: as migrated), so each line is screened and recorded
   under all three. Each delivery names the ministry's carry-out approval BENCH-CO-2018,
   which has a line for every material the manifests carry: under the ministry's regime
   every line draws on it. What the UN bans or caps names a line of the 1718 Committee's
   exemption BENCH-UN-2018 as its own (a quarter are materials that need no waiver under
   the UN); two lines of nickel name none and are let through with an override reason (the
   ledger's audited override path). Nothing is of US origin: the US regime screens each
   line and asks nothing.
   Timed two ways, taking turns: `supplies.services.cross` then commit in a new session
   (the delivery loaded as the view loads it), and POST /deliveries/<id>/cross through the
   test client (CSRF token and all). For information: the page the crossing redirects to,
   and receiving a crossed delivery (POST /deliveries/<id>/receive: 200 lots).
6. Counts each probe's SQL statements and time in the driver; for any probe that misses its
   target (or all with --profile) prints the functions that take the time and the query plans
   of the slowest statements.

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
import time
from collections import Counter, defaultdict
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

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import Engine, event, func, insert, select, text, update  # noqa: E402
from sqlalchemy.orm import Session, selectinload  # noqa: E402

from bench import ledger as ledger_bench  # noqa: E402
from office import create_app  # noqa: E402
from office.auth import services as auth_services  # noqa: E402
from office.auth.models import User  # noqa: E402
from office.config import normalise_database_url  # noqa: E402
from office.db import create_engine_for, utcnow  # noqa: E402
from office.i18n import SEOUL, office_date  # noqa: E402
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
from office.supplies.models import (  # noqa: E402
    Delivery,
    DeliveryLine,
    DeliveryStatus,
    Direction,
)
from office.waivers import services as waivers  # noqa: E402
from office.waivers.models import (  # noqa: E402
    Authority,
    Classification,
    Control,
    DrawdownEntry,
    EntryScreening,
    Purpose,
    Regime,
    Resource,
    Source,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.regimes import regimes_in_force  # noqa: E402
from office.waivers.units import Unit  # noqa: E402

TARGETS = {"crossing": 1000.0, "stock page": 200.0}
FIRST_LOT_DAY = date(2018, 6, 1)  # the first materials went north in June 2018
HUGE_CAP = "900000000000"  # per line, in the line's unit: every drawdown stays covered
CARRIER = "Hyundai Asan logistics"

# The materials of the repair programme beyond the demo resources: code, Korean, English, HS,
# unit. Chapters 72 to 89 are prohibited by the default HS rules, the rest need no waiver.
MATERIALS = (
    ("rebar", "철근", "Reinforcing bars", "7214.20", Unit.T),
    ("steel_pipe", "강관", "Steel pipes", "7306.30", Unit.KG),
    ("steel_sheet", "강판", "Steel sheets", "7208.51", Unit.T),
    ("wire_rope", "와이어로프", "Steel wire rope", "7312.10", Unit.KG),
    ("bolts", "볼트너트", "Bolts and nuts", "7318.15", Unit.KG),
    ("scaffold", "비계", "Scaffolding", "7308.40", Unit.KG),
    ("copper_wire", "동선", "Copper wire", "7408.11", Unit.KG),
    ("window_frame", "알루미늄 창호", "Aluminium window frames", "7610.10", Unit.PIECE),
    ("boiler", "보일러", "Central heating boilers", "8403.10", Unit.PIECE),
    ("pump", "펌프", "Water pumps", "8413.70", Unit.PIECE),
    ("air_conditioner", "에어컨", "Air conditioners", "8415.10", Unit.PIECE),
    ("lift_parts", "승강기 부품", "Lift parts", "8431.31", Unit.KG),
    ("drill", "전동드릴", "Electric drills", "8467.21", Unit.PIECE),
    ("transformer", "변압기", "Transformers", "8504.23", Unit.PIECE),
    ("switchboard", "배전반", "Switchboards", "8537.10", Unit.PIECE),
    ("cable", "전력케이블", "Power cables", "8544.49", Unit.KG),
    ("truck", "화물차", "Lorries", "8704.22", Unit.PIECE),
    ("pvc_pipe", "PVC 배관", "PVC pipes", "3917.23", Unit.KG),
    ("insulation", "단열재", "Insulation boards", "3921.13", Unit.KG),
    ("tiles", "타일", "Ceramic tiles", "6907.21", Unit.KG),
    ("glass", "판유리", "Float glass", "7005.29", Unit.KG),
    ("plywood", "합판", "Plywood", "4412.31", Unit.KG),
    ("gypsum_board", "석고보드", "Gypsum boards", "6809.11", Unit.KG),
    ("sand", "모래", "Sand", "2505.10", Unit.T),
    ("gravel", "자갈", "Gravel", "2517.10", Unit.T),
    ("waterproofing", "방수재", "Waterproofing membrane", "6807.10", Unit.KG),
    ("adhesive", "접착제", "Tile adhesive", "3214.90", Unit.KG),
    ("sealant", "실리콘", "Silicone sealant", "3214.10", Unit.KG),
    ("wallpaper", "벽지", "Wallpaper", "4814.20", Unit.KG),
    ("flooring", "바닥재", "Vinyl flooring", "3918.10", Unit.KG),
    ("lamps", "조명기구", "Light fittings", "9405.11", Unit.PIECE),
    ("furniture", "사무가구", "Office furniture", "9403.10", Unit.PIECE),
    ("bedding", "침구", "Bedding", "9404.90", Unit.PIECE),
    ("detergent", "세제", "Detergent", "3402.20", Unit.KG),
    ("water", "생수", "Bottled water (crates)", "2201.10", Unit.PIECE),
)
# Two more waivers cover the controlled materials that bench/ledger.py's waivers do not.
MATERIAL_WAIVERS = (
    (
        "BENCH-MAT-A",
        "Bench waiver: steel, copper and aluminium for the venue",
        ("rebar", "steel_pipe", "steel_sheet", "wire_rope", "bolts", "scaffold", "copper_wire"),
    ),
    (
        "BENCH-MAT-B",
        "Bench waiver: plant, electrical equipment and tools for the venue",
        (
            "window_frame",
            "boiler",
            "pump",
            "air_conditioner",
            "lift_parts",
            "drill",
            "transformer",
            "switchboard",
            "cable",
            "truck",
            "welder",
        ),
    ),
)
FUELS = ("diesel", "gasoline", "kerosene")
# Equipment taken in for a while: a third of its lots must come back within 90 days.
EQUIPMENT = ("generator", "welder", "drill", "truck", "car", "scaffold")
# A repair delivery's manifest: the resources it carries (waiver lines chosen among the
# resource's own), and the plain materials that need none.
MANIFEST_CONTROLLED = (
    "steel",
    "rebar",
    "steel_pipe",
    "steel_sheet",
    "bolts",
    "copper",
    "copper_wire",
    "nickel",
    "cement",
    "paint",
    "water_heater",
    "boiler",
    "pump",
    "cable",
    "switchboard",
    "transformer",
    "welder",
    "computer",
)
MANIFEST_PLAIN = ("tiles", "glass", "plywood", "insulation", "pvc_pipe", "gypsum_board", "sand")
OVERRIDDEN_PER_DELIVERY = 2  # lines uncovered under the UN let through with a reason
APPROVAL = "BENCH-CO-2018"  # the ministry's carry-out approval every delivery names
EXEMPTION = "BENCH-UN-2018"  # the 1718 Committee's exemption for what the UN bans
OVERRIDE_REASON = "Bench: waiver line filed the same day; crossing agreed with the ministry."
# Range of a quantity per unit, in thousandths (pieces whole).
QUANTITY_RANGE = {
    Unit.L: (500_000, 6_000_000),
    Unit.T: (500, 25_000),
    Unit.KG: (1_000, 2_000_000),
    Unit.KWH: (1_000, 100_000),
    Unit.PIECE: (1, 20),
}
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


def seoul(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """Return the UTC instant of `day` at hour:minute in Seoul."""
    return datetime.combine(day, clock(hour, minute), tzinfo=SEOUL).astimezone(UTC)


def amount(rng: random.Random, unit: Unit) -> Decimal:
    low, high = QUANTITY_RANGE[unit]
    if unit is Unit.PIECE:
        return Decimal(rng.randrange(low, high + 1))
    return Decimal(rng.randrange(low, high)).scaleb(-3)


# --- the database and what the services set up ---------------------------------------------


@dataclass
class Site:
    """The ids of what the services created, for the bulk load and the probes."""

    admin_id: int
    admin_session_id: str
    resources: dict[str, tuple[int, Unit, Control]]  # code: id, unit, control
    lines: dict[str, list[int]]  # resource code: its waiver lines, on every waiver
    stores: dict[str, int]  # "materials", "tools", or a fuel's code: store id
    un_lines: dict[str, int] = field(default_factory=dict)  # code: its UN exemption's line
    approval_id: int = 0  # the ministry's carry-out approval every delivery names
    regimes: list[str] = field(default_factory=list)  # the codes of the regimes in force
    today: date = field(default_factory=lambda: office_date(utcnow()))


def set_up(engine: Engine, fixture: ledger_bench.Fixture, regimes: list[str]) -> Site:
    """Add the materials, their waivers and the stores through the services; put `regimes`
    (codes) in force and no other."""
    now = utcnow()
    today = office_date(now)
    with Session(engine, expire_on_commit=False) as session:
        admin = session.get(User, fixture.admin_id)
        reviewer = session.scalar(select(User).where(User.email.like("bench-reviewer%")))
        resources = {r.code: r for r in session.scalars(select(Resource))}
        for code, name_ko, name_en, hs, unit in MATERIALS:
            resources[code] = waivers.save_resource(
                session,
                code=code,
                name_ko=name_ko,
                name_en=name_en,
                hs_code=hs,
                unit=unit,
                barrels_per_tonne=None,
                actor=reviewer,
                now=now,
            )
        # Every regime in force by default, as the migrations leave them.
        session.execute(update(Regime).values(in_force=Regime.code.in_(regimes)))
        # Without the ministry's regime, the deliveries name an approval with no lines: it
        # is not screened under then (a line named is screened whatever is in force).
        carried = [*MANIFEST_CONTROLLED, *MANIFEST_PLAIN, "nickel"] if "rok" in regimes else []
        approval = waivers.create_waiver(
            session,
            reference=APPROVAL,
            authority=Authority.ROK_MOU_INDIVIDUAL,
            title="Bench carry-out approval: materials for the venue repair",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2099, 12, 31),
            lines=[waivers.LineSpec(resources[c], resources[c].unit, HUGE_CAP) for c in carried],
            actor=reviewer,
            now=now,
        )
        banned = [c for c in MANIFEST_CONTROLLED if resources[c].control is not Control.NONE]
        exemption = waivers.create_waiver(
            session,
            reference=EXEMPTION,
            authority=Authority.UN_1718_COMMITTEE,
            title="Bench exemption: materials for the venue repair",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2099, 12, 31),
            lines=[waivers.LineSpec(resources[c], resources[c].unit, HUGE_CAP) for c in banned],
            actor=reviewer,
            now=now,
        )
        for reference, title, codes in MATERIAL_WAIVERS:
            waivers.create_waiver(
                session,
                reference=reference,
                authority=Authority.ROK_MOU_INDIVIDUAL,
                title=title,
                status=WaiverStatus.GRANTED,
                valid_from=date(2018, 1, 1),
                valid_until=date(2099, 12, 31),
                lines=[waivers.LineSpec(resources[c], resources[c].unit, HUGE_CAP) for c in codes],
                actor=reviewer,
                now=now,
            )
        stores = {
            "materials": supplies.materials_store(session, actor=admin, now=now, today=today).id
        }
        stores["tools"] = stock.create_store(
            session,
            name="Tool store",
            kind=StoreKind.WAREHOUSE,
            location="Annex, ground floor",
            opened_on=FIRST_LOT_DAY,
            actor=admin,
            now=now,
        ).id
        for code in FUELS:
            stores[code] = stock.create_store(
                session,
                name=f"{resources[code].name_en} tank",
                kind=StoreKind.TANK,
                location="Boiler house",
                resource=resources[code],
                capacity="50000",
                tolerance=None,
                opened_on=FIRST_LOT_DAY,
                actor=admin,
                now=now,
            ).id
        session.commit()
        lines: dict[str, list[int]] = defaultdict(list)
        for line in session.scalars(
            select(WaiverLine).options(selectinload(WaiverLine.resource)).order_by(WaiverLine.id)
        ):
            lines[line.resource.code].append(line.id)
        uncovered = [
            code
            for code, r in resources.items()
            if r.control is not Control.NONE and code != "electricity" and not lines[code]
        ]
        if uncovered:
            raise SystemExit(f"bench set-up: no waiver line for {', '.join(uncovered)}")
        # A browser session kept on the server, as a login leaves it.
        admin_key = auth_services.start_session(
            session, admin, now=utcnow(), remote_addr=None, user_agent="bench"
        )[1]
        session.commit()
        return Site(
            admin_id=admin.id,
            admin_session_id=admin_key,
            resources={c: (r.id, r.unit, r.control) for c, r in resources.items()},
            lines=dict(lines),
            stores=stores,
            today=today,
            un_lines={line.resource.code: line.id for line in exemption.lines},
            approval_id=approval.id,
            regimes=[regime.code for regime in regimes_in_force(session)],
        )


# --- the bulk load of lots ----------------------------------------------------------------

# Insert order: every foreign key points at a table earlier in the list.
TABLES = (StockLot.__table__, StockMovement.__table__, LotDraw.__table__)


@dataclass
class Stock:
    """What was loaded: lots per resource, rows per table, and the ranking of resources."""

    ranked: list[str]  # resource codes, busiest first
    lots: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    middle_lot: dict[str, int] = field(default_factory=dict)  # code: a lot id half way down
    opening_lot: dict[str, int] = field(default_factory=dict)  # a tank's: its opening stock


def load_stock(engine: Engine, site: Site, count: int, seed: int) -> tuple[Stock, float]:
    """Bulk-load `count` lots with their movements and draws; return what and seconds taken."""
    started = time.perf_counter()
    rng = random.Random(seed)
    ranked = sorted(code for code in site.resources if code != "electricity")
    rng.shuffle(ranked)
    weights = [1 / rank for rank in range(1, len(ranked) + 1)]
    chosen = rng.choices(ranked, weights=weights, k=count)
    loaded = Stock(ranked=ranked, lots=Counter(chosen))
    last_day = site.today - timedelta(days=1)
    span = (last_day - FIRST_LOT_DAY).days
    seen: Counter[str] = Counter()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        pragma = connection.connection.driver_connection.execute if sqlite else None
        if pragma:
            # On this connection only, while loading: no fsync, a big page cache. Set outside
            # any transaction, on the driver's connection, as SQLite requires.
            pragma("PRAGMA synchronous=OFF")
            pragma("PRAGMA cache_size=-262144")
        with connection.begin():
            next_lot = (connection.scalar(select(func.max(StockLot.id))) or 0) + 1
            next_movement = (connection.scalar(select(func.max(StockMovement.id))) or 0) + 1
            pending: dict[str, list[dict[str, Any]]] = {table.name: [] for table in TABLES}

            def flush(force: bool = False) -> None:
                if not force and len(pending["stock_lots"]) < 20_000:
                    return
                for table in TABLES:
                    if pending[table.name]:
                        connection.execute(insert(table), pending[table.name])
                        loaded.rows[table.name] += len(pending[table.name])
                        pending[table.name] = []

            for n, code in enumerate(chosen):
                resource_id, unit, control = site.resources[code]
                seen[code] += 1
                day = FIRST_LOT_DAY + timedelta(days=n * span // count)
                if code in FUELS:
                    store = site.stores[code]
                elif unit is Unit.PIECE and code in (*EQUIPMENT, "computer", "car"):
                    store = site.stores["tools"]
                else:
                    store = site.stores["materials"]
                line_ids = site.lines.get(code, [])
                line_id = rng.choice(line_ids) if line_ids else None
                quantity = amount(rng, Unit.L if code in FUELS else unit)
                # A tank's opening stock, as `create_store(opening=...)` adds it: a lot with
                # no reference, no waiver line and no receipt movement.
                opening = code in FUELS and seen[code] == 1
                ref = None if opening else f"BENCH-S-{n // 200 + 1:05d}/{n % 200 + 1}"
                must_return_by = None
                used = returned = Decimal(0)
                roll = rng.random()
                if code in FUELS:
                    # A tank burns its oldest lots; only the newest few hold fuel still.
                    if seen[code] <= loaded.lots[code] - 3:
                        used = quantity
                elif code in EQUIPMENT and roll < 1 / 3:
                    must_return_by = day + timedelta(days=90)
                    if must_return_by < last_day and rng.random() < 0.97:
                        returned = quantity
                    elif must_return_by < last_day:
                        loaded.overdue += 1
                elif roll < 0.55:
                    used = quantity  # used up by a work order
                elif roll < 0.85:
                    used = (quantity * Decimal(rng.uniform(0.05, 0.95))).quantize(
                        Decimal(1) if unit is Unit.PIECE else MILLI
                    )
                elif roll < 0.88:
                    returned = (quantity / 2).quantize(Decimal(1) if unit is Unit.PIECE else MILLI)
                lot_id, receipt_id = next_lot, next_movement
                next_lot += 1
                next_movement += 1
                if opening:
                    loaded.opening_lot[code] = lot_id
                if seen[code] == loaded.lots[code] // 2:
                    loaded.middle_lot[code] = lot_id
                pending["stock_lots"].append(
                    {
                        "id": lot_id,
                        "store_id": store,
                        "resource_id": resource_id,
                        "received_on": day,
                        "source": LotSource.OPENING if opening else LotSource.DELIVERY,
                        "source_ref": ref,
                        "quantity": quantity,
                        "used": used,
                        "returned": returned,
                        "remaining": quantity - used - returned,
                        "waiver_line_id": None if opening else line_id,
                        "drawdown_entry_id": None,
                        "must_return_by": must_return_by,
                    }
                )
                if not opening:
                    pending["stock_movements"].append(
                        {
                            "id": receipt_id,
                            "store_id": store,
                            "resource_id": resource_id,
                            "kind": MovementKind.RECEIPT,
                            "occurred_on": day,
                            "quantity": quantity,
                            "use": None,
                            "use_ref": ref,
                            "lot_id": lot_id,
                            "parties": CARRIER,
                            "note": "",
                            "recorded_at": seoul(day, 15),
                            "recorded_by_id": site.admin_id,
                            "voided_at": None,
                            "void_reason": None,
                        }
                    )
                for kind, taken in ((MovementKind.ISSUE, used), (MovementKind.RETURN, returned)):
                    if not taken:
                        continue
                    when = min(day + timedelta(days=rng.randrange(1, 90)), last_day)
                    if kind is MovementKind.RETURN and must_return_by is not None:
                        when = min(must_return_by - timedelta(days=rng.randrange(0, 20)), last_day)
                    pending["stock_movements"].append(
                        {
                            "id": next_movement,
                            "store_id": store,
                            "resource_id": resource_id,
                            "kind": kind,
                            "occurred_on": when,
                            "quantity": taken,
                            "use": ("boiler" if code in FUELS else "work_order")
                            if kind is MovementKind.ISSUE
                            else "delivery",
                            "use_ref": f"WO-{n % 997:04d}"
                            if kind is MovementKind.ISSUE
                            else f"BENCH-R-{n:06d}",
                            "lot_id": None,
                            "parties": "" if kind is MovementKind.ISSUE else CARRIER,
                            "note": "",
                            "recorded_at": seoul(when, 17),
                            "recorded_by_id": site.admin_id,
                            "voided_at": None,
                            "void_reason": None,
                        }
                    )
                    covered = line_id is not None and not opening
                    pending["lot_draws"].append(
                        {
                            "movement_id": next_movement,
                            "lot_id": lot_id,
                            "quantity": taken,
                            "waiver_line_id": line_id if covered else None,
                            "waiver_status": WaiverStatus.GRANTED if covered else None,
                            "classification": Classification.COVERED
                            if covered
                            else Classification.NOT_REQUIRED
                            if control is Control.NONE
                            else Classification.UNCOVERED,
                            "flagged": False,
                        }
                    )
                    next_movement += 1
                flush()
            flush(force=True)
            if engine.dialect.name == "postgresql":
                for name in ("stock_lots", "stock_movements"):
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
    settle(engine)
    return loaded, seconds


def settle(engine: Engine) -> None:
    """Checkpoint SQLite's WAL and gather planner statistics, as after any bulk load."""
    engine.dispose()  # no pooled connection may hold the checkpoint back
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            driver = connection.connection.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            driver.execute("ANALYZE")
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


STOCK_CHECK = """
SELECT count(*) FROM stores s WHERE
  (SELECT coalesce(sum(remaining), 0) FROM stock_lots WHERE store_id = s.id) !=
  (SELECT coalesce(sum(CASE WHEN kind = 'receipt' THEN quantity ELSE -quantity END), 0)
   FROM stock_movements WHERE store_id = s.id AND voided_at IS NULL)
  + (SELECT coalesce(sum(quantity), 0) FROM stock_lots WHERE store_id = s.id
     AND source = 'opening')
"""
LOT_CHECK = """
SELECT count(*) FROM stock_lots l WHERE l.remaining != l.quantity - l.used - l.returned
  OR l.used != (SELECT coalesce(sum(d.quantity), 0) FROM lot_draws d
                JOIN stock_movements m ON m.id = d.movement_id
                WHERE d.lot_id = l.id AND m.kind = 'issue')
"""


def check(engine: Engine) -> list[str]:
    """Confirm the ledger and the stock books; raise SystemExit at the first disagreement."""
    found = []
    checked, seconds = ledger_bench.check_ledger(engine)
    found.append(f"ledger.verify_chain: {checked:,} entries ({seconds:.1f} s); check_usage agrees")
    with Session(engine) as session:
        for name, query in (("store", STOCK_CHECK), ("lot", LOT_CHECK)):
            bad = session.scalar(text(query))
            if bad:
                raise SystemExit(f"{bad} {name} books disagree with the movements")
    found.append("each store's lots sum to its movements; each lot's use to its issue draws")
    return found


def check_pages(app: Flask, client: FlaskClient, site: Site, loaded: Stock) -> list[str]:
    """Open the page of each tank's oldest lots, its opening stock among them; return what
    failed. The probes time newer pages, so a failure here does not stop the measurements."""
    problems = []
    app.config["PROPAGATE_EXCEPTIONS"] = True  # the exception itself, not a 500 page
    try:
        for code, lot_id in sorted(loaded.opening_lot.items()):
            url = f"/deliveries/stock?resource={site.resources[code][0]}&after={lot_id + 1}"
            try:
                response = client.get(url)
                status = f"HTTP {response.status_code}" if response.status_code != 200 else ""
            except Exception as exc:
                status = f"{type(exc).__name__}: {exc}"
            if status:
                problems.append(f"GET {url} (the {code} tank's opening stock lot): {status}")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    return problems


# --- deliveries to cross ------------------------------------------------------------------


class Deliveries:
    """Prepare north-bound deliveries through the services, as an administrator would."""

    def __init__(self, engine: Engine, app: Flask, site: Site, lines: int, seed: int) -> None:
        self.engine, self.app, self.site, self.lines = engine, app, site, lines
        self.rng = random.Random(seed)
        self.made = 0
        self.seconds: list[float] = []
        self.waiver_lines: set[int] = set()

    def manifest(self) -> list[tuple[str, int | None, str]]:
        """Return (resource code, its own waiver line id, override reason) for each line: its
        UN exemption's line if the UN bans or caps it (the ministry's approval, which the
        delivery names, covers every line)."""
        rng, site = self.rng, self.site
        rows: list[tuple[str, int | None, str]] = []
        overridden = set(rng.sample(range(self.lines), OVERRIDDEN_PER_DELIVERY))
        for n in range(self.lines):
            if n in overridden:
                rows.append(("nickel", None, OVERRIDE_REASON))
            elif rng.random() < 0.25:
                rows.append((rng.choice(MANIFEST_PLAIN), None, ""))
            else:
                code = rng.choice(MANIFEST_CONTROLLED)
                rows.append((code, site.un_lines.get(code), ""))
        return rows

    def prepare(self) -> int:
        """Add an approved delivery of `lines` manifest lines; return its id."""
        started = time.perf_counter()
        self.made += 1
        rng, site = self.rng, self.site
        now = utcnow()
        with self.app.test_request_context(), Session(self.engine) as session:
            admin = session.get(User, site.admin_id)
            resources = {r.code: r for r in session.scalars(select(Resource))}
            waiver_lines = {
                line.id: line
                for line in session.scalars(
                    select(WaiverLine).options(selectinload(WaiverLine.waiver))
                )
            }
            delivery = supplies.save_delivery(
                session,
                reference=f"BENCH-X-{self.made:04d}",
                direction=Direction.NORTH,
                planned_on=site.today,
                carrier=CARRIER,
                vehicles=f"{rng.randrange(3, 12)} trucks",
                approval=session.get(Waiver, site.approval_id),
                customs_declaration=f"40118-18-{self.made:06d}",
                note="Bench delivery: materials for the venue repair",
                actor=admin,
                now=now,
            )
            for code, line_id, reason in self.manifest():
                resource = resources[code]
                unit = resource.unit
                if unit is Unit.T and rng.random() < 0.2:
                    unit = Unit.KG
                quantity = amount(rng, unit)
                if unit is not Unit.PIECE:
                    quantity = (quantity / 10).quantize(MILLI) or MILLI
                supplies.add_line(
                    session,
                    delivery,
                    supplies.LineInput(
                        resource=resource,
                        quantity=quantity,
                        unit=unit,
                        purpose=Purpose.REPAIR,
                        description=f"{resource.name_en} for the venue",
                        gross_weight_kg=Decimal(rng.randrange(10, 20_000)),
                        unit_value_krw=rng.randrange(1_000, 5_000_000),
                        unit_value_usd=Decimal(rng.randrange(100, 500_000)).scaleb(-2),
                        waiver_line=waiver_lines[line_id] if line_id else None,
                        override_reason=reason,
                    ),
                    actor=admin,
                    now=now,
                )
                if line_id:
                    self.waiver_lines.add(line_id)
            supplies.approve(session, delivery, actor=admin, now=now)
            session.commit()
            delivery_id = delivery.id
        self.seconds.append(time.perf_counter() - started)
        return delivery_id


def load_delivery(session: Session, delivery_id: int) -> Delivery:
    """Load a delivery with its manifest as the deliveries view does."""
    return session.scalars(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .options(
            selectinload(Delivery.lines).selectinload(DeliveryLine.resource),
            selectinload(Delivery.lines)
            .selectinload(DeliveryLine.waiver_line)
            .selectinload(WaiverLine.waiver),
            selectinload(Delivery.approval_waiver)
            .selectinload(Waiver.lines)
            .selectinload(WaiverLine.waiver),
        )
    ).one()


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Probe:
    group: str  # the issue's target it is held to, or "information"
    name: str
    run: Callable[[Any], Any]
    prepare: Callable[[], Any] = lambda: None  # untimed, before each run
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU time, ms
    statements: list[tuple[float, str, Any]] = field(default_factory=list)

    @property
    def target(self) -> float | None:
        return TARGETS.get(self.group)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "(information)"
        word = "under" if self.median < self.target else "OVER"
        return f"{word} {self.target:.0f} ms"

    @property
    def misses(self) -> bool:
        return self.target is not None and self.median >= self.target


def expect(response: Any, status: int, what: str) -> None:
    if response.status_code != status:
        body = response.get_data(as_text=True)[:300]
        raise SystemExit(f"{what}: expected {status}, got {response.status_code}: {body}")


def logged_in(app: Flask, session_id: str) -> FlaskClient:
    """Return a test client whose session holds a login, as a successful login leaves it."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = session_id
        flask_session["_fresh"] = True
    return client


def csrf_token(client: FlaskClient, url: str) -> str:
    """Return the CSRF token of the client's session, from a page that holds a form."""
    response = client.get(url)
    expect(response, 200, url)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    if found is None:
        raise SystemExit(f"no CSRF token on {url}")
    return found.group(1)


def page(client: FlaskClient, url: str) -> Callable[[Any], int]:
    def get(_prepared: Any = None) -> int:
        response = client.get(url)
        expect(response, 200, f"GET {url}")
        return len(response.data)

    return get


def stock_probes(client: FlaskClient, site: Site, loaded: Stock) -> list[Probe]:
    busiest, rarest = loaded.ranked[0], loaded.ranked[-1]
    busy_id, rare_id = site.resources[busiest][0], site.resources[rarest][0]
    return [
        Probe("stock page", "GET /deliveries/stock", page(client, "/deliveries/stock")),
        Probe(
            "stock page",
            f"GET /deliveries/stock?resource= busiest ({busiest}, {loaded.lots[busiest]:,} lots)",
            page(client, f"/deliveries/stock?resource={busy_id}"),
        ),
        Probe(
            "stock page",
            f"GET /deliveries/stock?resource= rarest ({rarest}, {loaded.lots[rarest]:,} lots)",
            page(client, f"/deliveries/stock?resource={rare_id}"),
        ),
        Probe(
            "stock page",
            "GET /deliveries/stock?resource=&after= (busiest, page half way down)",
            page(
                client,
                f"/deliveries/stock?resource={busy_id}&after={loaded.middle_lot[busiest]}",
            ),
        ),
        Probe(
            "information",
            f"GET /deliveries/ (list and {loaded.overdue} overdue returns among the lots)",
            page(client, "/deliveries/"),
        ),
    ]


def crossing_probes(
    engine: Engine, app: Flask, client: FlaskClient, site: Site, deliveries: Deliveries
) -> list[Probe]:
    today = site.today.isoformat()
    token = csrf_token(client, "/deliveries/new")
    crossed: list[int] = []

    def cross_by_service(delivery_id: int) -> None:
        with app.test_request_context(), Session(engine, expire_on_commit=False) as session:
            if engine.dialect.name == "sqlite":  # as the app takes a write request's transaction
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            delivery = load_delivery(session, delivery_id)
            actor = session.get(User, site.admin_id)
            supplies.cross(session, delivery, crossed_on=site.today, actor=actor, now=utcnow())
            session.commit()
        crossed.append(delivery_id)

    def post(action: str) -> Callable[[int], None]:
        def run(delivery_id: int) -> None:
            url = f"/deliveries/{delivery_id}/{action}"
            response = client.post(url, data={"csrf_token": token, "on": today})
            expect(response, 302, f"POST {url}")
            if action == "cross":
                crossed.append(delivery_id)

        return run

    def crossed_one() -> int:
        delivery_id = deliveries.prepare()
        cross_by_service(delivery_id)
        return delivery_id

    def detail(delivery_id: int) -> None:
        page(client, f"/deliveries/{delivery_id}")()

    lines = deliveries.lines
    return [
        Probe(
            "crossing",
            f"services.cross + commit, {lines} lines",
            cross_by_service,
            deliveries.prepare,
        ),
        Probe(
            "crossing",
            f"POST /deliveries/<id>/cross, {lines} lines",
            post("cross"),
            deliveries.prepare,
        ),
        Probe(
            "information",
            f"GET /deliveries/<id> once crossed, {lines} lines",
            detail,
            lambda: crossed[-1],
        ),
        Probe(
            "information",
            f"POST /deliveries/<id>/receive, {lines} lines (into lots)",
            post("receive"),
            crossed_one,
        ),
    ]


def measure(found: list[Probe], warmup: int, runs: int) -> None:
    """Warm each probe up, then time it `runs` times, the probes taking turns."""
    for probe in found:
        for _ in range(warmup):
            probe.run(probe.prepare())
    for _ in range(runs):
        for probe in found:
            prepared = probe.prepare()
            cpu, started = time.process_time(), time.perf_counter()
            probe.run(prepared)
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


def count_statements(found: list[Probe], engines: list[Engine]) -> None:
    """Run each probe once more, recording its SQL statements."""
    for probe in found:
        prepared = probe.prepare()
        with recording(engines) as statements:
            probe.run(prepared)
        probe.statements = statements


def shape(sql: str) -> str:
    """Return a statement's first words, to group a probe's statements by kind."""
    words = " ".join(sql.split())
    if words.upper().startswith("SELECT"):
        source = re.search(r"\bFROM (\w+)", words)
        return f"SELECT ... FROM {source.group(1) if source else '?'}"
    return words[:60]


def diagnose(probe: Probe, engine: Engine, engines: list[Engine], top: int = 16) -> None:
    """Print where one run of `probe` spends its time: functions, statements, query plans."""
    prepared = probe.prepare()
    profiler = cProfile.Profile()
    profiler.enable()
    probe.run(prepared)
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
    kinds: dict[str, list[float]] = defaultdict(list)
    for elapsed, sql, _params in probe.statements:
        kinds[shape(sql)].append(elapsed)
    print(f"\n  -- {probe.name}: statements by kind (count, ms in the driver)")
    for kind, times in sorted(kinds.items(), key=lambda item: -sum(item[1]))[:12]:
        print(f"    {len(times):>5} {sum(times):8.1f}  {kind}")
    slowest = sorted(probe.statements, key=lambda item: -item[0])[:2]
    for elapsed, sql, params in slowest:
        print(
            f"  -- slowest statement ({elapsed:.1f} ms in execute): {' '.join(sql.split())[:400]}"
        )
        if sql.lstrip().upper().startswith("SELECT"):
            explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE"
            with engine.connect() as connection:
                plan = connection.exec_driver_sql(f"{explain} {sql}", params).all()
            for row in plan:
                print(f"       plan: {row[-1]}")


def print_results(found: list[Probe]) -> None:
    """Print each measurement's median, p95 and max against its target."""
    print(
        f"\n  {'measurement':<66}{'median':>9}{'p95':>9}{'max':>9}{'CPU':>9}  {'SQL':>11}  target"
    )
    for probe in found:
        sql_ms = sum(elapsed for elapsed, _sql, _params in probe.statements)
        print(
            f"  {probe.name:<66}{probe.median:9.1f}{probe.p95:9.1f}{max(probe.samples):9.1f}"
            f"{statistics.median(probe.cpu):9.1f}  {len(probe.statements):>4}/{sql_ms:6.1f}  "
            f"{probe.verdict}"
        )
    print(
        "  (ms, wall clock; CPU = median CPU time of this process, which holds better than the\n"
        "  wall clock when other work shares the machine, but leaves out a PostgreSQL server's;\n"
        "  SQL = statements in one run / ms spent in the driver's execute)"
    )


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=50_000, help="ledger entries to load")
    parser.add_argument("--lots", type=int, default=100_000, help="stock lots to load")
    parser.add_argument("--lines", type=int, default=200, help="manifest lines per delivery")
    parser.add_argument(
        "--database-url",
        help="an empty database to fill (default: a temporary SQLite file, removed after)",
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each page")
    parser.add_argument("--crossings", type=int, default=7, help="timed crossings each way")
    parser.add_argument("--warmup", type=int, default=3, help="untimed page runs first")
    parser.add_argument("--seed", type=int, default=1807, help="random seed of the data")
    parser.add_argument(
        "--regimes",
        default="un,rok,us",
        help="the regimes in force, by code (default: all three); 'un' to compare with one",
    )
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for this load")
    parser.add_argument("--max-wait", type=float, default=60, help="seconds to wait at most")
    parser.add_argument(
        "--profile", action="store_true", help="profile every measurement, not only misses"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    args = parser.parse_args(argv)
    if args.lots < 1000 or args.entries < 1000 or args.lines < 3:
        parser.error("at least 1,000 lots, 1,000 entries and 3 lines")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="office-bench-supplies-"))
    url = normalise_database_url(args.database_url or f"sqlite:///{workdir / 'supplies.db'}")
    engine = create_engine_for(url)
    try:
        print(f"office supplies benchmark on {engine.dialect.name}")
        print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"  load average {load_average()}")

        print("\n== Building", flush=True)
        ledger_bench.migrate(engine)
        fixture = ledger_bench.seed(engine, url)
        step = (utcnow() - timedelta(days=1) - ledger_bench.LEDGER_START) / args.entries
        added, ledger_seconds = ledger_bench.load_entries(
            engine, fixture, args.entries, step=step, seed=args.seed
        )
        print(f"  {added:,} ledger entries in {ledger_seconds:.1f} s", flush=True)
        site = set_up(engine, fixture, [code.strip() for code in args.regimes.split(",")])
        loaded, stock_seconds = load_stock(engine, site, args.lots, args.seed)
        rows = sum(loaded.rows.values())
        print(
            f"  {rows:,} stock rows in {stock_seconds:.1f} s: "
            + ", ".join(f"{name} {n:,}" for name, n in loaded.rows.items())
        )
        print(
            f"  {len(loaded.lots)} resources in stock: busiest {loaded.ranked[0]} "
            f"{loaded.lots[loaded.ranked[0]]:,} lots, rarest {loaded.ranked[-1]} "
            f"{loaded.lots[loaded.ranked[-1]]:,}; {loaded.overdue} tools overdue"
        )
        if engine.dialect.name == "sqlite":
            size = Path(engine.url.database or "").stat().st_size / 1e6
            print(f"  database file {size:,.0f} MB")

        print("\n== Checking the data", flush=True)
        for line in check(engine):
            print(f"  {line}")

        app = create_app(
            {
                "OFFICE_ENV": "development",
                "SECRET_KEY": secrets.token_hex(32),
                "OFFICE_DATABASE_URL": url,
            }
        )
        app_engine = app.extensions["office.db"].engine
        engines = [engine, app_engine]
        client = logged_in(app, site.admin_session_id)
        deliveries = Deliveries(engine, app, site, args.lines, args.seed)
        failures = check_pages(app, client, site, loaded)
        for problem in failures:
            print(f"  FAILS: {problem}")
        if not failures:
            print("  the pages of the tanks' oldest lots (opening stock) open")

        print("\n== Measuring the stock pages", flush=True)
        before = wait_for_quiet(args.max_load, args.max_wait)
        print(f"  {args.warmup} warm-up runs, then {args.runs} timed runs each, taking turns")
        pages = stock_probes(client, site, loaded)
        measure(pages, args.warmup, args.runs)
        count_statements(pages, engines)
        print(f"  load average before {before}, after {load_average()}")

        print("\n== Measuring the crossing", flush=True)
        before = wait_for_quiet(args.max_load, args.max_wait)
        print(
            f"  each run on a new approved delivery of {args.lines} lines (prepared through "
            f"the services, untimed); 1 warm-up, then {args.crossings} timed runs each; "
            f"regimes in force: {', '.join(site.regimes)}"
        )
        crossings = crossing_probes(engine, app, client, site, deliveries)
        measure(crossings, 1, args.crossings)
        count_statements(crossings, engines)
        print(
            f"  load average before {before}, after {load_average()}; {deliveries.made} "
            f"deliveries prepared (median {statistics.median(deliveries.seconds):.1f} s each), "
            f"their lines on {len(deliveries.waiver_lines)} waiver lines"
        )

        found = pages + crossings
        print_results(found)
        print("\n== Checking after the run", flush=True)
        print(f"  {check_crossings(engine, args.lines)}")
        for line in check(engine):
            print(f"  {line}")

        slow = [probe for probe in found if args.profile or probe.misses]
        if slow:
            print("\n== Where the time goes", flush=True)
            for probe in slow:
                diagnose(probe, engine, engines)

        print(f"\n== Summary ({engine.dialect.name}, load average {load_average()})")
        print(
            f"  data: {args.entries:,} ledger entries before the crossings; {args.lots:,} stock "
            f"lots over {len(loaded.lots)} resources ({rows:,} rows with movements and draws)"
        )
        for probe in found:
            print(
                f"  {probe.name}: median {probe.median:.1f} ms, p95 {probe.p95:.1f} ms, "
                f"{len(probe.statements)} statements ({probe.verdict})"
            )
        for probe in crossings:
            if probe.group == "crossing":
                print(
                    f"  {probe.name}, under {len(site.regimes)} regimes "
                    f"({', '.join(site.regimes)}): median {probe.median / 1000:.3f} s, "
                    f"max {max(probe.samples) / 1000:.3f} s"
                )
        app_engine.dispose()
    finally:
        engine.dispose()
        if args.keep:
            print(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def check_crossings(engine: Engine, lines: int) -> str:
    """Confirm every crossed delivery drew each of its lines once on the ledger, and every
    received one holds a lot per line."""
    with Session(engine) as session:
        statuses = Counter(
            session.scalars(select(Delivery.status).where(Delivery.reference.like("BENCH-X-%")))
        )
        crossed = statuses[DeliveryStatus.CROSSED] + statuses[DeliveryStatus.RECEIVED]
        entries = session.scalar(
            select(func.count())
            .select_from(DrawdownEntry)
            .where(
                DrawdownEntry.source == Source.DELIVERY,
                DrawdownEntry.source_ref.like("BENCH-X-%"),
            )
        )
        flagged = session.scalar(
            select(func.count())
            .select_from(DrawdownEntry)
            .where(DrawdownEntry.source_ref.like("BENCH-X-%"), DrawdownEntry.flagged)
        )
        lots = session.scalar(
            select(func.count())
            .select_from(StockLot)
            .where(StockLot.source == LotSource.DELIVERY, StockLot.source_ref.like("BENCH-X-%"))
        )
        screenings = session.scalar(
            select(func.count())
            .select_from(EntryScreening)
            .join(DrawdownEntry, DrawdownEntry.id == EntryScreening.entry_id)
            .where(DrawdownEntry.source_ref.like("BENCH-X-%"))
        )
        waivers_used = session.scalar(
            select(func.count(func.distinct(WaiverLine.waiver_id))).where(
                WaiverLine.id.in_(
                    select(DrawdownEntry.waiver_line_id).where(
                        DrawdownEntry.source_ref.like("BENCH-X-%")
                    )
                )
            )
        )
    if entries != crossed * lines or lots != statuses[DeliveryStatus.RECEIVED] * lines:
        raise SystemExit(
            f"crossings: {crossed} deliveries crossed, {entries} entries; "
            f"{statuses[DeliveryStatus.RECEIVED]} received, {lots} lots"
        )
    return (
        f"{crossed} deliveries crossed, {entries:,} ledger entries ({flagged} overridden) on "
        f"{waivers_used} waivers, {screenings:,} screenings "
        f"({screenings / max(entries, 1):.1f} regimes an entry); "
        f"{statuses[DeliveryStatus.RECEIVED]} received into {lots:,} lots"
    )


if __name__ == "__main__":
    main()
