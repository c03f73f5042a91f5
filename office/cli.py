"""Command groups of `flask --app app ...`: db, users, demo (features add their own)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask
from flask.cli import AppGroup

from office.config import ROOT
from office.db import db

db_cli = AppGroup("db", help="Schema migrations (Alembic).")


def alembic_config() -> AlembicConfig:
    return AlembicConfig(toml_file=str(ROOT / "pyproject.toml"))


@contextmanager
def _migration_config() -> Iterator[AlembicConfig]:
    cfg = alembic_config()
    with db.engine.connect() as connection:
        cfg.attributes["connection"] = connection
        yield cfg


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: head)."""
    with _migration_config() as cfg:
        command.upgrade(cfg, revision)
    click.echo(f"Database upgraded to {revision}.")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION (default: one step back; `base` empties it)."""
    with _migration_config() as cfg:
        command.downgrade(cfg, revision)
    click.echo(f"Database downgraded to {revision}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    with _migration_config() as cfg:
        command.current(cfg, verbose=False)


@db_cli.command("history")
def db_history() -> None:
    """List the migrations."""
    command.history(alembic_config())


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True, help="Compare the models with the database.")
def db_revision(message: str, autogenerate: bool) -> None:
    """Create a new migration numbered after the last one (for developers)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    number = max((int(h) for h in heads if h.isdigit()), default=0) + 1
    with _migration_config() as cfg:
        command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=f"{number:04d}")


def register(app: Flask) -> None:
    from office.alerts.cli import alerts_cli
    from office.auth.cli import users_cli
    from office.demo import demo_cli
    from office.jobs.cli import jobs_cli
    from office.waivers.cli import ledger_cli

    for group in (db_cli, users_cli, demo_cli, ledger_cli, alerts_cli, jobs_cli):
        app.cli.add_command(group)
