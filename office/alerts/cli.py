"""`flask alerts raise`: run the daily alerts now (the daily job runs the same)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from office.alerts import daily
from office.db import db, utcnow
from office.i18n import office_date

alerts_cli = AppGroup("alerts", help="The daily alerts.")


@alerts_cli.command("raise")
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="As of this day (default: today)."
)
def raise_command(day: object) -> None:
    """Raise a notice for each event found that was not raised before."""
    now = utcnow()
    today = day.date() if day is not None else office_date(now)  # type: ignore[attr-defined]
    assert isinstance(today, date)
    with db.new_session(writes=True) as session:
        raised = daily.raise_alerts(session, today=today, now=now)
        session.commit()
    click.echo(f"{raised} new notices as of {today.isoformat()}.")
