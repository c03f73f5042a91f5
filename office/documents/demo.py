"""The demo office's papers: the letters behind its waivers, a delivery's carry-out approval
and customs declaration, a contractor's quote and invoice, the photo of a dip and a meter,
and a report in a review thread; one approval replaced by its amended version, and one photo
withdrawn. The files are made here, small and real: PDFs any reader opens, PNG images, CSV."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.documents import services
from office.documents.content import MEGABYTE
from office.documents.models import Document, DocumentKind, RecordType

MAX_BYTES = 25 * MEGABYTE


def pdf_file(lines: list[str]) -> bytes:
    """A one-page PDF (A4, Helvetica) with `lines` of ASCII text."""

    def escaped(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 12 Tf 16 TL 72 770 Td " + " ".join(f"({escaped(t)}) '" for t in lines) + " ET"
    stream = text.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def png_file(width: int, height: int, level: float) -> bytes:
    """A PNG of a gauge: grey, filled to `level` (0 to 1) from the bottom in amber."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = []
    for y in range(height):
        filled = y >= height * (1 - level)
        row = bytearray([0])  # no filter
        for x in range(width):
            edge = x < 4 or x >= width - 4 or y < 4 or y >= height - 4
            tick = x % 20 == 0 and y % 10 == 0
            pixel = (40, 40, 40) if edge or tick else (214, 140, 30) if filled else (200, 200, 200)
            row.extend(pixel)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _attach(
    session: Session,
    record_type: RecordType,
    record_id: int,
    data: bytes,
    filename: str,
    title: str,
    kind: DocumentKind,
    actor: User,
    at: Any,
) -> Document:
    return services.attach_to(
        session,
        record_type,
        record_id,
        services.Upload(io.BytesIO(data), filename, title, kind),
        actor=actor,
        now=at,
        max_bytes=MAX_BYTES,
    )


def load(session: Session, *, admin: User, reviewer: User, calendar: Any) -> None:
    """Attach the demo's papers to its records (laid on `calendar`, as the rest of it)."""
    from office.fuel import services as fuel
    from office.fuel.models import DipReading
    from office.repairs.models import WorkOrder
    from office.reviews import services as reviews
    from office.reviews.models import ItemKind
    from office.supplies.models import Delivery
    from office.waivers.models import Waiver

    on = calendar.day

    def at(day: date, hour: int) -> Any:
        return calendar.at(day, hour)

    def waiver(reference: str) -> Waiver:
        return session.scalars(select(Waiver).where(Waiver.reference == reference)).one()

    un = waiver("UN1718-2018-LO-01")
    _attach(
        session,
        RecordType.WAIVER,
        un.id,
        pdf_file(
            [
                "Security Council Committee established pursuant to resolution 1718 (2006)",
                f"Exemption {un.reference}: the liaison office's equipment and fuel.",
                "The Committee approves the transfers listed in the annex.",
            ]
        ),
        "1718-exemption-letter.pdf",
        "1718 Committee exemption letter",
        DocumentKind.EXEMPTION_LETTER,
        reviewer,
        at(un.valid_from or on(date(2018, 12, 1)), 10),
    )
    blanket = waiver("MOU-2018-B-0814")
    first = _attach(
        session,
        RecordType.WAIVER,
        blanket.id,
        pdf_file(["Ministry of Unification", f"Blanket carry-out approval {blanket.reference}"]),
        "blanket-approval.pdf",
        "Blanket carry-out approval",
        DocumentKind.APPROVAL,
        reviewer,
        at(blanket.valid_from or on(date(2018, 8, 14)), 11),
    )
    amended = pdf_file(
        [
            "Ministry of Unification",
            f"Blanket carry-out approval {blanket.reference}, amended",
            "Annex 2 corrected: the electricity line in MWh.",
        ]
    )
    services.supersede(
        session,
        first,
        services.Upload(
            io.BytesIO(amended),
            "blanket-approval-amended.pdf",
            "Blanket carry-out approval (amended)",
            DocumentKind.APPROVAL,
        ),
        actor=reviewer,
        now=at(on(date(2018, 8, 20)), 9),
        max_bytes=MAX_BYTES,
    )

    delivery = session.scalars(select(Delivery).where(Delivery.reference == "KLO-D-2018-01")).one()
    day = delivery.planned_on
    for data, filename, title, kind in (
        (
            pdf_file(["Ministry of Unification", "Carry-out approval MOU-2018-0611"]),
            "carry-out-approval.pdf",
            "Carry-out approval",
            DocumentKind.CARRY_OUT_APPROVAL,
        ),
        (
            pdf_file(["Korea Customs Service", f"Export declaration for {delivery.reference}"]),
            "customs-declaration.pdf",
            "Customs declaration",
            DocumentKind.CUSTOMS_DECLARATION,
        ),
        (
            b"line,item,quantity,unit\r\n1,Steel sections,12.5,t\r\n2,Copper tubes,400,kg\r\n",
            "packing-list.csv",
            "Packing list",
            DocumentKind.PACKING_LIST,
        ),
    ):
        _attach(
            session,
            RecordType.DELIVERY,
            delivery.id,
            data,
            filename,
            title,
            kind,
            admin,
            at(day, 9),
        )
    if delivery.lines:
        _attach(
            session,
            RecordType.DELIVERY_LINE,
            delivery.lines[0].id,
            pdf_file(["Commercial invoice", f"{delivery.reference}, line 1"]),
            "invoice-line-1.pdf",
            "Supplier's invoice",
            DocumentKind.INVOICE,
            admin,
            at(day, 9),
        )

    works = session.scalars(select(WorkOrder).where(WorkOrder.number == "KLO-W-2018-01")).one()
    start = works.planned_start
    _attach(
        session,
        RecordType.WORK_ORDER,
        works.id,
        pdf_file(["Quotation", "Distribution boards and cabling", "420,000,000 KRW"]),
        "quote-substation.pdf",
        "Contractor's quote",
        DocumentKind.QUOTE,
        admin,
        at(start, 14),
    )
    _attach(
        session,
        RecordType.WORK_ORDER,
        works.id,
        png_file(160, 120, 0.3),
        "substation-before.png",
        "Substation room before the works",
        DocumentKind.PHOTO,
        admin,
        at(start, 15),
    )

    # The day the boiler tank's leak was found: the dip stick's photo, and the inspection's
    # report in the review thread of the variance.
    dip = session.scalars(
        select(DipReading).where(DipReading.flagged.is_(True)).order_by(DipReading.read_at)
    ).first()
    if dip is not None:
        log = fuel.log_to_attach(session, dip.read_on, now=at(dip.read_on, 9))
        _attach(
            session,
            RecordType.DAILY_LOG,
            log.id,
            png_file(60, 200, 0.35),
            "dip-boiler-tank.png",
            "Boiler tank dip stick",
            DocumentKind.DIP_PHOTO,
            admin,
            at(dip.read_on, 9),
        )
        today = calendar.today
        item = reviews.open_item(
            session, ItemKind.DIP_VARIANCE, dip.id, now=at(dip.read_on, 16), today=today
        )
        _attach(
            session,
            RecordType.REVIEW_ITEM,
            item.id,
            pdf_file(["Tank inspection report", "Boiler tank: a weeping valve, replaced."]),
            "tank-inspection.pdf",
            "Tank inspection report",
            DocumentKind.REPORT,
            admin,
            at(dip.read_on, 16),
        )

    # Today's log: the grid meter's face, and a photo withdrawn (it was of the wrong tank).
    last = calendar.last_day
    log = fuel.log_to_attach(session, last, now=at(last, 8))
    _attach(
        session,
        RecordType.DAILY_LOG,
        log.id,
        png_file(200, 80, 0.6),
        "meter-munsan.png",
        "Munsan feed meter",
        DocumentKind.METER_PHOTO,
        admin,
        at(last, 8),
    )
    wrong = _attach(
        session,
        RecordType.DAILY_LOG,
        log.id,
        png_file(60, 200, 0.8),
        "dip-generator-tank.png",
        "Generator tank dip stick",
        DocumentKind.DIP_PHOTO,
        admin,
        at(last, 8),
    )
    services.withdraw(
        session,
        wrong,
        reason="The photo is of the boiler tank, not the generator's.",
        actor=admin,
        now=at(last, 8),
    )
    session.flush()
