"""Plain results of text extraction: picklable, no library objects inside.

They cross the boundary of the isolated child process that parses
untrusted files, so they hold only ``str``, ``int``, ``float``, ``bool``
and ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """The text of one page (``page_no`` counts from 1).

    ``needs_ocr``: the text layer is missing or unusable and the page must be
    OCRed (``text`` then holds whatever the layer had, possibly nothing).
    ``ocr_reason``: why (a :class:`~folio_worker_docs.text.ocr_decision.PageTextStatus`
    value), ``None`` when the text is usable. ``image_area_ratio``: share of
    the page covered by images (0-1), ``None`` when not measured.
    """

    page_no: int
    text: str
    needs_ocr: bool = False
    ocr_reason: str | None = None
    image_area_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything extracted from one document.

    ``kind``: the document type (a :class:`~folio_shared.db.enums.DocumentKind`
    value). ``pages``: in order, numbered from 1 without gaps. ``encoding``:
    the text encoding detected (plain text, Markdown, HTML), else ``None``.
    ``metadata``: small string facts (title, author, ...).
    """

    kind: str
    pages: list[ExtractedPage]
    encoding: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def ocr_pages(self) -> list[int]:
        """Numbers of the pages that need OCR."""
        return [page.page_no for page in self.pages if page.needs_ocr]
