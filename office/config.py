"""Settings read from the environment, in one place.

Variables:
  OFFICE_ENV           development (default) or production
  OFFICE_DATABASE_URL  SQLAlchemy URL; default an SQLite file under instance/
  SECRET_KEY           signs sessions and CSRF tokens; required in production
  OFFICE_PROXY_COUNT   number of reverse proxies in front of gunicorn (default 0)
  OFFICE_PLANNER_SECONDS  how long the rotation planner searches (default 12)
  OFFICE_LEDGER_KEY_FILE  the Ed25519 private key (PEM) that signs the ledger's checkpoints;
                       this or OFFICE_LEDGER_KEY is required in production
  OFFICE_LEDGER_KEY    the same key given in the environment (PEM, or base64 of its 32 bytes)
  OFFICE_LEDGER_PUBLIC_KEYS_FILE  more public keys (PEM) whose checkpoints verify: keys used
                       before a rotation, or the only keys of a machine that verifies
  OFFICE_LEDGER_CHECKPOINT_FILE  a file, kept apart from the database, to which every
                       checkpoint is appended as a line of JSON
"""

from __future__ import annotations

import base64
import binascii
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
    if not 1 <= planner_seconds <= 25:
        # Gunicorn's default timeout is 30 seconds; the search must end well before it.
        raise ConfigError("OFFICE_PLANNER_SECONDS must be a number from 1 to 25.")

    signing_key = ledger_signing_key(environ)
    if signing_key is None and production:
        raise ConfigError(
            "OFFICE_LEDGER_KEY_FILE is not set. In production the ledger's checkpoints are "
            "signed: generate an Ed25519 key (openssl genpkey -algorithm ed25519 -out "
            "ledger-key.pem), keep it off the database's host, and point OFFICE_LEDGER_KEY_FILE "
            "at it (or give it in OFFICE_LEDGER_KEY)."
        )
    checkpoint_file = environ.get("OFFICE_LEDGER_CHECKPOINT_FILE", "").strip() or None

    return {
        "OFFICE_ENV": env,
        "SECRET_KEY": secret_key,
        "DATABASE_URL": normalise_database_url(url),
        "OFFICE_PROXY_COUNT": proxy_count,
        "OFFICE_PLANNER_SECONDS": planner_seconds,
        "OFFICE_LEDGER_SIGNING_KEY": signing_key,
        "OFFICE_LEDGER_PUBLIC_KEYS": ledger_public_keys(environ),
        "OFFICE_LEDGER_CHECKPOINT_FILE": checkpoint_file,
        "SESSION_COOKIE_NAME": "office_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Forms such as the daily log stay open for a long time; the token lives as long as
        # the session instead of expiring after an hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "ko",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Seoul",
    }


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
