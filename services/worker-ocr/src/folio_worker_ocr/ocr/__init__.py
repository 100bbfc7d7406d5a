"""OCR of one page: rendering (PDF) or loading (images) with guards, Tesseract, isolation.

The worker creates one :class:`OcrPool` at boot and calls
:meth:`OcrPool.ocr_page` for each page message.
"""

from folio_worker_ocr.ocr.errors import (
    ImageTooLarge,
    OcrInputError,
    PageOutOfRange,
    TooManyPages,
    UnknownLanguage,
    UnreadableImage,
)
from folio_worker_ocr.ocr.page import OcrOptions, PageResult, PageSource, recognize_page
from folio_worker_ocr.ocr.pool import OcrPool, options_from_settings

__all__ = [
    "ImageTooLarge",
    "OcrInputError",
    "OcrOptions",
    "OcrPool",
    "PageOutOfRange",
    "PageResult",
    "PageSource",
    "TooManyPages",
    "UnknownLanguage",
    "UnreadableImage",
    "options_from_settings",
    "recognize_page",
]
