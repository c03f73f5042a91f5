"""A document attached to a record, and its bytes in chunks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.auth.models import User
from office.db import Base, enum_type


class RecordType(StrEnum):
    """The records a document may be attached to."""

    WAIVER = "waiver"
    DELIVERY = "delivery"
    DELIVERY_LINE = "delivery_line"  # a manifest line
    WORK_ORDER = "work_order"
    DAILY_LOG = "daily_log"
    REVIEW_ITEM = "review_item"  # a flagged record's review thread


class DocumentKind(StrEnum):
    EXEMPTION_LETTER = "exemption_letter"  # the 1718 Committee's letter
    APPROVAL = "approval"  # an approval or licence as issued
    AMENDMENT = "amendment"  # an amendment, or the request for one
    CORRESPONDENCE = "correspondence"
    CARRY_OUT_APPROVAL = "carry_out_approval"  # the ministry's, for a delivery
    CUSTOMS_DECLARATION = "customs_declaration"
    PACKING_LIST = "packing_list"
    INVOICE = "invoice"
    CERTIFICATE = "certificate"  # of origin, of conformity
    QUOTE = "quote"
    DIP_PHOTO = "dip_photo"
    METER_PHOTO = "meter_photo"
    PHOTO = "photo"
    REPORT = "report"
    OTHER = "other"


K = DocumentKind
# The kinds each record type takes, in the order its form offers them.
KINDS: dict[RecordType, tuple[DocumentKind, ...]] = {
    RecordType.WAIVER: (K.EXEMPTION_LETTER, K.APPROVAL, K.AMENDMENT, K.CORRESPONDENCE, K.OTHER),
    RecordType.DELIVERY: (
        K.CARRY_OUT_APPROVAL,
        K.CUSTOMS_DECLARATION,
        K.PACKING_LIST,
        K.INVOICE,
        K.PHOTO,
        K.OTHER,
    ),
    RecordType.DELIVERY_LINE: (K.INVOICE, K.PACKING_LIST, K.CERTIFICATE, K.PHOTO, K.OTHER),
    RecordType.WORK_ORDER: (K.QUOTE, K.INVOICE, K.PHOTO, K.REPORT, K.OTHER),
    RecordType.DAILY_LOG: (K.DIP_PHOTO, K.METER_PHOTO, K.PHOTO, K.REPORT, K.OTHER),
    RecordType.REVIEW_ITEM: (K.AMENDMENT, K.CORRESPONDENCE, K.PHOTO, K.REPORT, K.OTHER),
}


class Document(Base):
    """One file attached to one record, stored under its SHA-256 and never changed.

    A newer version supersedes it (`superseded_by_id`: at most one, and a version supersedes
    at most one, so versions form a chain with one current end); or it is withdrawn with a
    reason, and stays readable for reviewers. A document is current when it is neither.
    """

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_record", "record_type", "record_id", "id"),
        CheckConstraint("size > 0", name="not_empty"),
        CheckConstraint("chunks > 0", name="has_chunks"),
        # Superseded or withdrawn, never both: a chain has one end.
        CheckConstraint(
            "superseded_by_id IS NULL OR withdrawn_at IS NULL", name="superseded_or_withdrawn"
        ),
        CheckConstraint(
            "withdrawn_at IS NULL OR withdrawn_reason IS NOT NULL", name="withdrawn_with_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[RecordType] = mapped_column(enum_type(RecordType, "record_type"))
    record_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[DocumentKind] = mapped_column(enum_type(DocumentKind, "document_kind"))
    filename: Mapped[str] = mapped_column(String(255))  # as given, normalised (NFC)
    media_type: Mapped[str] = mapped_column(String(100))  # decided from the content
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    chunks: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), unique=True)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    @property
    def is_current(self) -> bool:
        return self.superseded_by_id is None and self.withdrawn_at is None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class DocumentChunk(Base):
    """A piece of a document's bytes, in order: `seq` 0, 1, ... up to its `chunks`."""

    __tablename__ = "document_chunks"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
