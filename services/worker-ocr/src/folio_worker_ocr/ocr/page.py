"""OCR one page: the pure function the isolated children run.

:func:`recognize_page` takes a :class:`PageSource` (a PDF or image file and a
page number) and :class:`OcrOptions`, renders or loads the page with its
guards, OCRs it with the process's :class:`~folio_worker_ocr.ocr.engine.OcrEngine`
and returns a :class:`PageResult`. It runs in the calling process; the worker
calls it through :class:`~folio_worker_ocr.ocr.pool.OcrPool`, which runs it in
a child process with memory and time limits.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import msgspec

from folio_worker_ocr.ocr.engine import DEFAULT_PSM, OcrEngine, Rotate
from folio_worker_ocr.ocr.images import image_dpi, load_image_page
from folio_worker_ocr.ocr.render import render_pdf_page

#: Content types of the files a page can come from, and how each is read.
CONTENT_KINDS: dict[str, Literal["pdf", "image"]] = {
    "application/pdf": "pdf",
    "image/png": "image",
    "image/jpeg": "image",
    "image/tiff": "image",
    "image/webp": "image",
}


class PageSource(msgspec.Struct, frozen=True):
    """Where a page comes from.

    - ``content_type``: MIME type of the file; one of :data:`CONTENT_KINDS`.
    - ``page_no``: the page, 1-based (a PDF page, or a frame of a TIFF).
    - ``path``: a local file holding it (default none) ...
    - ``data``: ... or the file's bytes (default none). Exactly one of the two.
      A path is cheaper: the bytes are not copied into the child process.
    """

    content_type: str
    page_no: int
    path: str | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("a PageSource needs exactly one of path and data")
        if self.content_type not in CONTENT_KINDS:
            raise ValueError(f"cannot OCR content type {self.content_type!r}")
        if self.page_no < 1:
            raise ValueError("page_no is 1-based")

    @property
    def file(self) -> Path | bytes:
        """The path or the bytes, whichever was given."""
        return Path(self.path) if self.path is not None else self.data or b""


class OcrOptions(msgspec.Struct, frozen=True):
    """How to OCR a page.

    - ``languages``: Tesseract languages joined by ``+`` (default ``eng+por``).
    - ``dpi``: rendering resolution of PDF pages, in dpi (default 300); for
      images, the resolution the file declares, else this value.
    - ``psm``: Tesseract page segmentation mode (default 3, automatic).
    - ``rotate``: how the page is turned before OCR (default ``"auto"``:
      a page read with low confidence has its orientation detected and is
      read again upright; ``"detect"``: detect on every page, ~10-20 % more
      time; 0, 90, 180, 270: turn it that many degrees counter-clockwise);
      see :meth:`~folio_worker_ocr.ocr.engine.OcrEngine.recognize`.
    - ``max_pixels``: largest page accepted, in pixels, checked on the header
      or page box before decoding (default 100,000,000).
    - ``max_pages``: most frames a multi-page image (TIFF) may have
      (default 500; a file with more is refused whatever page is asked).
    - ``low_confidence_threshold``: mean word confidence (0-100) below which
      the page is flagged ``low_confidence`` (default 60).
    - ``reread_ids``: read identifier regions again and put the readings
      their shape or check digits accept in the text (default true; see
      :mod:`folio_worker_ocr.ocr.reread`).
    - ``upscale_below_dpi``: with ``reread_ids``, a page below this
      resolution that reads like a PIX receipt without a valid end-to-end
      id is OCRed again upscaled (default 150; 0 never; see
      :meth:`~folio_worker_ocr.ocr.engine.OcrEngine.recognize`).
    - ``second_engine``: with ``reread_ids``, PIX end-to-end ids are also
      read by a second OCR engine (PP-OCR; default true; see
      :mod:`folio_worker_ocr.ocr.second_engine`).
    """

    languages: str = "eng+por"
    dpi: int = 300
    psm: int = DEFAULT_PSM
    rotate: Rotate = "auto"
    max_pixels: int = 100_000_000
    max_pages: int = 500
    low_confidence_threshold: float = 60.0
    reread_ids: bool = True
    upscale_below_dpi: int = 150
    second_engine: bool = True


class PageResult(msgspec.Struct, frozen=True):
    """One page's OCR, stored with the page.

    - ``page_no``: the page, 1-based.
    - ``text``: the recognised text.
    - ``mean_confidence``: mean word confidence, 0-100 (0 with no words).
    - ``word_count``: words recognised.
    - ``languages``: the language setting used.
    - ``dpi``: the resolution the page was rendered at (or declared, for images).
    - ``rotation_degrees``: counter-clockwise rotation applied (0, 90, 180, 270).
    - ``render_ms``: time to render or decode the page, in milliseconds.
    - ``ocr_ms``: time in Tesseract (including orientation detection), in ms.
    - ``low_confidence``: ``mean_confidence`` is below the options' threshold.
    - ``ids_reread``: identifier regions whose second reading replaced the
      page OCR's words.
    - ``second_engine_failures``: id regions the second engine failed to
      read (out of memory, ...), which kept Tesseract's reading.
    """

    page_no: int
    text: str
    mean_confidence: float
    word_count: int
    languages: str
    dpi: int
    rotation_degrees: int
    render_ms: float
    ocr_ms: float
    low_confidence: bool
    ids_reread: int = 0
    second_engine_failures: int = 0


_engine: OcrEngine | None = None


def engine() -> OcrEngine:
    """This process's engine, created on first use."""
    global _engine
    if _engine is None:
        _engine = OcrEngine()
    return _engine


def warm_up(languages: str) -> None:
    """Load the models for ``languages`` now (an :class:`IsolatedPool` initializer)."""
    engine().api(languages)


def recognize_page(source: PageSource, options: OcrOptions) -> PageResult:
    """Render or load the page, OCR it, and measure both steps (in this process).

    Raises the input errors of :mod:`folio_worker_ocr.ocr.errors` (including
    :class:`~folio_worker_ocr.ocr.errors.UnknownLanguage`).
    """
    started = time.perf_counter()
    if CONTENT_KINDS[source.content_type] == "pdf":
        dpi = options.dpi
        image = render_pdf_page(source.file, source.page_no, dpi=dpi, max_pixels=options.max_pixels)
    else:
        image = load_image_page(
            source.file,
            source.page_no,
            max_pixels=options.max_pixels,
            max_pages=options.max_pages,
        )
        dpi = image_dpi(image, options.dpi)
    rendered = time.perf_counter()
    found = engine().recognize(
        image,
        languages=options.languages,
        dpi=dpi,
        psm=options.psm,
        rotate=options.rotate,
        low_confidence=options.low_confidence_threshold,
        reread_ids=options.reread_ids,
        upscale_below_dpi=options.upscale_below_dpi,
        second_engine=options.second_engine,
    )
    finished = time.perf_counter()
    return PageResult(
        page_no=source.page_no,
        text=found.text,
        mean_confidence=found.mean_confidence,
        word_count=found.word_count,
        languages=options.languages,
        dpi=dpi,
        rotation_degrees=found.rotation_degrees,
        render_ms=round((rendered - started) * 1000, 1),
        ocr_ms=round((finished - rendered) * 1000, 1),
        low_confidence=found.mean_confidence < options.low_confidence_threshold,
        ids_reread=found.ids_reread,
        second_engine_failures=found.second_engine_failures,
    )
