"""PDFs: opened with pypdf and refused when encrypted, empty, or carrying scripts or launch actions.

The whole object graph reachable from the trailer is walked (pypdf decodes
object streams and ``#xx`` escapes in names), so JavaScript hidden in a
compressed object stream, a page's or field's additional actions (``/AA``), the
document's ``/OpenAction`` or the ``/Names /JavaScript`` tree is found, not
only what a byte search would see.
"""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

# Dictionary keys and action types that make a PDF run something.
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/Rendition"})
MAX_OBJECTS = 200_000


class PdfDamaged(Exception):
    pass


class PdfEncrypted(Exception):
    pass


class PdfActive(Exception):
    pass


class PdfEmpty(Exception):
    pass


def check_pdf(data: bytes) -> int:
    """The page count of a PDF a client may send; raises PdfDamaged, PdfEncrypted, PdfActive or PdfEmpty."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfEncrypted()
        _refuse_active_content(reader.trailer)
        pages = len(reader.pages)
    except (PdfEncrypted, PdfActive):
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as error:
        raise PdfDamaged(str(error)) from error
    if pages == 0:
        raise PdfEmpty()
    return pages


def _refuse_active_content(root: Any) -> None:
    seen: set[tuple[int, int]] = set()
    stack = [root]
    visited = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        visited += 1
        if visited > MAX_OBJECTS:
            raise PdfDamaged("too many objects")
        if isinstance(node, DictionaryObject):  # streams are dictionaries too
            if ACTIVE_KEYS & set(node.keys()) or node.get("/S") in ACTIVE_ACTIONS:
                raise PdfActive()
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)
