"""Errors of OCR input: a page Folio refuses or cannot read.

All are permanent (``retryable = False``): the same bytes fail the same way
again, so the page job fails at once with a readable reason.
"""

from __future__ import annotations

from folio_shared.errors import InvalidInput


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
