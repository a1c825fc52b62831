"""Files a client might upload, made on the spot with Pillow and pypdf (good, bad and hostile)."""

from __future__ import annotations

import io
import os
import zipfile

from PIL import Image, ImageDraw
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

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


# --- Hostile PDFs (issue 18 item 5) ----------------------------------------------------------

# The first bytes of a Windows executable: what a client's "passport.pdf" must not carry inside.
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode."


def pdf_with_attached_executable() -> bytes:
    """A one-page PDF with ``setup.exe`` in its /Names /EmbeddedFiles tree (the reader's attachments pane)."""
    writer = _writer_with_page()
    writer.add_attachment("setup.exe", EXECUTABLE)
    return _written(writer)


def pdf_with_attachment_annotation() -> bytes:
    """A page annotation (/FileAttachment, the paper-clip icon) whose file spec embeds an executable."""
    writer = _writer_with_page()
    embedded = DecodedStreamObject()
    embedded.set_data(EXECUTABLE)
    embedded[NameObject("/Type")] = NameObject("/EmbeddedFile")
    spec = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject("invoice.exe"),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(embedded)}),
        }
    )
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/FileAttachment"),
            NameObject("/Rect"): ArrayObject([NumberObject(10), NumberObject(10), NumberObject(30), NumberObject(30)]),
            NameObject("/FS"): writer._add_object(spec),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return _written(writer)


def _zip_of_executable() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.exe", EXECUTABLE)
    return out.getvalue()


def pdf_zip_polyglot() -> bytes:
    """A PDF that is also a ZIP archive: a PDF reader shows the page, an unzip tool finds ``payload.exe``."""
    return _written(_writer_with_page()) + _zip_of_executable()


def pdf_zip_polyglot_ending_in_eof() -> bytes:
    """The same, with a final ``%%EOF`` after the archive so the file still ends like a PDF."""
    return pdf_zip_polyglot() + b"\n%%EOF\n"


def pdf_with_eicar(*, size: int = 0) -> bytes:
    """A one-page PDF with the EICAR test string in its (uncompressed) content, padded to about ``size`` bytes.

    The padding is a comment of random hex digits in a second content stream, so
    the file stays a valid PDF whatever its size.
    """
    writer = _writer_with_page()
    content = DecodedStreamObject()
    content.set_data(b"% " + EICAR + b"\nBT ET\n")
    streams = [writer._add_object(content)]
    if size:
        padding = DecodedStreamObject()
        padding.set_data(b"% " + os.urandom(size // 2).hex().encode() + b"\n")
        streams.append(writer._add_object(padding))
    writer.pages[0][NameObject("/Contents")] = ArrayObject(streams)
    return _written(writer)


def pdf_with_pages(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    return _written(writer)


def pdf_with_many_objects(count: int) -> bytes:
    """A one-page PDF whose catalog reaches ``count`` small indirect objects (work for any structure check)."""
    writer = _writer_with_page()
    objects = [writer._add_object(DictionaryObject({NameObject("/N"): NumberObject(n)})) for n in range(count)]
    writer._root_object[NameObject("/PieceInfo")] = ArrayObject(objects)
    return _written(writer)


def huge_png(side: int = 20_000) -> bytes:
    """A ``side`` x ``side`` one-bit PNG (400 megapixels at 20,000): about 48 KB on disk."""
    out = io.BytesIO()
    Image.new("1", (side, side), 0).save(out, "PNG", optimize=True)
    return out.getvalue()
