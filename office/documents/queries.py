"""Reading documents for pages and reports: those of a record, of many records, a chain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from office.documents.models import Document, RecordType


def _loaded() -> tuple[object, ...]:
    return (selectinload(Document.uploaded_by), selectinload(Document.withdrawn_by))


@dataclass(frozen=True)
class Shelf:
    """A record's documents: the current ones first (newest first), then every earlier
    version and every withdrawn one."""

    current: list[Document] = field(default_factory=list)
    history: list[Document] = field(default_factory=list)

    @property
    def withdrawn(self) -> list[Document]:
        return [d for d in self.history if d.is_withdrawn]

    @property
    def superseded(self) -> list[Document]:
        return [d for d in self.history if not d.is_withdrawn]

    @property
    def shown(self) -> list[Document]:
        """What a record's page lists: the current documents, then the withdrawn ones (which
        everyone sees as withdrawn); earlier versions are a click away."""
        return [*self.current, *self.withdrawn]


def shelves(
    session: Session, record_type: RecordType, record_ids: Iterable[int | None]
) -> dict[int, Shelf]:
    """The documents of each of `record_ids` (of `record_type`), by record id; a record with
    none has no entry."""
    ids = sorted({i for i in record_ids if i is not None})
    if not ids:
        return {}
    found: dict[int, Shelf] = defaultdict(Shelf)
    for document in session.scalars(
        select(Document)
        .where(Document.record_type == record_type, Document.record_id.in_(ids))
        .order_by(Document.record_id, Document.uploaded_at.desc(), Document.id.desc())
        .options(*_loaded())  # type: ignore[arg-type]
    ):
        shelf = found[document.record_id]
        (shelf.current if document.is_current else shelf.history).append(document)
    return dict(found)


def shelf(session: Session, record_type: RecordType, record_id: int | None) -> Shelf:
    """The documents of one record."""
    if record_id is None:
        return Shelf()
    return shelves(session, record_type, [record_id]).get(record_id, Shelf())


def versions(session: Session, document: Document) -> list[Document]:
    """Every version of `document`'s chain, the first first (each supersedes the one before)."""
    by_successor = {
        d.superseded_by_id: d
        for d in session.scalars(
            select(Document)
            .where(
                Document.record_type == document.record_type,
                Document.record_id == document.record_id,
            )
            .options(*_loaded())  # type: ignore[arg-type]
        )
    }
    chain = [document]
    while chain[0].id in by_successor:
        chain.insert(0, by_successor[chain[0].id])
    by_id = {d.id: d for d in by_successor.values()}
    while chain[-1].superseded_by_id is not None and chain[-1].superseded_by_id in by_id:
        chain.append(by_id[chain[-1].superseded_by_id])
    return chain


def predecessors(session: Session, document_ids: Iterable[int]) -> dict[int, int]:
    """The version each of `document_ids` supersedes, by the superseding one's id (a first
    version has no entry)."""
    ids = sorted(set(document_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Document.superseded_by_id, Document.id).where(Document.superseded_by_id.in_(ids))
    )
    return {newer: older for newer, older in rows if newer is not None}
