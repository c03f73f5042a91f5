"""`flask --app app demo load`: a believable office, opened 2018-09-14, to try the app with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth import services as auth_services
from office.auth.models import User
from office.auth.permissions import Role
from office.db import Base, db, utcnow
from office.waivers.checkpoints import LedgerKeys, keys_of, make_checkpoint
from office.waivers.models import CheckpointKind

demo_cli = AppGroup("demo", help="Demonstration data.")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    name: str
    role: Role
    superuser: bool = False


DEMO_LOGINS = (
    DemoLogin("admin@liaison.example", "demo-admin-2018", "김지훈", Role.ADMIN, superuser=True),
    DemoLogin("scheduler@liaison.example", "demo-scheduler-2018", "이서연", Role.SCHEDULER),
    DemoLogin("reviewer@liaison.example", "demo-reviewer-2018", "박민준", Role.REVIEWER),
)


# The demo office's accounts are opened before its first waiver is filed.
SET_UP = datetime(2018, 6, 1, 0, 0, tzinfo=UTC)  # 09:00 in Seoul

# Filled by the migrations themselves, so present in every new database.
SEEDED_TABLES = frozenset({"hs_rules", "ledger_head", "staffing_rules"})


def database_is_empty(session: Session) -> bool:
    return all(
        session.execute(select(1).select_from(table).limit(1)).first() is None
        for table in Base.metadata.sorted_tables
        if table.name not in SEEDED_TABLES
    )


class Timeline:
    """Actions of several features' demos, replayed in date order so that each one meets the
    waivers as they stood on its day."""

    def __init__(self) -> None:
        self._actions: list[tuple[date, int, int, Callable[[], object]]] = []

    def at(self, day: date, action: Callable[[], object], order: int = 1) -> None:
        self._actions.append((day, order, len(self._actions), action))

    def run(self) -> None:
        for _day, _order, _n, action in sorted(self._actions, key=lambda a: a[:3]):
            action()


def load(session: Session, ledger_keys: LedgerKeys | None = None) -> None:
    """Fill an empty database with the demo office; the caller commits. With a signing key in
    `ledger_keys`, the month signed off signs the ledger's head, and so does the end."""
    from office.fuel import demo as fuel_demo
    from office.reviews import demo as reviews_demo
    from office.staffing import demo as staffing_demo
    from office.supplies import demo as supplies_demo
    from office.waivers import demo as waivers_demo

    users = {
        login.role: auth_services.create_user(
            session,
            email=login.email,
            display_name=login.name,
            role=login.role,
            password=login.password,
            is_superuser=login.superuser,
            actor=None,
            now=SET_UP,
        )
        for login in DEMO_LOGINS
    }
    admin, reviewer = users[Role.ADMIN], users[Role.REVIEWER]
    staffing_demo.load(session, scheduler=users[Role.SCHEDULER])
    timeline = Timeline()
    waivers = waivers_demo.prepare(session, admin=admin, reviewer=reviewer, timeline=timeline)
    fuel_demo.schedule(session, admin=admin, waivers=waivers, timeline=timeline)
    supplies_demo.schedule(session, admin=admin, waivers=waivers, timeline=timeline)
    reviews_demo.schedule(
        session,
        admin=admin,
        reviewer=reviewer,
        waivers=waivers,
        timeline=timeline,
        ledger_keys=ledger_keys,
    )
    timeline.run()
    if ledger_keys is not None:
        make_checkpoint(session, ledger_keys, kind=CheckpointKind.DAILY, now=utcnow())
    session.flush()


def _print_logins(session: Session) -> None:
    present = set(session.scalars(select(User.email)))
    shown = [login for login in DEMO_LOGINS if login.email in present]
    if not shown:
        return
    click.echo("Demo logins:")
    for login in shown:
        extra = ", superuser" if login.superuser else ""
        click.echo(f"  {login.role.value:<10} {login.email:<28} {login.password}{extra}")


@demo_cli.command("load")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing (and succeed) when the database already holds data.",
)
def load_command(if_empty: bool) -> None:
    """Fill an empty database with demo data and print the demo logins."""
    if current_app.config["OFFICE_ENV"] == "production":
        raise click.ClickException("Demo data is not loaded in production (OFFICE_ENV=production).")
    if not database_is_empty(db.session):
        if if_empty:
            click.echo("The database already holds data; demo data not loaded.")
            _print_logins(db.session)
            return
        raise click.ClickException(
            "The database already holds data; demo data is only loaded into an empty database."
        )
    load(db.session, keys_of(current_app))
    db.session.commit()
    click.echo("Demo data loaded.")
    _print_logins(db.session)
