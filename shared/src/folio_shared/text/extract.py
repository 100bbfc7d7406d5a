"""Text extraction, by document type: the entry point the workers call.

:func:`extract_document` is a plain top-level function taking bytes or a
file path and returning a plain :class:`~folio_shared.text.types.Extraction`
(picklable), so it can run inside the isolated child-process pool that
parses untrusted files.

Types (``kind``, a :class:`~folio_shared.db.enums.DocumentKind` value):
``pdf`` (text layer per page, unusable pages marked for OCR), ``text``,
``markdown``, ``html``, ``docx``, and the image types (``png``, ``jpeg``,
``tiff``, ``webp``): one page, no text, marked for OCR (the OCR worker
reads every frame of a multi-page TIFF).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from folio_shared.errors import UnsupportedFileType
from folio_shared.text.docx import extract_docx
from folio_shared.text.html import extract_html
from folio_shared.text.ocr_decision import PageTextStatus
from folio_shared.text.pdf import extract_pdf
from folio_shared.text.plain import extract_markdown, extract_plain_text
from folio_shared.text.types import ExtractedPage, Extraction

IMAGE_KINDS = frozenset({"png", "jpeg", "tiff", "webp"})

_BYTE_EXTRACTORS: dict[str, Callable[[bytes], Extraction]] = {
    "text": extract_plain_text,
    "markdown": extract_markdown,
    "html": extract_html,
    "docx": extract_docx,
}


def extract_image(kind: str) -> Extraction:
    """An image file: one page with no text, to be OCRed."""
    page = ExtractedPage(
        page_no=1,
        text="",
        needs_ocr=True,
        ocr_reason=PageTextStatus.EMPTY.value,
        image_area_ratio=1.0,
    )
    return Extraction(kind=kind, pages=[page])


def extract_document(kind: str, source: bytes | str | Path) -> Extraction:
    """Extract the text of a document of type ``kind`` from its bytes or
    its file path.

    Raises :class:`~folio_shared.errors.UnsupportedFileType` for an unknown
    ``kind`` and an :class:`~folio_shared.text.errors.ExtractionError`
    (corrupt, encrypted, truncated) for a document that cannot be read.
    """
    if kind == "pdf":
        return extract_pdf(source)
    if kind in IMAGE_KINDS:
        return extract_image(kind)
    extractor = _BYTE_EXTRACTORS.get(kind)
    if extractor is None:
        raise UnsupportedFileType(f"no text extractor for document type {kind!r}", kind=kind)
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return extractor(data)
