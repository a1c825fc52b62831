"""Intake import and export in the shape of the firm's existing case-management system (SPEC §9).

    {"intakeId": "...",
     "client": {"firstName", "lastName", "email", "phone", "preferredLanguage"},
     "matter": {"matterType", "filingCategory", "priority", "assignedAttorneyId"},
     "documents": [{"documentId", "type", "uploadedBy", "uploadTimestamp", "metadata": {"pageCount", "language"}}],
     "payments": [{"paymentId", "amount", "currency", "status", "processorReference", "timestamp"}]}

Interfaces:

* ``intake_export(matter) -> dict`` — the matter in that shape (payments stay
  empty until billing records them against matters).
* ``intake_import(*, payload, by) -> ImportResult`` — creates (or
  finds, by email) the client and opens the matter. Documents arrive without
  their files, so they are not recreated; the result says how many were
  skipped. An ``intakeId`` already imported is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.matters import ATTORNEY_ROLES, matter_create, matter_type_by_code, next_reference
from core.models import ClientProfile, Document, Matter, User
from core.roles import ADD_MATTER, Role, roles_of
from core.services import user_create

LANGUAGES = {"en", "es"}


@dataclass
class ImportResult:
    matter: Matter
    client_created: bool
    documents_skipped: int


def _split_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().partition(" ")
    return first, last


def _document(document: Document) -> dict[str, Any]:
    return {
        "documentId": str(document.pk),
        "type": document.requirement.code if document.requirement else document.document_type,
        "uploadedBy": document.uploaded_by.email,
        "uploadTimestamp": document.uploaded_at.isoformat(),
        "metadata": {"pageCount": document.page_count, "language": document.language or None},
    }


def intake_export(matter: Matter) -> dict[str, Any]:
    client = matter.client
    first, last = _split_name(client.full_name)
    profile = ClientProfile.objects.filter(user=client).first()
    documents = Document.objects.filter(matter=matter).select_related("requirement", "uploaded_by").order_by("pk")
    return {
        "intakeId": matter.intake_id or matter.reference,
        "client": {
            "firstName": first,
            "lastName": last,
            "email": client.email,
            "phone": profile.phone if profile else "",
            "preferredLanguage": client.preferred_language,
        },
        "matter": {
            "matterType": matter.matter_type.code if matter.matter_type else None,
            "filingCategory": matter.filing_category,
            "priority": matter.priority,
            "assignedAttorneyId": matter.responsible_attorney_id,
        },
        "documents": [_document(document) for document in documents],
        "payments": [],
    }


def _required(data: dict[str, Any], key: str, where: str) -> Any:
    value = data.get(key)
    if value in (None, ""):
        raise ValidationError({f"{where}.{key}": "This field is required."})
    return value


def _client(data: dict[str, Any]) -> tuple[User, bool]:
    email = str(_required(data, "email", "client")).strip().lower()
    language = data.get("preferredLanguage") or "en"
    if language not in LANGUAGES:
        raise ValidationError({"client.preferredLanguage": f"Use one of {sorted(LANGUAGES)}."})
    full_name = " ".join(str(data.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        if existing.is_staff or Role.CLIENT not in roles_of(existing):
            raise ValidationError({"client.email": "This email belongs to someone who is not a client."})
        return existing, False
    client = user_create(email=email, role=Role.CLIENT, full_name=full_name, language=language)
    if data.get("phone"):
        ClientProfile.objects.create(user=client, phone=str(data["phone"])[:32])
    return client, True


@transaction.atomic
def intake_import(*, payload: dict[str, Any], by: User) -> ImportResult:
    if not by.is_staff or not by.has_perm(ADD_MATTER):
        raise PermissionDenied("You may not open matters.")
    if not isinstance(payload, dict):
        raise ValidationError({"intake": "Send a JSON object."})
    intake_id = str(_required(payload, "intakeId", "intake"))
    if Matter.objects.filter(intake_id=intake_id).exists():
        raise ValidationError({"intakeId": "This intake was already imported."})
    client_data, matter_data = payload.get("client") or {}, payload.get("matter") or {}
    matter_type = matter_type_by_code(str(_required(matter_data, "matterType", "matter")))
    attorney = None
    if matter_data.get("assignedAttorneyId") not in (None, ""):
        attorney = User.objects.filter(pk=matter_data["assignedAttorneyId"], is_staff=True).first()
        if attorney is None or not set(roles_of(attorney)) & ATTORNEY_ROLES:
            raise ValidationError({"matter.assignedAttorneyId": "No attorney of the firm has this id."})
    client, created = _client(client_data)
    matter = matter_create(
        reference=next_reference(),
        title=f"{client.full_name or client.email} {matter_type.code}",
        matter_type=matter_type,
        client=client,
        responsible_attorney=attorney,
        by=by,
    )
    matter.intake_id = intake_id
    matter.filing_category = str(matter_data.get("filingCategory") or "")[:64]
    matter.priority = str(matter_data.get("priority") or "normal")[:16]
    matter.save(update_fields=["intake_id", "filing_category", "priority", "updated"])
    skipped = len(payload.get("documents") or [])
    audit_record(
        AuditAction.INTAKE_IMPORTED,
        actor=by,
        target=matter,
        data={"intake_id": intake_id, "client_created": created, "documents_skipped": skipped},
    )
    return ImportResult(matter=matter, client_created=created, documents_skipped=skipped)
