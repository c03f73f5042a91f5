"""Print how long a whole ledger export takes as a job, and how much memory its worker uses.

    .venv/bin/python bench/exports.py [--entries 1000000] [--formats csv,xlsx]
                                      [--database-url URL] [--output FILE]

Builds a database with the real migrations and bulk-loads `--entries` ledger entries exactly
as `bench/ledger.py` does. Then, for each format, it asks for the export through the real
request path (the request only queues the job), runs the job in a worker process of its own
(`bench/exports.py --run-job`, which creates the app as `flask jobs worker` does and runs one
job), and reads that process's peak resident memory; last it downloads the file through the
test client, chunk by chunk, and checks it holds a row for every entry. A worker that only
starts and runs no job is measured too, so the export's own share of the memory shows.

Nothing here has a timeout: the figures are printed, and written to `--output` when given.
Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ledger as ledger_bench  # noqa: E402
from office import create_app  # noqa: E402


def run_one_job() -> None:
    """Child mode: create the app from the environment, run the job named on the command line
    (or none), print the seconds it took and this process's peak memory as JSON."""
    from office.jobs import runner

    app = create_app()
    job_id = int(sys.argv[2])
    started = time.perf_counter()
    if job_id:
        runner.execute_job(app, job_id)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_resident_kb() / 1024}))


def peak_resident_kb() -> int:
    """This process's peak resident memory since it started its program: VmHWM (Linux), not
    getrusage's ru_maxrss, which counts the parent's pages before the exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(url: str, secret_key: str, job_id: int) -> dict[str, float]:
    environ = {
        **os.environ,
        "OFFICE_ENV": "development",
        "SECRET_KEY": secret_key,
        "OFFICE_DATABASE_URL": url,
    }
    done = subprocess.run(
        [sys.executable, __file__, "--run-job", str(job_id)],
        env=environ,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx", help="csv, xlsx or both")
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    parser.add_argument("--output", help="also write the figures to this file")
    parser.add_argument("--seed", type=int, default=1718)
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="office-bench-exports-"))
    url = args.database_url or f"sqlite:///{workdir / 'exports.db'}"
    secret_key = secrets.token_hex(32)
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        say(
            f"office export benchmark: {args.entries:,} entries, python "
            f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, {platform.platform()}"
        )
        say(f"  load average {ledger_bench.load_average()}")
        engine, fixture, load_seconds, _verify = ledger_bench.build(url, args.entries, args.seed)
        say(f"  loaded in {load_seconds:.0f} s")
        engine.dispose()
        app = ledger_bench.build_app(url, secret_key)
        client = ledger_bench.logged_in(app, fixture.admin_session_id)

        idle = worker(url, secret_key, 0)
        say(f"  a worker that runs no job: peak {idle['peak_mb']:.0f} MB")
        for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
            token = {"csrf_token": ledger_bench.csrf_token(client, f"/ledger/export.{fmt}")}
            started = time.perf_counter()
            asked = client.post(f"/ledger/export.{fmt}", data=token)
            answered = time.perf_counter() - started
            ledger_bench.expect(asked, 303, f"POST /ledger/export.{fmt}")
            job_id = int(asked.location.rsplit("/", 1)[1])
            ran = worker(url, secret_key, job_id)
            state = client.get(f"/jobs/{job_id}.json").get_json()
            if state["state"] != "done":
                raise SystemExit(f"the {fmt} export ended {state['state']}: {state}")

            started = time.perf_counter()
            response = client.get(f"/jobs/{job_id}/download", buffered=False)
            first = time.perf_counter() - started
            ledger_bench.expect(response, 200, "download")
            size, path = 0, workdir / f"export.{fmt}"
            with path.open("wb") as kept:
                for chunk in response.response:
                    size += len(chunk)
                    kept.write(chunk)
            response.close()
            downloaded = time.perf_counter() - started
            if fmt == "csv":
                with path.open("rb") as read:
                    rows = sum(1 for _ in read) - 1
            else:
                with zipfile.ZipFile(path) as book:
                    sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
                    rows = sum(
                        book.read(name).count(b"<row ") - 1 for name in sheets
                    )  # minus each sheet's header
            if rows != args.entries:
                raise SystemExit(f"the {fmt} export holds {rows:,} rows, not {args.entries:,}")
            over = ran["peak_mb"] - idle["peak_mb"]
            say(
                f"  {fmt}: the request answered in {answered * 1000:.0f} ms; the job took "
                f"{ran['seconds']:.1f} s ({args.entries / ran['seconds']:,.0f} rows/s); its "
                f"worker's peak memory {ran['peak_mb']:.0f} MB ({over:+.0f} MB over an idle "
                f"worker); file {size / 1e6:.0f} MB, downloaded in chunks in {downloaded:.1f} s "
                f"(first chunk after {first * 1000:.0f} ms), {rows:,} rows"
            )
        app.extensions["office.db"].engine.dispose()
    finally:
        if args.output:
            Path(args.output).write_text("\n".join(lines) + "\n")
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--run-job":
        run_one_job()
    else:
        main()
