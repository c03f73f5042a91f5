"""Documents attached to waivers, deliveries, manifest lines, work orders, daily logs and
review threads, kept in the database in chunks, each under its SHA-256

`documents` holds one row per file (its record, title, kind, name, media type, size, SHA-256,
who attached it and when, the version that superseded it, or its withdrawal with a reason);
`document_chunks` holds its bytes, 512 KB a row, in order. The database refuses to change a
document's content or record, and any change or removal of a chunk: a file is never changed,
only superseded by a newer version or withdrawn.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TYPES = ("waiver", "delivery", "delivery_line", "work_order", "daily_log", "review_item")
KINDS = (
    "exemption_letter",
    "approval",
    "amendment",
    "correspondence",
    "carry_out_approval",
    "customs_declaration",
    "packing_list",
    "invoice",
    "certificate",
    "quote",
    "dip_photo",
    "meter_photo",
    "photo",
    "report",
    "other",
)
FIXED = "the file and the record of a document never change"
# What of a document may never change once it is attached: its content and its record.
FIXED_COLUMNS = (
    "record_type",
    "record_id",
    "media_type",
    "size",
    "sha256",
    "chunks",
    "uploaded_by_id",
    "uploaded_at",
)


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(
        *values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(v) for v in values),
    )


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", _enum(RECORD_TYPES, "record_type"), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", _enum(KINDS, "document_kind"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("size > 0", name=op.f("ck_documents_not_empty")),
        sa.CheckConstraint("chunks > 0", name=op.f("ck_documents_has_chunks")),
        sa.CheckConstraint(
            "superseded_by_id IS NULL OR withdrawn_at IS NULL",
            name=op.f("ck_documents_superseded_or_withdrawn"),
        ),
        sa.CheckConstraint(
            "withdrawn_at IS NULL OR withdrawn_reason IS NOT NULL",
            name=op.f("ck_documents_withdrawn_with_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["documents.id"],
            name=op.f("fk_documents_superseded_by_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_documents_uploaded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_id"], ["users.id"], name=op.f("fk_documents_withdrawn_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("superseded_by_id", name=op.f("uq_documents_superseded_by_id")),
    )
    op.create_index("ix_documents_record", "documents", ["record_type", "record_id", "id"])
    op.create_index(op.f("ix_documents_sha256"), "documents", ["sha256"])
    op.create_table(
        "document_chunks",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_chunks_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("document_id", "seq", name=op.f("pk_document_chunks")),
    )
    columns = ", ".join(FIXED_COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION documents_fixed() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{FIXED}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER documents_fixed BEFORE UPDATE OF {columns} OR DELETE "
            "ON documents FOR EACH ROW EXECUTE FUNCTION documents_fixed()"
        )
        op.execute(
            "CREATE TRIGGER document_chunks_fixed BEFORE UPDATE OR DELETE "
            "ON document_chunks FOR EACH ROW EXECUTE FUNCTION documents_fixed()"
        )
        # Chunks are stored as they come: PDFs, photos and Office files are compressed
        # already, and PostgreSQL would try again for nothing.
        op.execute("ALTER TABLE document_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    else:
        op.execute(
            f"CREATE TRIGGER documents_no_update BEFORE UPDATE OF {columns} ON documents "
            f"BEGIN SELECT RAISE(ABORT, '{FIXED}'); END"
        )
        for table in ("documents", "document_chunks"):
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{FIXED}'); END"
            )
        op.execute(
            "CREATE TRIGGER document_chunks_no_update BEFORE UPDATE ON document_chunks "
            f"BEGIN SELECT RAISE(ABORT, '{FIXED}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER document_chunks_fixed ON document_chunks")
        op.execute("DROP TRIGGER documents_fixed ON documents")
        op.execute("DROP FUNCTION documents_fixed()")
    else:
        for trigger in (
            "document_chunks_no_update",
            "document_chunks_no_delete",
            "documents_no_delete",
            "documents_no_update",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("document_chunks")
    op.drop_index(op.f("ix_documents_sha256"), table_name="documents")
    op.drop_index("ix_documents_record", table_name="documents")
    op.drop_table("documents")
