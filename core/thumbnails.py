"""Small previews of documents for the staff review queue, rendered on the server.

Interfaces:

* ``document_thumbnail(*, document, user) -> bytes`` — a JPEG at
  most ``SIZE`` pixels on its longer side: the image itself (read through the
  encrypted storage, decoded by Pillow under a pixel limit), or a page icon
  for a PDF. Audited as ``document.viewed`` (a thumbnail shows the document).
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Document, User
from residency.storage import client_files

SIZE = 240
MAX_PIXELS = 50_000_000


def _image_preview(document: Document) -> Image.Image:
    with client_files.open(document.storage_name) as stored:
        data = stored.read()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (SIZE, SIZE))
        preview = image.convert("RGB")
    preview.thumbnail((SIZE, SIZE))
    return preview


def _page_icon(document: Document) -> Image.Image:
    icon = Image.new("RGB", (SIZE * 3 // 4, SIZE), "white")
    draw = ImageDraw.Draw(icon)
    width, height = icon.size
    draw.rectangle([4, 4, width - 5, height - 5], outline="#555555", width=3)
    draw.polygon([(width - 50, 4), (width - 5, 49), (width - 50, 49)], fill="#dddddd", outline="#555555")
    draw.rectangle([14, height // 2 - 22, width - 14, height // 2 + 22], fill="#b91c1c")
    pages = f"PDF · {document.page_count} p." if document.page_count else "PDF"
    draw.text((22, height // 2 - 8), pages, fill="white")
    return icon


def document_thumbnail(*, document: Document, user: User) -> bytes:
    preview = _image_preview(document) if document.is_image else _page_icon(document)
    buffer = io.BytesIO()
    preview.save(buffer, format="JPEG", quality=80)
    audit_record(AuditAction.DOCUMENT_VIEWED, actor=user, target=document, data={"as": "thumbnail"})
    return buffer.getvalue()
