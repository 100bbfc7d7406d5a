"""Text extraction, by document type: the entry point the workers call.

:func:`extract_document` is a plain top-level function taking bytes or a
file path and returning a plain :class:`~folio_worker_docs.text.types.Extraction`
(picklable), so it can run inside the isolated child-process pool that
parses untrusted files.

Types (``kind``, a :class:`~folio_shared.db.enums.DocumentKind` value):
``pdf`` (text layer per page, unusable pages marked for OCR), ``text``,
``markdown``, ``html``, ``docx``, and the image types (``png``, ``jpeg``,
``tiff``, ``webp``): no text, marked for OCR; one page per frame of a
multi-page TIFF (at most :data:`MAX_IMAGE_PAGES`, counted from the file's
directory without decoding any image).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from folio_shared.errors import InvalidInput, UnsupportedFileType
from folio_worker_docs.text.docx import extract_docx
from folio_worker_docs.text.errors import CorruptDocument
from folio_worker_docs.text.html import extract_html
from folio_worker_docs.text.ocr_decision import PageTextStatus
from folio_worker_docs.text.pdf import extract_pdf
from folio_worker_docs.text.plain import extract_markdown, extract_plain_text
from folio_worker_docs.text.types import ExtractedPage, Extraction

IMAGE_KINDS = frozenset({"png", "jpeg", "tiff", "webp"})

#: Most frames a multi-page TIFF may have (each frame is one OCR job).
MAX_IMAGE_PAGES = 500


class TooManyImagePages(InvalidInput):
    """A multi-page image has more frames than Folio accepts."""

    code = "too_many_pages"


def image_page_count(kind: str, source: bytes | str | Path) -> int:
    """Frames of an image file (1 except for multi-page TIFFs); raises
    :class:`TooManyImagePages` past :data:`MAX_IMAGE_PAGES` and
    :class:`~folio_worker_docs.text.errors.CorruptDocument` for an unreadable file."""
    if kind != "tiff":
        return 1
    from PIL import Image, UnidentifiedImageError

    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(data) as image:
            frames = 0
            while True:
                frames += 1
                if frames > MAX_IMAGE_PAGES:
                    raise TooManyImagePages(
                        f"the TIFF has more than {MAX_IMAGE_PAGES} pages", max_pages=MAX_IMAGE_PAGES
                    )
                try:
                    image.seek(frames)
                except EOFError:
                    return frames
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise CorruptDocument(f"the TIFF file cannot be read: {e}") from e


_BYTE_EXTRACTORS: dict[str, Callable[[bytes], Extraction]] = {
    "text": extract_plain_text,
    "markdown": extract_markdown,
    "html": extract_html,
    "docx": extract_docx,
}


def extract_image(kind: str, pages: int = 1) -> Extraction:
    """An image file: ``pages`` pages with no text, to be OCRed."""
    return Extraction(
        kind=kind,
        pages=[
            ExtractedPage(
                page_no=n,
                text="",
                needs_ocr=True,
                ocr_reason=PageTextStatus.EMPTY.value,
                image_area_ratio=1.0,
            )
            for n in range(1, pages + 1)
        ],
    )


def extract_document(kind: str, source: bytes | str | Path) -> Extraction:
    """Extract the text of a document of type ``kind`` from its bytes or
    its file path.

    Raises :class:`~folio_shared.errors.UnsupportedFileType` for an unknown
    ``kind`` and an :class:`~folio_worker_docs.text.errors.ExtractionError`
    (corrupt, encrypted, truncated) for a document that cannot be read.
    """
    if kind == "pdf":
        return extract_pdf(source)
    if kind in IMAGE_KINDS:
        return extract_image(kind, image_page_count(kind, source))
    extractor = _BYTE_EXTRACTORS.get(kind)
    if extractor is None:
        raise UnsupportedFileType(f"no text extractor for document type {kind!r}", kind=kind)
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return extractor(data)
