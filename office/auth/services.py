"""Rules for accounts: creating users, roles, passwords, activation and the login lockout."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from office.audit.services import record_event
from office.auth.models import (
    ApiToken,
    LoginAttempt,
    LoginOutcome,
    TwoFactorCredential,
    User,
    new_session_token,
)
from office.auth.passwords import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    WeakPassword,
    check_password,
)
from office.auth.permissions import Role
from office.concurrency import LockSpace, advisory_lock, text_key
from office.errors import ConflictError, InvalidInput
from office.i18n import _l

__all__ = ["PASSWORD_MAX_LENGTH", "PASSWORD_MIN_LENGTH"]

# The lockout (see `login_block`): failures of one email from one client network...
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# ...of one client network, whatever the emails...
NETWORK_MAX_FAILURES = 20
# ...and of one email, from anywhere, since its last successful login.
ACCOUNT_MAX_FAILURES = 100
ACCOUNT_FAILURE_WINDOW = timedelta(hours=24)
ACCOUNT_LOCKOUT = timedelta(hours=1)
# A network that logged in to an account within this time is known for it: only the first
# rule applies there, so nobody elsewhere can lock a user out of the places they work from.
KNOWN_FOR = timedelta(days=30)
EMAIL_MAX_LENGTH = 254
_FAILED = (LoginOutcome.BAD_CREDENTIALS, LoginOutcome.INACTIVE, LoginOutcome.BAD_CODE)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(
    password: str, *, email: str | None = None, display_name: str | None = None
) -> None:
    """Raise InvalidInput (field `new_password`) when `password` is too short or too long, or
    too easy to guess (`office.auth.passwords`)."""
    try:
        check_password(password, email=email, names=[display_name])
    except WeakPassword as exc:
        raise InvalidInput(exc.message, field="new_password") from None


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
    check_password_rules(password, email=email, display_name=display_name)
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
    check_password_rules(password, email=user.email, display_name=user.display_name)
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
    check_password_rules(new, email=user.email, display_name=user.display_name)
    if current == new:
        raise InvalidInput(
            _l("The new password must differ from the current one."), field="new_password"
        )
    user.set_password(new)
    record_event(session, "user.password_changed", actor=user, target=user, at=now)
    session.flush()
    return user


class Block(StrEnum):
    """Which rule of the lockout refuses an attempt."""

    ACCOUNT_HERE = "account_here"  # this email, from this network
    NETWORK = "network"  # this network, whatever the email
    ACCOUNT = "account"  # this email, from networks it is not known on


@dataclass(frozen=True)
class LoginBlock:
    rule: Block
    until: datetime


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    block: LoginBlock | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome is LoginOutcome.SUCCEEDED

    @property
    def locked_until(self) -> datetime | None:
        return self.block.until if self.block is not None else None


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a password", method="scrypt")


def client_network(remote_addr: str | None) -> str:
    """Return what failed logins are counted by for a client: its IPv4 address, or the /64
    network of its IPv6 address (one household, or one attacker, holds a whole /64)."""
    if not remote_addr:
        return "unknown"
    try:
        ip = ipaddress.ip_address(remote_addr.strip())
    except ValueError:
        return remote_addr.strip()[:49] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _series_end(
    failures: list[datetime], count: int, window: timedelta, lock: timedelta, now: datetime
) -> datetime | None:
    """When the lock of the latest `count` failures within `window` ends, if it has not."""
    ends = [
        last + lock
        for first, last in zip(failures, failures[count - 1 :], strict=False)
        if last - first <= window and now < last + lock
    ]
    return max(ends, default=None)


def login_block(session: Session, email: str, network: str, *, now: datetime) -> LoginBlock | None:
    """Return the rule that refuses a login of `email` from `network` now, and until when.

    1. Five failures of this email from this network within 15 minutes, none followed by a
       success from there: refused from there for 15 minutes after the fifth.
    2. Twenty failures from this network within 15 minutes, whatever the emails: refused
       from there for 15 minutes after the twentieth.
    3. A hundred failures of this email from anywhere within 24 hours, none followed by a
       success: refused for an hour after the latest.
    Rules 2 and 3 spare a network the email logged in from within 30 days, so that nobody
    elsewhere can lock a user out of the places they work from. Refused attempts are not
    failures: they do not extend a lock.
    """
    recent = now - FAILURE_WINDOW - LOCKOUT
    rows = session.execute(
        select(LoginAttempt.attempted_at, LoginAttempt.outcome)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.client_network == network,
            LoginAttempt.attempted_at > recent,
            LoginAttempt.outcome.in_([*_FAILED, LoginOutcome.SUCCEEDED]),
        )
        .order_by(LoginAttempt.attempted_at, LoginAttempt.id)
    ).all()
    failures: list[datetime] = []
    for attempted_at, outcome in rows:
        if outcome is LoginOutcome.SUCCEEDED:
            failures.clear()
        else:
            failures.append(attempted_at)
    until = _series_end(failures, MAX_FAILURES, FAILURE_WINDOW, LOCKOUT, now)
    if until is not None:
        return LoginBlock(Block.ACCOUNT_HERE, until)

    known = session.scalar(
        select(LoginAttempt.id)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.client_network == network,
            LoginAttempt.outcome == LoginOutcome.SUCCEEDED,
            LoginAttempt.attempted_at > now - KNOWN_FOR,
        )
        .limit(1)
    )
    if known is not None:
        return None

    from_network = session.scalars(
        select(LoginAttempt.attempted_at)
        .where(
            LoginAttempt.client_network == network,
            LoginAttempt.attempted_at > recent,
            LoginAttempt.outcome.in_(_FAILED),
        )
        .order_by(LoginAttempt.attempted_at, LoginAttempt.id)
    ).all()
    until = _series_end(list(from_network), NETWORK_MAX_FAILURES, FAILURE_WINDOW, LOCKOUT, now)
    if until is not None:
        return LoginBlock(Block.NETWORK, until)

    since = now - ACCOUNT_FAILURE_WINDOW
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.outcome == LoginOutcome.SUCCEEDED,
            LoginAttempt.attempted_at > since,
        )
    )
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.attempted_at > max(since, last_success or since),
            LoginAttempt.outcome.in_(_FAILED),
        )
    ).one()
    if count >= ACCOUNT_MAX_FAILURES and latest is not None and now < latest + ACCOUNT_LOCKOUT:
        return LoginBlock(Block.ACCOUNT, latest + ACCOUNT_LOCKOUT)
    return None


def lock_login(session: Session, email: str, network: str) -> None:
    """Hold, until the transaction ends, the locks under which attempts of `email` from
    `network` are counted and recorded: on every worker, each attempt then counts every
    failure committed before it (the email's first, then the network's: one order)."""
    advisory_lock(session, LockSpace.LOGIN, text_key(email))
    advisory_lock(session, LockSpace.LOGIN, text_key("network " + network))


def record_attempt(
    session: Session,
    email: str,
    outcome: LoginOutcome,
    *,
    user: User | None,
    now: datetime,
    remote_addr: str | None,
) -> None:
    """Add one attempt at logging in, for the lockout and the audit trail."""
    session.add(
        LoginAttempt(
            email=email,
            user_id=user.id if user is not None else None,
            attempted_at=now,
            outcome=outcome,
            remote_addr=remote_addr[:45] if remote_addr else None,
            client_network=client_network(remote_addr),
        )
    )
    session.flush()


def has_two_factor(session: Session, user: User) -> bool:
    """Whether `user` signs in with a second factor (their TOTP is confirmed)."""
    return (
        session.scalar(
            select(TwoFactorCredential.id).where(
                TwoFactorCredential.user_id == user.id,
                TwoFactorCredential.confirmed_at.is_not(None),
            )
        )
        is not None
    )


def attempt_login(
    session: Session, email: str, password: str, *, now: datetime, remote_addr: str | None
) -> LoginResult:
    """Check a login's password and record the attempt; the caller commits whatever the
    outcome. A user with a second factor gets PASSWORD_ACCEPTED, not SUCCEEDED: their login
    ends with `office.auth.two_factor.attempt_code`."""
    email = normalise_email(email)[:EMAIL_MAX_LENGTH]
    network = client_network(remote_addr)
    lock_login(session, email, network)
    block = login_block(session, email, network, now=now)
    user = None
    if block is not None:
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
        elif has_two_factor(session, user):
            outcome = LoginOutcome.PASSWORD_ACCEPTED
        else:
            outcome = LoginOutcome.SUCCEEDED
            user.last_login_at = now
    record_attempt(session, email, outcome, user=user, now=now, remote_addr=remote_addr)
    if outcome in _FAILED:
        # The failure that completes a series locks from now on; say so at once.
        block = login_block(session, email, network, now=now)
    passed = outcome in (LoginOutcome.SUCCEEDED, LoginOutcome.PASSWORD_ACCEPTED)
    return LoginResult(outcome=outcome, user=user if passed else None, block=block)


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
