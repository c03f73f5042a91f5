"""Declarative base, engine factory and the session that lives for one request."""

from __future__ import annotations

import enum
import logging
import os
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from flask import Flask, current_app, request
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
from sqlalchemy.exc import DBAPIError, InvalidRequestError, MultipleResultsFound, NoResultFound
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.sql.expression import Executable

try:
    import fcntl
except ImportError:  # not on Windows: writers fall back to SQLite's busy handler there
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
V = TypeVar("V", bound=Callable[..., Any])


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


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's cursor of a
    SQLAlchemy `Connection`, in that connection's transaction.

    For the few statements every drawdown runs: SQLAlchemy's work around each execution
    (cache lookup, execution context, result object, events) costs several times what the
    database takes to run them. Values still pass through the columns' types both ways, and
    driver errors come out as SQLAlchemy's exceptions. What this leaves out: Python-side
    column defaults (an INSERT names every column it writes) and statement events (echo,
    `before_cursor_execute`) do not see these statements.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run the statement; return its rows (named tuples), none for plain DML."""
        plan = self._plans.get(connection.dialect.name) or self._plan(connection.dialect)
        values = plan.values(params or {})
        fairy = connection.connection  # the pool's proxy of the driver's connection
        cursor = fairy.cursor()
        try:
            cursor.execute(plan.sql, values)
            fetched = cursor.fetchall() if plan.row is not None else []
        except connection.dialect.loaded_dbapi.Error as error:
            lost = connection.dialect.is_disconnect(error, fairy.dbapi_connection, cursor)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(
                plan.sql,
                values,
                error,
                connection.dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=connection.dialect,
            ) from error
        finally:
            cursor.close()
        make, processors = plan.row, plan.results
        if make is None:
            return []
        if processors is None:
            return [make._make(raw) for raw in fetched]
        return [
            make._make([p(v) if p else v for p, v in zip(processors, raw, strict=True)])
            for raw in fetched
        ]

    def one(self, connection: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """Run the statement; return its one row (NoResultFound, MultipleResultsFound)."""
        found = self.rows(connection, params)
        if len(found) != 1:
            if not found:
                raise NoResultFound("No row was found when one was required")
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return found[0]

    def first(self, connection: Connection, params: Mapping[str, Any] | None = None) -> Any:
        found = self.rows(connection, params)
        return found[0] if found else None

    def _plan(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        if any(bind.expanding for bind in binds.values()):
            raise ValueError(f"a list for IN is sent as one value here: {self.statement}")
        required = [bind.key for bind in binds.values() if bind.required]
        fixed = compiled.construct_params(dict.fromkeys(required))
        # In the order the driver takes them: by position, or by name as the SQL names them.
        names = compiled.positiontup if compiled.positiontup is not None else list(binds)
        slots = tuple(
            _Slot(
                binds[name].key if binds[name].required else None,
                None if binds[name].required else fixed[name],
                binds[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in names
        )
        columns = list(getattr(self.statement, "exported_columns", ()))
        row = results = None
        if columns:
            if any(column.key is None for column in columns):
                raise ValueError(f"label every column this statement returns: {self.statement}")
            row = namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
            processors = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            )
            results = processors if any(processors) else None
        plan = _Plan(
            sql=compiled.string,
            names=None
            if compiled.positiontup is not None
            # as the SQL writes them: a name with a dot or a space, say, is escaped there
            else tuple(compiled.escaped_bind_names.get(name, name) for name in names),
            slots=slots,
            row=row,
            results=results,
        )
        self._plans[dialect.name] = plan
        return plan


class _Slot(NamedTuple):
    key: str | None  # the key of the caller's value; None for a value the statement holds
    value: Any  # that value
    process: Callable[[Any], Any] | None  # the column type's conversion for the driver


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...] | None  # the parameters' names; None for a positional driver
    slots: tuple[_Slot, ...]  # one per parameter, in the driver's order
    row: Any  # the named tuple of a returned row; None when the statement returns none
    results: tuple[Callable[[Any], Any] | None, ...] | None  # None: no column converts

    def values(self, params: Mapping[str, Any]) -> Any:
        values = []
        for key, value, process in self.slots:
            if key is not None:
                try:
                    value = params[key]
                except KeyError:
                    message = f"a value is required for bind parameter {key!r}"
                    raise InvalidRequestError(message) from None
            values.append(value if process is None else process(value))
        return tuple(values) if self.names is None else dict(zip(self.names, values, strict=True))


# The condition of a partial index over flagged rows only. SQLite uses such an index only when
# the query's condition is written exactly as the index's: these are what `flagged.is_(True)`
# renders on each database.
FLAGGED_ONLY = {"sqlite_where": text("flagged IS 1"), "postgresql_where": text("flagged IS true")}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """Return an engine for `url`, with SQLite set up for foreign keys, WAL and savepoints."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
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
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # A write transaction taken up front: a deferred transaction that reads and then writes
    # fails at once with SQLITE_BUSY when another writer committed in between, while
    # BEGIN IMMEDIATE waits its turn (busy_timeout). Writes are therefore serialised here.
    # LATER leaves SQLite in autocommit, each read its own snapshot, until `begin_write`.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode == "LATER":
        return
    connection.exec_driver_sql(f"BEGIN {mode}")


@dataclass
class _State:
    engine: Engine
    bind: Engine | Connection
    session_options: dict[str, Any] = field(default_factory=dict)
    writers_lock: str | None = None  # the file SQLite writers queue on
    turns: int = 0  # turns to write this process has taken


_WRITE_TURN = "office.write_turn"
_CHECKPOINT_DUE = "office.checkpoint_due"
# The app's requests checkpoint SQLite's WAL themselves, every so many writes of a process,
# at the end of their turn to write and before letting go of it. SQLite's automatic
# checkpoint would run inside the COMMIT that crosses 1,000 pages of WAL. Taken after the
# turn, a checkpoint races the next writer: under steady writes it never catches up with the
# end of the WAL, SQLite never starts the WAL over, and the file grows without bound (1.5 GB
# in 30 s of drawdowns), every page lookup slower than the last. Within the turn nothing is
# appended meanwhile, so the next writer starts the WAL from its beginning again.
CHECKPOINT_EVERY = 100


def _leave_checkpoints_to_requests(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


_BEGIN_IMMEDIATE = Prepared(text("BEGIN IMMEDIATE"))


class RequestSession(Session):
    """The session of one request; on SQLite it may hold the request's turn to write."""


def _end_write_turn(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint ended; the transaction, and the write, go on
    fd = session.info.pop(_WRITE_TURN, None)
    if fd is None:
        return
    try:
        engine = session.info.pop(_CHECKPOINT_DUE, None)
        if engine is not None:
            _checkpoint(engine)
    finally:
        os.close(fd)  # closing the file releases its lock


def _checkpoint(engine: Engine) -> None:
    """Copy the WAL's pages into the database file, as far as readers allow (PASSIVE: no
    waiting for them). On the driver's connection, outside any transaction, where SQLite
    requires it. A checkpoint that fails is only logged: the next one catches up."""
    try:
        with engine.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except Exception:
        logger.warning("WAL checkpoint failed", exc_info=True)


event.listen(RequestSession, "after_commit", _end_write_turn)
event.listen(RequestSession, "after_rollback", _end_write_turn)


def _app_ctx_id() -> int:
    return id(app_ctx._get_current_object())


class Database:
    """The app's engine and a session per application context (one per request)."""

    def __init__(self) -> None:
        self.session: scoped_session[Session] = scoped_session(
            self._create_session, scopefunc=_app_ctx_id
        )

    def init_app(self, app: Flask) -> None:
        engine = create_engine_for(app.config["DATABASE_URL"])
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        writers_lock = None
        if fcntl is not None and database and database != ":memory:":
            writers_lock = f"{database}-writers.lock"
            event.listen(engine, "connect", _leave_checkpoints_to_requests)
        app.extensions["office.db"] = _State(engine=engine, bind=engine, writers_lock=writers_lock)
        app.before_request(self._begin_request)
        app.teardown_appcontext(self._remove_session)

    @property
    def engine(self) -> Engine:
        return self._state().engine

    def bind_to(self, app: Flask, connection: Connection) -> None:
        """Bind `app`'s sessions to `connection`, each commit only releasing a savepoint."""
        state: _State = app.extensions["office.db"]
        state.bind = connection
        state.session_options = {"join_transaction_mode": "create_savepoint"}

    def _state(self) -> _State:
        return current_app.extensions["office.db"]

    def _create_session(self) -> Session:
        state = self._state()
        return RequestSession(bind=state.bind, expire_on_commit=False, **state.session_options)

    @staticmethod
    def writes_later(view: V) -> V:
        """Mark a view that calls `begin_write` itself, once it has read and checked its
        input, so that on SQLite the write lock is held only while the write needs it."""
        view._office_writes_later = True  # type: ignore[attr-defined]
        return view

    def _serialises_writes(self) -> bool:
        state = self._state()
        return state.bind is state.engine and state.engine.dialect.name == "sqlite"

    def begin_write(self) -> None:
        """Start the write transaction of a `writes_later` view (SQLite: BEGIN IMMEDIATE on
        the connection its reads used, each read in its own snapshot). Elsewhere row locks do
        the job and this does nothing."""
        if not self._serialises_writes():
            return
        session = self.session()
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() after changes: they would commit early")
        connection = session.connection()
        if connection.get_execution_options().get("sqlite_begin") != "LATER":
            # The view committed before, and a new transaction began as usual: end it.
            session.commit()
            connection = session.connection(execution_options={"sqlite_begin": "LATER"})
        self._take_write_turn(session)
        _BEGIN_IMMEDIATE.rows(connection)

    def _take_write_turn(self, session: Session) -> None:
        """Wait in the kernel for this request's turn to write the SQLite file.

        SQLite's busy handler sleeps 1, 2, 5, 10 ms... between tries, however soon the lock
        is free: with a few workers that idles most of the time a short write holds it. An
        exclusive flock on a file beside the database queues the writers instead and wakes
        the next at once. The session lets go of it when it commits or rolls back, the
        request at its end at the latest, and the kernel when a process dies.
        """
        path = self._state().writers_lock
        if path is None or _WRITE_TURN in session.info:
            return
        # Read-only is enough to lock, whichever user the file was created by.
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        session.info[_WRITE_TURN] = fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        state = self._state()
        state.turns += 1
        if state.turns % CHECKPOINT_EVERY == 0:
            session.info[_CHECKPOINT_DUE] = state.engine

    def _begin_request(self) -> None:
        if request.method in SAFE_METHODS or not self._serialises_writes():
            return
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "_office_writes_later", False):
            self.session.connection(execution_options={"sqlite_begin": "LATER"})
            return
        session = self.session()
        self._take_write_turn(session)
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})

    def _remove_session(self, _exc: BaseException | None) -> None:
        if self.session.registry.has():
            session = self.session()
            self.session.remove()
            _end_write_turn(session)


db = Database()
