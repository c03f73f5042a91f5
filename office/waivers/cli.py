"""`flask --app app ledger ...`: check the ledger's usage totals and its hash chain."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from office.db import db
from office.waivers import ledger
from office.waivers.units import format_quantity

ledger_cli = AppGroup("ledger", help="The drawdown ledger.")


@ledger_cli.command("verify")
def verify() -> None:
    """Walk the hash chain; print the first entry that does not match and exit 1."""
    checked, problem = ledger.verify_chain(db.session)
    if problem is not None:
        click.echo(
            f"Ledger entry {problem.seq}: {problem.reason} "
            f"({checked} entries before it are intact)."
        )
        sys.exit(1)
    click.echo(f"Ledger intact: {checked} entries, hash chain whole.")


@ledger_cli.command("check")
def check() -> None:
    """Recompute every waiver line's use from the ledger, and look for records drawn twice;
    report each finding and exit 1 on any."""
    differences = ledger.check_usage(db.session)
    for difference in differences:
        line = difference.line
        unit = line.resource.unit.value
        click.echo(
            f"{line.waiver.reference} line {line.line_no} ({line.resource.code}): stored use "
            f"{format_quantity(difference.stored)} {unit}, ledger sum "
            f"{format_quantity(difference.actual)} {unit}"
        )
    twice = ledger.drawn_twice(db.session)
    for group in twice:
        seqs = ", ".join(str(seq) for seq in group.seqs)
        click.echo(f"{group.source.value} {group.source_ref} is drawn by entries {seqs}")
    if differences or twice:
        sys.exit(1)
    click.echo("Usage of every waiver line equals the ledger's sum.")
    click.echo("No record is drawn more than once.")
