"""``validate_upload``: the checks every client file passes, in order, before it may be stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile

from core.uploads import clamd
from core.uploads.errors import rejected
from core.uploads.images import STORED_AS, ImageDamaged, ImageTooLarge, reencode
from core.uploads.pdfs import PdfActive, PdfDamaged, PdfEmpty, PdfEncrypted, check_pdf

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
    address = settings.PORTICO_CLAMD_SOCKET
    if not address:
        return
    try:
        verdict = clamd.scan_bytes(data, address=address, timeout=settings.PORTICO_CLAMD_TIMEOUT_SECONDS)
    except clamd.ScanUnavailable as error:
        raise rejected("scan_unavailable", language=language) from error
    if not verdict.clean:
        raise rejected("infected", language=language)


def validate_upload(uploaded_file: Any, *, requirement: Any = None, language: str) -> SafeUpload:
    """The file as it may be stored, or ``UploadRejected`` with a sentence in ``language``. Stores nothing."""
    limit, accepted = upload_limits(requirement)
    data = _read(uploaded_file, limit, language)
    # The virus scan sees the bytes exactly as sent, before anything is decoded.
    _scan(data, language)
    guessed = filetype.guess(data)  # magic bytes; the file's name and declared type are ignored
    mime = guessed.mime if guessed else ""
    name = str(getattr(uploaded_file, "name", "") or "")[:200]
    if mime in IMAGE_TYPES:
        kind = "image"
    elif mime == PDF_TYPE:
        kind = "pdf"
    else:
        raise rejected("unsupported_type", language=language)
    if mime not in accepted:
        raise rejected("type_not_accepted", language=language, accepted=accepted_label(accepted))
    if kind == "pdf":
        return _checked_pdf(data, name, language)
    return _reencoded_image(data, name, language)


def _checked_pdf(data: bytes, name: str, language: str) -> SafeUpload:
    try:
        pages = check_pdf(data)
    except PdfEncrypted as error:
        raise rejected("pdf_encrypted", language=language) from error
    except PdfActive as error:
        raise rejected("pdf_active_content", language=language) from error
    except PdfEmpty as error:
        raise rejected("pdf_no_pages", language=language) from error
    except PdfDamaged as error:
        raise rejected("pdf_damaged", language=language) from error
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
