"""Why an upload was refused, as a code for programs and a sentence for the client."""

from __future__ import annotations

from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

# One sentence per reason, in the client's language when raised. Each says what to do next.
MESSAGES = {
    "empty": _("The file is empty. Please choose the file again."),
    "too_large": _("The file is too large: %(size)s. The limit is %(limit)s. Please send a smaller file."),
    "unsupported_type": _(
        "We cannot accept this kind of file. Please send a PDF, or a photo or scan as JPEG, PNG or WebP."
    ),
    "type_not_accepted": _("For this document we accept only these file types: %(accepted)s."),
    "image_too_large": _(
        "The image is too large: more than %(megapixels)s megapixels. Please send a smaller photo or scan."
    ),
    "image_damaged": _("We could not open this image; it may be damaged. Please take the photo or scan again."),
    "pdf_damaged": _("We could not open this PDF; it may be damaged. Please save or scan it again."),
    "pdf_encrypted": _(
        "This PDF is protected with a password. Please send a copy without a password "
        "(for example, print it to a new PDF or scan the paper)."
    ),
    "pdf_active_content": _(
        "This PDF contains scripts or automatic actions, which we do not accept for your safety. "
        "Please print it to a new PDF or scan the paper, and send that instead."
    ),
    "pdf_no_pages": _("This PDF has no pages. Please check the file and send it again."),
    "pdf_embedded_file": _(
        "This PDF has other files attached inside it, which we do not accept for your safety. "
        "Please print it to a new PDF or scan the paper, and send that instead."
    ),
    "pdf_hidden_file": _(
        "This PDF has another file hidden in it, which we do not accept for your safety. "
        "Please print it to a new PDF or scan the paper, and send that instead."
    ),
    "pdf_too_many_pages": _(
        "This PDF has more than %(pages)s pages. Please send it in parts of up to %(pages)s pages."
    ),
    "pdf_too_complex": _(
        "This PDF is too complex for us to check. "
        "Please print it to a new PDF or scan the paper, and send that instead."
    ),
    "infected": _("Our virus scanner found a threat in this file, so it was not saved. Please send a clean copy."),
    "scan_unavailable": _("We could not check this file for viruses just now. Please try again in a few minutes."),
    "scan_incomplete": _(
        "Our virus scanner could not check all of this file, so it was not saved. "
        "Please send a smaller file, for example fewer pages at a time."
    ),
}


class UploadRejected(Exception):
    """A file that must not be stored; ``message`` is already in the client's language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def rejected(code: str, *, language: str, **params: object) -> UploadRejected:
    """The refusal ``code`` in ``language``; integer ``*size``/``limit`` byte counts are written out for people."""
    with translation.override(language):
        params = {
            name: human_size(value) if name in ("size", "limit") and isinstance(value, int) else value
            for name, value in params.items()
        }
        text = str(MESSAGES[code])
        return UploadRejected(code, text % params if params else text)


def human_size(size: int) -> str:
    """1.5 MB, 800 KB: sizes the way clients read them, in the active language's number format."""
    if size >= 1024 * 1024:
        megabytes = round(size / (1024 * 1024), 1)
        return f"{number_format(megabytes, decimal_pos=0 if megabytes.is_integer() else 1)} MB"
    return f"{max(1, round(size / 1024))} KB"
