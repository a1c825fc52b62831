"""One upload use case behind the portal's page and the API (issue 10 item 5): the same checks, the same audit
of a refusal, the same metadata stored, whichever way the file came in."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.audit.models import AuditEntry
from core.models import Document
from tests import upload_samples
from tests.casework_support import png_bytes, requirement
from tests.fixtures_portal import Case

pytest_plugins = ["tests.fixtures_portal"]


def _line_key(case: Case, code: str) -> str:
    with case.firm.tenant:
        return f"{requirement(case.matter, code).pk}-1"


def _by_portal(case: Case, client: Client, name: str, data: bytes) -> int:
    url = f"/portal/matters/{case.matter.pk}/upload/?item={_line_key(case, 'passport')}"
    return client.post(url, {"file": SimpleUploadedFile(name, data), "document_type": "Passport"}).status_code


def _by_api(case: Case, client: Client, name: str, data: bytes) -> int:
    with case.firm.tenant:
        passport = requirement(case.matter, "passport").pk
    url = f"/api/v1/matters/{case.matter.pk}/documents"
    return client.post(url, {"requirement_id": passport, "file": SimpleUploadedFile(name, data)}).status_code


def test_a_refused_upload_is_audited_the_same_way_through_the_portal_and_the_api(case: Case) -> None:
    lucia = case.client_of(case.lucia)
    encrypted = upload_samples.encrypted_pdf()

    answers = [_by_portal(case, lucia, "pasaporte.pdf", encrypted), _by_api(case, lucia, "pasaporte.pdf", encrypted)]

    assert answers == [400, 400]
    with case.firm.tenant:
        refusals = AuditEntry.objects.filter(action="document.upload_refused").order_by("sequence")
        assert [json.loads(entry.data) for entry in refusals] == [
            {"requirement": "passport", "slot": 1, "reason": "pdf_encrypted"}
        ] * 2
        assert {entry.actor_id for entry in refusals} == {case.lucia.pk}
        assert not Document.objects.filter(matter=case.matter).exists()


def test_the_api_refuses_in_the_uploaders_language(case: Case) -> None:
    with case.firm.tenant:
        passport = requirement(case.matter, "passport").pk

    response = case.client_of(case.lucia).post(
        f"/api/v1/matters/{case.matter.pk}/documents",
        {"requirement_id": passport, "file": SimpleUploadedFile("p.pdf", upload_samples.encrypted_pdf())},
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == [
        "Este PDF está protegido con contraseña. Por favor, envíe una copia sin contraseña "
        "(por ejemplo, imprímalo en un PDF nuevo o escanee el papel)."
    ]


def test_an_accepted_upload_stores_the_same_metadata_through_the_portal_and_the_api(case: Case) -> None:
    lucia = case.client_of(case.lucia)

    answers = [_by_portal(case, lucia, "a.png", png_bytes()), _by_api(case, lucia, "b.png", png_bytes("red"))]

    assert answers == [302, 201]
    with case.firm.tenant:
        stored = Document.objects.filter(matter=case.matter).order_by("version")
        assert [(d.version, d.language, d.page_count, d.uploaded_by_id) for d in stored] == [
            (1, "es", 1, case.lucia.pk),
            (2, "es", 1, case.lucia.pk),
        ]
        assert AuditEntry.objects.filter(action="document.uploaded").count() == 2
