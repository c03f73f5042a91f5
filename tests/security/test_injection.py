"""Stored markup injection (#15, finding 1) and formulas in exports (finding 5), over the whole
app: markup, a quote that ends an attribute and a spreadsheet formula are stored in every text
column of a full office (the demo's, and what it lacks), then every page, report and export is
read as each role by following the links a user would. The markup must show only as text, the
formula only made inert, and every column that holds user text must show somewhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from office import create_app
from office.auth.models import User
from office.db import db
from office.jobs.queue import queue_of
from tests.concurrency import TEST_SECRET_KEY, logged_in
from tests.security.hostile import (
    NOT_SHOWN,
    NOT_USER_TEXT,
    USER_TEXT,
    Crawl,
    Injected,
    crawl,
    inject,
    name_of,
    seeds,
    text_columns,
)
from tests.support import copy_of

# The office is built once for the module, from the demo office the Korean crawl reads too:
# keep them on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("demo-office")

# One reader of each role; the administrator reads in Korean, so the Korean names show.
READERS = {
    "admin": ("admin@liaison.example", "ko"),
    "scheduler": ("scheduler@liaison.example", "en"),
    "reviewer": ("reviewer@liaison.example", "en"),
}

# GET pages a link-following reader does not read here, and why.
NOT_CRAWLED = {
    "static": "our own files",
    "home.healthz": "no stored text",
    "home.favicon": "our own icon",
    "auth.login": "no stored text",
    "operations.today": "a redirect to the day's page",
    "operations.pick_day": "the day picker's GET form: a redirect to the day's page",
    "two_factor.code": "the second step of a login in progress; no stored text",
}


@dataclass
class Hostile:
    app: Flask
    engine: Engine
    injected: Injected
    crawls: dict[str, Crawl]


def _app(url: str) -> Flask:
    return create_app(
        {"OFFICE_ENV": "development", "SECRET_KEY": TEST_SECRET_KEY, "OFFICE_DATABASE_URL": url},
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        # The queue in this process (no connection of its own left open to the database).
        OFFICE_JOBS_URL="memory://",
        OFFICE_JOBS_HEARTBEAT_SECONDS=0,
    )


@pytest.fixture(scope="module")
def hostile(demo_office_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    with copy_of(demo_office_url, tmp_path_factory.mktemp("hostile")) as url:
        app = _app(url)
        with app.app_context():
            engine = db.engine
            with Session(engine, expire_on_commit=False) as session:
                start = seeds(session)
                readers = {
                    reader: session.scalars(select(User).where(User.email == email)).one()
                    for reader, (email, _language) in READERS.items()
                }
            # Anyone can put text in the audit trail: type it as the email on the login page.
            stranger = app.test_client()
            stranger.post("/login", data={"email": "=1+1@x.example", "password": "guess-1234"})
            with Session(engine) as session:
                injected = inject(session)
                session.commit()
        crawls = {}
        for reader, (_email, language) in READERS.items():
            client = app.test_client()
            client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
            logged_in(client, readers[reader])  # a server-side session, as a login opens
            crawls[reader] = crawl(app, client, start)
        try:
            yield Hostile(app, engine, injected, crawls)
        finally:
            queue_of(app).close()
            engine.dispose()


def test_every_text_column_is_known():
    """A new text column fails here until it is placed: user text (then it gets the payload
    and must show escaped) or the app's own (hashes, tokens, codes)."""
    names = {name_of(c) for c in text_columns()}
    assert set(USER_TEXT).isdisjoint(NOT_USER_TEXT)
    assert names - set(USER_TEXT) - set(NOT_USER_TEXT) == set(), "place each new column"
    assert set(USER_TEXT) | set(NOT_USER_TEXT) == names, "a listed column no longer exists"
    assert set(NOT_SHOWN) <= set(USER_TEXT)


@pytest.mark.parametrize("reader", READERS)
def test_pages_show_stored_markup_only_as_text(hostile, reader):
    read = hostile.crawls[reader]
    assert len(read.statuses) > 50, "the crawl read too little of the app to prove anything"
    failed = {url: status for url, status in read.statuses.items() if status >= 500}
    assert failed == {}
    assert read.raw == [], "user text reached a page as markup"


@pytest.mark.parametrize("reader", READERS)
def test_exports_hold_no_formula(hostile, reader):
    read = hostile.crawls[reader]
    assert any(url.endswith(".csv") or "/export" in url for url in read.statuses)
    assert read.formulas == [], "a cell of user text would be computed by a spreadsheet"


def test_every_user_text_column_shows_somewhere(hostile):
    seen: set[int] = set()
    for read in hostile.crawls.values():
        seen |= set(read.seen)
    unseen = set(hostile.injected.tags.values()) - hostile.injected.names(seen) - set(NOT_SHOWN)
    assert unseen == set(), "no page shows these: is the crawl missing a page?"
    assert not hostile.injected.names(seen) & set(NOT_SHOWN), "now shown: take it off NOT_SHOWN"


def test_every_page_is_read(hostile):
    read = set().union(*(c.endpoints for c in hostile.crawls.values()))
    pages = {
        rule.endpoint
        for rule in hostile.app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.endpoint.startswith("api.")
    }
    assert pages - read - set(NOT_CRAWLED) == set()


def test_the_monthly_pdf_prints_markup_as_text(hostile):
    # The petroleum report's PDFs the crawl reaches are of periods without transfers.
    texts = {
        url: text
        for url, text in hostile.crawls["reviewer"].pdf_texts.items()
        if url.startswith("/reviews/reports/")
    }
    assert texts, "no PDF report was read"
    for url, text in texts.items():
        flat = "".join(text.split())
        assert "<x-" in flat, f"{url} shows none of the stored text"
        assert '<ahref="http://evil.example/">x</a>' in flat or "<i><x-" in flat, url
