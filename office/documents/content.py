"""What a file is, decided from its bytes, and whether the office keeps it.

The office keeps six kinds of file: PDF; JPEG, PNG and HEIC images; Word, Excel and PowerPoint
documents (.docx, .xlsx, .pptx, and the legacy .doc and .xls); and CSV. Each is told by its
own bytes: a PDF, JPEG, PNG or HEIC by its signature; an Office Open XML document is a ZIP
whose directory holds `[Content_Types].xml` and its application's part (read from the ZIP's
central directory, nothing unpacked); a legacy Office file by the OLE2 signature (which does
not say Word or Excel: its name does); a CSV is text, UTF-8 without NULs (text has no
signature: its name says CSV). A file's name must say what its bytes are: an HTML page named
letter.pdf, or a PNG named scan.pdf, is refused. Not a general-purpose library (libmagic
needs a system library, the pure-Python ones guess among hundreds of types): the list is
closed and short, and each rule is tested.
"""

from __future__ import annotations

import codecs
import hashlib
import unicodedata
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from typing import IO

from office.errors import InvalidInput
from office.i18n import LazyText, _l

# The bytes of a file are read, stored and sent in pieces of this size: never the whole file
# in a worker's memory.
CHUNK_SIZE = 512 * 1024
MEGABYTE = 1024 * 1024
FILENAME_MAX = 255
_HEAD = 64


class FileKind(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    HEIC = "heic"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    DOC = "doc"
    XLS = "xls"
    CSV = "csv"


MEDIA_TYPES = {
    FileKind.PDF: "application/pdf",
    FileKind.JPEG: "image/jpeg",
    FileKind.PNG: "image/png",
    FileKind.HEIC: "image/heic",
    FileKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileKind.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    FileKind.DOC: "application/msword",
    FileKind.XLS: "application/vnd.ms-excel",
    FileKind.CSV: "text/csv",
}
KIND_OF_MEDIA_TYPE = {media: kind for kind, media in MEDIA_TYPES.items()}
# What a browser shows by itself, safely, as an image or in its PDF viewer.
IMAGES = frozenset({"image/jpeg", "image/png"})
PDF = "application/pdf"

EXTENSIONS = {
    "pdf": FileKind.PDF,
    "jpg": FileKind.JPEG,
    "jpeg": FileKind.JPEG,
    "jpe": FileKind.JPEG,
    "jfif": FileKind.JPEG,
    "png": FileKind.PNG,
    "heic": FileKind.HEIC,
    "heif": FileKind.HEIC,
    "docx": FileKind.DOCX,
    "xlsx": FileKind.XLSX,
    "pptx": FileKind.PPTX,
    "doc": FileKind.DOC,
    "xls": FileKind.XLS,
    "csv": FileKind.CSV,
}

_EXTENSION_OF = {
    FileKind.PDF: ".pdf",
    FileKind.JPEG: ".jpg",
    FileKind.PNG: ".png",
    FileKind.HEIC: ".heic",
    FileKind.DOCX: ".docx",
    FileKind.XLSX: ".xlsx",
    FileKind.PPTX: ".pptx",
    FileKind.DOC: ".doc",
    FileKind.XLS: ".xls",
    FileKind.CSV: ".csv",
}

_PNG = b"\x89PNG\r\n\x1a\n"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
# HEIF brands of HEVC-coded images (ISO/IEC 23008-12): a photo from a phone.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_GENERIC = frozenset({b"mif1", b"msf1"})
_OOXML_PARTS = {"word/": FileKind.DOCX, "xl/": FileKind.XLSX, "ppt/": FileKind.PPTX}


def allowed_files() -> LazyText:
    return _l(
        "Attach a PDF, an image (JPEG, PNG or HEIC), a Word, Excel or PowerPoint document "
        "(.docx, .xlsx, .pptx, .doc or .xls) or a CSV file."
    )


def kind_name(kind: FileKind) -> LazyText:
    """What a kind of file is called, as a message names it."""
    return {
        FileKind.PDF: _l("a PDF"),
        FileKind.JPEG: _l("a JPEG image"),
        FileKind.PNG: _l("a PNG image"),
        FileKind.HEIC: _l("a HEIC image"),
        FileKind.DOCX: _l("a Word document (.docx)"),
        FileKind.XLSX: _l("an Excel workbook (.xlsx)"),
        FileKind.PPTX: _l("a PowerPoint presentation (.pptx)"),
        FileKind.DOC: _l("a Word document (.doc)"),
        FileKind.XLS: _l("an Excel workbook (.xls)"),
        FileKind.CSV: _l("a CSV file"),
    }[kind]


@dataclass(frozen=True)
class Checked:
    """A file the office keeps: its name, what it is, its size and its SHA-256."""

    filename: str
    media_type: str
    size: int
    sha256: str


def clean_filename(raw: str | None) -> str:
    """Return the file's name as given, in NFC (a Mac sends Hangul decomposed).

    Raises InvalidInput (field `file`) for a name that is empty, too long, or holds a path
    separator or a control or formatting character (which could show one name as another).
    """
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name or name in (".", ".."):
        raise InvalidInput(_l("The file has no name; give it one and attach it again."), "file")
    if "/" in name or "\\" in name or any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise InvalidInput(
            _l(
                "A file's name may not hold a slash, a backslash or a control character; "
                "rename the file and attach it again."
            ),
            "file",
        )
    if len(name) > FILENAME_MAX:
        raise InvalidInput(
            _l("Shorten the file's name to %(n)d characters at most.", n=FILENAME_MAX), "file"
        )
    return name


def _sniff(head: bytes, stream: IO[bytes]) -> FileKind | None:
    """The kind of file whose bytes begin with `head`, if it is one of the office's binary
    kinds (a legacy Office file: DOC, to be told from XLS by its name); None otherwise."""
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if head.startswith(_PNG):
        return FileKind.PNG
    if head[4:8] == b"ftyp" and len(head) >= 16:
        major = head[8:12]
        box = int.from_bytes(head[0:4], "big")
        compatible = {head[i : i + 4] for i in range(16, min(box, len(head)) - 3, 4)}
        if major in _HEIC_BRANDS or (major in _HEIF_GENERIC and compatible & _HEIC_BRANDS):
            return FileKind.HEIC
        return None
    if head.startswith(_OLE2):
        return FileKind.DOC
    if head.startswith(_ZIP):
        return _ooxml(stream)
    return None


def _ooxml(stream: IO[bytes]) -> FileKind | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise InvalidInput(
            _l(
                "This document holds macros, which the office does not keep; save it without "
                "them (as .docx, .xlsx or .pptx) and attach it again."
            ),
            "file",
        )
    for prefix, kind in _OOXML_PARTS.items():
        if any(name.startswith(prefix) for name in names):
            return kind
    return None


def check(stream: IO[bytes], raw_name: str | None, *, max_bytes: int) -> Checked:
    """Read `stream` (seekable) once, in chunks, and return what it is, or refuse it.

    Raises InvalidInput (field `file`) for a bad name, an empty file, one larger than
    `max_bytes`, one whose bytes are none of the kinds kept, or are not what its name says.
    """
    filename = clean_filename(raw_name)
    stem, dot, extension = filename.rpartition(".")
    named = EXTENSIONS.get(extension.lower()) if dot and stem else None
    stream.seek(0)
    head = stream.read(_HEAD)
    if not head:
        raise InvalidInput(_l("%(name)s is empty.", name=filename), "file")
    found = _sniff(head, stream)
    if found is FileKind.DOC and named is FileKind.XLS:
        found = FileKind.XLS  # the same OLE2 container: the name tells which
    if named is None and found is not None:
        raise InvalidInput(
            _l(
                "%(name)s holds %(found)s, but its name does not say so: name it with the "
                "extension %(extension)s and attach it again.",
                name=filename,
                found=kind_name(found),
                extension=_EXTENSION_OF[found],
            ),
            "file",
        )
    if named is None:
        raise InvalidInput(
            _l(
                "%(name)s is not a kind of file the office keeps. %(allowed)s",
                name=filename,
                allowed=allowed_files(),
            ),
            "file",
        )
    if found is None and named is not FileKind.CSV:
        raise InvalidInput(
            _l(
                "%(name)s is not %(kind)s: its content is not what its name says. Choose the "
                "right file, or save it again as %(kind)s.",
                name=filename,
                kind=kind_name(named),
            ),
            "file",
        )
    if found is not None and found is not named:
        raise InvalidInput(
            _l(
                "%(name)s holds %(found)s, not %(kind)s as its name says; rename it or choose "
                "the right file.",
                name=filename,
                found=kind_name(found),
                kind=kind_name(named),
            ),
            "file",
        )
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    text = codecs.getincrementaldecoder("utf-8")() if named is FileKind.CSV else None
    while chunk := stream.read(CHUNK_SIZE):
        size += len(chunk)
        if size > max_bytes:
            raise InvalidInput(
                _l(
                    "%(name)s is larger than %(max)s MB, the most the office keeps in one "
                    "file; make it smaller (scan at a lower resolution, split it) and attach "
                    "it again.",
                    name=filename,
                    max=max_bytes // MEGABYTE,
                ),
                "file",
            )
        digest.update(chunk)
        if text is not None:
            _check_text(filename, chunk, text)
    if text is not None:
        _check_text(filename, b"", text, final=True)
    return Checked(filename, MEDIA_TYPES[named], size, digest.hexdigest())


def _check_text(
    filename: str, chunk: bytes, decoder: codecs.IncrementalDecoder, *, final: bool = False
) -> None:
    try:
        if b"\x00" in chunk:
            raise ValueError("NUL")
        decoder.decode(chunk, final)
    except ValueError:  # UnicodeDecodeError is one
        raise InvalidInput(
            _l(
                '%(name)s is not a CSV file in UTF-8: save it as "CSV UTF-8" and attach it again.',
                name=filename,
            ),
            "file",
        ) from None
