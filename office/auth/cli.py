"""`flask --app app users ...`: accounts from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from office.auth import services, two_factor
from office.auth.login import session_limits
from office.auth.models import ApiToken, CredentialEnd, User, UserSession
from office.auth.permissions import Role
from office.db import db, utcnow
from office.errors import DomainError
from office.i18n import format_datetime

users_cli = AppGroup("users", help="User accounts.")


def _read_password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"Cannot read {password_file}: {exc}") from None
        if not lines or not lines[0]:
            raise click.ClickException(f"{password_file} is empty; put the password on line 1.")
        return lines[0]
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user(email: str) -> User:
    user = services.find_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No user has the email {email}.")
    return user


def _commit_or_fail(action: str) -> None:
    db.session.commit()
    click.echo(action)


_password_file = click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the password from line 1 of this file instead of prompting.",
)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--superuser", is_flag=True, help="May manage user accounts.")
@click.option("--name", help="Display name (default: the part of the email before @).")
@_password_file
def create(
    email: str, role: str, superuser: bool, name: str | None, password_file: Path | None
) -> None:
    """Create a user with EMAIL."""
    password = _read_password(password_file)
    try:
        user = services.create_user(
            db.session,
            email=email,
            display_name=name or email.split("@")[0],
            role=Role(role),
            password=password,
            is_superuser=superuser,
            actor=None,
            now=utcnow(),
        )
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    _commit_or_fail(f"Created {user.email} ({user.role}{', superuser' if superuser else ''}).")


@users_cli.command("list")
def list_users() -> None:
    """List every user."""
    users = db.session.scalars(select(User).order_by(User.email, User.id)).all()
    if not users:
        click.echo("No users yet.")
    for user in users:
        flags = [user.role.value]
        if user.is_superuser:
            flags.append("superuser")
        if not user.is_active:
            flags.append("inactive")
        click.echo(f"{user.email}\t{user.display_name}\t{', '.join(flags)}")


@users_cli.command("set-password")
@click.argument("email")
@_password_file
def set_password(email: str, password_file: Path | None) -> None:
    """Give the user with EMAIL a new password (ends their sessions and API tokens)."""
    user = _user(email)
    password = _read_password(password_file)
    try:
        services.set_password(db.session, user, password, actor=None, now=utcnow())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    _commit_or_fail(f"New password set for {user.email}.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Stop the user with EMAIL from logging in (ends their sessions and API tokens)."""
    user = _user(email)
    try:
        services.deactivate_user(db.session, user, actor=None, now=utcnow())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    _commit_or_fail(f"Deactivated {user.email}.")


@users_cli.command("reactivate")
@click.argument("email")
def reactivate(email: str) -> None:
    """Let the deactivated user with EMAIL log in again (their old tokens stay revoked)."""
    user = _user(email)
    try:
        services.reactivate_user(db.session, user, actor=None, now=utcnow())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    _commit_or_fail(f"Reactivated {user.email}.")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="command line", help="A name to tell the token apart.")
def token(email: str, name: str) -> None:
    """Print a new API token for the user with EMAIL (shown only this once)."""
    user = _user(email)
    try:
        _row, secret = services.create_api_token(
            db.session, user, name=name, actor=None, now=utcnow()
        )
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(secret)


# --- sessions and tokens: see them and end them -------------------------------------------

tokens_cli = AppGroup("tokens", help="API tokens: list them, revoke them.")
sessions_cli = AppGroup("sessions", help="Browser sessions: list them, end them.")
users_cli.add_command(tokens_cli)
users_cli.add_command(sessions_cli)


def _token_status(row: ApiToken) -> str:
    if services.token_is_live(row):
        return "live"
    if row.revoked_at is None:
        return "no longer valid"
    reason = row.revoked_reason.value if row.revoked_reason else "revoked"
    return f"{reason} {format_datetime(row.revoked_at)}"


@tokens_cli.command("list")
@click.argument("email", required=False)
@click.option("--all", "everything", is_flag=True, help="Show revoked tokens too.")
def list_tokens(email: str | None, everything: bool) -> None:
    """List the live API tokens of the user with EMAIL, or of everyone."""
    user = _user(email) if email else None
    rows = services.tokens_of(db.session, user, live_only=not everything)
    if not rows:
        click.echo("No tokens.")
    for row in rows:
        click.echo(
            "\t".join(
                [
                    str(row.id),
                    f"{row.prefix}…",
                    row.user.email,
                    row.name,
                    f"created {format_datetime(row.created_at)}",
                    f"last used {format_datetime(row.last_used_at) or 'never'}",
                    _token_status(row),
                ]
            )
        )


def _find_token(reference: str) -> ApiToken:
    """The token with this id, or whose first characters (as listed) are these."""
    reference = reference.rstrip("…")
    if reference.isdigit():
        row = db.session.get(ApiToken, int(reference))
        rows = [row] if row is not None else []
    else:
        rows = list(db.session.scalars(select(ApiToken).where(ApiToken.prefix == reference)))
    if len(rows) != 1:
        problem = "No token" if not rows else "More than one token"
        raise click.ClickException(f"{problem} is {reference}; give the id that list shows.")
    return rows[0]


@tokens_cli.command("revoke")
@click.argument("tokens", nargs=-1)
@click.option("--user", "email", help="Revoke every live token of the user with this email.")
def revoke_tokens(tokens: tuple[str, ...], email: str | None) -> None:
    """Revoke the API tokens given by id or by their first characters, as list shows them."""
    if not tokens and not email:
        raise click.ClickException("Name the tokens to revoke, or give --user EMAIL.")
    rows = [_find_token(reference) for reference in tokens]
    if email:
        rows += services.tokens_of(db.session, _user(email), live_only=True)
    now = utcnow()
    for row in rows:
        try:
            services.revoke_api_token(db.session, row, actor=None, now=now)
        except DomainError as exc:
            raise click.ClickException(f"{row.prefix}…: {exc}") from None
    _commit_or_fail(f"Revoked {len(rows)} token{'s' if len(rows) != 1 else ''}.")


@sessions_cli.command("list")
@click.argument("email", required=False)
def list_sessions(email: str | None) -> None:
    """List the open browser sessions of the user with EMAIL, or of everyone."""
    user = _user(email) if email else None
    rows = services.live_sessions(db.session, user, now=utcnow(), limits=session_limits())
    if not rows:
        click.echo("No open sessions.")
    for row in rows:
        click.echo(
            "\t".join(
                [
                    str(row.id),
                    row.user.email,
                    f"logged in {format_datetime(row.created_at)}",
                    f"last active {format_datetime(row.last_seen_at)}",
                    row.remote_addr or "-",
                    row.user_agent or "-",
                ]
            )
        )


@sessions_cli.command("end")
@click.argument("ids", nargs=-1, type=int)
@click.option("--user", "email", help="End every open session of the user with this email.")
def end_sessions(ids: tuple[int, ...], email: str | None) -> None:
    """End the browser sessions with these ids, as list shows them."""
    if not ids and not email:
        raise click.ClickException("Name the sessions to end, or give --user EMAIL.")
    rows = []
    for session_id in ids:
        row = db.session.get(UserSession, session_id)
        if row is None:
            raise click.ClickException(f"No session has the id {session_id}.")
        rows.append(row)
    now = utcnow()
    if email:
        rows += services.live_sessions(db.session, _user(email), now=now, limits=session_limits())
    for row in rows:
        try:
            services.end_session(db.session, row, reason=CredentialEnd.REVOKED, actor=None, now=now)
        except DomainError as exc:
            raise click.ClickException(f"Session {row.id}: {exc}") from None
    _commit_or_fail(f"Ended {len(rows)} session{'s' if len(rows) != 1 else ''}.")


@users_cli.command("reset-two-factor")
@click.argument("email")
def reset_two_factor(email: str) -> None:
    """Turn off the second factor of the user with EMAIL, who lost their phone."""
    user = _user(email)
    try:
        two_factor.reset_two_factor(db.session, user, actor=None, now=utcnow())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    _commit_or_fail(
        f"Two-factor sign-in of {user.email} is reset: they log in with their password "
        "and set it up again."
    )


@users_cli.command("reseal-two-factor")
def reseal_two_factor() -> None:
    """Encrypt every two-factor secret with the first key of OFFICE_TWO_FACTOR_KEY."""
    box = two_factor.SecretBox(current_app.config["OFFICE_TWO_FACTOR_KEYS"])
    resealed, unreadable = two_factor.reseal_secrets(db.session, box=box)
    db.session.commit()
    click.echo(f"{resealed} two-factor secrets encrypted with the first key.")
    if unreadable:
        raise click.ClickException(
            "No key opens the secrets of these users; reset their two-factor sign-in: "
            + ", ".join(unreadable)
        )
