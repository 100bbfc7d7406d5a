"""Pages of a document: their text, how it was obtained, and checkpoints.

Each page is written once per pipeline version (an upsert keyed by document
and page number), so a retried or resumed document never redoes a finished
page: :func:`finished_pages` tells what is already there. An OCR page
records the OCR's version too (:data:`OCR_VERSION`): one read by another
version is not finished, so a reprocess OCRs it again. A text-layer page
records the version of worker-docs' reading of text layers the same way
(``text_version``, which worker-docs passes in): one read by another version
is read again.

Pages go in as one multi-row upsert per batch of :data:`UPSERT_BATCH_ROWS`:
a statement may carry at most 32,767 bind parameters (asyncpg), and a page
row takes 13, so one statement for a whole 3,000-page text document failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import PageMethod
from folio_shared.db.models import Page

#: Version of the extraction/OCR/chunking pipeline, stored with every page
#: and chunk; pages of another version are redone on reprocessing.
PIPELINE_VERSION = "1"

#: Version of worker-ocr's reading of a page (rendering, cleaning,
#: Tesseract, the re-reading of ids), stored with every OCR page. Bump it
#: with any worker-ocr change that can change a page's text: a reprocessed
#: document's OCR pages of another version (or of none) are OCRed again,
#: its text-layer pages are kept. Kept here because worker-docs decides
#: what to OCR and worker-ocr records it.
OCR_VERSION = "7"

#: Page rows per upsert statement (13 parameters each: 13,000 per statement).
UPSERT_BATCH_ROWS = 1_000


@dataclass(frozen=True)
class PageText:
    """A page's text and provenance, as stored."""

    page_no: int
    text: str
    method: PageMethod
    ocr_confidence: float | None = None
    ocr_languages: str | None = None
    dpi: int | None = None
    duration_ms: int | None = None
    low_confidence: bool = False
    ocr_version: str | None = None
    text_version: str | None = None


async def upsert_pages(
    session: AsyncSession, document_id: uuid.UUID, pages: list[PageText]
) -> None:
    """Write pages (insert or replace), in the caller's transaction, in
    batches of :data:`UPSERT_BATCH_ROWS`."""
    for offset in range(0, len(pages), UPSERT_BATCH_ROWS):
        await _upsert_batch(session, document_id, pages[offset : offset + UPSERT_BATCH_ROWS])


async def _upsert_batch(
    session: AsyncSession, document_id: uuid.UUID, pages: list[PageText]
) -> None:
    stmt = insert(Page).values(
        [
            {
                "id": uuid.uuid4(),
                "document_id": document_id,
                "page_no": p.page_no,
                "text": p.text,
                "method": p.method,
                "ocr_confidence": p.ocr_confidence,
                "ocr_languages": p.ocr_languages,
                "dpi": p.dpi,
                "duration_ms": p.duration_ms,
                "pipeline_version": PIPELINE_VERSION,
                "low_confidence": p.low_confidence,
                "ocr_version": p.ocr_version,
                "text_version": p.text_version,
            }
            for p in pages
        ]
    )
    excluded = stmt.excluded
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Page.document_id, Page.page_no],
            set_={
                "text": excluded.text,
                "method": excluded.method,
                "ocr_confidence": excluded.ocr_confidence,
                "ocr_languages": excluded.ocr_languages,
                "dpi": excluded.dpi,
                "duration_ms": excluded.duration_ms,
                "pipeline_version": excluded.pipeline_version,
                "low_confidence": excluded.low_confidence,
                "ocr_version": excluded.ocr_version,
                "text_version": excluded.text_version,
            },
        )
    )


async def finished_pages(
    session: AsyncSession, document_id: uuid.UUID, *, text_version: str
) -> dict[int, PageMethod]:
    """Pages already done by this pipeline version: OCR pages read by this
    OCR version (:data:`OCR_VERSION`), text-layer pages by ``text_version``
    (worker-docs' own). Page number → method."""
    rows = await session.execute(
        sa.select(Page.page_no, Page.method).where(
            Page.document_id == document_id,
            Page.pipeline_version == PIPELINE_VERSION,
            sa.or_(
                sa.and_(Page.method == PageMethod.OCR, Page.ocr_version == OCR_VERSION),
                sa.and_(Page.method == PageMethod.TEXT, Page.text_version == text_version),
            ),
        )
    )
    return {int(no): PageMethod(method) for no, method in rows}


async def load_pages(session: AsyncSession, document_id: uuid.UUID) -> list[Page]:
    """The document's pages in order."""
    rows = await session.scalars(
        sa.select(Page).where(Page.document_id == document_id).order_by(Page.page_no)
    )
    return list(rows)


async def drop_pages_after(session: AsyncSession, document_id: uuid.UUID, page_count: int) -> None:
    """Remove pages past the end (a reprocessed document got shorter)."""
    await session.execute(
        sa.delete(Page).where(Page.document_id == document_id, Page.page_no > page_count)
    )
