"""Declarative base, column types, the engine factory and the session of one request.

The session follows SQLAlchemy's recipe for a web application: one session per request (per
application context), removed when the request ends; the view commits once. What several
requests writing at once may rely on is written down in `office.concurrency`.

SQLite: foreign keys on, WAL, and SQLAlchemy's documented fix for pysqlite's transactions
(SQLAlchemy emits BEGIN itself). A request that may write (any method but GET, HEAD and
OPTIONS) begins with BEGIN IMMEDIATE: it takes the database's write lock before it reads, so
what it checks stays true until it commits, and writers queue on SQLite's busy timeout.
SQLite checkpoints its WAL itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app, has_request_context, request
from flask.ctx import AppContext
from flask.globals import app_ctx
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Enum,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.util import ScopedRegistry
from werkzeug.local import LocalProxy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BUSY_SECONDS = 30


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC on every database (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=enum.Enum)


def enum_type(enum_class: type[E], name: str) -> Enum:
    """Return a portable string column type for `enum_class` with a named CHECK constraint."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


# The condition of a partial index over flagged rows only. SQLite uses such an index only when
# the query's condition is written exactly as the index's: these are what `flagged.is_(True)`
# renders on each database. (Dialect keyword arguments: `Index` takes them as `**dialect_kw`.)
FLAGGED_ONLY: dict[str, Any] = {
    "sqlite_where": text("flagged IS 1"),
    "postgresql_where": text("flagged IS true"),
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """Return an engine for `url`, with SQLite set up for foreign keys, WAL and savepoints."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite starts transactions on its own and breaks SAVEPOINT; hand that job to
    # SQLAlchemy (the documented fix), then turn on what SQLite leaves off by default.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    # another writer committed in between; BEGIN IMMEDIATE waits for its turn instead.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@dataclass
class _State:
    engine: Engine
    bind: Engine | Connection
    writer_bind: Engine | Connection
    session_options: dict[str, Any] = field(default_factory=dict)


def _app_ctx_id() -> int:
    # Flask types `app_ctx` as the context it stands for; it is a proxy (one object for every
    # context), and a session belongs to the context itself.
    return id(cast("LocalProxy[AppContext]", app_ctx)._get_current_object())


class Database:
    """The app's engine and a session per application context (one per request)."""

    def __init__(self) -> None:
        # SQLAlchemy's registry behind `scoped_session`, used directly so that `db.session` is
        # the `Session` itself, to the type checker too, not a proxy that only stands for one.
        self._sessions: ScopedRegistry[Session] = ScopedRegistry(self._create_session, _app_ctx_id)

    @property
    def session(self) -> Session:
        """The session of the current application context, made on first use."""
        return self._sessions()

    def init_app(self, app: Flask) -> None:
        engine = create_engine_for(app.config["DATABASE_URL"])
        writer_bind = engine
        if engine.dialect.name == "sqlite":
            writer_bind = engine.execution_options(sqlite_begin="IMMEDIATE")
        app.extensions["office.db"] = _State(engine=engine, bind=engine, writer_bind=writer_bind)
        app.teardown_appcontext(self._remove_session)

    @property
    def engine(self) -> Engine:
        return self._state().engine

    def bind_to(self, app: Flask, connection: Connection) -> None:
        """Bind `app`'s sessions to `connection`, each commit only releasing a savepoint."""
        state: _State = app.extensions["office.db"]
        state.bind = state.writer_bind = connection
        state.session_options = {"join_transaction_mode": "create_savepoint"}

    def new_session(self, *, writes: bool) -> Session:
        """A session of its own, outside the request's (a worker's short transactions); on
        SQLite one that `writes` begins with BEGIN IMMEDIATE. The caller closes it."""
        state = self._state()
        return Session(
            bind=state.writer_bind if writes else state.bind,
            expire_on_commit=False,
            **state.session_options,
        )

    def _state(self) -> _State:
        state: _State = current_app.extensions["office.db"]
        return state

    def _create_session(self) -> Session:
        state = self._state()
        writes = has_request_context() and request.method not in SAFE_METHODS
        return Session(
            bind=state.writer_bind if writes else state.bind,
            expire_on_commit=False,
            **state.session_options,
        )

    def _remove_session(self, _exc: BaseException | None) -> None:
        if self._sessions.has():
            self._sessions().close()
            self._sessions.clear()


db = Database()
