"""The README's meter head-end client, run as written against a live server: a day of
15-minute readings posted as one batch, recorded once however often it is sent, and a refused
batch reported row by row."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from office.fuel.models import MeterReading
from tests.api.conftest import token_of
from tests.concurrency import Office

README = Path(__file__).resolve().parents[2] / "README.md"


def headend_script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    [script] = [block for block in blocks if block.startswith('"""headend.py')]
    return script


@pytest.fixture
def server(office: Office) -> Iterator[str]:
    """The office's app served over HTTP on a free port, in a thread; its base URL."""
    httpd = make_server("127.0.0.1", 0, office.app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()


def a_day(path: Path, first: int = 12) -> Path:
    """The 96 quarter hours of 2018-10-10 in Seoul, the register moving 2 kWh each."""
    start = datetime(2018, 10, 9, 15, 15, tzinfo=UTC)
    rows = [f"{(start + timedelta(minutes=15 * n)).isoformat()},{first + 2 * n}" for n in range(96)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run(script: Path, server: str, token: str, meter: int, readings: Path):
    return subprocess.run(
        [sys.executable, str(script), str(meter), str(readings)],
        env={**os.environ, "OFFICE_URL": server, "OFFICE_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def readings_of(office: Office, meter: int) -> int:
    with office.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(MeterReading)
            .where(MeterReading.meter_id == meter, MeterReading.voided_at.is_(None))
        )


def test_the_readme_head_end_posts_a_day_once_and_reports_refused_rows(
    office, server, meter_id, tmp_path
):
    script = tmp_path / "headend.py"
    script.write_text(headend_script(), encoding="utf-8")
    token = token_of(office, office.admin)
    day = a_day(tmp_path / "readings.csv")

    first = run(script, server, token, meter_id, day)
    again = run(script, server, token, meter_id, day)  # a retry after a lost answer

    assert (first.returncode, first.stdout) == (0, "recorded 96 readings\n"), first.stderr
    assert (again.returncode, again.stdout) == (0, "recorded 96 readings\n"), again.stderr
    assert readings_of(office, meter_id) == 97  # the first reading and the day, once

    refused = run(script, server, token, meter_id, a_day(tmp_path / "again.csv", first=300))

    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert lines[0] == "96 readings of the batch were refused, so none was recorded."
    assert lines[1].startswith("  row 1: The last reading of Main incomer was at 2018-10-11")
    assert len(lines) == 97
    assert readings_of(office, meter_id) == 97
