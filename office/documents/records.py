"""The records documents are attached to, as each feature declares them.

A feature registers each of its record types once (from its views module): how a page's
address names one (`key`: an id, a day, a review item's kind and source), who may see it and
who may attach to it, and how to make the row to attach to when there is none yet (a day's
log, a review thread nobody has taken up). Documents then follow their record: who may see a
record sees its documents; who may change it attaches, replaces and withdraws them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from office.auth.permissions import Permission, has_permission
from office.documents.models import RecordType


@dataclass(frozen=True)
class Record:
    """A record as the documents' pages show it."""

    type: RecordType
    key: str  # how its address names it
    id: int | None  # its row; None while it has none yet (a day without its log)
    name: str  # "Waiver 1718-2018-07", in the reader's language
    url: str  # its own page


@dataclass(frozen=True)
class RecordKind:
    """What documents need to know of one type of record.

    `find` and `by_id` return None for a record that is not there. `open` returns the id of
    the row to attach to, made if there is none yet, holding whatever lock keeps it there
    until the transaction ends (a draft's manifest line can be removed: its delivery is
    locked); it raises a DomainError when documents cannot be attached to it now.
    """

    view: Permission
    change: Permission
    find: Callable[[Session, str], Record | None]
    by_id: Callable[[Session, int], Record | None]
    open: Callable[[Session, Record, datetime], int]


_KINDS: dict[RecordType, RecordKind] = {}


def register(record_type: RecordType, kind: RecordKind) -> None:
    _KINDS[record_type] = kind


def kind_of(record_type: RecordType) -> RecordKind:
    return _KINDS[record_type]


def registered() -> frozenset[RecordType]:
    return frozenset(_KINDS)


def may_see(user: Any, record_type: RecordType) -> bool:
    return has_permission(user, kind_of(record_type).view)


def may_change(user: Any, record_type: RecordType) -> bool:
    return has_permission(user, kind_of(record_type).change)


def open_existing(session: Session, record: Record, now: datetime) -> int:
    """`open` for a record that is always there once it has an address (a waiver)."""
    assert record.id is not None
    return record.id


def by_id_key(
    load: Callable[[Session, int], Any | None], to_record: Callable[[Any], Record]
) -> tuple[Callable[[Session, str], Record | None], Callable[[Session, int], Record | None]]:
    """`find` and `by_id` for a record whose address names it by its id."""
    from office import inputs

    def by_id(session: Session, record_id: int) -> Record | None:
        found = load(session, record_id)
        return to_record(found) if found is not None else None

    def find(session: Session, key: str) -> Record | None:
        record_id = inputs.id_from(key)
        return by_id(session, record_id) if record_id is not None else None

    return find, by_id
