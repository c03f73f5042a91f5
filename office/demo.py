"""`flask --app app demo load`: a believable office to try the app with. Its story was written
in 2018 (the office opened on 2018-09-14); it is laid so that it ends today, or as it happened
with `--historical`."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from office.alerts import daily as alerts
from office.auth import services as auth_services
from office.auth.models import User
from office.auth.permissions import Role
from office.db import Base, db, utcnow
from office.i18n import SEOUL, office_date
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
SET_UP = date(2018, 6, 1)
# The story's day-by-day operations (fuel, meters, daily logs, rotations) as written end on
# the last day of 2018; its last dated event is the roof works' report of 2019-01-20.
STORY_ROUTINE_END = date(2018, 12, 31)
STORY_LAST_EVENT = date(2019, 1, 20)
# A live demo's rotation and night duty are planned to the end of the current month, and at
# least as far as the staffing overview looks ahead (30 days from today); later weeks are left
# for the planner.
PLANNED_AHEAD = timedelta(days=29)


def _months_later(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), or that month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class StoryCalendar:
    """When the demo's story happens.

    The story is moved by whole months, so that its months stay months (September is signed
    off, January's paint is open) and each day keeps its day of the month (the last day of a
    shorter month takes the days past it). A live story moves as far forward as it can with
    its last event still in the past; its day-by-day operations then go on up to `last_day`,
    today, and its rotations are planned up to `plan_until`. Nothing is laid later than
    `now`: what the story does later on its last day happens at `now`.
    """

    months: int
    last_day: date
    plan_until: date
    now: datetime

    @classmethod
    def historical(cls, now: datetime) -> StoryCalendar:
        """The story as written: September 2018 to January 2019."""
        return cls(0, STORY_ROUTINE_END, STORY_ROUTINE_END, now)

    @classmethod
    def live(cls, now: datetime) -> StoryCalendar:
        """The story moved to end on the office's day of `now`."""
        today = office_date(now)
        months = (today.year - STORY_LAST_EVENT.year) * 12 + today.month - STORY_LAST_EVENT.month
        if _months_later(STORY_LAST_EVENT, months) > today:
            months -= 1
        month_end = today.replace(day=monthrange(today.year, today.month)[1])
        return cls(months, today, max(month_end, today + PLANNED_AHEAD), now)

    @property
    def today(self) -> date:
        return office_date(self.now)

    def day(self, story_day: date) -> date:
        """The day on which the story's `story_day` happens."""
        return _months_later(story_day, self.months)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """`hour:minute` in Seoul on `day` (a day of this calendar), in UTC, but not after
        `now`."""
        instant = datetime.combine(day, time(hour, minute), tzinfo=SEOUL).astimezone(UTC)
        return min(instant, self.now)


# Filled by the migrations themselves, so present in every new database.
SEEDED_TABLES = frozenset({"hs_rules", "ledger_head", "regimes", "staffing_rules"})


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


def load(
    session: Session,
    ledger_keys: LedgerKeys | None = None,
    *,
    calendar: StoryCalendar | None = None,
) -> None:
    """Fill an empty database with the demo office, its story laid on `calendar` (by default
    as it happened, in 2018); the caller commits. With a signing key in `ledger_keys`, the
    month signed off signs the ledger's head, and so does the end."""
    calendar = calendar or StoryCalendar.historical(utcnow())
    from office.documents import demo as documents_demo
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
            now=calendar.at(calendar.day(SET_UP), 9),
        )
        for login in DEMO_LOGINS
    }
    admin, reviewer = users[Role.ADMIN], users[Role.REVIEWER]
    staffing_demo.load(session, scheduler=users[Role.SCHEDULER], calendar=calendar)
    timeline = Timeline()
    waivers = waivers_demo.prepare(
        session, admin=admin, reviewer=reviewer, timeline=timeline, calendar=calendar
    )
    fuel_demo.schedule(session, admin=admin, waivers=waivers, timeline=timeline, calendar=calendar)
    supplies_demo.schedule(
        session, admin=admin, waivers=waivers, timeline=timeline, calendar=calendar
    )
    reviews_demo.schedule(
        session,
        admin=admin,
        reviewer=reviewer,
        waivers=waivers,
        timeline=timeline,
        calendar=calendar,
        ledger_keys=ledger_keys,
    )
    timeline.run()
    documents_demo.load(session, admin=admin, reviewer=reviewer, calendar=calendar)
    if ledger_keys is not None:
        make_checkpoint(session, ledger_keys, kind=CheckpointKind.DAILY, now=calendar.now)
    # As the daily job would have raised them this morning.
    alerts.raise_alerts(session, today=calendar.today, now=calendar.now)
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
@click.option(
    "--historical",
    is_flag=True,
    help="Lay the story on its own dates, September 2018 to January 2019, instead of ending "
    "it today.",
)
def load_command(if_empty: bool, historical: bool) -> None:
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
    now = utcnow()
    calendar = StoryCalendar.historical(now) if historical else StoryCalendar.live(now)
    load(db.session, keys_of(current_app), calendar=calendar)
    db.session.commit()
    first, last = calendar.day(SET_UP), max(calendar.last_day, calendar.day(STORY_LAST_EVENT))
    click.echo(f"Demo data loaded: the office's story runs from {first} to {last}.")
    _print_logins(db.session)
