"""Files of every kind the office keeps, and of kinds it refuses, made here; and the way a
browser sends one."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from office.documents.demo import pdf_file, png_file
from office.documents.models import Document, DocumentChunk, RecordType
from office.supplies import services as supplies
from office.supplies.models import Delivery, DeliveryLine
from office.waivers.models import Resource
from tests.concurrency import Office
from tests.factories import NOW

PDF = pdf_file(["Exemption letter", "for the test"])
PNG = png_file(40, 30, 0.5)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x08free" + b"\x01" * 64
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
CSV = "\ufeffline,item,quantity\r\n1,시멘트,400\r\n".encode()
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def ooxml(part: str, *, macros: bool = False) -> bytes:
    """A minimal Office Open XML package: `[Content_Types].xml` and one part (`word/...`).

    Its entries carry a fixed date, so the same package is built byte for byte in every process
    (pytest-xdist's workers must collect the same parameters)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:

        def add(name: str, data: str | bytes) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2018, 9, 14, 0, 0, 0)), data)

        add("[Content_Types].xml", "<Types/>")
        add(part, "<x/>")
        if macros:
            add(part.split("/")[0] + "/vbaProject.bin", b"\x00")
    return out.getvalue()


DOCX = ooxml("word/document.xml")
XLSX = ooxml("xl/workbook.xml")
PPTX = ooxml("ppt/presentation.xml")


def big_pdf(size: int) -> bytes:
    """A file of `size` bytes that begins as a PDF, of bytes that do not repeat."""
    head = PDF[:-6]  # without %%EOF: the rest is padding a reader skips
    pad = hashlib.shake_256(b"office").digest(size - len(head))
    return head + pad


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(
    client: FlaskClient,
    url: str,
    data: bytes,
    filename: str,
    *,
    kind: str,
    title: str = "",
) -> TestResponse:
    # Encoded here, in memory: Werkzeug's test client spools a large body to a temporary
    # file that it leaves open.
    boundary, body = encode_multipart(
        {
            "file": FileStorage(io.BytesIO(data), filename, content_type="application/pdf"),
            "title": title,
            "kind": kind,
        }
    )
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def stored(session: Session) -> tuple[int, int]:
    """How many documents and chunk rows the database holds."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Document)) or 0,
        session.scalar(select(func.count()).select_from(DocumentChunk)) or 0,
    )


def delivery_with_line(session: Session, resource: Resource) -> tuple[Delivery, DeliveryLine]:
    delivery = supplies.save_delivery(
        session,
        reference=f"KLO-D-DOC-{resource.id}",
        direction="north",
        planned_on=date(2018, 10, 1),
        actor=None,
        now=NOW,
    )
    line = supplies.add_line(
        session,
        delivery,
        supplies.LineInput(resource=resource, quantity="5", unit="L", purpose="fuel"),
        actor=None,
        now=NOW,
    )
    session.commit()
    return delivery, line


def fetch(client: FlaskClient, url: str) -> TestResponse:
    """GET `url` and read the whole answer at once (a file is streamed: read later, it would
    end its request after the next one began)."""
    return client.get(url, buffered=True)


def versions_of(office: Office, waiver_id: int) -> list[Document]:
    """Every version of the waiver's documents, committed, oldest first."""
    with office.session() as session:
        return list(
            session.scalars(
                select(Document)
                .where(Document.record_type == RecordType.WAIVER, Document.record_id == waiver_id)
                .order_by(Document.id)
            )
        )


def chunks_kept(office: Office) -> int:
    """How many chunks of documents' bytes the database holds, committed."""
    with office.session() as session:
        return session.scalar(select(func.count()).select_from(DocumentChunk)) or 0
