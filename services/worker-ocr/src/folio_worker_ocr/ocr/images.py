"""Load one page of an image file (PNG, JPEG, TIFF, WebP) with guards.

Guards run on the header, before any pixel is decoded:

- the pixel count (``width * height``) must not exceed ``max_pixels``
  (Pillow's own decompression-bomb check is set to the same limit, so a
  header claiming 100,000 x 100,000 pixels is refused without decoding);
- a multi-page TIFF may have at most ``max_pages`` frames (the frame
  directory is walked only up to that limit);
- only the four formats above are opened at all (Pillow's other decoders
  are never reached, whatever the bytes claim).

Truncated or corrupt files raise :class:`UnreadableImage`, never a raw
decoder error. Memory beyond these guards is bounded by the child process's
``RLIMIT_AS`` (see :mod:`folio_shared.isolation`).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

from PIL import Image

from folio_worker_ocr.ocr.errors import ImageTooLarge, PageOutOfRange, TooManyPages, UnreadableImage

#: Pillow format names Folio opens; everything else is refused.
ALLOWED_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP")

#: Decoder failures that mean "this file is broken", not "Folio has a bug".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


def _open(source: Path | bytes, max_pixels: int) -> Image.Image:
    # Pillow's own guard is a backstop: it warns above the limit (silenced:
    # :func:`_check_pixels` refuses those with their size) and refuses at twice it.
    Image.MAX_IMAGE_PIXELS = max_pixels
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream, formats=ALLOWED_FORMATS)
        except Image.DecompressionBombError as e:
            raise ImageTooLarge(
                f"the image is larger than {max_pixels} pixels", max_pixels=max_pixels
            ) from e
        except _DECODE_ERRORS as e:
            raise UnreadableImage(f"the image cannot be read: {e}", reason=str(e)) from e
    try:
        _check_pixels(image, max_pixels)  # the header's size, nothing decoded yet
    except Exception:
        image.close()
        raise
    return image


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise UnreadableImage("the image has no pixels", reason="empty")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width} x {height} pixels, more than {max_pixels}",
            width=width,
            height=height,
            pixels=width * height,
            max_pixels=max_pixels,
        )


def count_frames(image: Image.Image, max_pages: int) -> int:
    """Frames in ``image``, walking at most ``max_pages`` + 1 of them.

    Raises :class:`TooManyPages` when there are more than ``max_pages``.
    Leaves ``image`` at an arbitrary frame: open the file again to decode.
    """
    if not getattr(image, "is_animated", False) and image.format != "TIFF":
        return 1
    for index in range(1, max_pages + 1):
        try:
            image.seek(index)  # sequential: Pillow reads one more frame header
        except EOFError:
            return index
    raise TooManyPages(f"the image has more than {max_pages} pages", max_pages=max_pages)


def load_image_page(
    source: Path | bytes, page_no: int, *, max_pixels: int, max_pages: int
) -> Image.Image:
    """Decode page ``page_no`` (1-based) of an image file, guarded.

    ``source`` is a file path or the file's bytes. Returns a fully decoded
    Pillow image (mode as stored). Raises :class:`ImageTooLarge`,
    :class:`TooManyPages`, :class:`PageOutOfRange` or :class:`UnreadableImage`.
    """
    probe = _open(source, max_pixels)
    try:
        pages = count_frames(probe, max_pages)
    except _DECODE_ERRORS as e:
        raise UnreadableImage(f"the image cannot be read: {e}", reason=str(e)) from e
    finally:
        probe.close()
    image = _open(source, max_pixels)  # fresh: a walked frame chain is not seekable again
    try:
        try:
            if not 1 <= page_no <= pages:
                raise PageOutOfRange(
                    f"page {page_no} does not exist (the image has {pages})",
                    page_no=page_no,
                    page_count=pages,
                )
            if page_no > 1:
                image.seek(page_no - 1)
            _check_pixels(image, max_pixels)
            image.load()
        except (ImageTooLarge, TooManyPages, PageOutOfRange):
            raise
        except Image.DecompressionBombError as e:
            raise ImageTooLarge(
                f"the image is larger than {max_pixels} pixels", max_pixels=max_pixels
            ) from e
        except _DECODE_ERRORS as e:
            raise UnreadableImage(f"the image cannot be read: {e}", reason=str(e)) from e
        # Detach the decoded frame from the file (and from its other frames).
        page = image.copy()
        page.info = dict(image.info)
        return page
    finally:
        image.close()


def image_dpi(image: Image.Image, default_dpi: int) -> int:
    """The resolution an image declares (its ``dpi`` info), else ``default_dpi``."""
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 50 <= value <= 2400 else default_dpi
