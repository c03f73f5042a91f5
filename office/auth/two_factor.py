"""Two-factor sign-in: a TOTP secret per user (RFC 6238, the codes of any authenticator app),
encrypted with a key kept outside the database, and one-time recovery codes.

Who must use it is a setting (`OFFICE_TWO_FACTOR_REQUIRED_ROLES`); anyone else may turn it on.
A code is accepted within one 30-second step either side of now, once: the last step used is
kept, and no code of that step or an earlier one is accepted again. Wrong codes are failed
logins: they count towards the lockout of `office.auth.services.login_block`, and codes are
checked under the same locks, so two requests cannot both spend one code.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from office.audit.services import record_event
from office.auth.models import LoginOutcome, RecoveryCode, TwoFactorCredential, User
from office.auth.services import (
    _FAILED,
    LoginResult,
    client_network,
    lock_login,
    login_block,
    record_attempt,
)
from office.errors import ConflictError, InvalidInput
from office.i18n import _l

ISSUER = "Liaison office"
VALID_WINDOW = 1  # steps of 30 seconds either side of now: a clock off by up to 30 s
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_LENGTH = 16  # about 79 bits: a digest of one cannot be reversed by trying them all
CODE_MAX_LENGTH = 40


class SecretBox:
    """Encrypts and decrypts the TOTP secrets with Fernet; the first key encrypts, every key
    decrypts (so a new key can be put first, and the old one dropped once nothing uses it)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def reseal(self, sealed: str) -> str:
        """Return `sealed` encrypted afresh with the first key; raise InvalidToken when no key
        opens it."""
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")

    def open(self, sealed: str) -> str:
        """Return the secret; raise ConflictError when no key of the server opens it."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError):
            raise ConflictError(
                _l(
                    "This account's two-factor secret cannot be read with the server's key "
                    "(OFFICE_TWO_FACTOR_KEY). A superuser can reset its two-factor sign-in."
                )
            ) from None


def requires_two_factor(user: User, required: frozenset[str]) -> bool:
    """Whether the setting `required` (roles and/or "superuser") covers `user`."""
    return user.role.value in required or (user.is_superuser and "superuser" in required)


def credential_of(session: Session, user: User) -> TwoFactorCredential | None:
    return session.scalar(select(TwoFactorCredential).where(TwoFactorCredential.user_id == user.id))


def recovery_codes_left(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """An SVG image of the QR code of `uri`, as a data: address (drawn here, nothing fetched)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _lock_credential(session: Session, user: User) -> TwoFactorCredential | None:
    # Read under the row's lock, afresh: a credential another request removed meanwhile is
    # gone (None), not an error.
    return session.scalar(
        select(TwoFactorCredential)
        .where(TwoFactorCredential.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def begin_enrolment(session: Session, user: User, *, box: SecretBox, now: datetime) -> str:
    """Give `user` a new TOTP secret, not yet on until a code confirms it; return it.

    Raises ConflictError when their second factor is already on.
    """
    credential = _lock_credential(session, user)
    if credential is not None and credential.is_on:
        raise ConflictError(_l("Two-factor sign-in is already on for this account."))
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    if credential is None:
        credential = TwoFactorCredential(user_id=user.id, secret_encrypted="", created_at=now)
        session.add(credential)
    credential.secret_encrypted = box.seal(secret)
    credential.created_at = now
    credential.last_used_step = None
    session.flush()
    return secret


def pending_secret(session: Session, user: User, *, box: SecretBox) -> str | None:
    """The secret of an enrolment begun and not yet confirmed, or None."""
    credential = credential_of(session, user)
    if credential is None or credential.is_on:
        return None
    return box.open(credential.secret_encrypted)


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _totp_step(
    credential: TwoFactorCredential, code: str, *, box: SecretBox, now: datetime
) -> int | None:
    """The time step whose code `code` is, when it is one not used before; else None."""
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(box.open(credential.secret_encrypted))
    try:
        step = totp.verify_and_get_timecode(code, for_time=now, valid_window=VALID_WINDOW)
    except OTPVerificationError:
        return None
    if credential.last_used_step is not None and step <= credential.last_used_step:
        return None  # a replay, or an older code than one already used
    return int(step)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def _new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_digest(c), created_at=now) for c in codes
    )
    session.flush()
    return ["-".join(c[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)) for c in codes]


def _spend_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    if len(code) != _RECOVERY_LENGTH or not code.isascii():
        return False
    row = session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    if row is None:
        return False
    row.used_at = now
    return True


def confirm_enrolment(
    session: Session, user: User, code: str, *, box: SecretBox, now: datetime
) -> list[str]:
    """Turn the user's second factor on with a first code from their app; return their new
    recovery codes, to be shown once.

    Raises ConflictError when no enrolment was begun or it is already on, InvalidInput (field
    `code`) when the code is not the app's current one.
    """
    credential = _lock_credential(session, user)
    if credential is None or credential.is_on:
        raise ConflictError(
            _l("Two-factor sign-in is already on.")
            if credential is not None
            else _l("Start setting up two-factor sign-in first.")
        )
    step = _totp_step(credential, _normalise(code), box=box, now=now)
    if step is None:
        raise InvalidInput(
            _l(
                "That is not the code your app shows now. Check that the phone's clock is "
                "right, then type the six digits it shows."
            ),
            field="code",
        )
    credential.confirmed_at = now
    credential.last_used_step = step
    codes = _new_recovery_codes(session, user, now)
    record_event(session, "user.two_factor_enabled", actor=user, target=user, at=now)
    return codes


def _check_code(
    session: Session,
    user: User,
    code: str,
    *,
    box: SecretBox,
    now: datetime,
    remote_addr: str | None,
    is_login: bool,
) -> LoginResult:
    """Check `code` (a TOTP or recovery code) for `user` under the login locks; record a
    failure (or, for a login, the outcome) as an attempt at logging in."""
    email = user.email
    network = client_network(remote_addr)
    lock_login(session, email, network)
    block = login_block(session, email, network, now=now)
    if block is not None:
        record_attempt(
            session, email, LoginOutcome.LOCKED_OUT, user=user, now=now, remote_addr=remote_addr
        )
        return LoginResult(LoginOutcome.LOCKED_OUT, block=block)
    credential = _lock_credential(session, user)
    typed = _normalise(code)[:CODE_MAX_LENGTH]
    outcome = LoginOutcome.BAD_CODE
    if not user.is_active:
        outcome = LoginOutcome.INACTIVE
    elif credential is not None and credential.is_on:
        step = _totp_step(credential, typed, box=box, now=now)
        if step is not None:
            credential.last_used_step = step
            outcome = LoginOutcome.SUCCEEDED
        elif _spend_recovery_code(session, user, typed, now):
            outcome = LoginOutcome.SUCCEEDED
            record_event(
                session,
                "user.recovery_code_used",
                actor=user,
                target=user,
                at=now,
                left=recovery_codes_left(session, user),
            )
    if is_login or outcome is not LoginOutcome.SUCCEEDED:
        record_attempt(session, email, outcome, user=user, now=now, remote_addr=remote_addr)
    if outcome is LoginOutcome.SUCCEEDED:
        if is_login:
            user.last_login_at = now
        return LoginResult(outcome, user=user)
    if outcome in _FAILED:
        block = login_block(session, email, network, now=now)
    return LoginResult(outcome, block=block)


def attempt_code(
    session: Session,
    user: User,
    code: str,
    *,
    box: SecretBox,
    now: datetime,
    remote_addr: str | None,
) -> LoginResult:
    """The second step of a login: check `code` and record the attempt; SUCCEEDED ends the
    login. The caller commits whatever the outcome."""
    return _check_code(
        session, user, code, box=box, now=now, remote_addr=remote_addr, is_login=True
    )


def disable_two_factor(
    session: Session,
    user: User,
    code: str,
    *,
    required: frozenset[str],
    box: SecretBox,
    now: datetime,
    remote_addr: str | None,
) -> LoginResult:
    """Turn the user's own second factor off, given a current code; a wrong code is a failed
    login. The caller commits whatever the outcome.

    Raises ConflictError when their role requires it or it is not on.
    """
    if requires_two_factor(user, required):
        raise ConflictError(
            _l(
                "Your role requires two-factor sign-in, so it cannot be turned off. If you "
                "lost your phone, ask a superuser to reset it."
            )
        )
    credential = credential_of(session, user)
    if credential is None or not credential.is_on:
        raise ConflictError(_l("Two-factor sign-in is not on for this account."))
    result = _check_code(
        session, user, code, box=box, now=now, remote_addr=remote_addr, is_login=False
    )
    if result.outcome is LoginOutcome.SUCCEEDED:
        _remove(session, user)
        record_event(session, "user.two_factor_disabled", actor=user, target=user, at=now)
    return result


def regenerate_recovery_codes(
    session: Session,
    user: User,
    code: str,
    *,
    box: SecretBox,
    now: datetime,
    remote_addr: str | None,
) -> tuple[LoginResult, list[str]]:
    """Replace the user's recovery codes, given a current code; return the new ones (none
    when the code was refused). The caller commits whatever the outcome.

    Raises ConflictError when the second factor is not on.
    """
    credential = credential_of(session, user)
    if credential is None or not credential.is_on:
        raise ConflictError(_l("Two-factor sign-in is not on for this account."))
    result = _check_code(
        session, user, code, box=box, now=now, remote_addr=remote_addr, is_login=False
    )
    if result.outcome is not LoginOutcome.SUCCEEDED:
        return result, []
    codes = _new_recovery_codes(session, user, now)
    record_event(session, "user.recovery_codes_replaced", actor=user, target=user, at=now)
    return result, codes


def _remove(session: Session, user: User) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.execute(delete(TwoFactorCredential).where(TwoFactorCredential.user_id == user.id))
    session.flush()


def reset_two_factor(session: Session, user: User, *, actor: User | None, now: datetime) -> None:
    """Turn off the second factor of `user`, who lost their device: they log in with their
    password next time, then set it up again if their role requires it.

    Raises ConflictError when it is not on.
    """
    credential = _lock_credential(session, user)
    if credential is None or not credential.is_on:
        raise ConflictError(_l("Two-factor sign-in is not on for this account."))
    _remove(session, user)
    record_event(session, "user.two_factor_reset", actor=actor, target=user, at=now)


def reseal_secrets(session: Session, *, box: SecretBox) -> tuple[int, list[str]]:
    """Encrypt every two-factor secret afresh with the box's first key, so older keys can be
    dropped; return how many were, and the emails of those no key opens (to be reset)."""
    resealed, unreadable = 0, []
    credentials = session.scalars(
        select(TwoFactorCredential).order_by(TwoFactorCredential.id).with_for_update()
    ).all()
    for credential in credentials:
        try:
            credential.secret_encrypted = box.reseal(credential.secret_encrypted)
        except (InvalidToken, ValueError):
            unreadable.append(credential.user.email)
        else:
            resealed += 1
    session.flush()
    return resealed, unreadable
