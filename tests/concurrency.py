"""What the concurrency tests share: an app on a database of its own whose requests commit for
real, users to send them as, and a way to send several at the same moment.

These tests run on the database the suite runs on. On PostgreSQL (CI) requests really overlap:
each runs in its own thread, on its own connection, and a barrier releases them together. On
SQLite they queue for the write lock, which must give the same outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from office import create_app
from office.auth import services as auth_services
from office.auth.models import User
from office.auth.permissions import Role
from office.db import db, utcnow
from office.jobs.queue import queue_of
from tests.factories import make_user

T = TypeVar("T")
TEST_SECRET_KEY = "test-secret-key-" + "x" * 32


def open_session(app: Flask, user: User) -> str:
    """Open a session of `user` as a successful login does (a row kept on the server,
    committed through `app`); return the key its cookie holds."""
    with app.app_context():
        _row, key = auth_services.start_session(
            db.session, user, now=utcnow(), remote_addr="127.0.0.1", user_agent="test"
        )
        db.session.commit()
    return key


def logged_in(client: FlaskClient, user: User, key: str | None = None) -> FlaskClient:
    """Give `client` the cookie of a session of `user` (`key`, or a new one)."""
    key = key or open_session(client.application, user)
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = key
        flask_session["_fresh"] = True
    return client


@dataclass
class Office:
    """An app whose requests commit to a database of their own, and a user of each role."""

    app: Flask
    engine: Engine
    users: dict[Role, User] = field(default_factory=dict)
    # One browser session per user, opened on first use and shared by that user's clients,
    # so that making a client while a transaction is `held` writes nothing.
    session_keys: dict[int, str] = field(default_factory=dict)

    @property
    def admin(self) -> User:
        return self.users[Role.ADMIN]

    @property
    def scheduler(self) -> User:
        return self.users[Role.SCHEDULER]

    @property
    def reviewer(self) -> User:
        return self.users[Role.REVIEWER]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session of the test's own, to arrange rows (commit them) and to check them."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def client(self, user: User | None = None) -> FlaskClient:
        """A test client in English, logged in as `user` when one is given."""
        client = self.app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        if user is None:
            return client
        if user.id not in self.session_keys:
            self.session_keys[user.id] = open_session(self.app, user)
        return logged_in(client, user, self.session_keys[user.id])

    def open_sessions(self) -> None:
        """Open a session for every active user who has none yet."""
        with self.session() as session:
            users = session.scalars(select(User).where(User.is_active)).all()
        for user in users:
            if user.id not in self.session_keys:
                self.session_keys[user.id] = open_session(self.app, user)


def office_on(url: str) -> Iterator[Office]:
    app = create_app(
        {"OFFICE_ENV": "development", "SECRET_KEY": TEST_SECRET_KEY, "OFFICE_DATABASE_URL": url},
        TESTING=True,
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        engine = db.engine
    office = Office(app, engine)
    with office.session() as session:
        for role in (Role.ADMIN, Role.SCHEDULER, Role.REVIEWER):
            office.users[role] = make_user(session, role, name=f"{role.value.title()}")
    try:
        yield office
    finally:
        queue_of(app).close()
        engine.dispose()


def at_once(calls: list[Callable[[], T]], timeout: float = 60) -> list[T]:
    """Run `calls` each in a thread of its own, released together; return their results in
    order (an exception in one is raised here)."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait(timeout=timeout)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]


def post(office: Office, user: User, path: str, **kwargs: Any) -> Callable[[], int]:
    """A call that posts to `path` as `user` and returns the status code."""
    client = office.client(user)

    def call() -> int:
        return client.post(path, **kwargs).status_code

    return call


@contextmanager
def held(office: Office, act: Callable[[Session], object]) -> Iterator[None]:
    """Run `act` in a transaction of its own and keep it open, its locks held, until the block
    ends; then commit it. What is sent meanwhile must wait for it, or go past it.

    Every user's browser session is opened first: opening one writes, and would wait too."""
    office.open_sessions()
    with office.session() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        act(session)
        session.flush()
        yield
        session.commit()


def in_background(call: Callable[[], T]) -> tuple[threading.Thread, list[T | Exception]]:
    """Start `call` in a thread; its answer, or what it raised, lands in the list."""
    answered: list[T | Exception] = []

    def run() -> None:
        try:
            answered.append(call())
        except Exception as exc:  # shown by the test's assertion on the answer
            answered.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, answered
