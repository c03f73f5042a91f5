"""One fixture chain: a database migrated once per run, an outer transaction per test that is
rolled back at the end, and the app's sessions joined to it through savepoints."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from office import create_app
from office.auth.models import User
from office.auth.permissions import Role
from office.db import create_engine_for, db
from office.jobs.queue import queue_of
from office.waivers import services
from office.waivers.models import Regime, Resource
from tests.concurrency import TEST_SECRET_KEY, Office, logged_in, office_on
from tests.factories import make_resource, make_user
from tests.support import (
    CI,
    TEST_DATABASE_URL,
    copy_of,
    is_postgres,
    migrate_for_tests,
    migrated_template,
    scratch_database,
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    kind = "PostgreSQL" if is_postgres(TEST_DATABASE_URL) else "SQLite (temporary file)"
    return [f"office: database {kind}; CI={'yes' if CI else 'no'}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    # In CI nothing may be skipped: a skip there means a part of the product went untested.
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"Skipped in CI, which must run every test: {reason}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'office-test.db'}"
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        # Each of pytest-xdist's workers migrates and fills a database of its own.
        with scratch_database(tmp_path_factory.mktemp("db")) as url:
            yield url
    else:
        yield TEST_DATABASE_URL


# The fixtures through which a test reaches the database under test.
DATABASE_FIXTURES = frozenset({"database_url", "template_url", "engine", "demo_office_url"})


# Before pytest-xdist's own hook, which reads each test's xdist_group into its id
# ("...@browser") for --dist loadgroup: a group added after it is never seen.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A race that only PostgreSQL can stage (SQLite runs one writer at a time) runs in the
    # PostgreSQL pass; on SQLite it is left out, not skipped (CI fails any skip).
    # A test that touches no database proves nothing new in the PostgreSQL pass (the planner's
    # search, the input parsers): it runs in the SQLite pass only. Marked by module; a marked
    # module's test that takes a database fixture runs in both.
    if is_postgres(TEST_DATABASE_URL):
        left_out = [
            item
            for item in items
            if item.get_closest_marker("database_free")
            and not DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        ]
    else:
        left_out = [item for item in items if item.get_closest_marker("postgres_only")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        kept = set(left_out)
        items[:] = [item for item in items if item not in kept]
    # The browser tests share one served database and one Chromium: one worker runs them all
    # (`make test` distributes the rest with pytest-xdist's --dist loadgroup).
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine_for(database_url)
    migrate_for_tests(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def _new_app(database_url: str, **overrides: object) -> Flask:
    environ = {
        "OFFICE_ENV": "development",
        "SECRET_KEY": TEST_SECRET_KEY,
        "OFFICE_DATABASE_URL": database_url,
        "OFFICE_PLANNER_SECONDS": "3",
    }
    settings = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        # The queue in this process: tests run what it holds with `tests.jobs.run_jobs`, in
        # their own transaction (one connection: no heartbeat thread beside it).
        "OFFICE_JOBS_URL": "memory://",
        "OFFICE_JOBS_HEARTBEAT_SECONDS": 0,
        **overrides,
    }
    return create_app(environ, **settings)


def build_app(connection: Connection, database_url: str, **overrides: object) -> Flask:
    """A new app of the test's own (settings `overrides`), on the test's transaction."""
    app = _new_app(database_url, **overrides)
    db.bind_to(app, connection)
    return app


@pytest.fixture(scope="session")
def shared_app(database_url: str) -> Flask:
    """One app per test process: building one costs a fifth of a second (Werkzeug compiles
    every URL rule), more than most tests take. A test that changes an app's routes needs
    one of its own (`build_app`): Flask refuses new routes on an app that has served."""
    return _new_app(database_url)


@pytest.fixture
def app(shared_app: Flask, connection: Connection) -> Iterator[Flask]:
    """The app on the test's transaction; its settings are put back after the test."""
    settings = dict(shared_app.config)
    db.bind_to(shared_app, connection)
    yield shared_app
    shared_app.config.clear()
    shared_app.config.update(settings)
    queue_of(shared_app).huey.flush()  # what the test queued and did not run goes with it


LEDGER_KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def signed_app(connection: Connection, database_url: str, tmp_path: Path) -> Flask:
    """The app with a ledger signing key, appending every checkpoint to a file of its own."""
    return build_app(
        connection,
        database_url,
        OFFICE_LEDGER_SIGNING_KEY=LEDGER_KEY,
        OFFICE_LEDGER_CHECKPOINT_FILE=str(tmp_path / "checkpoints.jsonl"),
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session of the test's own, on the test's transaction, for arranging and checking."""
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session


@pytest.fixture
def admin(session: Session) -> User:
    """An office administrator (features' own conftests may define another)."""
    return make_user(session, Role.ADMIN, name="Admin Kim")


@pytest.fixture
def reviewer(session: Session) -> User:
    return make_user(session, Role.REVIEWER, name="Reviewer Park")


@pytest.fixture
def diesel(session: Session) -> Resource:
    """Diesel: capped under HS 2710, in litres."""
    return make_resource(session)


@pytest.fixture
def every_regime(session: Session) -> list[Regime]:
    """Every regime in force: the UN's, the ministry's and the US EAR (the suite's databases
    screen under the UN's alone; `tests.support.screen_under_the_un_alone`)."""
    session.execute(update(Regime).values(in_force=True))
    session.commit()
    regimes = list(session.scalars(select(Regime).order_by(Regime.position)))
    services.reclassify_resources(session)
    session.commit()
    return regimes


def log_in(client: FlaskClient, user: User) -> FlaskClient:
    """Start a session for `user` as a successful login would."""
    return logged_in(client, user)


@pytest.fixture(scope="session")
def template_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per run, which `office` copies for each test."""
    with migrated_template(tmp_path_factory.mktemp("template")) as url:
        yield url


@pytest.fixture(scope="session")
def demo_office_url(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo office of 2018 with what it lacks for every page to show something
    (`tests.security.hostile.arrange_the_rest`), loaded once per test process: a module
    that changes it works on a copy (`copy_of`); the modules that use it share the
    pytest-xdist group "demo-office", so that one process loads it."""
    from office import demo
    from tests.security.hostile import arrange_the_rest

    with copy_of(template_url, tmp_path_factory.mktemp("demo-office")) as url:
        app = create_app(
            {
                "OFFICE_ENV": "development",
                "SECRET_KEY": TEST_SECRET_KEY,
                "OFFICE_DATABASE_URL": url,
            },
            TESTING=True,
            OFFICE_JOBS_URL="memory://",
            OFFICE_JOBS_HEARTBEAT_SECONDS=0,
        )
        with app.app_context():
            with Session(db.engine) as session:
                demo.load(session)
                arrange_the_rest(session)
                session.commit()
            db.engine.dispose()  # a template takes no connection while it is copied
        yield url


@pytest.fixture
def office(template_url: str, tmp_path: Path) -> Iterator[Office]:
    """An app on a database of its own, whose requests commit for real (see
    `tests.concurrency`)."""
    with copy_of(template_url, tmp_path) as url:
        yield from office_on(url)
