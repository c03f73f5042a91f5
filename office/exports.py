"""What every CSV export writes through: cells that a spreadsheet shows and never computes.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula, and a formula can fetch a URL or run a command when
the file is opened: a name, a reason or the email typed on the login page becomes one. As
OWASP advises ("CSV Injection"), such a cell gets a leading single quote, which makes it text.
Numbers stay numbers: a negative quantity the app writes is a number, not a formula.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# A plain decimal number, in ASCII digits: what a spreadsheet reads as a number.
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def inert(value: Any) -> Any:
    """Return a cell's value so that no spreadsheet computes it: numbers and dates as they
    are, text that would start a formula behind a single quote."""
    if value is None or isinstance(value, int | float | Decimal | date):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore(text: str) -> str:
    """Return a cell read back from one of our exports as it was before `inert` (the roster
    export is also the import's template)."""
    if text.startswith("'") and inert(text[1:]) == text:
        return text[1:]
    return text


class _Writable(Protocol):
    def write(self, s: str, /) -> object: ...


class Writer:
    """A `csv.writer` whose every cell goes through `inert`."""

    def __init__(self, out: _Writable, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([inert(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: _Writable, **options: Any) -> Writer:
    """Return a CSV writer on `out` (options as for `csv.writer`) that writes no formula."""
    return Writer(out, **options)
