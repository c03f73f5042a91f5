from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from office.auth.permissions import Role
from office.db import Base, enum_type, utcnow


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The generation of this user's credentials. Every browser session and API token records
    # the one it was issued under and works only while it is still the user's: replacing it
    # (a password change, a deactivation, a reactivation) ends them all on every worker, those
    # being issued at that very moment included. It never leaves the server.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # The language the user chose with the switch ("ko", "en"); None until they first choose,
    # when the browser's own preference applies.
    language: Mapped[str | None] = mapped_column(String(8))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    BAD_CREDENTIALS = "bad_credentials"
    INACTIVE = "inactive"
    LOCKED_OUT = "locked_out"
    # The password was right; the second factor is awaited (neither a failure nor a success).
    PASSWORD_ACCEPTED = "password_accepted"
    BAD_CODE = "bad_code"  # a wrong two-factor or recovery code


class LoginAttempt(Base):
    """One try at logging in, kept for the lockout rule and the audit trail."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_attempted_at", "email", "attempted_at"),
        Index("ix_login_attempts_client_network_attempted_at", "client_network", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The email as typed (normalised), so the lockout also covers addresses with no account
    # and does not reveal which addresses exist.
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[LoginOutcome] = mapped_column(enum_type(LoginOutcome, "login_outcome"))
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    # What failures are counted by, besides the email: the client's address, or for IPv6 its
    # /64 network, which one household or one attacker usually holds whole.
    client_network: Mapped[str | None] = mapped_column(String(49))


class TwoFactorCredential(Base):
    """A user's TOTP secret, encrypted with a key kept outside the database."""

    __tablename__ = "two_factor_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None while the user has not yet confirmed a code: the second factor is not on.
    confirmed_at: Mapped[datetime | None]
    # The last TOTP time step accepted, so that a code is never accepted twice.
    last_used_step: Mapped[int | None]

    user: Mapped[User] = relationship()

    @property
    def is_on(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(Base):
    """A one-time code that stands in for the TOTP code; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"
    # Also the index that finds a user's codes: it leads with user_id.
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class CredentialEnd(StrEnum):
    """Why a browser session or an API token stopped working before it expired."""

    LOGGED_OUT = "logged_out"
    REVOKED = "revoked"  # by its owner from elsewhere, a superuser or the command line
    PASSWORD_CHANGED = "password_changed"
    DEACTIVATED = "deactivated"


class UserSession(Base):
    """A browser's login, kept on the server; the session cookie holds only its key.

    Live while not ended, its user is active and still on the same generation of credentials,
    and neither its idle nor its absolute lifetime has run out (`services.SessionLimits`).
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The SHA-256 of the key in the cookie: reading the database does not give a way in.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    generation: Mapped[str] = mapped_column(String(32))  # the user's session_token at login
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moved forward at most once a minute, so that reading a page does not write.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[CredentialEnd | None] = mapped_column(
        enum_type(CredentialEnd, "credential_end")
    )
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown so a user can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    generation: Mapped[str] = mapped_column(String(32))  # the user's session_token at issue
    # Moved forward at most once a minute, like a browser session's.
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[CredentialEnd | None] = mapped_column(
        enum_type(CredentialEnd, "credential_end")
    )

    user: Mapped[User] = relationship()
