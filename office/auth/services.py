"""Rules for accounts: creating users, roles, passwords, activation, the login lockout, and
the credentials a login leaves: browser sessions kept on the server and API tokens."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, select, update
from sqlalchemy.orm import Session, contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from office.audit.services import record_event
from office.auth.models import (
    ApiToken,
    CredentialEnd,
    LoginAttempt,
    LoginOutcome,
    TwoFactorCredential,
    User,
    UserSession,
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
from office.i18n import LANGUAGES, _l

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
    ended = end_credentials(session, user, CredentialEnd.DEACTIVATED, now=now)
    record_event(session, "user.deactivated", actor=actor, target=user, at=now, **ended)
    session.flush()
    return user


def reactivate_user(session: Session, user: User, *, actor: User | None, now: datetime) -> User:
    """Let a deactivated user log in again, with none of the sessions and tokens they had."""
    session.refresh(user, with_for_update=True)
    if user.is_active:
        raise ConflictError(_l("%(name)s is already active.", name=user.display_name))
    user.is_active = True
    # Whatever was issued before, even in the instant of the deactivation, stays dead.
    end_credentials(session, user, CredentialEnd.DEACTIVATED, now=now)
    record_event(session, "user.reactivated", actor=actor, target=user, at=now)
    session.flush()
    return user


def set_password(
    session: Session, user: User, password: str, *, actor: User | None, now: datetime
) -> User:
    """Give `user` a new password and end their sessions and API tokens."""
    check_password_rules(password, email=user.email, display_name=user.display_name)
    user.set_password(password)
    ended = end_credentials(session, user, CredentialEnd.PASSWORD_CHANGED, now=now)
    record_event(session, "user.password_set", actor=actor, target=user, at=now, **ended)
    session.flush()
    return user


def change_own_password(
    session: Session, user: User, current: str, new: str, *, now: datetime
) -> User:
    """Replace the user's password after checking the current one; end every session and API
    token of theirs, this browser's included (the caller starts a new one for it)."""
    if not user.check_password(current):
        raise InvalidInput(_l("The current password is not right."), field="current_password")
    check_password_rules(new, email=user.email, display_name=user.display_name)
    if current == new:
        raise InvalidInput(
            _l("The new password must differ from the current one."), field="new_password"
        )
    user.set_password(new)
    ended = end_credentials(session, user, CredentialEnd.PASSWORD_CHANGED, now=now)
    record_event(session, "user.password_changed", actor=user, target=user, at=now, **ended)
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


# --- credentials: browser sessions and API tokens -----------------------------------------
#
# A credential works while its user is active and still on the generation of credentials it
# was issued under (`User.session_token`, read in the same row as the password it was issued
# for). A password change, a deactivation and a reactivation replace the generation, so what
# was issued before stops working at once, on every worker, even a session or a token being
# issued at that very moment by a request that read the old generation; no lock is needed.
# Each of them also stamps the user's credentials as ended, so that lists tell why.

TOKEN_PREFIX = "off_"
# The idle clock of a session, and a token's last use, move at most this often: reading a
# page writes nothing the rest of the minute.
TOUCH_INTERVAL = timedelta(minutes=1)
USER_AGENT_MAX_LENGTH = 200


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionLimits:
    """How long a browser session lives: since its last request, and since its login."""

    idle: timedelta
    absolute: timedelta


class SessionRefusal(StrEnum):
    """Why a session cookie no longer logs its browser in."""

    UNKNOWN = "unknown"  # no such session (or one from before sessions were kept)
    ENDED = "ended"  # logged out, ended from elsewhere, password changed, user deactivated
    IDLE = "idle"
    EXPIRED = "expired"  # its absolute lifetime ran out


@dataclass(frozen=True)
class SessionCheck:
    row: UserSession | None
    refusal: SessionRefusal | None = None


def _credentials_current(row: UserSession | ApiToken) -> bool:
    return row.user.is_active and row.generation == row.user.session_token


def _live_sessions(now: datetime, limits: SessionLimits) -> ColumnElement[bool]:
    return and_(
        UserSession.ended_at.is_(None),
        UserSession.last_seen_at > now - limits.idle,
        UserSession.created_at > now - limits.absolute,
        User.is_active,
        UserSession.generation == User.session_token,
    )


def set_language(session: Session, user: User, language: str) -> None:
    """Keep `language` as `user`'s own, in one statement that writes that column alone: two
    switches at once both land (the later commit's language stays) and a password change or
    deactivation meanwhile keeps all it wrote. Raises InvalidInput for a language the office
    does not speak."""
    if language not in LANGUAGES:
        raise InvalidInput(_l("Choose Korean or English."), "lang")
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(language=language)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(user, "language", language)


def start_session(
    session: Session,
    user: User,
    *,
    now: datetime,
    remote_addr: str | None,
    user_agent: str | None,
) -> tuple[UserSession, str]:
    """Open a browser session for `user`, on the generation of credentials `user` was read
    with; return the row and the key for the cookie (only its SHA-256 is kept)."""
    key = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        key_hash=_digest(key),
        generation=user.session_token,
        created_at=now,
        last_seen_at=now,
        remote_addr=remote_addr,
        user_agent=(user_agent or "")[:USER_AGENT_MAX_LENGTH] or None,
    )
    session.add(row)
    session.flush()
    return row, key


def check_session(
    session: Session, key: str, *, now: datetime, limits: SessionLimits
) -> SessionCheck:
    """Find the live session whose cookie holds `key`, or say why there is none."""
    row = session.scalar(
        select(UserSession)
        .options(joinedload(UserSession.user))
        .where(UserSession.key_hash == _digest(key))
    )
    if row is None:
        return SessionCheck(None, SessionRefusal.UNKNOWN)
    if row.ended_at is not None or not _credentials_current(row):
        return SessionCheck(None, SessionRefusal.ENDED)
    if now >= row.created_at + limits.absolute:
        return SessionCheck(None, SessionRefusal.EXPIRED)
    if now >= row.last_seen_at + limits.idle:
        return SessionCheck(None, SessionRefusal.IDLE)
    return SessionCheck(row)


def _rowcount(result: Any) -> int:
    return cast("CursorResult[Any]", result).rowcount


def touch_session(session: Session, row: UserSession, *, now: datetime) -> bool:
    """Restart `row`'s idle clock when it last moved a minute or more ago; return False when
    the session ended meanwhile (it is not revived)."""
    if now - row.last_seen_at < TOUCH_INTERVAL:
        return True
    return _touch(session, row, "last_seen_at", UserSession.ended_at, now=now)


def _touch(
    session: Session, row: UserSession | ApiToken, attribute: str, ended: Any, *, now: datetime
) -> bool:
    """Set `row`'s `attribute` to `now` in one statement, conditional on the credential being
    live when it runs (`ended` still NULL): an end committed first wins, and two requests
    touching at once both succeed. Return False when it had ended."""
    model = type(row)
    result = session.execute(
        update(model)
        .where(model.id == row.id, ended.is_(None))
        .values({attribute: now})
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) == 0:
        return False
    set_committed_value(row, attribute, now)
    return True


def _lock(session: Session, row: UserSession | ApiToken) -> None:
    """Lock `row` and read it afresh (only its own table: its user may have been loaded
    with it, and is not locked)."""
    model = type(row)
    session.scalars(
        select(model)
        .where(model.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def end_session(
    session: Session,
    row: UserSession,
    *,
    reason: CredentialEnd,
    actor: User | None,
    now: datetime,
) -> None:
    """End `row` now. Only its owner or a superuser may (or the command line, `actor` None).

    Raises ConflictError when another did, or when it had already ended.
    """
    if actor is not None and actor.id != row.user_id and not actor.is_superuser:
        raise ConflictError(_l("Only the owner of a session or a superuser can end it."))
    _lock(session, row)
    if row.ended_at is not None:
        raise ConflictError(_l("This session had already ended."))
    row.ended_at = now
    row.end_reason = reason
    session.flush()
    action = "session.logged_out" if reason is CredentialEnd.LOGGED_OUT else "session.ended"
    record_event(session, action, actor=actor, target=row.user, at=now, session_id=row.id)


def end_credentials(
    session: Session, user: User, reason: CredentialEnd, *, now: datetime
) -> dict[str, int]:
    """Start a new generation of `user`'s credentials, so none issued before works; stamp
    their open sessions ended and live tokens revoked. Return how many of each."""
    user.session_token = new_session_token()
    session.flush()
    sessions = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    # Rows of these tables already loaded in this session must not show what was read.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, UserSession | ApiToken) and obj.user_id == user.id:
            session.expire(obj)
    return {"sessions_ended": _rowcount(sessions), "tokens_revoked": _rowcount(tokens)}


def live_sessions(
    session: Session, user: User | None, *, now: datetime, limits: SessionLimits
) -> list[UserSession]:
    """Return the live sessions of `user` (of everyone when None), most recently seen first."""
    query = (
        select(UserSession)
        .join(UserSession.user)
        .options(contains_eager(UserSession.user))
        .where(_live_sessions(now, limits))
    )
    if user is not None:
        query = query.where(UserSession.user_id == user.id)
    return list(
        session.scalars(query.order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()))
    )


# --- API tokens ---------------------------------------------------------------------------


def token_is_live(row: ApiToken) -> bool:
    return row.revoked_at is None and _credentials_current(row)


def tokens_of(session: Session, user: User | None, *, live_only: bool = False) -> list[ApiToken]:
    """Return the API tokens of `user` (of everyone when None), newest first."""
    query = select(ApiToken).join(ApiToken.user).options(contains_eager(ApiToken.user))
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    if live_only:
        query = query.where(
            ApiToken.revoked_at.is_(None),
            User.is_active,
            ApiToken.generation == User.session_token,
        )
    return list(session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create_api_token(
    session: Session, user: User, *, name: str, actor: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """Issue a new API token for `user`, on the generation of credentials `user` was read
    with; return the row and the token, shown only this once."""
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
        token_hash=_digest(token),
        prefix=token[:12],
        generation=user.session_token,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_event(session, "api_token.created", actor=actor, target=user, at=now, token=row.prefix)
    return row, token


def revoke_api_token(session: Session, row: ApiToken, *, actor: User | None, now: datetime) -> None:
    """Stop `row` from working. Only its owner or a superuser may (or the command line,
    `actor` None).

    Raises ConflictError when another did, or when it was already revoked.
    """
    if actor is not None and actor.id != row.user_id and not actor.is_superuser:
        raise ConflictError(_l("Only the owner of a token can revoke it."))
    # Two revocations at once: the second waits, reads the first's, and records nothing.
    _lock(session, row)
    if row.revoked_at is not None:
        raise ConflictError(_l("This token was already revoked."))
    row.revoked_at = now
    row.revoked_reason = CredentialEnd.REVOKED
    session.flush()
    record_event(
        session, "api_token.revoked", actor=actor, target=row.user, at=now, token=row.prefix
    )


def find_live_token(session: Session, token: str) -> ApiToken | None:
    """Return the live API token `token` is, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    )
    return row if row is not None and token_is_live(row) else None


def touch_token(session: Session, row: ApiToken, *, now: datetime) -> bool:
    """Record that `row` was used at `now`, when its last use was a minute or more ago;
    return False when it was revoked meanwhile."""
    if row.last_used_at is not None and now - row.last_used_at < TOUCH_INTERVAL:
        return True
    return _touch(session, row, "last_used_at", ApiToken.revoked_at, now=now)


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active user a live token belongs to, or None."""
    row = find_live_token(session, token)
    return row.user if row is not None else None
