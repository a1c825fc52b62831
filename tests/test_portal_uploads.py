"""Uploading against a checklist item in the client portal, what the client sees after, and downloading (issue 5)."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from core.audit.models import AuditEntry
from core.checklist import ChecklistLine, checklist_for
from core.documents import document_review
from core.models import Document, Matter
from residency.models import StoredObject
from residency.storage import client_files
from tests.support import uploads as upload_samples

if TYPE_CHECKING:
    from tests.support.cast import Cast


def checklist_of(cast: Cast) -> list[ChecklistLine]:
    """The checklist as it is now (answers saved through the portal are not on the fixture's instance)."""
    return checklist_for(Matter.objects.get(pk=cast.lucia_matter.pk))


def item_key(cast: Cast, code: str) -> str:
    with cast.firm.tenant:
        return next(line.key for line in checklist_of(cast) if line.requirement.code == code)


def upload_url(cast: Cast, code: str) -> str:
    return f"/portal/matters/{cast.lucia_matter.pk}/upload/?item={item_key(cast, code)}"


def send(client: Client, cast: Cast, code: str, data: bytes, name: str, **metadata: str) -> object:
    return client.post(upload_url(cast, code), {"file": SimpleUploadedFile(name, data), **metadata})


def matter_page(client: Client, cast: Cast) -> str:
    response = client.get(f"/portal/matters/{cast.lucia_matter.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_upload_page_shows_types_size_camera_and_examples_beside_the_button(cast: Cast) -> None:
    html = cast.client_of(cast.lucia).get(upload_url(cast, "passport")).content.decode()

    assert "Se aceptan: PDF, JPEG, PNG" in html
    assert "Hasta 10 MB." in html  # the passport requirement's own limit, below the firm's 20 MB
    assert 'capture="environment"' in html
    assert 'accept="image/*,application/pdf"' in html
    assert "portal/example-good.png" in html
    assert "portal/example-rescan.png" in html
    assert "Hay que escanearlo de nuevo" in html
    for field in ("Tipo de documento", "Fecha del documento", "Firmado o emitido por"):
        assert field in html


def test_a_passport_photo_is_received_stored_without_exif_and_shown_as_received(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)

    response = send(
        lucia, cast, "passport", upload_samples.photo_with_location(), "IMG_0042.jpg", document_type="Pasaporte"
    )

    assert response.status_code == 302  # type: ignore[attr-defined]
    html = matter_page(lucia, cast)
    assert "Gracias. Recibimos «Pasaporte (página con foto)»" in html or "Gracias. Recibimos «" in html
    assert "Recibidos, en espera de revisión" in html
    with cast.firm.tenant:
        document = Document.objects.get(matter=cast.lucia_matter, requirement__code="passport")
        assert (document.status, document.document_type, document.content_type) == (
            "received",
            "Pasaporte",
            "image/jpeg",
        )
        with client_files.open(document.storage_name) as stored:
            data = stored.read()
        assert b"PhoneMaker" not in data
        assert dict(Image.open(io.BytesIO(data)).getexif()) == {}
        assert AuditEntry.objects.filter(action="document.uploaded", actor_id=cast.lucia.pk).exists()


def test_a_refused_file_shows_why_in_spanish_stores_nothing_and_leaves_the_accepted_copy_alone(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    send(lucia, cast, "passport", upload_samples.photo(), "passport.jpg")
    with cast.firm.tenant:
        first = Document.objects.get(matter=cast.lucia_matter, requirement__code="passport")
        document_review(document=first, by=cast.paco, decision="accept")
        objects_before = StoredObject.objects.count()
        documents_before = list(Document.objects.values_list("pk", "status", "sha256"))
        with client_files.open(first.storage_name) as stored:
            bytes_before = stored.read()

    response = send(lucia, cast, "passport", upload_samples.encrypted_pdf(), "passport.pdf")

    assert response.status_code == 400  # type: ignore[attr-defined]
    html = response.content.decode()  # type: ignore[attr-defined]
    assert "Este PDF está protegido con contraseña." in html
    assert 'data-testid="upload-error"' in html
    with cast.firm.tenant:
        assert StoredObject.objects.count() == objects_before
        assert list(Document.objects.values_list("pk", "status", "sha256")) == documents_before
        with client_files.open(first.storage_name) as stored:
            assert stored.read() == bytes_before
        refused = AuditEntry.objects.get(action="document.upload_refused")
        assert json.loads(refused.data)["reason"] == "pdf_encrypted"
    assert "Aceptado" in matter_page(lucia, cast)


def test_a_rejection_reaches_the_client_in_spanish_and_a_resubmission_keeps_the_history(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    send(lucia, cast, "passport", upload_samples.photo(), "passport.jpg")
    with cast.firm.tenant:
        first = Document.objects.get(matter=cast.lucia_matter, requirement__code="passport")
        document_review(document=first, by=cast.paco, decision="reject", reason_code="blurry_image")

    html = matter_page(lucia, cast)
    assert "La imagen está borrosa. Por favor, tome una foto o un escaneo más nítido." in html
    assert "Subir de nuevo" in html

    assert send(lucia, cast, "passport", upload_samples.photo(text="sharp"), "passport2.jpg").status_code == 302  # type: ignore[attr-defined]
    with cast.firm.tenant:
        versions = list(
            Document.objects.filter(matter=cast.lucia_matter, requirement__code="passport")
            .order_by("version")
            .values_list("version", "status")
        )
    assert versions == [(1, "rejected"), (2, "received")]
    upload_page = cast.client_of(cast.lucia).get(upload_url(cast, "passport")).content.decode()
    assert "Versión 1" in upload_page
    assert "Necesita subirlo de nuevo" in upload_page


def test_the_client_downloads_an_accepted_document_as_an_attachment_named_by_the_server(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    send(lucia, cast, "passport", upload_samples.photo(), "<script>evil</script>.html.jpg")
    with cast.firm.tenant:
        document = Document.objects.get(matter=cast.lucia_matter, requirement__code="passport")
        document_review(document=document, by=cast.paco, decision="accept")

    response = lucia.get(f"/portal/matters/{cast.lucia_matter.pk}/download/?document={document.pk}")

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="{cast.lucia_matter.reference}-passport-1-v1.jpg"' in disposition
    assert "evil" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"  # type: ignore[attr-defined]
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action="document.downloaded", actor_id=cast.lucia.pk).exists()


def test_another_client_can_neither_upload_to_nor_download_from_the_matter(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    send(lucia, cast, "passport", upload_samples.photo(), "passport.jpg")
    with cast.firm.tenant:
        document = Document.objects.get(matter=cast.lucia_matter)
    dora = cast.client_of(cast.dora)

    assert send(dora, cast, "passport", upload_samples.photo(), "x.jpg").status_code == 404  # type: ignore[attr-defined]
    assert dora.get(f"/portal/matters/{cast.lucia_matter.pk}/download/?document={document.pk}").status_code == 404
    # Her own matter's URL with Lucía's document id is no way round.
    assert dora.get(f"/portal/matters/{cast.dora_matter.pk}/download/?document={document.pk}").status_code == 404
    with cast.firm.tenant:
        assert Document.objects.filter(matter=cast.lucia_matter).count() == 1


def test_an_item_that_is_not_on_the_matters_checklist_is_404(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)

    assert lucia.get(f"/portal/matters/{cast.lucia_matter.pk}/upload/?item=999999-1").status_code == 404
