"""The kinds of job, each registered by the feature that owns its work (`office/*/jobs.py`):
what runs, whether it is safe to run again after a failure, and what its owner must hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from office.auth.permissions import Permission

if TYPE_CHECKING:
    from office.jobs.runner import JobContext


@dataclass(frozen=True)
class JobKind:
    name: str
    label: Any  # lazy text: what the pages call it
    run: Callable[[JobContext], None]
    # Safe to run again after a failure or a lost worker: it only reads and leaves a file.
    retry_safe: bool
    # What its owner must hold, when it is asked for and again when it runs; None for the
    # workers' own periodic jobs.
    permission: Permission | None
    # A line about its parameters for the lists, e.g. "2018-10, 한국어".
    describe: Callable[[dict[str, Any]], str] = lambda params: ""
    # What the link to its result says (a job that leaves a page rather than a file).
    result_label: Any = None


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Add `kind` to the kinds workers run (once per name)."""
    if kind.name in KINDS and KINDS[kind.name] is not kind:
        raise ValueError(f"job kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def kind_of(name: str) -> JobKind | None:
    return KINDS.get(name)
