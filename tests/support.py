"""Databases for tests: the one the suite runs on, and scratch ones created and dropped."""

from __future__ import annotations

import os
import secrets
import shutil
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


# The suite's databases screen under the UN regime alone unless a test puts the others in
# force (`tests.factories.every_regime_in_force`): most tests are about one regime's rules,
# which the ministry's regime (an approval for every item) would otherwise hide.
def screen_under_the_un_alone(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE regimes SET in_force = (code = 'un')"))


def migrate_for_tests(engine: Engine) -> None:
    """Migrate `engine` to head, screening under the UN regime alone."""
    migrate(engine)
    screen_under_the_un_alone(engine)


@contextmanager
def _postgres_database(server: str, suffix: str, template: str | None = None) -> Iterator[str]:
    """Create a database named after `server`'s with `suffix` (copied from `template` if
    given) on the same PostgreSQL server; yield its URL; drop it afterwards."""
    url = make_url(normalise_database_url(server))
    name = f"{url.database}_{suffix}_{secrets.token_hex(4)}"
    copied = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copied}'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_database(directory: Path) -> Iterator[str]:
    """Yield the URL of a new empty database of the kind under test; drop it afterwards."""
    if not is_postgres(TEST_DATABASE_URL):
        yield f"sqlite:///{directory / f'scratch-{secrets.token_hex(4)}.db'}"
        return
    with _postgres_database(TEST_DATABASE_URL, "scratch") as url:
        yield url


@contextmanager
def migrated_template(directory: Path) -> Iterator[str]:
    """Yield the URL of a database migrated to head, to copy with `copy_of`; drop it after."""
    with scratch_database(directory) as url:
        engine = create_engine_for(url)
        try:
            migrate_for_tests(engine)
        finally:
            engine.dispose()  # a template takes no connection while it is copied
        yield url


@contextmanager
def copy_of(template: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a new database copied from `template`; drop it afterwards.

    A copy takes a fraction of the time migrating takes (PostgreSQL copies a template; a
    SQLite database is one file).
    """
    if not is_postgres(template):
        path = directory / f"copy-{secrets.token_hex(4)}.db"
        shutil.copyfile(make_url(template).database or "", path)
        yield f"sqlite:///{path}"
        return
    with _postgres_database(template, "copy", template=make_url(template).database) as url:
        yield url


@contextmanager
def migrated_scratch_engine(directory: Path) -> Iterator[Engine]:
    with scratch_database(directory) as url:
        engine = create_engine_for(url)
        try:
            migrate_for_tests(engine)
            yield engine
        finally:
            engine.dispose()
