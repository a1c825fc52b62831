"""Helpers for the case-management tests: real files, I-130 answers, uploads through the services."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.base import ContentFile
from PIL import Image

from core.documents import document_submit
from core.intake import intake_save_answers
from core.models import Document, DocumentRequirement, Matter, User


def png_bytes(colour: str = "navy", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def answer_i130(matter: Matter, by: User, *, prior_marriages: int | None = None) -> None:
    answers: dict[str, object] = {
        "petitioner_status": "citizen",
        "marriage_date": "2021-06-12",
        "previously_married": prior_marriages is not None,
        "beneficiary_in_us": False,
    }
    if prior_marriages is not None:
        answers["prior_marriages"] = prior_marriages
    result = intake_save_answers(matter=matter, answers=answers, by=by)
    assert result.ok, result.errors


def requirement(matter: Matter, code: str) -> DocumentRequirement:
    return DocumentRequirement.objects.get(matter_type_id=matter.matter_type_id, code=code)


def upload(matter: Matter, code: str, by: User, *, slot: int = 1, **metadata: Any) -> Document:
    if code in ("passport",):
        data, content_type, name = png_bytes(), "image/png", "passport.png"
    else:
        data, content_type, name = pdf_bytes(), "application/pdf", f"{code}.pdf"
    return document_submit(
        matter=matter,
        requirement=requirement(matter, code),
        uploaded_by=by,
        content=ContentFile(data, name=name),
        filename=name,
        content_type=content_type,
        metadata=metadata,
        slot=slot,
    )


def upload_all_required(matter: Matter, by: User) -> list[Document]:
    from core.checklist import checklist_for

    return [
        upload(matter, line.requirement.code, by, slot=line.slot) for line in checklist_for(matter) if line.required
    ]
