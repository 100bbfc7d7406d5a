"""A document's text, a bounded window at a time.

The text of a document is its pages joined with a form feed (``\\f``)
between them; search hits give their place in it (``char_start``,
``char_end``). ``GET /v1/documents/{id}/text`` answers at most
:data:`MAX_TEXT_CHARS` characters of it from ``offset`` (or of one page,
with ``page``), with ``next_offset`` to ask for the rest: a 45 MB text is
read in windows, never whole. PostgreSQL cuts the window
(``substr`` of the pages it overlaps, their offsets from a running sum of
``length``), so the API never holds more than one window of text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

#: Most characters one answer holds (and its default).
MAX_TEXT_CHARS = 1_000_000

#: The pages a window of the whole text overlaps, each with its part of
#: the window; ``chars``: the whole text's length, ``pages``: the page count.
_WINDOW = sa.text(
    """
    WITH p AS (
      SELECT page_no, length(text) AS len,
        coalesce(sum(length(text) + 1) OVER (
          ORDER BY page_no ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS start
      FROM pages WHERE document_id = :id
    ), total AS (
      SELECT coalesce(sum(len) + count(*) - 1, 0) AS chars, count(*) AS pages FROM p
    )
    SELECT p.page_no, p.start, p.len, pg.method, pg.low_confidence, pg.ocr_confidence,
      total.chars, total.pages,
      substr(pg.text, CAST(greatest(:offset - p.start, 0) + 1 AS integer),
        CAST(greatest(least(p.start + p.len, :offset + :limit) - greatest(p.start, :offset), 0)
          AS integer)) AS part
    FROM total LEFT JOIN p ON p.start + p.len >= :offset AND p.start < :offset + :limit
      LEFT JOIN pages pg ON pg.document_id = :id AND pg.page_no = p.page_no
    ORDER BY p.page_no
    """
)

#: One page's window; ``pages``: the page count.
_PAGE_WINDOW = sa.text(
    """
    SELECT pg.page_no, 0 AS start, length(pg.text) AS len, pg.method, pg.low_confidence,
      pg.ocr_confidence,
      length(pg.text) AS chars, (SELECT count(*) FROM pages WHERE document_id = :id) AS pages,
      substr(pg.text, CAST(:offset + 1 AS integer), CAST(:limit AS integer)) AS part
    FROM (SELECT 1) AS one LEFT JOIN pages pg ON pg.document_id = :id AND pg.page_no = :page
    """
)


@dataclass(frozen=True, slots=True)
class PagePart:
    """The part of one page in a window: ``text``, and the page's place."""

    page_no: int
    text: str
    method: str
    low_confidence: bool
    ocr_confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """``text`` from ``offset`` (at most the limit asked), the whole's
    ``total_chars``, the pages it overlaps and the document's page count;
    ``found`` is false for a page the document lacks."""

    text: str
    offset: int
    total_chars: int
    page_count: int
    parts: list[PagePart]
    found: bool

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.text)
        return end if end < self.total_chars else None


async def read_window(
    session: AsyncSession,
    document_id: uuid.UUID,
    *,
    page: int | None,
    offset: int,
    limit: int = MAX_TEXT_CHARS,
) -> Window:
    """The window ``[offset, offset + limit)`` of the document's text, or of
    its page ``page``."""
    limit = min(limit, MAX_TEXT_CHARS)
    params = {"id": document_id, "offset": offset, "limit": limit, "page": page}
    rows = (await session.execute(_PAGE_WINDOW if page else _WINDOW, params)).all()
    first = rows[0]
    parts = [
        PagePart(r.page_no, r.part or "", str(r.method), bool(r.low_confidence), r.ocr_confidence)
        for r in rows
        if r.page_no is not None
    ]
    pieces: list[str] = []
    for row, part in zip((r for r in rows if r.page_no is not None), parts, strict=True):
        pieces.append(part.text)
        separator = row.start + row.len  # the form feed after this page
        if page is None and separator < first.chars and offset <= separator < offset + limit:
            pieces.append("\f")
    return Window(
        text="".join(pieces),
        offset=offset,
        total_chars=int(first.chars or 0),
        page_count=int(first.pages or 0),
        parts=parts,
        found=page is None or bool(parts),
    )
