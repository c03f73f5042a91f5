"""Which passwords are refused: the rule of NIST SP 800-63B, without composition rules.

A password needs `PASSWORD_MIN_LENGTH` characters at least, and must not be one that attackers
try early: a common or leaked password, a dictionary word or name, a date, a keyboard row,
repeated or sequential characters, the user's own email or name, or the office's name, alone
or put together. zxcvbn (Dropbox's estimator, MIT licence) carries the lists (30,000 common
passwords from breaches, English words, names) and estimates how many guesses a password
takes; fewer than 10^8 (its score below 3) is refused. Capitals, digits and symbols are never
required.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from office.i18n import _l

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
# zxcvbn's score: 3 means "safely unguessable: moderate protection from an offline attack on
# a slow hash" (10^8 guesses or more), which scrypt is.
MIN_SCORE = 3
# Words anyone would try against this office's accounts.
OFFICE_WORDS = (
    "office",
    "liaison",
    "kaesong",
    "gaeseong",
    "joint liaison office",
    "unification",
    "개성",
    "연락사무소",
    "공동연락사무소",
    "통일부",
    "비밀번호",
)

# zxcvbn keeps the user's words in a module-level dictionary while it estimates: one
# estimate at a time per process, so that two threads never read each other's words.
_zxcvbn_lock = threading.Lock()


class WeakPassword(ValueError):
    """The password is refused; `message` says why, for the user to read."""

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message


def _context_words(email: str | None, names: Iterable[str | None]) -> list[str]:
    words: list[str] = list(OFFICE_WORDS)
    if email:
        local, _, domain = email.lower().partition("@")
        words += [email.lower(), local, domain, *re.split(r"[._+\-]+", local)]
    for name in names:
        if name:
            words += [name.lower(), *name.lower().split()]
    return [w for w in words if len(w) >= 3]


def check_password(
    password: str, *, email: str | None = None, names: Iterable[str | None] = ()
) -> None:
    """Raise WeakPassword when `password` is too short, too long or too easy to guess.

    `email` and `names` (the user's display name) are words it must not be built from.
    """
    if len(password) < PASSWORD_MIN_LENGTH:
        raise WeakPassword(_l("A password needs at least %(n)d characters.", n=PASSWORD_MIN_LENGTH))
    if len(password) > PASSWORD_MAX_LENGTH:
        raise WeakPassword(
            _l("A password can have at most %(n)d characters.", n=PASSWORD_MAX_LENGTH)
        )
    if email and password.strip().lower() == email.strip().lower():
        raise WeakPassword(_l("The password must not be the email address."))
    # Imported here: its lists are a megabyte of Python that only setting a password needs,
    # not every worker's start.
    from zxcvbn import zxcvbn

    with _zxcvbn_lock:
        estimate = zxcvbn(
            password, user_inputs=_context_words(email, names), max_length=PASSWORD_MAX_LENGTH
        )
    if estimate["score"] >= MIN_SCORE:
        return
    raise WeakPassword(_why_weak(estimate["sequence"]))


def _why_weak(sequence: list[dict[str, Any]]) -> Any:
    patterns = {match["pattern"] for match in sequence}
    dictionaries = {match.get("dictionary_name") for match in sequence}
    advice = _l("A few unrelated words make a good password, with no capitals or symbols needed.")
    if len(sequence) == 1 and sequence[0].get("dictionary_name") == "passwords":
        return _l(
            "This password is on the list of common passwords that attackers try first. %(advice)s",
            advice=advice,
        )
    if "user_inputs" in dictionaries:
        return _l(
            "This password is too easy to guess: it is built from your email, your name or "
            "the office's name. %(advice)s",
            advice=advice,
        )
    if patterns <= {"repeat", "sequence", "spatial"}:
        return _l(
            "This password is too easy to guess: it repeats characters or follows a sequence "
            "or a row of the keyboard (such as aaaa, 1234 or qwerty). %(advice)s",
            advice=advice,
        )
    return _l(
        "This password is too easy to guess: it is made of common passwords, words, names, "
        "dates or patterns that attackers try first. %(advice)s",
        advice=advice,
    )
