"""Databases for tests: the one the suite runs on, and scratch ones created and dropped."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, make_url, text

from office.cli import alembic_config
from office.config import normalise_database_url
from office.db import create_engine_for

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_DATABASE_URL = os.environ.get("OFFICE_TEST_DATABASE_URL", "").strip()


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Run the project's Alembic migrations on `engine` up (or down) to `revision`."""
    cfg = alembic_config()
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        if down:
            command.downgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)


@contextmanager
def scratch_database(directory: Path) -> Iterator[str]:
    """Yield the URL of a new empty database of the kind under test; drop it afterwards."""
    if not is_postgres(TEST_DATABASE_URL):
        path = directory / f"scratch-{secrets.token_hex(4)}.db"
        yield f"sqlite:///{path}"
        return
    server = make_url(normalise_database_url(TEST_DATABASE_URL))
    name = f"{server.database}_scratch_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_scratch_engine(directory: Path) -> Iterator[Engine]:
    with scratch_database(directory) as url:
        engine = create_engine_for(url)
        try:
            migrate(engine)
            yield engine
        finally:
            engine.dispose()
