"""Print how much memory a worker needs to take in and send back a 25 MB document.

    .venv/bin/python bench/documents.py [--megabytes 25] [--database-url URL]

The issue asks that a 25 MB file never sit whole in a worker's memory: it is read from the
request in 512 KB pieces (Werkzeug spools the upload to a temporary file first), checked and
hashed as it is read, stored as chunk rows, and sent back chunk by chunk from the database.

A database is built with the real migrations (a temporary SQLite file, or the empty
PostgreSQL database given), a reviewer and a waiver are added through the services, and the
file (a PDF header, then random bytes) is written to disk. Through the Flask test client, in
this process, the script posts it to the waiver's documents, the multipart body read from a
file on disk (so the client holds none of it either), and downloads it again, hashing each
chunk as it comes. For each it prints the time, the rise of the process's resident memory
at its peak over what it was before (VmHWM after `/proc/self/clear_refs`, Linux), and, in a
second run, the peak of Python's own allocations (tracemalloc) over the baseline. Both are
compared with the file's size: flat means a small, fixed multiple of the chunk, whatever the
file's size.

Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from bench.ledger import load_average, logged_in, migrate  # noqa: E402
from office import create_app  # noqa: E402
from office.auth import services as auth_services  # noqa: E402
from office.auth.permissions import Role  # noqa: E402
from office.db import create_engine_for, db, utcnow  # noqa: E402
from office.documents.content import CHUNK_SIZE, MEGABYTE  # noqa: E402
from office.documents.models import Document, DocumentChunk  # noqa: E402
from office.waivers import services as waivers  # noqa: E402
from office.waivers.models import Authority, WaiverStatus  # noqa: E402

SECRET = "bench-documents-" + "x" * 32


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measured(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run `call`; return its result, its seconds and the rise of resident memory at its
    peak over what it was before, in MB."""
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again here
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    return result, seconds, (_status_kb("VmHWM") - before) / 1024


def traced(call: Callable[[], Any]) -> tuple[Any, float]:
    """Run `call` under tracemalloc; return its result and the peak of Python's allocations
    during it over what they were before, in MB."""
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, (peak - baseline) / MEGABYTE


def write_file(path: Path, size: int) -> str:
    """A file of `size` bytes that begins as a PDF; return its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        head = b"%PDF-1.4\n"
        out.write(head)
        digest.update(head)
        left = size - len(head)
        while left:
            piece = os.urandom(min(left, 1024 * 1024))
            out.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def write_body(path: Path, file: Path) -> tuple[str, int]:
    """The multipart body of the upload form around `file`, written to `path`, the file
    copied in pieces; return its boundary and length."""
    boundary, head = encode_multipart({"title": "Scan", "kind": "exemption_letter"})
    head = head[: -len(f"--{boundary}--\r\n")]  # the fields, open for the file's part
    with path.open("wb") as out, file.open("rb") as source:
        out.write(head)
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file.name}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        )
        while piece := source.read(1024 * 1024):
            out.write(piece)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return boundary, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=25, help="the file's size (25)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default SQLite)")
    args = parser.parse_args()
    size = args.megabytes * MEGABYTE

    with tempfile.TemporaryDirectory(prefix="office-bench-documents-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'office.db'}"
        engine = create_engine_for(url)
        migrate(engine)
        now = utcnow()
        with Session(engine, expire_on_commit=False) as session:
            reviewer = auth_services.create_user(
                session,
                email="reviewer@bench.example",
                display_name="Reviewer",
                role=Role.REVIEWER,
                password="bench-documents-password",
                actor=None,
                now=now,
            )
            waiver = waivers.create_waiver(
                session,
                reference="1718-BENCH-01",
                authority=Authority.UN_1718_COMMITTEE,
                title="Bench",
                status=WaiverStatus.GRANTED,
                actor=None,
                now=now,
            )
            _row, key = auth_services.start_session(
                session, reviewer, now=now, remote_addr=None, user_agent=None
            )
            session.commit()
        engine.dispose()

        app = create_app(
            {"OFFICE_ENV": "development", "SECRET_KEY": SECRET, "OFFICE_DATABASE_URL": url},
            WTF_CSRF_ENABLED=False,
            OFFICE_MAX_UPLOAD_MB=max(25, args.megabytes),
            MAX_CONTENT_LENGTH=(max(25, args.megabytes) + 1) * MEGABYTE,
        )
        client = logged_in(app, key)
        scan = folder / "scan.pdf"
        expected = write_file(scan, size)
        boundary, length = write_body(folder / "body", scan)

        def upload() -> int:
            with (folder / "body").open("rb") as body:
                response = client.post(
                    f"/documents/of/waiver/{waiver.id}",
                    input_stream=body,
                    content_length=length,
                    content_type=f"multipart/form-data; boundary={boundary}",
                )
            assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
            with app.app_context():
                return db.session.scalar(select(func.max(Document.id))) or 0

        def download(document_id: int) -> Callable[[], str]:
            def run() -> str:
                digest = hashlib.sha256()
                response = client.get(f"/documents/{document_id}/file", buffered=False)
                for piece in response.response:
                    digest.update(piece)
                response.close()
                return digest.hexdigest()

            return run

        client.get("/")  # the app warmed up: templates, the session's first queries
        first, up_seconds, up_rss = measured(upload)
        got, down_seconds, down_rss = measured(download(first))
        assert got == expected, "the file came back different"
        second, up_traced = traced(upload)
        got, down_traced = traced(download(second))
        assert got == expected
        with app.app_context():
            chunks = db.session.scalar(
                select(func.count())
                .select_from(DocumentChunk)
                .where(DocumentChunk.document_id == first)
            )
            stored = db.session.get(Document, first)
            assert stored is not None and stored.sha256 == expected

    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    mb = args.megabytes
    print(f"Documents: a {mb} MB file up and down through the Flask test client, {kind}")
    print(f"load average {load_average()}; chunk {CHUNK_SIZE // 1024} KB; {chunks} chunk rows")
    print(
        f"upload:   {up_seconds * 1000:7.0f} ms ({mb / up_seconds:5.0f} MB/s); resident memory "
        f"+{up_rss:5.1f} MB at its peak; Python allocations +{up_traced:5.1f} MB at their peak"
    )
    print(
        f"download: {down_seconds * 1000:7.0f} ms ({mb / down_seconds:5.0f} MB/s); resident "
        f"memory +{down_rss:5.1f} MB at its peak; Python allocations +{down_traced:5.1f} MB at "
        "their peak"
    )
    print(f"SHA-256 {expected[:16]}... the same after the round trip")


if __name__ == "__main__":
    main()
