"""Files a client might upload, made on the spot with Pillow and pypdf (good, bad and hostile)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

# The EICAR anti-virus test file: harmless, recognised by every scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def photo(
    size: tuple[int, int] = (640, 480), *, fmt: str = "JPEG", exif: Image.Exif | None = None, text: str = ""
) -> bytes:
    image = Image.new("RGB", size, (235, 232, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(30, 60, 120), width=6)
    if text:
        draw.text((40, 40), text, fill=(0, 0, 0))
    out = io.BytesIO()
    if exif is not None:
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


def photo_with_location() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (40.0, 26.0, 46.0)
    return photo((200, 100), exif=exif)


def flagged_png() -> bytes:
    """A valid PNG that the test clamd database lists as a threat (the same bytes every time)."""
    image = Image.new("RGB", (64, 64), (200, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pixel_bomb() -> bytes:
    """A 10,000 x 10,000 PNG (100 megapixels) that compresses to a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


def scanned_pdf(text: str = "Divorce decree", pages: int = 1) -> bytes:
    """A scan-like PDF: page images, as a phone scanner app produces."""
    images = []
    for number in range(pages):
        page = Image.new("RGB", (850, 1100), "white")
        draw = ImageDraw.Draw(page)
        draw.text((80, 80), f"{text} - page {number + 1}", fill="black")
        images.append(page)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=100)
    return out.getvalue()


def _writer_with_page() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    return writer


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    writer = _writer_with_page()
    writer.encrypt(user_password="secret", owner_password="owner")
    return _written(writer)


def pdf_with_document_javascript() -> bytes:
    """JavaScript in the document's /Names /JavaScript tree (run when the document opens)."""
    writer = _writer_with_page()
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('hello');")}
    )
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("greet"), writer._add_object(action)])}
    )
    names = DictionaryObject({NameObject("/JavaScript"): writer._add_object(tree)})
    writer._root_object[NameObject("/Names")] = writer._add_object(names)
    return _written(writer)


def pdf_with_open_action_javascript() -> bytes:
    writer = _writer_with_page()
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    return _written(writer)


def pdf_with_escaped_javascript_names() -> bytes:
    """OpenAction JavaScript whose names are spelled with #xx escapes, so a byte search for /JavaScript misses it."""
    data = pdf_with_open_action_javascript()
    return data.replace(b"/JavaScript", b"/J#61vaScript").replace(b"/JS ", b"/J#53 ")
