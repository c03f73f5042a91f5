"""Rules for accounts: creating users, roles, passwords, activation and the login lockout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from office.audit.services import record_event
from office.auth.models import ApiToken, LoginAttempt, LoginOutcome, User, new_session_token
from office.auth.permissions import Role
from office.concurrency import LockSpace, advisory_lock, text_key
from office.errors import ConflictError, InvalidInput
from office.i18n import _l

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
EMAIL_MAX_LENGTH = 254
_FAILED = (LoginOutcome.BAD_CREDENTIALS, LoginOutcome.INACTIVE)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(password: str, *, email: str | None = None) -> None:
    """Raise InvalidInput (field `password`) when `password` is too weak or too long."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            _l("A password needs at least %(n)d characters.", n=PASSWORD_MIN_LENGTH),
            field="password",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            _l("A password can have at most %(n)d characters.", n=PASSWORD_MAX_LENGTH),
            field="password",
        )
    if email and password.strip().lower() == normalise_email(email):
        raise InvalidInput(_l("The password must not be the email address."), field="password")


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    role: Role,
    password: str,
    is_superuser: bool = False,
    actor: User | None,
    now: datetime,
) -> User:
    """Add an active user; raise InvalidInput when the email is taken or the password weak."""
    email = normalise_email(email)
    if not email or "@" not in email or len(email) > EMAIL_MAX_LENGTH:
        raise InvalidInput(_l("Enter a valid email address."), field="email")
    if find_user_by_email(session, email) is not None:
        raise InvalidInput(
            _l("A user with the email %(email)s already exists.", email=email), field="email"
        )
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInput(_l("Enter a display name."), field="display_name")
    check_password_rules(password, email=email)
    user = User(
        email=email,
        display_name=display_name,
        role=Role(role),
        is_superuser=is_superuser,
        is_active=True,
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    record_event(
        session,
        "user.created",
        actor=actor,
        target=user,
        at=now,
        email=email,
        role=user.role.value,
        is_superuser=is_superuser,
    )
    return user


def _active_superusers(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.is_superuser, User.is_active)
        )
        or 0
    )


def _refuse_losing_last_superuser(session: Session, user: User) -> None:
    # Two superusers taking each other's flag at once would each still see the other: the
    # active superusers are locked first, in one order, then the user changed, and they are
    # counted under the locks.
    session.scalars(
        select(User.id).where(User.is_superuser, User.is_active).order_by(User.id).with_for_update()
    ).all()
    session.refresh(user, with_for_update=True)
    if user.is_superuser and user.is_active and _active_superusers(session) <= 1:
        raise ConflictError(
            _l(
                "%(name)s is the only active superuser; make another user superuser first.",
                name=user.display_name,
            )
        )


def update_user(
    session: Session,
    user: User,
    *,
    display_name: str,
    role: Role,
    is_superuser: bool,
    actor: User,
    now: datetime,
) -> User:
    """Change a user's name, role and superuser flag; the last active superuser stays one."""
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInput(_l("Enter a display name."), field="display_name")
    if user.is_superuser and not is_superuser:
        _refuse_losing_last_superuser(session, user)
    changes: dict[str, str | bool] = {}
    if user.display_name != display_name:
        changes["display_name"] = display_name
    if user.role != role:
        changes["role"] = Role(role).value
    if user.is_superuser != is_superuser:
        changes["is_superuser"] = is_superuser
    user.display_name = display_name
    user.role = Role(role)
    user.is_superuser = is_superuser
    if changes:
        record_event(session, "user.updated", actor=actor, target=user, at=now, **changes)
    session.flush()
    return user


def deactivate_user(session: Session, user: User, *, actor: User | None, now: datetime) -> User:
    """Stop `user` from logging in and end their live sessions."""
    if actor is not None and actor.id == user.id:
        raise ConflictError(_l("You cannot deactivate your own account."))
    _refuse_losing_last_superuser(session, user)  # locks it, read afresh
    if not user.is_active:
        raise ConflictError(_l("%(name)s is already inactive.", name=user.display_name))
    user.is_active = False
    user.session_token = new_session_token()
    record_event(session, "user.deactivated", actor=actor, target=user, at=now)
    session.flush()
    return user


def reactivate_user(session: Session, user: User, *, actor: User | None, now: datetime) -> User:
    """Let a deactivated user log in again."""
    session.refresh(user, with_for_update=True)
    if user.is_active:
        raise ConflictError(_l("%(name)s is already active.", name=user.display_name))
    user.is_active = True
    record_event(session, "user.reactivated", actor=actor, target=user, at=now)
    session.flush()
    return user


def set_password(
    session: Session, user: User, password: str, *, actor: User | None, now: datetime
) -> User:
    """Give `user` a new password and end their live sessions."""
    check_password_rules(password, email=user.email)
    user.set_password(password)
    record_event(session, "user.password_set", actor=actor, target=user, at=now)
    session.flush()
    return user


def change_own_password(
    session: Session, user: User, current: str, new: str, *, now: datetime
) -> User:
    """Replace the user's password after checking the current one."""
    if not user.check_password(current):
        raise InvalidInput(_l("The current password is not right."), field="current_password")
    check_password_rules(new, email=user.email)
    if current == new:
        raise InvalidInput(
            _l("The new password must differ from the current one."), field="new_password"
        )
    user.set_password(new)
    record_event(session, "user.password_changed", actor=user, target=user, at=now)
    session.flush()
    return user


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    locked_until: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome is LoginOutcome.SUCCEEDED


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a password", method="scrypt")


def lockout_ends_at(session: Session, email: str, *, now: datetime) -> datetime | None:
    """Return when the lockout of `email` ends, or None when it is not locked out.

    Locked: 5 failures within 15 minutes, none followed by a success, and the 5th less than
    15 minutes ago. Refused attempts during a lockout do not extend it.
    """
    rows = session.execute(
        select(LoginAttempt.attempted_at, LoginAttempt.outcome)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.attempted_at > now - FAILURE_WINDOW - LOCKOUT,
        )
        .order_by(LoginAttempt.attempted_at, LoginAttempt.id)
    ).all()
    failures: list[datetime] = []
    for attempted_at, outcome in rows:
        if outcome is LoginOutcome.SUCCEEDED:
            failures.clear()
        elif outcome in _FAILED:
            failures.append(attempted_at)
    for first, fifth in zip(failures, failures[MAX_FAILURES - 1 :], strict=False):
        if fifth - first <= FAILURE_WINDOW and now < fifth + LOCKOUT:
            return fifth + LOCKOUT
    return None


def attempt_login(
    session: Session, email: str, password: str, *, now: datetime, remote_addr: str | None
) -> LoginResult:
    """Check a login and record the attempt; the caller commits whatever the outcome."""
    email = normalise_email(email)[:EMAIL_MAX_LENGTH]
    # One attempt per email at a time, on every worker: each counts the failures before it.
    advisory_lock(session, LockSpace.LOGIN, text_key(email))
    locked_until = lockout_ends_at(session, email, now=now)
    user = None
    if locked_until is not None:
        outcome = LoginOutcome.LOCKED_OUT
    else:
        user = find_user_by_email(session, email)
        if user is None:
            # Spend the same time as a real check so response times do not reveal accounts.
            check_password_hash(_dummy_hash(), password)
            outcome = LoginOutcome.BAD_CREDENTIALS
        elif not user.check_password(password):
            outcome = LoginOutcome.BAD_CREDENTIALS
        elif not user.is_active:
            outcome = LoginOutcome.INACTIVE
        else:
            outcome = LoginOutcome.SUCCEEDED
            user.last_login_at = now
    session.add(
        LoginAttempt(
            email=email,
            user_id=user.id if user is not None else None,
            attempted_at=now,
            outcome=outcome,
            remote_addr=remote_addr,
        )
    )
    session.flush()
    if outcome in _FAILED:
        # The failure that completes a series locks the address from now on; say so at once.
        locked_until = lockout_ends_at(session, email, now=now)
    return LoginResult(
        outcome=outcome,
        user=user if outcome is LoginOutcome.SUCCEEDED else None,
        locked_until=locked_until,
    )


# --- API tokens ---------------------------------------------------------------------------

TOKEN_PREFIX = "off_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(
    session: Session, user: User, *, name: str, actor: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """Issue a new API token for `user`; return the row and the token, shown only this once."""
    name = (name or "").strip() or "API token"
    if len(name) > 80:
        raise InvalidInput(_l("A token name can have at most 80 characters."), field="name")
    if not user.is_active:
        raise ConflictError(
            _l("%(name)s is inactive and cannot have tokens.", name=user.display_name)
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_token_digest(token),
        prefix=token[:12],
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_event(session, "api_token.created", actor=actor, target=user, at=now, token=row.prefix)
    return row, token


def revoke_api_token(session: Session, row: ApiToken, *, actor: User, now: datetime) -> None:
    """Stop `row` from working; only its owner or a superuser may."""
    if actor.id != row.user_id and not actor.is_superuser:
        raise ConflictError(_l("Only the owner of a token can revoke it."))
    if row.revoked_at is not None:
        raise ConflictError(_l("This token was already revoked."))
    row.revoked_at = now
    session.flush()
    record_event(
        session, "api_token.revoked", actor=actor, target=row.user, at=now, token=row.prefix
    )


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active user a live token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == _token_digest(token),
            ApiToken.revoked_at.is_(None),
            User.is_active,
        )
    )
