"""Writing pages: a document of any page count is written in one call,
however many bind parameters its rows need (asyncpg allows 32,767 per
statement; a page row takes 13), and a rewrite replaces every page; a page
is finished only when read by the current reading of its kind."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus, PageMethod
from folio_shared.db.models import Document, Page, Tenant
from folio_shared.pages import OCR_VERSION, PageText, finished_pages, upsert_pages

pytestmark = pytest.mark.integration

#: Past the single-statement limit (2,521 pages of 13 parameters each: over 32,767).
MANY_PAGES = 3_500


async def _document(session: AsyncSession, filename: str) -> Document:
    """A new tenant's document being processed."""
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    session.add(tenant)
    await session.flush()
    doc = Document(
        tenant_id=tenant.id,
        filename=filename,
        storage_key=f"{tenant.id}/{uuid.uuid4()}",
        status=DocumentStatus.PROCESSING,
    )
    session.add(doc)
    await session.flush()
    return doc


async def test_a_document_of_thousands_of_pages_is_written_and_rewritten(
    session: AsyncSession,
) -> None:
    # Given a text document with more pages than one INSERT can carry
    doc = await _document(session, "long.txt")
    pages = [
        PageText(n, f"page {n}", PageMethod.TEXT, text_version="t1")
        for n in range(1, MANY_PAGES + 1)
    ]

    # When its pages are written, then written again with new text
    await upsert_pages(session, doc.id, pages)
    assert len(await finished_pages(session, doc.id, text_version="t1")) == MANY_PAGES
    await upsert_pages(
        session, doc.id, [PageText(p.page_no, f"v2 {p.page_no}", p.method) for p in pages]
    )

    # Then every page is there once, with its latest text
    rows = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(Page.page_no))).where(
                Page.document_id == doc.id, Page.text.like("v2 %")
            )
        )
    ).one()
    assert tuple(rows) == (MANY_PAGES, MANY_PAGES)


async def test_a_page_is_finished_only_when_read_by_the_current_reading_of_its_kind(
    session: AsyncSession,
) -> None:
    # Given pages read by text layer and by OCR, by the current and by older readings
    doc = await _document(session, "mixed.pdf")
    await upsert_pages(
        session,
        doc.id,
        [
            PageText(1, "text, current", PageMethod.TEXT, text_version="t2"),
            PageText(2, "text, older", PageMethod.TEXT, text_version="t1"),
            PageText(3, "text, before versions", PageMethod.TEXT),
            PageText(4, "ocr, current", PageMethod.OCR, ocr_version=OCR_VERSION),
            PageText(5, "ocr, older", PageMethod.OCR, ocr_version="0"),
            # an OCR page is judged by the OCR's version, never by the text reading's
            PageText(6, "ocr, text version", PageMethod.OCR, text_version="t2"),
        ],
    )

    # When the finished pages are asked for under text reading t2
    done = await finished_pages(session, doc.id, text_version="t2")

    # Then only the pages of the current readings count
    assert done == {1: PageMethod.TEXT, 4: PageMethod.OCR}
