"""The README's two API clients, run as a newcomer runs them after `make run`: its shell lines
as written (the token from `.venv/bin/flask --app app users token`, the head-end's CSV made from
the meter's last reading), its two scripts as written, against a live server on the demo loaded
as `make run` loads it, with a job worker beside it that prints the ministry's PDF."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select
from werkzeug.serving import make_server

from office import create_app
from office.db import db, utcnow
from office.demo import StoryCalendar
from office.fuel.models import MeterReading
from office.jobs.queue import queue_of
from office.periods.models import SignedOffMonth
from office.reviews.demo import SIGNED_OFF
from tests.concurrency import TEST_SECRET_KEY, Office
from tests.conftest import LEDGER_KEY
from tests.jobs.test_queue import consumers
from tests.support import copy_of

# The demo takes a while to load: the module's tests share it, on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("readme-demo")

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_block(opening: str) -> str:
    [block] = [
        b for b in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if b.startswith(opening)
    ]
    return block


def shell_block(opening: str) -> str:
    [block] = [
        b for b in re.findall(r"```sh\n(.*?)```", README, re.DOTALL) if b.startswith(opening)
    ]
    return block


def ministry_command() -> str:
    [command] = re.findall(r"`(OFFICE_TOKEN=\$\(.*?\) python3 ministry\.py)`", README)
    return command


@dataclass
class Demo:
    office: Office
    url: str  # the server's
    folder: Path  # the checkout, as the README's commands see it
    calendar: StoryCalendar

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        """`script` run by bash in the checkout, as a newcomer pastes it."""
        return subprocess.run(
            ["bash", "-c", script],
            cwd=self.folder,
            env={
                **os.environ,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "OFFICE_ENV": "development",
                "SECRET_KEY": TEST_SECRET_KEY,
                "OFFICE_DATABASE_URL": self.office.engine.url.render_as_string(hide_password=False),
                "OFFICE_URL": self.url,
            },
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def readings(self) -> int:
        with self.office.session() as session:
            return session.scalar(select(func.count()).select_from(MeterReading))


@pytest.fixture(scope="module")
def demo(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`make run` on a new database: the demo loaded by `flask demo load --if-empty` (an hour
    ago, so that a quarter hour has passed since its meter's last reading), the app served
    and a job worker beside it. The checkout is a folder of its own holding `.venv` and
    `app.py`, where the README's commands leave their files."""
    folder = tmp_path_factory.mktemp("checkout")
    for name in (".venv", "app.py"):
        (folder / name).symlink_to(ROOT / name)
    with copy_of(template_url, tmp_path_factory.mktemp("readme-demo")) as url:
        app = create_app(
            {
                "OFFICE_ENV": "development",
                "SECRET_KEY": TEST_SECRET_KEY,
                "OFFICE_DATABASE_URL": url,
            },
            TESTING=True,
            OFFICE_LEDGER_SIGNING_KEY=LEDGER_KEY,
        )
        with app.app_context():
            engine = db.engine
        loaded_at = utcnow() - timedelta(hours=1)
        with time_machine.travel(loaded_at, tick=False):
            result = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
        assert result.exit_code == 0, result.output
        office = Office(app, engine)
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            with consumers(office, ("worker",)):
                yield Demo(
                    office,
                    f"http://127.0.0.1:{httpd.server_port}",
                    folder,
                    StoryCalendar.live(loaded_at),
                )
        finally:
            httpd.shutdown()
            thread.join()
            queue_of(app).close()
            engine.dispose()


def test_the_head_end_posts_the_quarter_hours_since_the_demo_meters_last_reading_once(demo):
    (demo.folder / "headend.py").write_text(python_block('"""headend.py'), encoding="utf-8")
    before = demo.readings()

    block = shell_block("export OFFICE_TOKEN=")
    first = demo.run(block)

    rows = (demo.folder / "readings.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) >= 4  # an hour since the demo's last reading, or more
    assert (first.returncode, first.stdout) == (0, f"recorded {len(rows)} readings\n"), first.stderr
    assert demo.readings() == before + len(rows)
    # The same file sent again (an answer lost on the way) is recorded once.
    token, *_csv, post = block.splitlines()
    assert post.startswith("python3 headend.py 1 readings.csv")
    again = demo.run(f"{token}\n{post}")
    assert (again.returncode, again.stdout) == (0, f"recorded {len(rows)} readings\n"), again.stderr
    assert demo.readings() == before + len(rows)


def test_the_ministry_pulls_the_signed_off_months_report_as_json_csv_and_pdf(demo):
    (demo.folder / "ministry.py").write_text(python_block('"""ministry.py'), encoding="utf-8")
    month = f"{demo.calendar.day(SIGNED_OFF):%Y-%m}"
    with demo.office.session() as session:
        signed = [f"{m:%Y-%m}" for m in session.scalars(select(SignedOffMonth.month))]
    assert signed == [month]

    result = demo.run(ministry_command())

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "rok MOU-2018-B-0814 diesel covered" in result.stdout
    assert lines[-2].startswith("flags: [(") and "'acknowledged')" in lines[-2]
    assert lines[-1] == f"wrote supply-usage-{month}.csv and supply-usage-{month}.pdf"
    assert (
        (demo.folder / f"supply-usage-{month}.csv")
        .read_text(encoding="utf-8")
        .startswith("section,waiver,resource,")
    )
    assert (demo.folder / f"supply-usage-{month}.pdf").read_bytes().startswith(b"%PDF-")
