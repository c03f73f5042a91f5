"""The office's working day as Locust users: administrators, reviewers and schedulers.

bench/load.py builds the database, serves it with gunicorn and runs this file as a script
(below, `main`), which drives Locust as a library in a process of its own: Locust patches the
standard library for gevent when it is imported, which the driver must not have. The same user
classes run under Locust's own command line against a server that load.py's database
arrangement prepared:

    LOAD_CONFIG=config.json .venv/bin/locust -f bench/locustfile.py --host http://127.0.0.1:8000

`LOAD_CONFIG` names the JSON file load.py writes: the day, the accounts with their passwords
and API tokens, the ids of the tank, waiver lines and meters. Every user logs in through the
real login form and posts the real forms with the CSRF token of the page it was on; the API
takes a bearer token. A form post that does not answer with its redirect is a failure, so a
refusal cannot pass as throughput. Each kind of request has a name (Locust's `name=`), the
route with its variable parts in brackets, so the statistics group by kind.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, between, task
from locust.env import Environment

CONFIG: dict[str, Any] = (
    json.loads(Path(os.environ["LOAD_CONFIG"]).read_text()) if os.environ.get("LOAD_CONFIG") else {}
)
CSRF = re.compile(r'name="(?:[\w-]*-)?csrf_token"[^>]*?value="([^"]+)"')
ALERT = re.compile(r'(?:role="alert"|class="[^"]*error[^"]*")[^>]*>\s*([^<]{1,160})')
DELIVERY_ID = re.compile(r"/deliveries/(\d+)$")

_accounts = {
    role: itertools.cycle(accounts) for role, accounts in CONFIG.get("accounts", {}).items()
}
_numbers = itertools.count(1)
logged_in = 0  # users that have finished logging in; main() waits for all of them


@dataclass
class MeterClock:
    """A grid meter's next reading: one minute of today later and 5 kWh more each time.

    Readings of a meter must be later and higher than its last, so each meter is read by one
    user at a time (`MeterPool`); minutes run from 00:01 of the day, one per reading.
    """

    id: int
    value: int
    minute: int = 0

    def next(self) -> tuple[str, int] | None:
        if self.minute >= 24 * 60 - 1:
            return None  # the day's minutes are used up on this meter
        self.minute += 1
        self.value += CONFIG["kwh_per_minute"]
        return f"{self.minute // 60:02d}:{self.minute % 60:02d}", self.value


class MeterPool:
    """The meters free to read. gevent switches only at I/O, so taking one is atomic."""

    def __init__(self, meters: list[dict[str, int]]) -> None:
        self.free = [MeterClock(m["id"], m["value"]) for m in meters]

    def take(self) -> MeterClock | None:
        return self.free.pop(0) if self.free else None

    def give_back(self, meter: MeterClock) -> None:
        self.free.append(meter)


meters = MeterPool(CONFIG.get("meters", []))


def alert_text(html: str) -> str:
    found = ALERT.search(html or "")
    return found.group(1).strip() if found else ""


class OfficeUser(FastHttpUser):
    """A person of one role at a browser: logs in once, then works with 1-3 s between steps."""

    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self) -> None:
        global logged_in
        account = next(_accounts[self.role])
        self.token = account.get("token", "")
        self.csrf = ""
        self.open("/login", "/login")
        self.submit(
            "/login",
            {"email": account["email"], "password": account["password"], "next": ""},
            "/login",
        )
        logged_in += 1

    def open(self, path: str, name: str) -> str:
        """GET a page; keep its CSRF token for the next form; fail on anything but 200."""
        with self.client.get(
            path, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(
                    f"HTTP {response.status_code} {response.headers.get('Location', '')}"
                )
                return ""
            text = response.text or ""
            token = CSRF.search(text)
            if token:
                self.csrf = token.group(1)
            return text

    def submit(self, path: str, data: dict[str, str], name: str, prefix: str = "") -> str | None:
        """POST a form as the browser would; return where it redirects, None when refused."""
        key = f"{prefix}-csrf_token" if prefix else "csrf_token"
        with self.client.post(
            path,
            data={**data, key: self.csrf},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code != 302 or location.startswith("/login"):
                response.failure(
                    f"HTTP {response.status_code} {location} {alert_text(response.text)}".strip()
                )
                return None
            return location


class Administrator(OfficeUser):
    """An office administrator in Kaesong: today's log, fuel, meters, drawdowns, deliveries."""

    weight = 3
    role = "admin"

    @property
    def day_path(self) -> str:
        return f"/operations/days/{CONFIG['today']}"

    def log_page(self) -> str:
        return self.open(self.day_path, "/operations/days/[today]")

    def on_start(self) -> None:
        super().on_start()
        self.log_page()

    def day_form(self, route: str, prefix: str, fields: dict[str, str]) -> None:
        """Post one of the daily log's forms, then see the log again (the redirect)."""
        data = {f"{prefix}-{key}": value for key, value in fields.items()}
        if self.submit(
            f"{self.day_path}/{route}", data, f"/operations/days/[today]/{route}", prefix
        ):
            self.log_page()

    @task(4)
    def read_log(self) -> None:
        self.log_page()

    @task(3)
    def issue_fuel(self) -> None:
        use = "boiler" if next(_numbers) % 2 else "vehicle"
        self.day_form("issues", "issue", {"tank": CONFIG["tank_id"], "quantity": "300", "use": use})

    @task(1)
    def receive_fuel(self) -> None:
        self.day_form(
            "receipts",
            "receipt",
            {
                "tank": CONFIG["tank_id"],
                "quantity": "1000",
                "unit": "L",
                "waiver_line_id": CONFIG["diesel_line_id"],
                "parties": "Load test supplier",
            },
        )

    @task(1)
    def dip(self) -> None:
        at = time.strftime("%H:%M", time.gmtime(time.time() + 9 * 3600))
        self.day_form(
            "dips", "dip", {"tank": CONFIG["tank_id"], "measured": CONFIG["dip"], "at": at}
        )

    @task(2)
    def read_meter(self) -> None:
        meter = meters.take()
        if meter is None:
            self.log_page()  # every meter is being read: look at the log instead
            return
        try:
            reading = meter.next()
            if reading is None:
                return
            at, value = reading
            self.day_form(
                "meter-readings",
                "reading",
                {"meter": meter.id, "value": str(value), "unit": "kWh", "at": at},
            )
        finally:
            meters.give_back(meter)

    @task(1)
    def write_notes(self) -> None:
        self.day_form("notes", "notes", {"incidents": "", "notes": f"Round {next(_numbers)} done."})

    @task(2)
    def drawdown(self) -> None:
        with self.client.post(
            "/api/v1/drawdowns",
            json={
                "resource": "diesel",
                "quantity": "100",
                "unit": "L",
                "occurred_on": CONFIG["today"],
                "waiver_line_id": int(CONFIG["diesel_line_id"]),
                "purpose": "operation",
                "note": "load test",
            },
            headers={"Authorization": f"Bearer {self.token}"},
            name="/api/v1/drawdowns",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                try:
                    said = json.dumps(response.json(), ensure_ascii=False)
                except ValueError:
                    said = response.text or ""
                response.failure(f"HTTP {response.status_code} {said[:200]}")

    @task(1)
    def overview(self) -> None:
        self.open("/operations/", "/operations/")
        self.wait()
        self.open("/deliveries/", "/deliveries/")

    @task(1)
    def delivery_way(self) -> None:
        """A north-bound delivery of cement from draft to received, a step at a time."""
        self.open("/deliveries/new", "/deliveries/new")
        self.wait()
        number = next(_numbers)
        location = self.submit(
            "/deliveries/new",
            {
                "reference": f"LOAD-{os.getpid()}-{number}",
                "direction": "north",
                "planned_on": CONFIG["today"],
                "crossing_point": "Gyeongui road, Dorasan",
                "carrier": "Load test carrier",
                "vehicles": "1 truck",
                "approval_number": f"MOU-LOAD-{number}",
                "approval_type": "individual",
                "customs_declaration": "",
                "note": "",
            },
            "/deliveries/new",
        )
        found = DELIVERY_ID.search(location or "")
        if not found:
            return
        path = f"/deliveries/{found.group(1)}"
        steps = [
            (
                "lines",
                {
                    "resource": CONFIG["cement_id"],
                    "quantity": "2",
                    "unit": "t",
                    "gross_weight_kg": "2100",
                    "unit_value_krw": "120000",
                    "unit_value_usd": "90",
                    "purpose": "supplies",
                    "waiver_line_id": CONFIG["cement_line_id"],
                },
            ),
            ("approve", {"on": CONFIG["today"]}),
            ("cross", {"on": CONFIG["today"]}),
            ("receive", {"on": CONFIG["today"]}),
        ]
        for step, fields in steps:
            self.open(path, "/deliveries/[id]")
            self.wait()
            if self.submit(f"{path}/{step}", fields, f"/deliveries/[id]/{step}") is None:
                return
        self.open(path, "/deliveries/[id]")


class Reviewer(OfficeUser):
    """A ministry reviewer: the dashboard, the queue, the month's report, the ledger."""

    weight = 1
    role = "reviewer"

    @task(3)
    def dashboard(self) -> None:
        self.open("/reviews/", "/reviews/")

    @task(3)
    def queue(self) -> None:
        self.open("/reviews/queue", "/reviews/queue")

    @task(1)
    def queue_of_a_kind(self) -> None:
        self.open("/reviews/queue?kind=dip_variance", "/reviews/queue?kind=[kind]")

    @task(1)
    def report(self) -> None:
        self.open(f"/reviews/reports/{CONFIG['month']}", "/reviews/reports/[month]")

    @task(1)
    def ledger(self) -> None:
        self.open("/ledger/", "/ledger/")


class Scheduler(OfficeUser):
    """A scheduler: the staffing dashboard, the month calendars, the roster, the crossings."""

    weight = 1
    role = "scheduler"

    @task(2)
    def dashboard(self) -> None:
        self.open("/staffing/", "/staffing/")

    @task(2)
    def calendar(self) -> None:
        self.open(f"/staffing/calendar?month={CONFIG['month']}", "/staffing/calendar?month=[this]")

    @task(1)
    def busy_calendar(self) -> None:
        # The demo's busiest month, every South and North person on a rotation.
        self.open(
            f"/staffing/calendar?month={CONFIG['busy_month']}", "/staffing/calendar?month=[busy]"
        )

    @task(1)
    def roster(self) -> None:
        self.open("/staffing/people", "/staffing/people")

    @task(1)
    def today(self) -> None:
        self.open("/staffing/today", "/staffing/today")

    @task(1)
    def crossings(self) -> None:
        self.open(f"/staffing/crossings/{CONFIG['today']}", "/staffing/crossings/[today]")


USER_CLASSES = [Administrator, Reviewer, Scheduler]


# --- headless run for bench/load.py -------------------------------------------------------


def cpu_ticks() -> dict[str, float]:
    """CPU seconds so far: the whole machine (busy and all), this process, and per process
    the gunicorn workers and the PostgreSQL backends serving the run's database (their
    title names it; other databases on the server are other people's work), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    own = os.times()
    ticks = {
        "machine_busy": (sum(fields[:8]) - idle) / tick,
        "machine_all": sum(fields[:8]) / tick,
        "locust": own.user + own.system,
    }
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        ppid, seconds = int(rest[1]), (int(rest[11]) + int(rest[12])) / tick
        if comm == "postgres" and DATABASE:
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                continue
            if f" {DATABASE} " in title:
                ticks[f"postgres:{entry.name}"] = seconds
        elif ppid == SERVER_PID:
            ticks[f"worker:{entry.name}"] = seconds
    return ticks


def cpu_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores used on average between two `cpu_ticks`, by part."""

    def summed(prefix: str) -> float:
        return sum(
            value - before.get(key, 0.0) for key, value in after.items() if key.startswith(prefix)
        )

    return {
        "machine": (after["machine_busy"] - before["machine_busy"]) / seconds,
        "machine_capacity": (after["machine_all"] - before["machine_all"]) / seconds,
        "workers": summed("worker:") / seconds,
        "postgres": summed("postgres:") / seconds,
        "locust": (after["locust"] - before["locust"]) / seconds,
    }


def snapshot(env: Environment) -> dict[str, Any]:
    """Per kind of request: count, failures and percentiles (ms); and every failure seen."""
    kinds = []
    for entry in sorted(env.stats.entries.values(), key=lambda e: (e.name, e.method)):
        kinds.append(
            {
                "method": entry.method,
                "name": entry.name,
                "count": entry.num_requests,
                "failures": entry.num_failures,
                "p50": entry.get_response_time_percentile(0.50),
                "p95": entry.get_response_time_percentile(0.95),
                "p99": entry.get_response_time_percentile(0.99),
                "max": entry.max_response_time,
            }
        )
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "count": e.occurrences}
        for e in env.stats.errors.values()
    ]
    return {"kinds": kinds, "errors": errors, "requests": env.stats.total.num_requests}


def wait_for_logins(users: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while logged_in < users and time.monotonic() < deadline:
        gevent.sleep(0.1)
    return logged_in >= users


def measure(env: Environment, args: argparse.Namespace) -> dict[str, Any]:
    """Start the users and wait until all have logged in (the ramp); then reset the
    statistics and measure `duration` seconds of steady work."""
    runner = env.create_local_runner()
    started = time.monotonic()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    runner.spawning_greenlet.join()
    complete = wait_for_logins(args.users, timeout=max(60.0, 4 * args.users / args.spawn_rate))
    ramp = {"seconds": time.monotonic() - started, **snapshot(env)}
    env.stats.reset_all()
    before, started = cpu_ticks(), time.monotonic()
    gevent.sleep(args.duration)
    seconds = time.monotonic() - started
    steady = {"seconds": seconds, **snapshot(env), "cpu": cpu_used(before, cpu_ticks(), seconds)}
    runner.quit()
    return {"users": args.users, "logged_in": complete, "ramp": ramp, "steady": steady}


SERVER_PID = 0
DATABASE = ""


def main(argv: list[str] | None = None) -> None:
    global DATABASE, SERVER_PID
    parser = argparse.ArgumentParser(description="Run the office's users headless (load.py).")
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started a second")
    parser.add_argument("--duration", type=float, required=True, help="steady seconds")
    parser.add_argument("--server-pid", type=int, default=0, help="gunicorn's master")
    parser.add_argument("--database", default="", help="PostgreSQL database the server uses")
    parser.add_argument("--out", type=Path, required=True, help="where the JSON result goes")
    args = parser.parse_args(argv)
    SERVER_PID, DATABASE = args.server_pid, args.database
    result = measure(Environment(user_classes=USER_CLASSES, host=args.host), args)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
