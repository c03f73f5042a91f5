"""Two-factor sign-in for tests: turning it on for a user, and playing the phone's part."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pyotp
from flask import Flask
from sqlalchemy.orm import Session

from office.auth import two_factor
from office.auth.models import User
from office.db import utcnow


def box_of(app: Flask) -> two_factor.SecretBox:
    return two_factor.SecretBox(app.config["OFFICE_TWO_FACTOR_KEYS"])


def code_for(secret: str, *, steps_back: int = 0) -> str:
    """The code the phone shows now (or `steps_back` steps of 30 seconds ago), taken far
    enough from a step's end that the server reads it in the same step."""
    if 30 - time.time() % 30 < 2:
        time.sleep(2.5)
    return pyotp.TOTP(secret).at(time.time() - 30 * steps_back)


def enable_two_factor(
    session: Session, user: User, box: two_factor.SecretBox, *, at: datetime | None = None
) -> tuple[str, list[str]]:
    """Turn `user`'s second factor on as its page does; return the secret and the recovery
    codes. Confirmed (by default) three steps ago, so the code of now is not a replay."""
    at = at or utcnow() - timedelta(seconds=90)
    secret = two_factor.begin_enrolment(session, user, box=box, now=at)
    codes = two_factor.confirm_enrolment(session, user, pyotp.TOTP(secret).at(at), box=box, now=at)
    session.commit()
    return secret, codes
