"""Writing pages: a document of any page count is written in one call,
however many bind parameters its rows need (asyncpg allows 32,767 per
statement; a page row takes 11), and a rewrite replaces every page."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus, PageMethod
from folio_shared.db.models import Document, Page, Tenant
from folio_shared.pages import PageText, finished_pages, upsert_pages

pytestmark = pytest.mark.integration

#: Past the single-statement limit (2,979 pages of 11 parameters each: over 32,767).
MANY_PAGES = 3_500


async def test_a_document_of_thousands_of_pages_is_written_and_rewritten(
    session: AsyncSession,
) -> None:
    # Given a text document with more pages than one INSERT can carry
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    session.add(tenant)
    await session.flush()
    doc = Document(
        tenant_id=tenant.id,
        filename="long.txt",
        storage_key=f"{tenant.id}/{uuid.uuid4()}",
        status=DocumentStatus.PROCESSING,
    )
    session.add(doc)
    await session.flush()
    pages = [PageText(n, f"page {n}", PageMethod.TEXT) for n in range(1, MANY_PAGES + 1)]

    # When its pages are written, then written again with new text
    await upsert_pages(session, doc.id, pages)
    assert len(await finished_pages(session, doc.id)) == MANY_PAGES
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
