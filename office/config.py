"""Settings read from the environment, in one place.

Variables:
  OFFICE_ENV           development (default) or production
  OFFICE_DATABASE_URL  SQLAlchemy URL; default an SQLite file under instance/
  SECRET_KEY           signs sessions and CSRF tokens; required in production
  OFFICE_PROXY_COUNT   number of reverse proxies in front of gunicorn (default 0)
  OFFICE_PLANNER_SECONDS  how long the rotation planner searches (default 12, at most 600: it
                       runs on a worker, not in a request)
  OFFICE_JOBS_URL      where the job queue (Huey) keeps its messages: the database's own
                       PostgreSQL (default on PostgreSQL), or an SQLite file (default beside an
                       SQLite database: `<database>.jobs`); `memory://` for tests only
  OFFICE_JOBS_KEEP_DAYS  how long the files jobs leave (exports, PDFs) are kept (default 7)
  OFFICE_JOBS_CHUNK_KB  the size of the pieces a job's file is stored in (default 1024)
  OFFICE_JOBS_STALE_SECONDS  a running job whose worker has not been heard of for this long is
                       retried, or failed (default 120; workers beat every 10 s)
  OFFICE_SESSION_IDLE_MINUTES  a browser session ends after this long without a request
                       (default 30)
  OFFICE_SESSION_HOURS  and this long after its login, however active (default 12)
  OFFICE_TWO_FACTOR_KEY   Fernet key(s) that encrypt the two-factor secrets, comma-separated,
                          the first encrypting; required in production
  OFFICE_TWO_FACTOR_REQUIRED_ROLES  who must sign in with a second factor: roles and/or
                          `superuser`, comma-separated, or `none` (default: reviewer,superuser in
                          production, none in development)
  OFFICE_LEDGER_KEY_FILE  the Ed25519 private key (PEM) that signs the ledger's checkpoints;
                       this or OFFICE_LEDGER_KEY is required in production
  OFFICE_LEDGER_KEY    the same key given in the environment (PEM, or base64 of its 32 bytes)
  OFFICE_LEDGER_PUBLIC_KEYS_FILE  more public keys (PEM) whose checkpoints verify: keys used
                       before a rotation, or the only keys of a machine that verifies
  OFFICE_LEDGER_CHECKPOINT_FILE  a file, kept apart from the database, to which every
                       checkpoint is appended as a line of JSON
  OFFICE_MAX_UPLOAD_MB  the largest document accepted, in MB (default 25, from 1 to 200)
  OFFICE_MAIL_BACKEND  how the workers send the notices' mails: smtp, console (written to the
                       log), file (.eml files under instance/mail/) or off. Default: console
                       in development; in production smtp when OFFICE_SMTP_URL is set, else
                       off, with a warning at start (notices are still in the app)
  OFFICE_SMTP_URL      the SMTP server: smtp://host:25, smtp+starttls://user:pass@host:587,
                       smtps://user:pass@host:465 (user and password URL-encoded)
  OFFICE_MAIL_FROM     the mails' sender address (required in production with smtp)
  OFFICE_BASE_URL      the app's address as its users reach it, for the links in mails
                       (required in production when mail is on)
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = ROOT / "instance"
ENVIRONMENTS = ("development", "production")
# Who may be required to sign in with a second factor: a role, or the superuser flag.
TWO_FACTOR_SUBJECTS = ("admin", "scheduler", "reviewer", "superuser")
PRODUCTION_TWO_FACTOR_ROLES = frozenset({"reviewer", "superuser"})

logger = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """The environment does not give a configuration the app can safely start with."""


def load(environ: Mapping[str, str], instance_path: Path = INSTANCE_PATH) -> dict[str, Any]:
    """Return Flask settings built from `environ`; raise ConfigError when they are unsafe."""
    env = environ.get("OFFICE_ENV", "development").strip() or "development"
    if env not in ENVIRONMENTS:
        choices = ", ".join(ENVIRONMENTS)
        raise ConfigError(f"OFFICE_ENV is {env!r}; set it to one of: {choices}.")
    production = env == "production"

    secret_key = environ.get("SECRET_KEY", "").strip()
    if not secret_key:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production, set SECRET_KEY to a long random value, "
                "e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        secret_key = development_secret_key(instance_path)

    url = environ.get("OFFICE_DATABASE_URL", "").strip()
    if not url:
        if production:
            raise ConfigError(
                "OFFICE_DATABASE_URL is not set. In production, point it at PostgreSQL, e.g. "
                "postgresql+psycopg://office:PASSWORD@db.example/office"
            )
        instance_path.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{instance_path / 'office.db'}"

    try:
        proxy_count = int(environ.get("OFFICE_PROXY_COUNT", "0"))
    except ValueError:
        raise ConfigError("OFFICE_PROXY_COUNT must be a whole number (0 when no proxy).") from None
    try:
        planner_seconds = float(environ.get("OFFICE_PLANNER_SECONDS", "12"))
    except ValueError:
        planner_seconds = -1
    if not 1 <= planner_seconds <= 600:
        raise ConfigError("OFFICE_PLANNER_SECONDS must be a number from 1 to 600.")

    idle_minutes = _whole_number(environ, "OFFICE_SESSION_IDLE_MINUTES", 30, 1, 24 * 60)
    session_hours = _whole_number(environ, "OFFICE_SESSION_HOURS", 12, 1, 7 * 24)
    if idle_minutes > session_hours * 60:
        raise ConfigError(
            "OFFICE_SESSION_IDLE_MINUTES is longer than OFFICE_SESSION_HOURS; "
            "make the idle limit the shorter one."
        )
    two_factor_roles = _two_factor_roles(environ, production)
    two_factor_keys = _two_factor_keys(environ, production, secret_key)
    signing_key = ledger_signing_key(environ)
    if signing_key is None and production:
        raise ConfigError(
            "OFFICE_LEDGER_KEY_FILE is not set. In production the ledger's checkpoints are "
            "signed: generate an Ed25519 key (openssl genpkey -algorithm ed25519 -out "
            "ledger-key.pem), keep it off the database's host, and point OFFICE_LEDGER_KEY_FILE "
            "at it (or give it in OFFICE_LEDGER_KEY)."
        )
    checkpoint_file = environ.get("OFFICE_LEDGER_CHECKPOINT_FILE", "").strip() or None
    jobs_url = environ.get("OFFICE_JOBS_URL", "").strip() or default_jobs_url(url)
    if not jobs_url.startswith(("sqlite:", "postgres", "memory:")):
        raise ConfigError(
            "OFFICE_JOBS_URL must be a PostgreSQL URL (postgresql://...) or an SQLite one "
            "(sqlite:///path/to/office-jobs.db)."
        )
    max_upload_mb = _whole_number(environ, "OFFICE_MAX_UPLOAD_MB", 25, 1, 200)
    mail = mail_settings(environ, production, instance_path)

    return {
        "OFFICE_ENV": env,
        "SECRET_KEY": secret_key,
        "DATABASE_URL": normalise_database_url(url),
        "OFFICE_PROXY_COUNT": proxy_count,
        "OFFICE_PLANNER_SECONDS": planner_seconds,
        "OFFICE_TWO_FACTOR_REQUIRED_ROLES": two_factor_roles,
        "OFFICE_TWO_FACTOR_KEYS": two_factor_keys,
        "OFFICE_LEDGER_SIGNING_KEY": signing_key,
        "OFFICE_LEDGER_PUBLIC_KEYS": ledger_public_keys(environ),
        "OFFICE_LEDGER_CHECKPOINT_FILE": checkpoint_file,
        "OFFICE_JOBS_URL": jobs_url,
        "OFFICE_JOBS_KEEP": timedelta(
            days=_whole_number(environ, "OFFICE_JOBS_KEEP_DAYS", 7, 1, 365)
        ),
        "OFFICE_JOBS_CHUNK_BYTES": 1024
        * _whole_number(environ, "OFFICE_JOBS_CHUNK_KB", 1024, 1, 64 * 1024),
        "OFFICE_JOBS_STALE": timedelta(
            seconds=_whole_number(environ, "OFFICE_JOBS_STALE_SECONDS", 120, 30, 24 * 3600)
        ),
        # How often a worker tells the database it is still at a job; 0 (tests whose app is
        # bound to one connection) runs no heartbeat thread.
        "OFFICE_JOBS_HEARTBEAT_SECONDS": 10.0,
        # The largest document; its upload may be this and a margin for the form around it
        # (`office.documents.web.allow_uploads`); other requests keep MAX_CONTENT_LENGTH.
        "OFFICE_MAX_UPLOAD_MB": max_upload_mb,
        **mail,
        "SESSION_COOKIE_NAME": "office_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        # Sessions are kept on the server (office.auth.login), which ends them after this long
        # (the cookie expires with it) or after the idle time, whichever comes first.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=session_hours),
        "OFFICE_SESSION_IDLE": timedelta(minutes=idle_minutes),
        # The server keeps the idle clock: the cookie need not be sent again with every answer.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Forms such as the daily log stay open for a long time; the token lives as long as
        # the session instead of expiring after an hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "ko",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Seoul",
    }


MAIL_BACKENDS = ("smtp", "console", "file", "off")
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")


def mail_settings(
    environ: Mapping[str, str], production: bool, instance_path: Path
) -> dict[str, Any]:
    """How the workers send mail: the backend, the SMTP server, the sender and the base of
    the links; raise ConfigError for a setting that cannot work."""
    smtp_url = environ.get("OFFICE_SMTP_URL", "").strip()
    backend = environ.get("OFFICE_MAIL_BACKEND", "").strip().lower()
    if not backend:
        backend = ("smtp" if smtp_url else "off") if production else "console"
    if backend not in MAIL_BACKENDS:
        raise ConfigError(f"OFFICE_MAIL_BACKEND must be one of: {', '.join(MAIL_BACKENDS)}.")
    if backend == "smtp":
        scheme = smtp_url.split("://", 1)[0].lower() if "://" in smtp_url else ""
        if scheme not in SMTP_SCHEMES:
            raise ConfigError(
                "OFFICE_SMTP_URL must name the SMTP server, e.g. smtp://relay.example:25 or "
                "smtp+starttls://user:password@relay.example:587."
            )
    sender = environ.get("OFFICE_MAIL_FROM", "").strip()
    base_url = environ.get("OFFICE_BASE_URL", "").strip().rstrip("/")
    if production and backend == "smtp" and not sender:
        raise ConfigError("OFFICE_MAIL_FROM is not set: give the address the mails come from.")
    if production and backend != "off" and not base_url:
        raise ConfigError(
            "OFFICE_BASE_URL is not set: give the app's address as its users reach it "
            "(https://office.example), for the links in the mails."
        )
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ConfigError("OFFICE_BASE_URL must start with http:// or https://.")
    if production and backend == "off" and not environ.get("OFFICE_MAIL_BACKEND", "").strip():
        logger.warning(
            "OFFICE_SMTP_URL is not set: notices are in the app only, and no mail is sent "
            "(set OFFICE_SMTP_URL, or OFFICE_MAIL_BACKEND=off to say so)."
        )
    return {
        "OFFICE_MAIL_BACKEND": backend,
        "OFFICE_SMTP_URL": smtp_url,
        "OFFICE_MAIL_FROM": sender or "office@localhost",
        "OFFICE_MAIL_DIR": str(instance_path / "mail"),
        "OFFICE_BASE_URL": base_url or "http://localhost:5000",
    }


def _whole_number(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = environ.get(name, "").strip()
    try:
        value = int(text) if text else default
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}.")
    return value


def _two_factor_roles(environ: Mapping[str, str], production: bool) -> frozenset[str]:
    raw = environ.get("OFFICE_TWO_FACTOR_REQUIRED_ROLES")
    if raw is None:
        return PRODUCTION_TWO_FACTOR_ROLES if production else frozenset()
    names = {part.strip().lower() for part in raw.split(",") if part.strip()}
    if names == {"none"}:
        return frozenset()
    unknown = sorted(names - set(TWO_FACTOR_SUBJECTS))
    if unknown:
        raise ConfigError(
            f"OFFICE_TWO_FACTOR_REQUIRED_ROLES names {', '.join(unknown)}; use any of "
            f"{', '.join(TWO_FACTOR_SUBJECTS)} (comma-separated), or none."
        )
    return frozenset(names)


def _two_factor_keys(environ: Mapping[str, str], production: bool, secret_key: str) -> list[str]:
    """The Fernet keys for the two-factor secrets: the first encrypts, any decrypts."""
    raw = environ.get("OFFICE_TWO_FACTOR_KEY", "").strip()
    if not raw:
        if production:
            # Required even where no role must use a second factor: anyone may turn it on.
            raise ConfigError(
                "OFFICE_TWO_FACTOR_KEY is not set. In production, set it to a Fernet key kept "
                "outside the database, e.g. the output of: python -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        logger.warning(
            "OFFICE_TWO_FACTOR_KEY is not set: two-factor secrets are encrypted with a key "
            "derived from SECRET_KEY, which is fine for development only."
        )
        return [development_two_factor_key(secret_key)]
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    for key in keys:
        try:
            valid = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (ValueError, UnicodeEncodeError):
            valid = False
        if not valid:
            raise ConfigError(
                "OFFICE_TWO_FACTOR_KEY must hold Fernet keys (32 bytes in URL-safe base64, "
                "44 characters), comma-separated, the newest first."
            )
    return keys


def development_two_factor_key(secret_key: str) -> str:
    """Return a Fernet key derived from `secret_key`, for development only."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"office two-factor secrets"
    ).derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(derived).decode("ascii")


def default_jobs_url(database_url: str) -> str:
    """Where the queue lives unless OFFICE_JOBS_URL says: in PostgreSQL's own database, or in
    an SQLite file beside an SQLite database (one machine only)."""
    url = normalise_database_url(database_url)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return f"{url}.jobs"
    if url.startswith("sqlite"):
        return "memory://"  # an in-memory database: nothing outside this process sees it
    return url


def normalise_database_url(url: str) -> str:
    """Return `url` with PostgreSQL pinned to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def development_secret_key(instance_path: Path) -> str:
    """Return the development key kept in instance/, creating it once with mode 0600."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Written to a private temporary file, then linked into place: two workers starting
        # at once both end up reading the same key, and it is never readable by others.
        tmp = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{path} holds a key that is too short; delete it to generate a new one.")
    return key


def ledger_signing_key(environ: Mapping[str, str]) -> Ed25519PrivateKey | None:
    """Return the key that signs the ledger's checkpoints, from OFFICE_LEDGER_KEY_FILE or
    OFFICE_LEDGER_KEY, or None when neither is set; raise ConfigError for anything else."""
    path = environ.get("OFFICE_LEDGER_KEY_FILE", "").strip()
    text = environ.get("OFFICE_LEDGER_KEY", "").strip()
    if path and text:
        raise ConfigError("Set OFFICE_LEDGER_KEY_FILE or OFFICE_LEDGER_KEY, not both.")
    if path:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"OFFICE_LEDGER_KEY_FILE: cannot read {path}: {exc.strerror}."
            ) from None
        return _private_key(data, f"OFFICE_LEDGER_KEY_FILE ({path})")
    if text:
        return _private_key(text.encode(), "OFFICE_LEDGER_KEY")
    return None


def _private_key(data: bytes, where: str) -> Ed25519PrivateKey:
    wrong = (
        f"{where} is not an unencrypted Ed25519 private key: give a PEM file as made by "
        "`openssl genpkey -algorithm ed25519` or `flask ledger keygen`."
    )
    if b"-----BEGIN" not in data:
        try:
            raw = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise ConfigError(wrong) from None
        if len(raw) != 32:
            raise ConfigError(wrong)
        return Ed25519PrivateKey.from_private_bytes(raw)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(wrong) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(wrong)
    return key


_PEM_PUBLIC_KEY = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def ledger_public_keys(environ: Mapping[str, str]) -> tuple[Ed25519PublicKey, ...]:
    """Return the public keys in OFFICE_LEDGER_PUBLIC_KEYS_FILE (none when it is not set);
    raise ConfigError when the file cannot be read or holds anything but Ed25519 keys."""
    path = environ.get("OFFICE_LEDGER_PUBLIC_KEYS_FILE", "").strip()
    if not path:
        return ()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"OFFICE_LEDGER_PUBLIC_KEYS_FILE: cannot read {path}: {exc.strerror}."
        ) from None
    keys = []
    for block in _PEM_PUBLIC_KEY.findall(data):
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, UnsupportedAlgorithm):
            key = None
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(
                f"OFFICE_LEDGER_PUBLIC_KEYS_FILE ({path}) holds a key that is not an Ed25519 "
                "public key in PEM."
            )
        keys.append(key)
    if not keys:
        raise ConfigError(
            f"OFFICE_LEDGER_PUBLIC_KEYS_FILE ({path}) holds no public key; put one or more "
            "PEM blocks (-----BEGIN PUBLIC KEY-----) in it."
        )
    return tuple(keys)
