"""One upload use case behind the portal's page and the API (issue 10 item 5): the same checks, the same audit
of a refusal, the same metadata stored, whichever way the file came in."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.audit.models import AuditEntry
from core.models import Document
from tests.support import uploads as upload_samples
from tests.support.casework import png_bytes, requirement
from tests.support.cast import Cast


def _line_key(cast: Cast, code: str) -> str:
    with cast.firm.tenant:
        return f"{requirement(cast.lucia_matter, code).pk}-1"


def _by_portal(cast: Cast, client: Client, name: str, data: bytes) -> int:
    url = f"/portal/matters/{cast.lucia_matter.pk}/upload/?item={_line_key(cast, 'passport')}"
    return client.post(url, {"file": SimpleUploadedFile(name, data), "document_type": "Passport"}).status_code


def _by_api(cast: Cast, client: Client, name: str, data: bytes) -> int:
    with cast.firm.tenant:
        passport = requirement(cast.lucia_matter, "passport").pk
    url = f"/api/v1/matters/{cast.lucia_matter.pk}/documents"
    return client.post(url, {"requirement_id": passport, "file": SimpleUploadedFile(name, data)}).status_code


def test_a_refused_upload_is_audited_the_same_way_through_the_portal_and_the_api(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    encrypted = upload_samples.encrypted_pdf()

    answers = [_by_portal(cast, lucia, "pasaporte.pdf", encrypted), _by_api(cast, lucia, "pasaporte.pdf", encrypted)]

    assert answers == [400, 400]
    with cast.firm.tenant:
        refusals = AuditEntry.objects.filter(action="document.upload_refused").order_by("sequence")
        assert [json.loads(entry.data) for entry in refusals] == [
            {"requirement": "passport", "slot": 1, "reason": "pdf_encrypted"}
        ] * 2
        assert {entry.actor_id for entry in refusals} == {cast.lucia.pk}
        assert not Document.objects.filter(matter=cast.lucia_matter).exists()


def test_the_api_refuses_in_the_uploaders_language(cast: Cast) -> None:
    with cast.firm.tenant:
        passport = requirement(cast.lucia_matter, "passport").pk

    response = cast.client_of(cast.lucia).post(
        f"/api/v1/matters/{cast.lucia_matter.pk}/documents",
        {"requirement_id": passport, "file": SimpleUploadedFile("p.pdf", upload_samples.encrypted_pdf())},
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == [
        "Este PDF está protegido con contraseña. Por favor, envíe una copia sin contraseña "
        "(por ejemplo, imprímalo en un PDF nuevo o escanee el papel)."
    ]


def test_an_accepted_upload_stores_the_same_metadata_through_the_portal_and_the_api(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)

    answers = [_by_portal(cast, lucia, "a.png", png_bytes()), _by_api(cast, lucia, "b.png", png_bytes("red"))]

    assert answers == [302, 201]
    with cast.firm.tenant:
        stored = Document.objects.filter(matter=cast.lucia_matter).order_by("version")
        assert [(d.version, d.language, d.page_count, d.uploaded_by_id) for d in stored] == [
            (1, "es", 1, cast.lucia.pk),
            (2, "es", 1, cast.lucia.pk),
        ]
        assert AuditEntry.objects.filter(action="document.uploaded").count() == 2
