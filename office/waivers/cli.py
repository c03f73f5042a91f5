"""`flask --app app ledger ...`: check the ledger's usage totals and its hash chain, sign its
head, and check the chain against the signed heads."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Engine, select

from office.db import db, utcnow
from office.waivers import checkpoints, ledger
from office.waivers.models import CheckpointKind, LedgerCheckpoint
from office.waivers.units import format_quantity

ledger_cli = AppGroup("ledger", help="The drawdown ledger.")


def _begin(isolation: str | None = None) -> None:
    """Begin the command's transaction: one snapshot for a check on PostgreSQL, SQLite's
    write lock first for a write (as a writing request does)."""
    bind = db.session.get_bind()
    if not isinstance(bind, Engine):  # already in a transaction (the tests')
        return
    if bind.dialect.name == "postgresql" and isolation:
        db.session.connection(execution_options={"isolation_level": isolation})
    elif bind.dialect.name == "sqlite" and not isolation:
        db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@ledger_cli.command("verify")
@click.option(
    "--checkpoints",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of checkpoints kept apart from the database (JSON lines); repeatable.",
)
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="COUNT:HASH:TIME:SIGNATURE",
    help="A signed head as a monthly report prints it (or COUNT:HASH); repeatable.",
)
def verify(files: tuple[Path, ...], heads: tuple[str, ...]) -> None:
    """Walk the hash chain and check it against every signed checkpoint in the database and
    in FILES and HEADS kept elsewhere; print each problem and exit 1 on any."""
    try:
        elsewhere = [claim for path in files for claim in checkpoints.read_file(path)]
        elsewhere += [checkpoints.parse_head(head) for head in heads]
    except checkpoints.BadClaim as exc:
        raise click.BadParameter(str(exc)) from None
    # One snapshot: drawdowns committed during the walk do not make the head look wrong.
    _begin("REPEATABLE READ")
    result = checkpoints.verify(db.session, checkpoints.keys_of(current_app), elsewhere)
    walk = result.chain
    if walk.problem is not None:
        click.echo(
            f"Ledger entry {walk.problem.seq}: {walk.problem.reason} "
            f"({walk.checked} entries before it are intact)."
        )
    elif result.problems:
        click.echo(
            f"Ledger NOT intact: the hash chain of {walk.checked} entries agrees with itself, "
            "but not with its signed checkpoints."
        )
    elif result.unchecked:
        click.echo(
            f"Ledger not verified: the hash chain of {walk.checked} entries agrees with itself, "
            f"but no public key is configured to check its {result.unchecked} signed "
            "checkpoints (OFFICE_LEDGER_KEY_FILE, OFFICE_LEDGER_KEY or "
            "OFFICE_LEDGER_PUBLIC_KEYS_FILE)."
        )
    else:
        click.echo(f"Ledger intact: {walk.checked} entries, hash chain whole.")
    for problem in result.problems:
        click.echo(f"{problem}.")
    if not result.intact:
        sys.exit(1)
    latest = result.latest
    if latest is None:
        click.echo(
            "No checkpoint is signed: the chain agrees with itself, but whoever controls the "
            "database could have rewritten it. Configure a signing key (OFFICE_LEDGER_KEY_FILE) "
            "and run `flask ledger checkpoint` daily."
        )
        return
    kept = len(result.matched) - result.from_database
    click.echo(
        f"Signed checkpoints: {result.from_database} in the database"
        + (f" and {kept} kept elsewhere" if kept else "")
        + f", all matching the chain; the latest signs entry {latest.seq}"
        + (f" at {latest.signed_at:%Y-%m-%d %H:%M:%S} UTC" if latest.signed_at else "")
        + f"; {_entries(walk.checked - latest.seq)} recorded after it."
    )


def _entries(n: int) -> str:
    return f"{n} entry is" if n == 1 else f"{n} entries are"


@ledger_cli.command("checkpoint")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append it to this file too (default: OFFICE_LEDGER_CHECKPOINT_FILE).",
)
def checkpoint(path: Path | None) -> None:
    """Sign the ledger's head and store the checkpoint, appended to the checkpoint file too.
    Run it daily (cron); exits 1 when no signing key is configured."""
    keys = checkpoints.keys_of(current_app)
    if keys.signing is None:
        click.echo(
            "No signing key is configured (OFFICE_LEDGER_KEY_FILE or OFFICE_LEDGER_KEY): "
            "nothing was signed."
        )
        sys.exit(1)
    _begin()
    made = checkpoints.make_checkpoint(db.session, keys, kind=CheckpointKind.DAILY, now=utcnow())
    assert made is not None, "signed with the configured key"
    db.session.commit()
    click.echo(
        f"Signed the ledger's head: entry {made.seq}, hash {made.head_hash}, key {made.key_id}."
    )
    target = path or keys.file
    if target is not None:
        try:
            checkpoints.append_to_file(target, [made])
        except OSError as exc:
            click.echo(f"Stored in the database, but not appended to {target}: {exc.strerror}.")
            sys.exit(1)
        click.echo(f"Appended to {target}.")


@ledger_cli.command("export-checkpoints")
def export_checkpoints() -> None:
    """Print every checkpoint in the database as JSON lines (to start a checkpoint file)."""
    for made in db.session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq, LedgerCheckpoint.id)
    ):
        click.echo(checkpoints.json_line(made))


@ledger_cli.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def keygen(path: Path) -> None:
    """Write a new Ed25519 signing key to PATH (mode 0600, never over an existing file) and
    print its public key, which is all a verifier needs."""
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise click.ClickException(f"Cannot create {path}: {exc.strerror}.") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(checkpoints.private_key_pem(key))
    public = key.public_key()
    click.echo(f"Wrote the signing key to {path}; its fingerprint: {checkpoints.key_id(public)}")
    click.echo(checkpoints.public_key_pem(public).decode("ascii"), nl=False)


@ledger_cli.command("check")
def check() -> None:
    """Recompute every waiver line's use from the ledger (under every regime), compare each
    entry's screenings with its hashed record, and look for records drawn twice; report each
    finding and exit 1 on any."""
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
    screenings = ledger.check_screenings(db.session)
    for screening in screenings:
        click.echo(f"entry {screening.seq}: {screening.reason}")
    if differences or twice or screenings:
        sys.exit(1)
    click.echo("Usage of every waiver line equals the ledger's sum.")
    click.echo("Every entry's screenings match its hashed record.")
    click.echo("No record is drawn more than once.")
