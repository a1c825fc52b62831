"""Images: decoded under a pixel limit and re-encoded, so no metadata (EXIF, GPS, XMP) and no trailing bytes survive."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

# What a client's photo or scan may be, by Pillow format name, and what it is stored as.
STORED_AS = {
    "JPEG": ("image/jpeg", "jpg", "JPEG"),
    "PNG": ("image/png", "png", "PNG"),
    "WEBP": ("image/jpeg", "jpg", "JPEG"),
}


class ImageTooLarge(Exception):
    def __init__(self, pixels: int) -> None:
        super().__init__(f"{pixels} pixels")
        self.pixels = pixels


class ImageDamaged(Exception):
    pass


def check_header(data: bytes, *, max_pixels: int) -> tuple[int, int]:
    """(width, height) as the image's header states them, or ImageTooLarge / ImageDamaged; no pixel is decoded.

    This runs before the virus scan, so a few kilobytes that claim 400 megapixels
    cost nothing, neither here nor in the scanner (which would decode them).
    """
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            width, height = image.size
            if image.format not in STORED_AS:
                raise ImageDamaged(f"unexpected image format {image.format}")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(max_pixels + 1) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageDamaged(str(error)) from error
    if width * height > max_pixels:
        raise ImageTooLarge(width * height)
    return width, height


def reencode(data: bytes, *, max_pixels: int) -> tuple[bytes, str, str, tuple[int, int]]:
    """(re-encoded bytes, content type, extension, (width, height)) of an image, or ImageTooLarge / ImageDamaged.

    The size in the header is checked before any pixel is decoded; Pillow's own
    decompression-bomb guard is set to the same limit and turned into an error,
    in case a format reports one size and decodes another.
    """
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageTooLarge(width * height)
                if image.format not in STORED_AS:
                    raise ImageDamaged(f"unexpected image format {image.format}")
                content_type, extension, save_as = STORED_AS[image.format]
                image.load()
                upright = ImageOps.exif_transpose(image)  # phones store rotation in EXIF, which is dropped below
                return _save(upright, save_as), content_type, extension, upright.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(max_pixels + 1) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageDamaged(str(error)) from error


def _save(image: Image.Image, save_as: str) -> bytes:
    out = io.BytesIO()
    if save_as == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True)  # no exif= argument: nothing carried over
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)  # Pillow writes no text chunks unless given pnginfo
    return out.getvalue()
