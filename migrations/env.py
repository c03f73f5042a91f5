"""Alembic environment: runs on the connection the app's `db` command (or a test) hands over,
or on OFFICE_DATABASE_URL when called as plain `alembic`."""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from office import config as office_config
from office.db import UTCDateTime, create_engine_for
from office.jobs.queue import is_ours
from office.models import Base
from office.waivers.units import Quantity

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import the app's column types: a later change to one would
    # rewrite history. UTC datetimes are plain timezone-aware DATETIME columns.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Quantity):
        return "sa.BigInteger()"  # millionths of the unit
    return False


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    # Huey's tables (the job queue, on PostgreSQL in the app's database) are Huey's to make.
    return is_ours(name, type_)


def check_foreign_keys(*, ctx: MigrationContext, step: Any, **_: Any) -> None:
    """Refuse a step that left a row pointing at nothing. On SQLite each step runs in its
    own transaction and this runs at its end, inside it: the step is rolled back."""
    assert ctx.connection is not None
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"Migration {step.short_log} broke foreign keys: {broken[:5]}")


def run_on(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    driver = connection.connection.driver_connection
    external = connection.in_transaction()  # the caller's: committed or not by the caller
    if sqlite:
        # SQLite rebuilds tables to alter them; with foreign keys on, dropping the old copy
        # would cascade. Turn them off (possible only outside a transaction); each step
        # checks them before it commits.
        driver.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
            render_item=render_item,
            include_name=include_name,
            on_version_apply=[check_foreign_keys] if sqlite else [],
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            # Outside any transaction, or SQLite ignores it and the pooled connection would
            # go on without foreign keys. Each step has committed; what is left open is
            # only a read Alembic began after the last.
            if connection.in_transaction() and not external:
                connection.rollback()
            driver.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = office_config.load(os.environ)["DATABASE_URL"]
    engine = create_engine_for(url)
    with engine.connect() as connection:
        run_on(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
