"""The Korean interface is Korean (#16, point 12): every page every role can open, crawled in
Korean over the demo office, shows no English word of the app's own.

What people typed stays as they typed it (the demo's notes and descriptions are in English,
the people have Latin names), and codes, units, references and proper names are English by
nature: those are taken out before the words are counted. Whatever English is left was written
by the app and missed its translation.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import Environment
from jinja2.filters import do_truncate
from sqlalchemy import Column, Engine, select
from sqlalchemy.orm import Session

from office import create_app
from office.auth.models import User
from office.auth.permissions import Role
from office.db import Base, db
from office.fuel.models import anomaly_message, anomaly_reason
from office.stock.models import Store, StoreKind, reference_label
from tests.concurrency import TEST_SECRET_KEY
from tests.conftest import log_in
from tests.factories import make_user
from tests.jobs import job_id_of
from tests.security.hostile import seeds
from tests.support import copy_of
from tests.test_permissions import allowed

# The crawl reads the demo office the injection tests load too: one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("demo-office")

# Columns that hold what people typed (or chose as a code), shown on pages as it was entered.
TYPED = {
    "deliveries": (
        "reference",
        "crossing_point",
        "carrier",
        "vehicles",
        "approval_number",
        "customs_declaration",
        "rejected_reason",
        "note",
    ),
    "delivery_lines": ("description", "hs_code_reason", "override_reason"),
    "drawdown_entries": ("note", "override_reason", "reversal_reason"),
    "documents": ("title", "filename", "withdrawn_reason"),
    "daily_logs": ("incidents", "notes"),
    "dip_readings": ("void_reason",),
    "generator_readings": ("void_reason",),
    "generators": ("name",),
    "hs_rules": ("note",),
    "meter_readings": ("void_reason",),
    "meters": ("name",),
    "resources": ("code", "name_ko"),
    "regimes": ("name_ko", "note"),
    "review_notes": ("body",),
    "signed_off_months": ("note",),
    "staff_members": ("name_ko", "name_latin", "agency"),
    "stays": ("note",),
    "stock_movements": ("parties", "note", "void_reason"),
    "stores": ("name", "location"),
    "users": ("display_name", "email"),
    "api_tokens": ("name",),
    "user_sessions": ("user_agent",),
    "waiver_status_changes": ("note",),
    "waivers": ("reference", "title", "purpose"),
    "work_costs": ("description",),
    "work_equipment": ("note",),
    "work_orders": ("number", "room", "description", "contractor", "funding_decision"),
}

# English by nature: units and formats, the names of things and the syntax of codes.
ALLOWED = {
    # units and formats
    "kg",
    "kWh",
    "MWh",
    "bbl",
    "kVA",
    "HTML",
    "PDF",
    "CSV",
    "XLSX",
    "JSON",
    "API",
    "KB",  # a file's size
    "MB",
    "JPEG",  # the kinds of file the office keeps, by their own names
    "PNG",
    "HEIC",
    "Word",
    "Excel",
    "PowerPoint",
    "UTF",
    "HS",
    "YYYY",
    "MM",
    "DD",
    "UTC",
    "Asia",
    "Seoul",
    "TOTP",
    "QR",
    "EUC",
    "KR",
    # names: languages in their own tongue, programs, resolutions
    "English",
    "Google",
    "Microsoft",
    "Authenticator",
    "FreeOTP",
    "UNSCR",
    # countries of origin as ISO 3166 codes (KR above), and the standard's name
    "US",
    "ISO",
    "EAR",  # the US Export Administration Regulations, in the regime's Korean name
    # an HTTP header, shown as it is to be sent
    "Authorization",
    "Bearer",
    "TOKEN",
}

WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]")
# Emails, addresses, paths, hashes and anything with a digit in it are codes, not words.
CODE = re.compile(r"\S+@\S+|https?://\S+|(?<!\w)/[\w/.-]*|\b[0-9a-f]{12,}\b|[\w.-]*\d[\w.-]*")
# Not pages to read: files to download, and a feed whose key is its link.
# A particle in both of its forms, which Korean readers should never see (`office.korean`).
PARTICLE_MARKERS = re.compile(r"은\(는\)|이\(가\)|을\(를\)|과\(와\)|\(으\)로|\(이\)")
NOT_PAGES = {"static", "staffing.feed", "auth.logout"}
PER_SHAPE = 2  # pages of each kind (see `crawl`)
PER_ENDPOINT = 12


class PageText(HTMLParser):
    """The text a person sees or hears on a page, and its links. What stands in `<code>` is
    to be typed or sent as it is (a file's columns, a command, a key), not read."""

    SPOKEN = ("title", "placeholder", "aria-label", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style", "code"):
            self._hidden += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        self.parts.extend(values[k] or "" for k in self.SPOKEN if values.get(k))
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def typed_text(session: Session) -> list[str]:
    """Every value people typed, longest first, as pages show it (whole or cut short)."""
    tables = Base.metadata.tables
    values: set[str] = set()
    for table, names in TYPED.items():
        columns: list[Column[str]] = [tables[table].c[name] for name in names]
        query = select(*columns)
        if table == "stores":  # the materials store is named by the app
            query = query.where(tables[table].c.kind != StoreKind.WAREHOUSE.value)
        for row in session.execute(query):
            values.update(" ".join(v.split()) for v in row if v)
    shortened = {do_truncate(Environment(), v, 80) for v in values}
    return sorted(values | shortened, key=len, reverse=True)


def english_words(text: str, typed: list[str]) -> list[tuple[str, str]]:
    """The English words left in `text` once typed values, codes and allowed words are out,
    each with a little of the text around it."""
    text = " ".join(text.split())
    for value in typed:
        text = text.replace(value, " ")
    text = CODE.sub(" ", text)
    return [
        (m.group(), text[max(0, m.start() - 40) : m.end() + 40])
        for m in WORD.finditer(text)
        if m.group() not in ALLOWED
    ]


def crawl(
    app: Flask, client: FlaskClient, viewer: str, typed: list[str], start: tuple[str, ...]
) -> tuple[dict[str, set[str]], set[str]]:
    """Open every page reachable from `start` and from the pages without arguments, as
    `viewer`; return the English found (by word: where) and the endpoints opened."""
    adapter = app.url_map.bind("localhost")
    queue = deque(start)
    queue.extend(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.arguments
    )
    seen: set[str] = set()
    opened: dict[tuple[str, ...], int] = defaultdict(int)
    found: dict[str, set[str]] = defaultdict(set)
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        parts = urlsplit(url)
        try:
            endpoint, args = adapter.match(parts.path, method="GET")
        except Exception:  # a link outside the app's routes (or POST only): not a page
            continue
        if endpoint in NOT_PAGES or endpoint.startswith("api.") or not allowed(endpoint, viewer):
            continue
        # A kind of page: its endpoint, and what it is asked for but ids and dates (a review
        # item's kind, a queue's state), so that every kind is seen without every page.
        shape = (
            endpoint,
            *sorted(f"{k}={v}" for k, v in args.items() if not _numbered(v)),
            *sorted(f"{k}={v}" for k, v in parse_qsl(parts.query) if not _numbered(v)),
        )
        if (
            opened[shape] >= PER_SHAPE
            or sum(n for s, n in opened.items() if s[0] == endpoint) >= PER_ENDPOINT
        ):
            continue
        opened[shape] += 1
        response = client.get(url)
        response.close()  # an export streams: closing it ends its generator here
        assert response.status_code < 500, url
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = PageText()
        page.feed(response.get_data(as_text=True))
        queue.extend(link for link in page.links if link.startswith("/"))
        text = " ".join(page.parts)
        for word, context in english_words(text, typed):
            found[word].add(f"{endpoint}: …{context}…")
        for marker in PARTICLE_MARKERS.finditer(text):
            found[marker.group()].add(
                f"{endpoint}: …{text[max(0, marker.start() - 30) : marker.end() + 10]}…"
            )
    return found, {shape[0] for shape in opened}


def _numbered(value: object) -> bool:
    return any(c.isdigit() for c in str(value))


@dataclass
class KoreanOffice:
    app: Flask
    engine: Engine
    users: dict[str, User]
    start: tuple[str, ...]


@pytest.fixture
def office(demo_office_url: str, tmp_path: Path) -> Iterator[KoreanOffice]:
    """The demo office with what it lacks for every page to show something (a voided and a
    flagged reading, a plan proposed...), and a user of each role (the demo's administrator
    is a superuser), on a copy of its own (a crawl's visits leave traces another's would
    meet)."""
    with copy_of(demo_office_url, tmp_path) as url:
        app = create_app(
            {
                "OFFICE_ENV": "development",
                "SECRET_KEY": TEST_SECRET_KEY,
                "OFFICE_DATABASE_URL": url,
            },
            TESTING=True,
            WTF_CSRF_ENABLED=False,
            OFFICE_JOBS_URL="memory://",  # the crawl's jobs stay in this process
            OFFICE_JOBS_HEARTBEAT_SECONDS=0,
        )
        with app.app_context():
            engine = db.engine
            with Session(engine, expire_on_commit=False) as session:
                users = {
                    "superuser": session.scalar(select(User).where(User.is_superuser)),
                    "scheduler": session.scalar(select(User).where(User.role == Role.SCHEDULER)),
                    "reviewer": session.scalar(select(User).where(User.role == Role.REVIEWER)),
                    "admin": make_user(
                        session, Role.ADMIN, name="오행정", email="admin2@liaison.example"
                    ),
                }
                start = seeds(session)
        try:
            yield KoreanOffice(app, engine, users, start)
        finally:
            # Once no application context holds a session: a connection checked out while
            # the pool is disposed would be returned to the old pool and left open.
            engine.dispose()


@pytest.mark.parametrize("viewer", ["admin", "scheduler", "reviewer", "superuser"])
def test_every_page_in_korean_shows_no_english_of_the_apps_own(office, viewer):
    app = office.app
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    log_in(client, office.users[viewer])
    with Session(office.engine) as session:
        typed = typed_text(session)  # the login's browser among them

    # A job of the viewer's own, so that its page (and its file's address) is read too; and
    # the addresses of the exports and the PDF opened as links (their buttons post).
    asked = (
        client.post(
            "/staffing/plan", data={"side": "south", "first_day": "2018-10-01", "days": "7"}
        )
        if viewer == "scheduler"
        else client.post("/deliveries/stock/export.csv")
    )
    job = job_id_of(asked)
    extra = (
        f"/jobs/{job}",
        f"/jobs/{job}/download",
        f"/jobs/{job}.json",
        "/ledger/export.csv",
        "/audit/export.xlsx",
        "/deliveries/stock/export.xlsx",
        "/reviews/reports/2018-10.pdf",
    )
    found, opened = crawl(app, client, viewer, typed, (*office.start, *extra))

    report = sorted(f"{word} ({len(where)}×) {min(where)}" for word, where in found.items())
    assert report == [], "English in the Korean pages:\n" + "\n".join(report)
    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and rule.endpoint not in NOT_PAGES
        and not rule.endpoint.startswith("api.")
        and allowed(rule.endpoint, viewer)
    }
    assert pages - opened == set(), "pages the crawl did not reach"


# --- what the crawl found, each fixed where it is made ---------------------------------------


def test_a_meter_anomaly_reads_in_the_readers_language(app):
    reason = anomaly_reason("daily", rate="40", average="12.1")
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        korean = anomaly_message(reason)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = anomaly_message(reason)

    assert english == "40 kWh a day is above three times the 30-day average (12.1)."
    assert korean != english and "40" in korean and "12.1" in korean
    assert anomaly_message("Written before reasons were kept as facts.") == (
        "Written before reasons were kept as facts."
    )


def test_the_materials_store_and_the_apps_own_references_read_as_words(app):
    store = Store(name="Materials store", kind=StoreKind.WAREHOUSE)
    tank = Store(name="Boiler tank", kind=StoreKind.TANK)
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        assert store.shown_name == "자재 창고" and tank.shown_name == "Boiler tank"
        assert reference_label("work order 9") == "공사 지시 #9"
        assert reference_label("ledger 39") == "원장 기록 39번"
        assert reference_label("KLO-D-2018-10/1") == "KLO-D-2018-10/1"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert store.shown_name == "Materials store"
        assert reference_label("meter 1") == "meter #1"
