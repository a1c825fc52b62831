"""Documents on a matter: submitting one against a requirement, reviewing it, opening it (SPEC §6).

Documents are reached through ``core.access.document_for_user`` (404 when
missing or on a matter the user cannot reach). Interfaces (used by the client
portal, the staff workspace and the API):

* ``document_submit(*, matter, requirement, uploaded_by, content, filename,
  content_type, metadata, slot=1) -> Document`` — ``content`` is
  a file already made safe by ``core.uploads``; it is stored encrypted through
  ``residency.storage.client_files``. A new version each time (history kept);
  the checklist item becomes "received"; the assigned paralegal is notified;
  audited ``document.uploaded``. ``metadata``: document_type, document_date,
  signer, page_count, language (all optional).
* ``document_review(*, document, by, decision, reason_code=None, note="")
  -> Document`` — "accept" or "reject" with a reason from
  ``ReasonCode``; the client is told in their language; audited
  ``document.reviewed``.
* ``document_open(*, document, user) -> FileResponse`` — always an
  attachment with a server-chosen filename; audited ``document.downloaded``.
* ``documents_for_review(user)`` — received documents on matters the user may change.
"""

from __future__ import annotations

import datetime
import uuid
from typing import IO, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import Person, documents_for_user, is_client_of, may_change_matter
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.checklist import checklist_for
from core.models import Document, DocumentRequirement, Matter, MatterEvent, User
from core.models.casework import ReasonCode
from core.notifications import notify
from core.webhooks import event_emit
from core.work import checklist_tasks_sync
from residency.storage import CHUNK_SIZE, client_files, storage_atomic

EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
Decision = Literal["accept", "reject"]


def documents_for_review(user: Person) -> QuerySet[Document]:
    return (
        documents_for_user(user, action="change")
        .filter(status=Document.Status.RECEIVED)
        .select_related("matter", "matter__client", "requirement", "uploaded_by")
        .order_by("uploaded_at", "id")
    )


def _size_of(content: IO[bytes]) -> int:
    size = getattr(content, "size", None)
    if isinstance(size, int):
        return size
    position = content.tell()
    content.seek(0, 2)
    end = content.tell()
    content.seek(position)
    return end


def _date(value: object) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError({"document_date": _("Enter a date like 2024-03-31.")}) from None


def _check_fits(*, matter: Matter, requirement: DocumentRequirement, slot: int, content_type: str, size: int) -> None:
    if requirement.matter_type_id != matter.matter_type_id:
        raise ValidationError(_("This item is not part of this matter."))
    if not any(line.requirement.pk == requirement.pk and line.slot == slot for line in checklist_for(matter)):
        raise ValidationError(_("This item is not needed for this matter."))
    if requirement.acceptable_types and content_type not in requirement.acceptable_types:
        raise ValidationError(_("This kind of file is not accepted here."))
    if size > requirement.max_size_bytes:
        raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": requirement.max_size_mb})
    if size == 0:
        raise ValidationError(_("The file is empty."))


@storage_atomic  # transaction.atomic that deletes the stored file again if this does not commit
def document_submit(
    *,
    matter: Matter,
    requirement: DocumentRequirement,
    uploaded_by: User,
    content: IO[bytes],
    filename: str,
    content_type: str,
    metadata: dict[str, Any] | None = None,
    slot: int = 1,
) -> Document:
    if not (is_client_of(uploaded_by, matter) or may_change_matter(uploaded_by, matter)):
        raise PermissionDenied("You may not upload documents to this matter.")
    metadata = metadata or {}
    size = _size_of(content)
    # Locked (one version number at a time) and fresh: the checklist depends on the current intake answers.
    matter = Matter.objects.select_for_update(of=("self",)).select_related("assigned_paralegal").get(pk=matter.pk)
    _check_fits(matter=matter, requirement=requirement, slot=slot, content_type=content_type, size=size)
    earlier = Document.objects.filter(matter=matter, requirement=requirement, slot=slot)
    version = (earlier.aggregate(top=Max("version"))["top"] or 0) + 1
    extension = EXTENSIONS.get(content_type, "")
    content.seek(0)
    name = client_files.save(
        f"matters/{matter.pk}/documents/{uuid.uuid4().hex}{extension}",
        content if isinstance(content, File) else File(content),
    )
    document = Document.objects.create(
        matter=matter,
        requirement=requirement,
        slot=slot,
        version=version,
        storage_name=name,
        original_filename=(filename or "")[:255],
        content_type=content_type,
        size=size,
        sha256=client_files.sha256(name),
        document_type=str(metadata.get("document_type") or "")[:100],
        document_date=_date(metadata.get("document_date")),
        signer=str(metadata.get("signer") or "")[:200],
        page_count=metadata.get("page_count") or None,
        language=str(metadata.get("language") or "")[:16],
        uploaded_by=uploaded_by,
    )
    data = {"requirement": requirement.code, "slot": slot, "version": version, "size": size, "type": content_type}
    MatterEvent.objects.create(
        matter=matter,
        kind="document.uploaded",
        actor=uploaded_by,
        document=document,
        at=document.uploaded_at,
        data=data,
    )
    audit_record(AuditAction.DOCUMENT_UPLOADED, actor=uploaded_by, target=document, data=data)
    event_emit(
        type="document.uploaded",
        data={
            "document": document.pk,
            "matter": matter.pk,
            "reference": matter.reference,
            "requirement": requirement.code,
            "slot": slot,
            "version": version,
            "content_type": content_type,
            "size": size,
        },
    )
    paralegal = matter.assigned_paralegal
    if paralegal is not None and paralegal.pk != uploaded_by.pk:
        notify(
            recipient=paralegal,
            matter=matter,
            kind="document.uploaded",
            subject=lambda: _("New document on %(reference)s") % {"reference": matter.reference},
            text=lambda: (
                _("%(who)s uploaded “%(item)s” on matter %(reference)s. It is waiting for review.")
                % {"who": uploaded_by.get_full_name(), "item": requirement.name, "reference": matter.reference}
            ),
            link=f"/staff/matters/{matter.pk}/",
        )
    return document


def _record_completeness(*, matter: Matter, by: User) -> None:
    lines = [line for line in checklist_for(matter) if line.required]
    if matter.documents_completed_at is not None or not all(line.status == "accepted" for line in lines):
        return
    first_time = not Document.objects.filter(
        matter=matter, status=Document.Status.REJECTED, requirement__required=True
    ).exists()
    now = timezone.now()
    Matter.objects.filter(pk=matter.pk).update(documents_completed_at=now, complete_on_first_submission=first_time)
    matter.documents_completed_at, matter.complete_on_first_submission = now, first_time
    MatterEvent.objects.create(
        matter=matter, kind="documents.completed", actor=by, at=now, data={"first_submission": first_time}
    )
    from core.stages import stage_complete_if_current

    stage_complete_if_current(matter=matter, code="documents", by=by)


@transaction.atomic
def document_review(
    *,
    document: Document,
    by: User,
    decision: Decision,
    reason_code: str | None = None,
    note: str = "",
) -> Document:
    matter = document.matter
    if not by.is_staff or not may_change_matter(by, matter):
        raise PermissionDenied("You may not review documents on this matter.")
    document = Document.objects.select_for_update(of=("self",)).select_related("requirement").get(pk=document.pk)
    if document.status != Document.Status.RECEIVED:
        raise ValidationError(_("This document has already been reviewed."))
    if decision == "reject":
        if reason_code not in ReasonCode.values:
            raise ValidationError(_("Choose a reason for the rejection."))
        if reason_code == ReasonCode.OTHER and not note.strip():
            raise ValidationError(_("Write a note to the client when the reason is “other”."))
    elif decision != "accept":
        raise ValidationError(f"unknown decision {decision!r}")
    now = timezone.now()
    document.status = Document.Status.ACCEPTED if decision == "accept" else Document.Status.REJECTED
    document.reason_code = (reason_code or "") if decision == "reject" else ""
    document.review_note = note.strip()
    document.reviewed_by, document.reviewed_at = by, now
    document.save(update_fields=["status", "reason_code", "review_note", "reviewed_by", "reviewed_at"])
    code = document.requirement.code if document.requirement else ""
    data = {"decision": decision, "reason": document.reason_code, "requirement": code}
    MatterEvent.objects.create(
        matter=matter, kind=f"document.{document.status}", actor=by, document=document, at=now, data=data
    )
    audit_record(AuditAction.DOCUMENT_REVIEWED, actor=by, target=document, data=data)
    event_emit(
        type="document.reviewed",
        data={"document": document.pk, "matter": matter.pk, "reference": matter.reference, **data},
    )
    if decision == "reject":
        _tell_client_of_rejection(document=document, matter=matter)
    else:
        _record_completeness(matter=matter, by=by)
        checklist_tasks_sync(matter)
    return document


def _tell_client_of_rejection(*, document: Document, matter: Matter) -> None:
    requirement = document.requirement
    assert requirement is not None

    def text() -> str:
        lines = [
            _("We need a new upload of “%(item)s” for your case %(reference)s.")
            % {"item": requirement.name, "reference": matter.reference},
            _("Reason: %(reason)s") % {"reason": document.reason_text},
        ]
        if document.review_note:
            lines.append(_("Note from your legal team: %(note)s") % {"note": document.review_note})
        return "\n".join(lines)

    notify(
        recipient=matter.client,
        matter=matter,
        kind="document.rejected",
        subject=lambda: _("Please upload “%(item)s” again") % {"item": requirement.name},
        text=text,
        link=f"/portal/matters/{matter.pk}/",
    )


def document_download_name(document: Document) -> str:
    code = document.requirement.code if document.requirement else "document"
    extension = EXTENSIONS.get(document.content_type, ".bin")
    return f"{document.matter.reference}-{code}-{document.slot}-v{document.version}{extension}"


def document_open(*, document: Document, user: User) -> FileResponse:
    audit_record(
        AuditAction.DOCUMENT_DOWNLOADED,
        actor=user,
        target=document,
        data={"matter": document.matter.reference, "version": document.version},
    )
    response = FileResponse(
        client_files.open(document.storage_name),
        as_attachment=True,
        filename=document_download_name(document),
        content_type=document.content_type or "application/octet-stream",
    )
    response.block_size = CHUNK_SIZE  # Django reads 4 KiB at a time: decrypting pays per call, so read 1 MiB
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
