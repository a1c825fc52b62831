"""The virus scan against a real ClamAV daemon (Debian's clamd) started for the session (tests/support/clamd.py).

The daemon's database is written by the fixture: the EICAR test signature and
one matching a PNG that passes every other check, so "refused by the scanner"
is not confused with "refused for its type".
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.uploads import UploadRejected, clamd, validate_upload
from tests.support import uploads as upload_samples


def test_clamd_reports_the_eicar_test_file_by_its_signature_name(clamd_socket: str) -> None:
    verdict = clamd.scan_bytes(upload_samples.EICAR, address=clamd_socket)

    # clamd marks signatures from a database it does not know as its own as ".UNOFFICIAL".
    assert verdict == clamd.Verdict(clean=False, signature="Eicar-Test-Signature.UNOFFICIAL")


def test_clamd_finds_a_clean_scan_clean(clamd_socket: str) -> None:
    assert clamd.scan_bytes(upload_samples.scanned_pdf(), address=clamd_socket) == clamd.Verdict(clean=True)


def test_a_file_larger_than_one_instream_chunk_is_scanned_whole(clamd_socket: str) -> None:
    data = upload_samples.scanned_pdf(pages=4)
    assert len(data) > clamd.CHUNK

    assert clamd.scan_bytes(data, address=clamd_socket).clean


def test_a_pdf_carrying_the_eicar_file_is_refused_as_a_threat_in_the_clients_language(clamd_configured: str) -> None:
    with pytest.raises(UploadRejected) as caught:
        validate_upload(SimpleUploadedFile("invoice.pdf", upload_samples.pdf_with_eicar()), language="es")

    assert caught.value.code == "infected"
    assert caught.value.message.startswith("Nuestro antivirus encontró una amenaza")


def test_the_bare_eicar_file_is_refused_for_its_type_before_it_costs_a_scan(clamd_configured: str) -> None:
    with pytest.raises(UploadRejected) as caught:
        validate_upload(SimpleUploadedFile("invoice.pdf", upload_samples.EICAR), language="en")

    assert caught.value.code == "unsupported_type"


def test_a_well_formed_image_is_refused_when_the_scanner_flags_it(clamd_configured: str) -> None:
    flagged = upload_samples.flagged_png()
    validate_upload(SimpleUploadedFile("a.png", upload_samples.photo(fmt="PNG")), language="en")  # others pass

    with pytest.raises(UploadRejected) as caught:
        validate_upload(SimpleUploadedFile("photo.png", flagged), language="en")

    assert caught.value.code == "infected"


def test_uploads_are_refused_while_the_configured_scanner_is_unreachable(settings: object, tmp_path: object) -> None:
    settings.PORTICO_CLAMD_SOCKET = f"{tmp_path}/no-such-clamd.sock"  # type: ignore[attr-defined]

    with pytest.raises(UploadRejected) as caught:
        validate_upload(SimpleUploadedFile("decree.pdf", upload_samples.scanned_pdf()), language="en")

    assert caught.value.code == "scan_unavailable"
    assert caught.value.message == (
        "We could not check this file for viruses just now. Please try again in a few minutes."
    )


def test_a_tcp_address_that_refuses_connections_counts_as_unavailable() -> None:
    with pytest.raises(clamd.ScanUnavailable):
        clamd.scan_bytes(b"data", address="127.0.0.1:1", timeout=2)
