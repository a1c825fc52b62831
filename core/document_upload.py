"""Uploading a document against one checklist item: the one use case behind the portal's page and the API.

``document_upload(*, matter, requirement, slot, uploaded_by, file, metadata=None,
language=None) -> Document``, in this order:

1. who: the matter's client or someone who may change the matter
   (``PermissionDenied`` otherwise), decided before the file is read;
2. ``core.uploads.validate_upload`` makes the file safe (type from the content,
   size, images re-encoded, PDFs opened, virus scan), its refusal in
   ``language`` (default: the request's active language, which is the signed-in
   person's preference); a refusal is audited ``document.upload_refused`` — so
   the firm can see a client struggling with a scan — and raised as
   ``UploadRejected``; nothing is stored;
3. ``core.documents.document_submit`` stores it, with the page count and the
   language in its metadata (``metadata``: document_type, document_date, signer).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.utils import translation

from core.access import is_client_of, may_change_matter
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.documents import document_submit
from core.models import Document, DocumentRequirement, Matter, User
from core.uploads import UploadRejected, validate_upload

__all__ = ["UploadRejected", "document_upload"]


def document_upload(
    *,
    matter: Matter,
    requirement: DocumentRequirement,
    slot: int,
    uploaded_by: User,
    file: UploadedFile[bytes],
    metadata: dict[str, Any] | None = None,
    language: str | None = None,
) -> Document:
    if not (is_client_of(uploaded_by, matter) or may_change_matter(uploaded_by, matter)):
        raise PermissionDenied("Only the client and the firm upload documents to a matter.")
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    try:
        safe = validate_upload(file, requirement=requirement, language=language)
    except UploadRejected as refusal:
        audit_record(
            AuditAction.DOCUMENT_UPLOAD_REFUSED,
            actor=uploaded_by,
            target=matter,
            data={"requirement": requirement.code, "slot": slot, "reason": refusal.code},
        )
        raise
    return document_submit(
        matter=matter,
        requirement=requirement,
        uploaded_by=uploaded_by,
        content=safe.as_file(),
        filename=safe.original_name,
        content_type=safe.content_type,
        metadata={**(metadata or {}), "page_count": safe.page_count, "language": language},
        slot=slot,
    )
