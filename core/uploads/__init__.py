"""Upload safety: what a client's file must pass before anything is stored (SPEC §6, issue 5 item 3).

    from core.uploads import UploadRejected, validate_upload

    try:
        safe = validate_upload(request.FILES["file"], requirement=requirement, language="es")
    except UploadRejected as refused:
        form.add_error("file", refused.message)   # a clear sentence in the client's language
    else:
        document_submit(..., file=safe.as_file())

``validate_upload`` reads the file once into memory (it is bounded by the size
limit), decides the type from the content (never the name), checks an image's
pixel count from its header and opens PDFs to refuse encrypted ones, ones that
carry JavaScript, launch actions or attached files, ones with another file
riding along (a PDF+ZIP polyglot) and ones too long or complex to check; then
asks the ClamAV daemon when one is configured (refusing what it did not scan
whole), and re-encodes images without their metadata. Cheap checks come first
and every step is bounded. It stores nothing: a refused file leaves no trace
and whatever the matter held before stays as it was.
"""

from core.uploads.errors import UploadRejected
from core.uploads.validate import SafeUpload, validate_upload

__all__ = ["SafeUpload", "UploadRejected", "validate_upload"]
