"""``validate_upload``: the checks every client file passes, cheapest first, before it may be stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile

from core.uploads import clamd
from core.uploads.errors import rejected
from core.uploads.images import STORED_AS, ImageDamaged, ImageTooLarge, check_header, reencode
from core.uploads.pdfs import (
    PdfActive,
    PdfDamaged,
    PdfEmbeddedFile,
    PdfEmpty,
    PdfEncrypted,
    PdfHiddenFile,
    PdfTooComplex,
    PdfTooManyPages,
    check_pdf,
)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PDF_TYPE = "application/pdf"
ACCEPTED_TYPES = IMAGE_TYPES | {PDF_TYPE}
TYPE_LABELS = {PDF_TYPE: "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}


@dataclass(frozen=True)
class SafeUpload:
    """A file that passed every check: the bytes to store (images re-encoded) and what they are."""

    content: bytes
    content_type: str
    extension: str
    kind: str  # "image" or "pdf"
    size: int
    sha256: str
    original_name: str
    page_count: int = 1
    width: int | None = None
    height: int | None = None

    def as_file(self, name: str | None = None) -> ContentFile[bytes]:
        return ContentFile(self.content, name=name or f"upload.{self.extension}")


def upload_limits(requirement: Any = None) -> tuple[int, frozenset[str]]:
    """(largest size in bytes, accepted content types) for a requirement (``core.DocumentRequirement``).

    The firm-wide limit applies unless the requirement sets a smaller one; a
    requirement may narrow the types, never add one this module cannot check.
    """
    limit = settings.PORTICO_UPLOAD_MAX_BYTES
    own_limit = getattr(requirement, "max_size_bytes", None)
    if own_limit:
        limit = min(limit, int(own_limit))
    own_types = frozenset(getattr(requirement, "acceptable_types", None) or ()) & ACCEPTED_TYPES
    return limit, own_types or ACCEPTED_TYPES


def accepted_label(content_types: frozenset[str]) -> str:
    """ "PDF, JPEG, PNG": the accepted types the way clients know them (file-name endings, not content types)."""
    return ", ".join(label for mime, label in TYPE_LABELS.items() if mime in content_types)


def _read(uploaded_file: Any, limit: int, language: str) -> bytes:
    declared = getattr(uploaded_file, "size", None)
    if declared is not None and declared > limit:
        raise rejected("too_large", language=language, size=int(declared), limit=limit)
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(limit + 1)  # never more than the limit in memory, whatever the declared size said
    if len(data) > limit:
        raise rejected("too_large", language=language, size=max(len(data), int(declared or 0)), limit=limit)
    if not data:
        raise rejected("empty", language=language)
    return bytes(data)


def _scan(data: bytes, language: str) -> None:
    """The ClamAV verdict on the bytes exactly as sent: refused when infected, not scanned whole, or unavailable."""
    address = settings.PORTICO_CLAMD_SOCKET
    if not address:
        return
    try:
        verdict = clamd.scan_bytes(data, address=address, timeout=settings.PORTICO_CLAMD_TIMEOUT_SECONDS)
    except clamd.ScanUnavailable as error:
        raise rejected("scan_unavailable", language=language) from error
    if not verdict.scanned:
        raise rejected("scan_incomplete", language=language)
    if not verdict.clean:
        raise rejected("infected", language=language)


def validate_upload(uploaded_file: Any, *, requirement: Any = None, language: str) -> SafeUpload:
    """The file as it may be stored, or ``UploadRejected`` with a sentence in ``language``. Stores nothing.

    Cheap checks come first and each bounds the work of the next: the size (read
    at most once, up to the limit), the type from the content, then the image's
    pixel count from its header or the PDF's structure (page, object and time
    limits). The virus scan comes last of the checks, so no file that a look at
    its header or structure refuses costs scanner time (a 48 KB PNG claiming
    400 megapixels kept clamd busy for 20 s); and it comes before an image is
    decoded, so Pillow's C decoders only see bytes the scanner has passed.
    """
    limit, accepted = upload_limits(requirement)
    data = _read(uploaded_file, limit, language)
    guessed = filetype.guess(data)  # magic bytes; the file's name and declared type are ignored
    mime = guessed.mime if guessed else ""
    name = str(getattr(uploaded_file, "name", "") or "")[:200]
    if mime not in ACCEPTED_TYPES:
        raise rejected("unsupported_type", language=language)
    if mime not in accepted:
        raise rejected("type_not_accepted", language=language, accepted=accepted_label(accepted))
    if mime == PDF_TYPE:
        pages = _checked_pdf(data, language)
        _scan(data, language)
        return SafeUpload(
            content=data,
            content_type=PDF_TYPE,
            extension="pdf",
            kind="pdf",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            original_name=name,
            page_count=pages,
        )
    _checked_image_header(data, language)
    _scan(data, language)
    return _reencoded_image(data, name, language)


PDF_REFUSALS: dict[type[Exception], str] = {
    PdfEncrypted: "pdf_encrypted",
    PdfActive: "pdf_active_content",
    PdfEmbeddedFile: "pdf_embedded_file",
    PdfHiddenFile: "pdf_hidden_file",
    PdfEmpty: "pdf_no_pages",
    PdfTooComplex: "pdf_too_complex",
    PdfDamaged: "pdf_damaged",
}


def _checked_pdf(data: bytes, language: str) -> int:
    max_pages = settings.PORTICO_UPLOAD_MAX_PDF_PAGES
    try:
        return check_pdf(data, max_pages=max_pages)
    except PdfTooManyPages as error:
        raise rejected("pdf_too_many_pages", language=language, pages=max_pages) from error
    except tuple(PDF_REFUSALS) as error:
        raise rejected(PDF_REFUSALS[type(error)], language=language) from error


def _checked_image_header(data: bytes, language: str) -> None:
    max_pixels = settings.PORTICO_UPLOAD_MAX_PIXELS
    try:
        check_header(data, max_pixels=max_pixels)
    except ImageTooLarge as error:
        raise rejected("image_too_large", language=language, megapixels=max_pixels // 1_000_000) from error
    except ImageDamaged as error:
        raise rejected("image_damaged", language=language) from error


def _reencoded_image(data: bytes, name: str, language: str) -> SafeUpload:
    max_pixels = settings.PORTICO_UPLOAD_MAX_PIXELS
    try:
        content, content_type, extension, (width, height) = reencode(data, max_pixels=max_pixels)
    except ImageTooLarge as error:
        raise rejected("image_too_large", language=language, megapixels=max_pixels // 1_000_000) from error
    except ImageDamaged as error:
        raise rejected("image_damaged", language=language) from error
    return SafeUpload(
        content=content,
        content_type=content_type,
        extension=extension,
        kind="image",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name,
        width=width,
        height=height,
    )


__all__ = ["STORED_AS", "SafeUpload", "accepted_label", "upload_limits", "validate_upload"]
