"""PDFs: opened with pypdf and refused when encrypted, empty, too long, or carrying scripts, launch actions or files.

Before the PDF is parsed, its bytes are checked for a second file riding along:
anything after the final ``%%EOF`` other than line breaks, or a ZIP archive a
ZIP reader would open (a PDF+ZIP polyglot, which a PDF reader shows as a page
and an unzip tool as an archive). Then the whole object graph reachable from
the trailer is walked (pypdf decodes object streams and ``#xx`` escapes in
names), so JavaScript hidden in a compressed object stream, a page's or
field's additional actions (``/AA``), the document's ``/OpenAction``, the
``/Names /JavaScript`` tree, attachments (``/EmbeddedFiles``, file
specifications with ``/EF``, ``/FileAttachment`` annotations) are found, not
only what a byte search would see.

The work is bounded: at most ``max_pages`` pages, ``MAX_OBJECTS`` objects and
``MAX_SECONDS`` of walking; past a bound the PDF is refused as too complex
rather than checked for longer. pypdf bounds its own decompression and page-tree
traversal (``LimitReachedError``).
"""

from __future__ import annotations

import io
import struct
import time
from typing import Any

from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PdfReadError, PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

# Dictionary keys and action types that make a PDF run something.
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/Rendition"})
# Keys and types that carry a file inside the PDF (an attachment, or an action that opens one).
EMBEDDING_KEYS = frozenset({"/EmbeddedFiles", "/EF"})
EMBEDDING_TYPES = frozenset({"/EmbeddedFile", "/FileAttachment", "/GoToE"})
MAX_OBJECTS = 200_000
MAX_SECONDS = 10.0
# What may follow the final %%EOF: line ends, spaces and the NUL padding some scanners write.
END_PADDING = b" \t\r\n\f\x00"
ZIP_END = b"PK\x05\x06"  # end of central directory record
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP_CENTRAL = b"PK\x01\x02"


class PdfDamaged(Exception):
    pass


class PdfEncrypted(Exception):
    pass


class PdfActive(Exception):
    pass


class PdfEmbeddedFile(Exception):
    pass


class PdfHiddenFile(Exception):
    pass


class PdfEmpty(Exception):
    pass


class PdfTooComplex(Exception):
    pass


class PdfTooManyPages(Exception):
    pass


def check_pdf(data: bytes, *, max_pages: int) -> int:
    """The page count of a PDF a client may send; raises one of this module's exceptions otherwise."""
    _refuse_hidden_file(data)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfEncrypted()
        pages = len(reader.pages)
        if pages > max_pages:
            raise PdfTooManyPages(pages)
        _refuse_active_content(reader.trailer)
    except (PdfEncrypted, PdfActive, PdfEmbeddedFile, PdfTooComplex, PdfTooManyPages):
        raise
    except (LimitReachedError, RecursionError, MemoryError) as error:
        raise PdfTooComplex(str(error)) from error
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise PdfDamaged(str(error)) from error
    if pages == 0:
        raise PdfEmpty()
    return pages


def _refuse_hidden_file(data: bytes) -> None:
    end = data.rfind(b"%%EOF")
    if end >= 0 and data[end + len(b"%%EOF") :].strip(END_PADDING):
        raise PdfHiddenFile("data after the end of the PDF")
    if _opens_as_zip(data):
        raise PdfHiddenFile("the PDF is also a ZIP archive")


def _opens_as_zip(data: bytes) -> bool:
    """Whether a ZIP reader would find an archive: an end record in the last 64 KiB pointing at a central directory.

    ZIP readers look for the end record from the end of the file and accept data
    before the archive, which is what lets a ZIP ride behind (or inside) a PDF.
    """
    floor = max(0, len(data) - (0xFFFF + 22))
    position = data.rfind(ZIP_END, floor)
    while position >= 0:
        record = data[position : position + 22]
        if len(record) == 22:
            entries, directory_size = struct.unpack("<H L", record[10:16])
            if data[max(0, position - 20) : max(0, position - 16)] == ZIP64_LOCATOR:
                return True
            start = position - directory_size
            if entries and start >= 0 and data[start : start + 4] == ZIP_CENTRAL:
                return True
        position = data.rfind(ZIP_END, floor, position)
    return False


def _refuse_active_content(root: Any) -> None:
    seen: set[tuple[int, int]] = set()
    stack = [root]
    visited = 0
    deadline = time.monotonic() + MAX_SECONDS
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        visited += 1
        if visited > MAX_OBJECTS or (visited % 512 == 0 and time.monotonic() > deadline):
            raise PdfTooComplex(f"more than {visited - 1} objects or {MAX_SECONDS} s of checking")
        if isinstance(node, DictionaryObject):  # streams are dictionaries too
            keys = set(node.keys())
            if ACTIVE_KEYS & keys or _name(node, "/S") in ACTIVE_ACTIONS:
                raise PdfActive()
            if (
                EMBEDDING_KEYS & keys
                or {_name(node, "/Type"), _name(node, "/Subtype"), _name(node, "/S")} & EMBEDDING_TYPES
            ):
                raise PdfEmbeddedFile()
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)


def _name(node: DictionaryObject, key: str) -> str:
    """A name entry, followed through an indirect reference (``/S 12 0 R`` must not hide ``/Launch``)."""
    if key not in node:
        return ""
    value = node[key]  # pypdf's __getitem__ resolves indirect objects; .get() would not
    return str(value) if isinstance(value, str) else ""
