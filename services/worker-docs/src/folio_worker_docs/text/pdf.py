"""PDF: the text layer page by page (PDFium through ``pypdfium2``).

Every page gets its text and the share of its area covered by images;
:func:`~folio_worker_docs.text.ocr_decision.classify_page` then decides whether
its text layer is usable or the page must be OCRed, so a mixed PDF OCRs
only the pages that need it.

Failures name the problem: :class:`EncryptedDocument` (a password or a
security handler PDFium cannot open), :class:`TruncatedDocument` (no
``%%EOF`` marker near the end: the file was cut short; PDFium would
silently "repair" it and lose pages) and :class:`CorruptDocument`
(anything else PDFium refuses, or a page that cannot be read).

Running headers and footers (a line repeated at the top or the bottom of
the document's first pages, page numbers included) are dropped from the
text of every page after the first (:mod:`folio_worker_docs.text.running`),
whichever batch of pages is read.

A page's text keeps PDFium's lines, with a blank line where a printed
paragraph ends (:mod:`folio_worker_docs.text.pdf_layout`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from folio_worker_docs.text.errors import CorruptDocument, EncryptedDocument, TruncatedDocument
from folio_worker_docs.text.ocr_decision import (
    DEFAULT_THRESHOLDS,
    OcrThresholds,
    PageTextStatus,
    classify_page,
)
from folio_worker_docs.text.pdf_layout import page_text
from folio_worker_docs.text.running import SAMPLE_PAGES, drop_running_lines, running_lines
from folio_worker_docs.text.types import ExtractedPage, Extraction

#: The PDF specification lets readers look for the header and the final
#: ``%%EOF`` within this many bytes of the start and the end.
_MARKER_WINDOW_BYTES = 1024


def _head_and_tail(source: bytes | Path) -> tuple[bytes, bytes]:
    if isinstance(source, bytes):
        return source[:_MARKER_WINDOW_BYTES], source[-_MARKER_WINDOW_BYTES * 2 :]
    with source.open("rb") as f:
        head = f.read(_MARKER_WINDOW_BYTES)
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _MARKER_WINDOW_BYTES * 2))
        return head, f.read()


def check_pdf_structure(source: bytes | Path) -> None:
    """Raise :class:`CorruptDocument` without a ``%PDF-`` header and
    :class:`TruncatedDocument` without a final ``%%EOF``."""
    head, tail = _head_and_tail(source)
    if b"%PDF-" not in head:
        raise CorruptDocument("not a PDF file: no %PDF- header", kind="pdf")
    tail = tail.rstrip(b"\x00\t\n\r\f ")
    if b"%%EOF" not in tail[-_MARKER_WINDOW_BYTES:]:
        raise TruncatedDocument(
            "the PDF file is truncated: its end-of-file marker (%%EOF) is missing",
            kind="pdf",
        )


def _open(source: bytes | Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(source if isinstance(source, bytes) else str(source))
    except pdfium.PdfiumError as e:
        if e.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise EncryptedDocument(
                "the PDF file is encrypted (password-protected)", kind="pdf"
            ) from e
        raise CorruptDocument(f"the PDF file is corrupt: {e}", kind="pdf") from e


def _image_area_ratio(page: pdfium.PdfPage) -> float:
    width, height = page.get_size()
    page_area = float(width) * float(height)
    if page_area <= 0:
        return 0.0
    covered = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        w = min(right, width) - max(left, 0.0)
        h = min(top, height) - max(bottom, 0.0)
        if w > 0 and h > 0:
            covered += w * h
    return min(1.0, covered / page_area)


def _page_text(page: pdfium.PdfPage) -> str:
    textpage = page.get_textpage()
    try:
        return page_text(textpage)
    finally:
        textpage.close()


def _running(document: pdfium.PdfDocument, count: int, known: dict[int, str]) -> frozenset[str]:
    """The running lines of the document, from its first pages (the texts
    in ``known``, by page number, are not read again; those read are
    added)."""
    if count < 2:
        return frozenset()
    texts = []
    for page_no in range(1, min(count, SAMPLE_PAGES) + 1):
        if page_no not in known:
            page = document[page_no - 1]
            try:
                known[page_no] = _page_text(page)
            except pdfium.PdfiumError:
                known[page_no] = ""
            finally:
                page.close()
        texts.append(known[page_no])
    return running_lines(texts)


def _read_page(
    document: pdfium.PdfDocument,
    index: int,
    thresholds: OcrThresholds,
    running: frozenset[str] = frozenset(),
    known: dict[int, str] | None = None,
) -> ExtractedPage:
    page = document[index]
    try:
        text = (known or {}).get(index + 1)
        if text is None:
            text = _page_text(page)
        ratio = _image_area_ratio(page)
    finally:
        page.close()
    status = classify_page(text, ratio, thresholds)
    usable = status is PageTextStatus.USABLE
    return ExtractedPage(
        page_no=index + 1,
        # the first page keeps its header: the document's own title and references
        text=(drop_running_lines(text, running) if usable and index else text).strip(),
        needs_ocr=not usable,
        ocr_reason=None if usable else status.value,
        image_area_ratio=round(ratio, 4),
    )


def _page_count(document: pdfium.PdfDocument) -> int:
    try:
        count = len(document)
    except pdfium.PdfiumError as e:
        raise CorruptDocument(f"the PDF file is corrupt: {e}", kind="pdf") from e
    if count == 0:
        raise CorruptDocument("the PDF file has no pages", kind="pdf")
    return count


def pdf_page_count(source: bytes | str | Path) -> int:
    """Pages of a PDF (bytes or a file path), after the same checks as
    :func:`extract_pdf` (structure, encryption, corruption)."""
    src: bytes | Path = source if isinstance(source, bytes) else Path(source)
    check_pdf_structure(src)
    document = _open(src)
    try:
        return _page_count(document)
    finally:
        document.close()


def extract_pdf_pages(
    source: bytes | str | Path,
    page_numbers: list[int],
    *,
    thresholds: OcrThresholds = DEFAULT_THRESHOLDS,
) -> list[ExtractedPage]:
    """The text of some pages of a PDF (numbered from 1), each marked
    ``needs_ocr`` when its text layer is unusable: the pipeline reads a long
    document in batches and checkpoints each one."""
    src: bytes | Path = source if isinstance(source, bytes) else Path(source)
    document = _open(src)
    try:
        count = _page_count(document)
        return _read_pages(document, count, page_numbers, thresholds)
    finally:
        document.close()


def pdf_start(
    source: bytes | str | Path,
    page_numbers: list[int],
    *,
    thresholds: OcrThresholds = DEFAULT_THRESHOLDS,
) -> tuple[int, list[ExtractedPage]]:
    """:func:`pdf_page_count` and :func:`extract_pdf_pages` of the
    ``page_numbers`` that exist, in one call: the page count and those
    pages' text. The pipeline reads a PDF's first batch of pages with it,
    so a one-page document needs one trip to the isolated child, not two."""
    src: bytes | Path = source if isinstance(source, bytes) else Path(source)
    check_pdf_structure(src)
    document = _open(src)
    try:
        count = _page_count(document)
        wanted = [n for n in page_numbers if 1 <= n <= count]
        return count, _read_pages(document, count, wanted, thresholds)
    finally:
        document.close()


def _read_pages(
    document: pdfium.PdfDocument, count: int, page_numbers: list[int], thresholds: OcrThresholds
) -> list[ExtractedPage]:
    for page_no in page_numbers:
        if not 1 <= page_no <= count:
            raise ValueError(f"page {page_no} is not in 1..{count}")
    known: dict[int, str] = {}
    running = _running(document, count, known)
    pages = []
    for page_no in page_numbers:
        try:
            pages.append(_read_page(document, page_no - 1, thresholds, running, known))
        except pdfium.PdfiumError as e:
            raise CorruptDocument(
                f"page {page_no} of the PDF file cannot be read: {e}",
                kind="pdf",
                page_no=page_no,
            ) from e
    return pages


def extract_pdf(
    source: bytes | str | Path, *, thresholds: OcrThresholds = DEFAULT_THRESHOLDS
) -> Extraction:
    """Text of every page of a PDF (bytes or a file path), with the pages
    whose text layer is unusable marked ``needs_ocr``."""
    src: bytes | Path = source if isinstance(source, bytes) else Path(source)
    check_pdf_structure(src)
    document = _open(src)
    try:
        count = _page_count(document)
        known: dict[int, str] = {}
        running = _running(document, count, known)
        pages = []
        for index in range(count):
            try:
                pages.append(_read_page(document, index, thresholds, running, known))
            except pdfium.PdfiumError as e:
                raise CorruptDocument(
                    f"page {index + 1} of the PDF file cannot be read: {e}",
                    kind="pdf",
                    page_no=index + 1,
                ) from e
        metadata = {
            key.lower(): value
            for key, value in document.get_metadata_dict(skip_empty=True).items()
            if key in ("Title", "Author") and isinstance(value, str)
        }
    finally:
        document.close()
    return Extraction(kind="pdf", pages=pages, metadata=metadata)
