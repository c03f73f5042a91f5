"""The steps of signing in that the session carries between requests, and what the lockout
tells a user who is refused.

A user with a second factor is not logged in by their password: the session keeps only who
they are and since when (`PENDING_FOR` at most) until their code is accepted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, session

from office.auth.models import User
from office.auth.services import Block, LoginBlock
from office.auth.two_factor import SecretBox
from office.db import db
from office.i18n import _, format_datetime

PENDING_KEY = "signin_pending"
PENDING_FOR = timedelta(minutes=5)


def secret_box() -> SecretBox:
    """The app's box for two-factor secrets, built once from OFFICE_TWO_FACTOR_KEYS."""
    box = current_app.extensions.get("office_two_factor_box")
    if box is None:
        box = SecretBox(current_app.config["OFFICE_TWO_FACTOR_KEYS"])
        current_app.extensions["office_two_factor_box"] = box
    return box


def required_roles() -> frozenset[str]:
    return frozenset(current_app.config.get("OFFICE_TWO_FACTOR_REQUIRED_ROLES", frozenset()))


def await_code(user: User, next_target: str | None, *, now: datetime) -> None:
    """Remember, in a fresh session, that `user` gave the right password at `now`."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[PENDING_KEY] = {"user_id": user.id, "at": now.isoformat(), "next": next_target or ""}


def pending_login(*, now: datetime) -> tuple[User, str] | None:
    """The user awaiting their code in this session, and where to go next; None when nobody
    is, or when they gave their password more than `PENDING_FOR` ago."""
    pending: Any = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        since = datetime.fromisoformat(str(pending["at"]))
        user_id = int(pending["user_id"])
    except (KeyError, TypeError, ValueError):
        return None
    if not since <= now < since + PENDING_FOR:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return user, str(pending.get("next") or "")


def forget_pending() -> None:
    session.pop(PENDING_KEY, None)


def refusal_message(block: LoginBlock) -> str:
    """What a user refused by the lockout reads: which rule, and until when."""
    until = format_datetime(block.until)
    if block.rule is Block.NETWORK:
        return _(
            "Too many failed attempts from your network. Logging in from it is blocked "
            "until %(time)s, except to accounts recently used from it.",
            time=until,
        )
    if block.rule is Block.ACCOUNT:
        return _(
            "Too many failed attempts on this account from many places. Logging in with it "
            "is blocked until %(time)s, except from the places it was recently used from.",
            time=until,
        )
    return _(
        "Too many failed attempts. Logging in with this email from your network is blocked "
        "until %(time)s.",
        time=until,
    )
