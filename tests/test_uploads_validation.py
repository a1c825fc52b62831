"""What ``validate_upload`` lets through and what it refuses, with the sentence the client reads (issue 5 item 3)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.uploads import UploadRejected, validate_upload
from tests.support import uploads as upload_samples


def upload(data: bytes, name: str = "file.bin") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def refusal(data: bytes, *, language: str = "en", name: str = "file.bin", **kwargs: object) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        validate_upload(upload(data, name), language=language, **kwargs)
    return caught.value


# --- Type by content, not by name -------------------------------------------------------


def test_a_png_named_pdf_is_taken_as_the_png_it_is() -> None:
    safe = validate_upload(upload(upload_samples.photo(fmt="PNG"), "passport.pdf"), language="en")

    assert (safe.content_type, safe.extension, safe.kind) == ("image/png", "png", "image")


def test_a_web_page_named_jpg_is_refused_as_an_unsupported_type() -> None:
    refused = refusal(b"<html><script>alert(1)</script></html>", name="passport.jpg")

    assert refused.code == "unsupported_type"
    assert "PDF" in refused.message
    assert "JPEG" in refused.message


def test_an_executable_is_refused_in_spanish_for_a_spanish_speaking_client() -> None:
    refused = refusal(b"MZ\x90\x00" + b"\x00" * 200, language="es", name="pasaporte.pdf")

    assert refused.code == "unsupported_type"
    assert refused.message.startswith("No podemos aceptar este tipo de archivo")


def test_a_requirement_that_asks_for_a_pdf_refuses_a_photo_and_names_what_it_accepts() -> None:
    requirement = SimpleNamespace(acceptable_types=["application/pdf"], max_size_bytes=None)

    refused = refusal(upload_samples.photo(), requirement=requirement)

    assert refused.code == "type_not_accepted"
    assert refused.message == "For this document we accept only these file types: PDF."


# --- Size -------------------------------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    assert refusal(b"").code == "empty"


def test_a_file_over_the_firms_limit_is_refused_with_its_size_and_the_limit(settings: object) -> None:
    settings.PORTICO_UPLOAD_MAX_BYTES = 1024 * 1024  # type: ignore[attr-defined]
    big = upload_samples.photo() + b"\0" * (2 * 1024 * 1024)

    refused = refusal(big)

    assert refused.code == "too_large"
    assert refused.message == "The file is too large: 2 MB. The limit is 1 MB. Please send a smaller file."


def test_a_requirement_may_set_a_smaller_limit_than_the_firms() -> None:
    requirement = SimpleNamespace(acceptable_types=[], max_size_bytes=2048)

    refused = refusal(upload_samples.scanned_pdf(), requirement=requirement, language="es")

    assert refused.code == "too_large"
    assert "2 KB" in refused.message
    assert "demasiado grande" in refused.message


# --- Images ---------------------------------------------------------------------------------------


def test_a_phone_photo_loses_its_exif_and_location_but_keeps_its_orientation() -> None:
    original = upload_samples.photo_with_location()
    assert b"PhoneMaker" in original

    safe = validate_upload(upload(original, "IMG_0001.jpg"), language="en")

    assert b"PhoneMaker" not in safe.content
    assert b"Exif" not in safe.content
    with Image.open(io.BytesIO(safe.content)) as stored:
        assert dict(stored.getexif()) == {}
        # Stored 200x100 with "rotate 90°" in EXIF: re-encoded upright, so 100x200.
        assert stored.size == (100, 200)
    assert (safe.width, safe.height) == (100, 200)


def test_bytes_hidden_after_an_image_do_not_survive_re_encoding() -> None:
    smuggled = upload_samples.photo(fmt="PNG") + b"<?php system($_GET['c']); ?>"

    safe = validate_upload(upload(smuggled), language="en")

    assert b"<?php" not in safe.content


def test_a_decompression_bomb_is_refused_before_it_is_decoded(settings: object) -> None:
    bomb = upload_samples.pixel_bomb()
    assert len(bomb) < 100_000  # tiny on disk, 100 megapixels once decoded

    refused = refusal(bomb, language="es")

    assert refused.code == "image_too_large"
    assert "40 megapíxeles" in refused.message


def test_an_image_over_the_pixel_limit_is_refused_even_below_pillows_own_bomb_threshold(settings: object) -> None:
    settings.PORTICO_UPLOAD_MAX_PIXELS = 100_000  # type: ignore[attr-defined]

    refused = refusal(upload_samples.photo((400, 300)))  # 120,000 pixels

    assert refused.code == "image_too_large"


def test_a_truncated_image_is_refused_as_damaged() -> None:
    refused = refusal(upload_samples.photo()[:600])

    assert refused.code == "image_damaged"


# --- PDFs ---------------------------------------------------------------------------------------------


def test_a_scanned_pdf_is_accepted_with_its_page_count() -> None:
    safe = validate_upload(upload(upload_samples.scanned_pdf(pages=3), "decree.pdf"), language="en")

    assert (safe.content_type, safe.kind, safe.page_count) == ("application/pdf", "pdf", 3)


def test_an_encrypted_pdf_is_refused_with_a_way_forward() -> None:
    refused = refusal(upload_samples.encrypted_pdf(), language="es")

    assert refused.code == "pdf_encrypted"
    assert refused.message.startswith("Este PDF está protegido con contraseña")


@pytest.mark.parametrize(
    "make",
    [
        upload_samples.pdf_with_document_javascript,
        upload_samples.pdf_with_open_action_javascript,
        upload_samples.pdf_with_escaped_javascript_names,
    ],
    ids=["names-tree", "open-action", "escaped-names"],
)
def test_a_pdf_with_javascript_is_refused(make: object) -> None:
    refused = refusal(make())  # type: ignore[operator]

    assert refused.code == "pdf_active_content"


def test_javascript_spelled_with_escaped_names_is_found_although_a_byte_search_would_miss_it() -> None:
    data = upload_samples.pdf_with_escaped_javascript_names()

    assert b"/JavaScript" not in data
    assert refusal(data).code == "pdf_active_content"


def test_a_pdf_cut_short_is_refused_as_damaged() -> None:
    assert refusal(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog").code in ("pdf_damaged", "pdf_no_pages")
