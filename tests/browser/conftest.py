"""A real server (gunicorn, two workers, on its own migrated database with the demo data) and
a real Chromium driven by Playwright. Without Chromium the browser tests skip, except in CI."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from office.config import ROOT
from tests.support import scratch_database

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_CANDIDATES = (
    os.environ.get("OFFICE_CHROMIUM", ""),
    "/usr/lib/chromium/chromium",
    shutil.which("chromium") or "",
    shutil.which("chromium-browser") or "",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url} within {timeout} s")


@contextmanager
def _serve(directory: Path, *demo: str) -> Iterator[str]:
    """gunicorn (two workers) on a migrated database of its own with the demo loaded."""
    with scratch_database(directory) as url:
        env = {
            **os.environ,
            "OFFICE_ENV": "development",
            "SECRET_KEY": "browser-test-secret-" + "y" * 32,
            "OFFICE_DATABASE_URL": url,
            "OFFICE_PLANNER_SECONDS": "10",
        }
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        subprocess.run(
            [*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        subprocess.run(
            [*flask, "demo", "load", *demo], env=env, cwd=ROOT, check=True, capture_output=True
        )
        port = _free_port()
        log = (directory / "gunicorn.log").open("wb")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "app:app",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # A job worker beside the web server, as `make run` starts one (and production runs).
        worker_log = (directory / "worker.log").open("wb")
        worker = subprocess.Popen(
            [*flask, "jobs", "worker"],
            env=env,
            cwd=ROOT,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, server)
            yield base
        finally:
            server.terminate()
            worker.terminate()
            server.wait(timeout=15)
            worker.wait(timeout=75)
            log.close()
            worker_log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo's story on its own dates, in 2018, as the flows follow it."""
    with _serve(tmp_path_factory.mktemp("live"), "--historical") as base:
        yield base


@pytest.fixture(scope="session")
def today_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo as `make run` lays it: its story ends today."""
    with _serve(tmp_path_factory.mktemp("today")) as base:
        yield base


def _chromium() -> str | None:
    return next((path for path in CHROMIUM_CANDIDATES if path and Path(path).exists()), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


SEVERE = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
# Kinds of page already checked in this process: each is checked once, on its first visit.
CHECKED: set[str] = set()


def accessibility_problems(page: Any) -> list[str]:
    """Run axe-core on the page as it stands; describe each serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']}: "
        + "; ".join(node["html"][:120] for node in v["nodes"][:5])
        for v in violations
        if v["impact"] in SEVERE
    ]


def overflow_problems(page: Any) -> list[str]:
    """The page at phone width: nothing may push it wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size["width"]
    return [f"{page.url}: {width} px wide on a {screen} px phone"] if width > screen + 1 else []


def page_kind(url: str) -> str:
    """The page's route, numbers and dates left out: /deliveries/7 and /deliveries/9 are one."""
    path = urlsplit(url).path
    path = re.sub(r"\d{4}-\d{2}(-\d{2})?", "<date>", path)
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


def check_pages(context: Any, urls: list[str]) -> list[str]:
    """Visit each kind of page among `urls` not checked yet; run axe-core on it in English and
    in Korean, and look at phone width for anything wider than the phone."""
    problems: list[str] = []
    checker = None
    for url in dict.fromkeys(urls):
        kind = urlsplit(url).netloc + page_kind(url)  # each server's data is its own
        downloads = url.endswith((".pdf", ".csv", ".xlsx", ".ics", "/download"))
        if kind in CHECKED or downloads or "/api/" in url:
            continue
        CHECKED.add(kind)
        checker = checker or context.new_page()
        checker.set_viewport_size({"width": 1280, "height": 900})
        response = checker.goto(url)
        if response is None or response.status != 200 or page_kind(checker.url) != page_kind(url):
            continue  # logged out by the test, or a page that answers posts only
        problems += accessibility_problems(checker)
        checker.set_viewport_size(PHONE)
        problems += overflow_problems(checker)
        problems += _in_korean(checker)
    return problems


def _in_korean(checker: Any) -> list[str]:
    """The same page in Korean, through the header's switch, then back to English (the choice
    is kept on the user, and the other tests read English)."""
    checker.set_viewport_size({"width": 1280, "height": 900})
    switch = checker.get_by_role("button", name="한국어")
    if not switch.count():
        return []  # a page of its own without the header (a printable list)
    switch.click()
    checker.wait_for_load_state()
    problems = accessibility_problems(checker)
    checker.get_by_role("button", name="English").click()
    checker.wait_for_load_state()
    return problems


def _page(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context(
        base_url=base_url, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    visited: list[str] = []
    page.on("load", lambda loaded: visited.append(loaded.url))
    # An action that cannot be undone asks first: say yes, unless the test queued a no (on
    # every page of the context, a second tab included).
    page.confirm_answers, page.confirm_questions = [], []

    def answer(dialog: Any) -> None:
        page.confirm_questions.append(dialog.message)
        yes = page.confirm_answers.pop(0) if page.confirm_answers else True
        dialog.accept() if yes else dialog.dismiss()

    context.on("dialog", answer)
    yield page
    problems = check_pages(context, visited)
    context.close()
    assert not problems, "Pages with problems:\n" + "\n".join(problems)


@pytest.fixture
def page(browser: object, live_server: str) -> Iterator[object]:
    """A page at laptop size in English, on the 2018 story. After the test, each kind of page
    it loaded is checked with axe-core in both languages, and at phone width: a problem fails
    the test."""
    yield from _page(browser, live_server)


@pytest.fixture
def today_page(browser: object, today_server: str) -> Iterator[object]:
    """The same, on the demo whose story ends today."""
    yield from _page(browser, today_server)


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def nav_to(page: Any, name: str) -> None:
    """Follow the header's link named `name`, opening its menu first when it is in one."""
    named = re.compile(rf"^\s*{re.escape(name)}\s*$")
    link = page.locator("ul.main-nav a").filter(has_text=named)
    if not link.is_visible():
        menu_link = page.locator("a").filter(has_text=named)
        menu = page.locator("ul.main-nav details").filter(has=menu_link)
        menu.locator("summary").click()
    link.click()


def log_in(page: Any, login: Any, *, english: bool = True) -> None:
    """Log in through the form as `login` (one of the demo logins) and land on the home page;
    in English unless told otherwise, whatever language the user chose last (it is kept on
    the user, and a test may have left it in Korean)."""
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    if english and page.locator("html").get_attribute("lang") != "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
