"""Errors of OCR input: a page Folio refuses or cannot read; and the second
engine's failure, which never fails a page.

The input errors are permanent (``retryable = False``): the same bytes fail
the same way again, so the page job fails at once with a readable reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from folio_shared.errors import FolioError, InvalidInput


class OcrInputError(InvalidInput):
    """A page cannot be OCRed because of its input file."""

    code = "ocr_input_error"


class UnreadableImage(OcrInputError):
    """The image or PDF is truncated, corrupt or not what its type says.

    ``details``: ``reason`` (the decoder's message).
    """

    code = "unreadable_image"


class ImageTooLarge(OcrInputError):
    """The page would exceed the pixel limit (a decompression bomb, or a huge page).

    ``details``: ``width``, ``height``, ``pixels``, ``max_pixels``.
    """

    code = "image_too_large"


class TooManyPages(OcrInputError):
    """A multi-page image (TIFF) has more frames than allowed.

    ``details``: ``max_pages``.
    """

    code = "too_many_pages"


class PageOutOfRange(OcrInputError):
    """The requested page does not exist in the file.

    ``details``: ``page_no``, ``page_count`` (when known).
    """

    code = "page_out_of_range"


class UnknownLanguage(OcrInputError):
    """Tesseract has no model for a requested language.

    ``details``: ``languages`` (the setting asked for).
    """

    code = "unknown_language"


class SecondEngineFailed(FolioError):
    """The second OCR engine (PP-OCR on onnxruntime) failed while reading an
    id region: an allocation refused under the child's memory limit (its
    native ``std::bad_alloc``), a model that does not load, an inference
    error. It never leaves the child: the region keeps Tesseract's reading
    (:mod:`folio_worker_ocr.ocr.reread`).

    ``details``: ``type`` (the engine's exception class).
    """

    code = "second_engine_failed"


@contextlib.contextmanager
def second_engine_call() -> Iterator[None]:
    """Any error raised inside the block (a call into the second engine) as
    :class:`SecondEngineFailed`, chained to it."""
    try:
        yield
    except Exception as error:  # whatever onnxruntime or RapidOCR raise
        name = type(error).__name__
        raise SecondEngineFailed(
            f"the second OCR engine failed: {name}: {error}", type=name
        ) from error
