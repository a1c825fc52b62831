"""Hostile uploads that used to be stored, and bounded work per upload (issue 18 item 5).

Against the session's real clamd (tests/support/clamd.py), whose size limit
is set low so "larger than the scanner's limit" is cheap to make. Each refusal
is checked in the words the client reads, in English and in Spanish.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.audit.models import AuditEntry
from core.checklist import checklist_for
from core.models import Document
from core.uploads import UploadRejected, clamd, pdfs, validate_upload
from residency.models import StoredObject
from tests.support import uploads as upload_samples
from tests.support.clamd import CLAMD_SCAN_LIMIT

if TYPE_CHECKING:
    from tests.support.cast import Cast


def refusal(data: bytes, *, language: str = "en", name: str = "passport.pdf") -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        validate_upload(SimpleUploadedFile(name, data), language=language)
    return caught.value


# --- Files inside PDFs --------------------------------------------------------------------------

EMBEDDED = pytest.mark.parametrize(
    "make",
    [upload_samples.pdf_with_attached_executable, upload_samples.pdf_with_attachment_annotation],
    ids=["attachments-tree", "attachment-annotation"],
)


@EMBEDDED
def test_a_pdf_carrying_an_executable_is_refused(clamd_configured: str, make: Callable[[], bytes]) -> None:
    refused = refusal(make())

    assert refused.code == "pdf_embedded_file"
    assert refused.message == (
        "This PDF has other files attached inside it, which we do not accept for your safety. "
        "Please print it to a new PDF or scan the paper, and send that instead."
    )


@EMBEDDED
def test_a_pdf_carrying_an_executable_is_refused_in_spanish(clamd_configured: str, make: Callable[[], bytes]) -> None:
    assert refusal(make(), language="es").message.startswith("Este PDF lleva otros archivos adjuntos")


@pytest.mark.parametrize(
    "make",
    [upload_samples.pdf_zip_polyglot, upload_samples.pdf_zip_polyglot_ending_in_eof],
    ids=["zip-appended", "zip-then-eof"],
)
def test_a_pdf_that_is_also_a_zip_archive_is_refused(clamd_configured: str, make: Callable[[], bytes]) -> None:
    english = refusal(make())
    spanish = refusal(make(), language="es")

    assert english.code == "pdf_hidden_file"
    assert english.message == (
        "This PDF has another file hidden in it, which we do not accept for your safety. "
        "Please print it to a new PDF or scan the paper, and send that instead."
    )
    assert spanish.message.startswith("Este PDF tiene otro archivo escondido")


def test_bytes_after_the_end_of_a_pdf_are_refused(clamd_configured: str) -> None:
    smuggled = upload_samples.scanned_pdf() + b"\n<script>alert(1)</script>\n"

    assert refusal(smuggled).code == "pdf_hidden_file"


def test_an_ordinary_pdf_ending_in_line_breaks_is_accepted(clamd_configured: str) -> None:
    safe = validate_upload(SimpleUploadedFile("decree.pdf", upload_samples.scanned_pdf() + b"\r\n\n"), language="en")

    assert safe.kind == "pdf"


# --- What the scanner did not scan ---------------------------------------------------------------


def test_eicar_inside_a_pdf_is_found_by_the_scanner(clamd_configured: str) -> None:
    refused = refusal(upload_samples.pdf_with_eicar(), language="es")

    assert refused.code == "infected"
    assert refused.message.startswith("Nuestro antivirus encontró una amenaza")


def test_eicar_inside_a_pdf_larger_than_the_scanners_limit_is_refused_as_not_scanned(clamd_configured: str) -> None:
    data = upload_samples.pdf_with_eicar(size=CLAMD_SCAN_LIMIT + 512 * 1024)
    assert CLAMD_SCAN_LIMIT < len(data) < 20 * 1024 * 1024  # under Portico's own limit, over the scanner's

    english = refusal(data)
    spanish = refusal(data, language="es")

    assert english.code == "scan_incomplete"
    assert english.message == (
        "Our virus scanner could not check all of this file, so it was not saved. "
        "Please send a smaller file, for example fewer pages at a time."
    )
    assert spanish.message.startswith("Nuestro antivirus no pudo revisar todo este archivo")


def test_a_stream_longer_than_the_daemon_accepts_is_a_not_scanned_verdict(clamd_socket: str) -> None:
    too_long = b"%PDF-1.7\n" + b"0" * (31 * 1024 * 1024)  # the test daemon's StreamMaxLength is 30M

    verdict = clamd.scan_bytes(too_long, address=clamd_socket)

    assert verdict == clamd.Verdict(clean=False, signature="", scanned=False)


# --- Cheap checks first, bounded work ---------------------------------------------------------------


def test_a_tiny_png_of_400_megapixels_is_refused_from_its_header_without_waiting_for_the_scanner(
    clamd_configured: str,
) -> None:
    data = upload_samples.huge_png()
    assert len(data) < 64 * 1024

    started = time.monotonic()
    refused = refusal(data, name="photo.png", language="es")
    elapsed = time.monotonic() - started

    assert refused.code == "image_too_large"
    assert "40 megapíxeles" in refused.message
    assert elapsed < 3  # clamd alone spends about 20 s decoding this image


def test_a_pdf_over_the_page_limit_is_refused_naming_the_limit(clamd_configured: str, settings: object) -> None:
    settings.PORTICO_UPLOAD_MAX_PDF_PAGES = 10  # type: ignore[attr-defined]

    accepted = validate_upload(SimpleUploadedFile("a.pdf", upload_samples.pdf_with_pages(10)), language="en")
    english = refusal(upload_samples.pdf_with_pages(11))
    spanish = refusal(upload_samples.pdf_with_pages(11), language="es")

    assert accepted.page_count == 10
    assert english.code == "pdf_too_many_pages"
    assert english.message == "This PDF has more than 10 pages. Please send it in parts of up to 10 pages."
    assert spanish.message == "Este PDF tiene más de 10 páginas. Por favor, envíelo en partes de hasta 10 páginas."


def test_a_pdf_with_more_objects_than_the_check_walks_is_refused_as_too_complex(
    clamd_configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdfs, "MAX_OBJECTS", 1_000)  # the production bound is larger; the rule is the same

    refused = refusal(upload_samples.pdf_with_many_objects(2_000), language="es")

    assert refused.code == "pdf_too_complex"
    assert refused.message.startswith("Este PDF es demasiado complejo")


@pytest.fixture
def trickling_scanner() -> Iterator[str]:
    """A TCP server that answers a scan one byte a second and never finishes (a stuck or overloaded daemon)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(0.2)
            while not stop.is_set():
                try:
                    connection.recv(1 << 16)
                except TimeoutError:
                    pass
                except OSError:
                    return
                try:
                    connection.sendall(b"s")
                except OSError:
                    return
                stop.wait(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_a_scan_takes_no_longer_than_the_timeout_even_when_the_daemon_trickles(trickling_scanner: str) -> None:
    started = time.monotonic()
    with pytest.raises(clamd.ScanUnavailable):
        clamd.scan_bytes(upload_samples.scanned_pdf(), address=trickling_scanner, timeout=2)

    assert time.monotonic() - started < 4


# --- Through the portal ------------------------------------------------------------------------------


def test_a_client_sending_a_polyglot_through_the_portal_reads_why_in_spanish_and_nothing_is_stored(
    cast: Cast, clamd_configured: str
) -> None:
    with cast.firm.tenant:
        objects_before = StoredObject.objects.count()
        item = next(line.key for line in checklist_for(cast.lucia_matter) if line.requirement.code == "passport")

    response = cast.client_of(cast.lucia).post(
        f"/portal/matters/{cast.lucia_matter.pk}/upload/?item={item}",
        {"file": SimpleUploadedFile("pasaporte.pdf", upload_samples.pdf_zip_polyglot())},
    )

    assert response.status_code == 400
    assert "Este PDF tiene otro archivo escondido" in response.content.decode()
    with cast.firm.tenant:
        assert StoredObject.objects.count() == objects_before
        assert not Document.objects.filter(matter=cast.lucia_matter).exists()
        assert AuditEntry.objects.get(action="document.upload_refused").data_dict["reason"] == "pdf_hidden_file"
