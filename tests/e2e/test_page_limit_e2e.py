"""A document with more pages than its tenant may send fails before it
fans out: no page is stored, no OCR job is made, and the job and the
document say why. A real worker-docs process runs with a small maximum
(and a larger one for one tenant); documents are uploaded through the real
API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from documents import pdf
from e2ekit import Api, finished, new_tenant, open_api, start_worker, submit

from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import Document, Job, Page
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_PAGES = 30
ROOMY_MAX_PAGES = 60


@pytest.fixture(scope="module")
async def api(database_url: str, settings: FolioSettings) -> AsyncIterator[Api]:
    async for opened in open_api(database_url, settings):
        yield opened


def text_of(pages: int) -> bytes:
    return "\f".join(f"page {n} of a long text" for n in range(1, pages + 1)).encode()


async def stored_pages(api: Api, document_id: uuid.UUID) -> int:
    async with api.engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(Page).where(Page.document_id == document_id)
        )
    return int(count or 0)


async def jobs_of(api: Api, document_id: uuid.UUID) -> list[Any]:
    async with api.engine.connect() as conn:
        return list(await conn.execute(sa.select(Job).where(Job.document_id == document_id)))


async def test_a_document_past_the_page_limit_fails_before_fan_out(
    api: Api, settings: FolioSettings, tmp_path: Path
) -> None:
    # Given a worker-docs whose maximum is 30 pages, 60 for one roomy tenant
    roomy_id, roomy_key = await new_tenant(api.jobs, "roomy")
    overrides = f'{{"{roomy_id}": {ROOMY_MAX_PAGES}}}'
    worker = start_worker(
        settings,
        "docs",
        tmp_path,
        FOLIO_PIPELINE_MAX_DOCUMENT_PAGES=str(MAX_PAGES),
        FOLIO_PIPELINE_TENANT_MAX_DOCUMENT_PAGES=overrides,
        FOLIO_PIPELINE_WARM_UP="false",
    )
    try:
        # When the tenant sends a 41-page text and a 31-page blank PDF
        text = await submit(api, DocumentKind.TEXT, "text/plain", text_of(41))
        blank = await submit(api, DocumentKind.PDF, "application/pdf", pdf([""] * 31))
        roomy = api.as_tenant(roomy_id, roomy_key)
        allowed = await submit(roomy, DocumentKind.TEXT, "text/plain", text_of(41))

        # Then both fail with a readable reason, no page stored, no OCR job made
        for document_id, pages in ((text, 41), (blank, 31)):
            assert await finished(api.engine, document_id, timeout_s=120) == "failed"
            async with api.engine.connect() as conn:
                error = await conn.scalar(
                    sa.select(Document.error).where(Document.id == document_id)
                )
            assert error is not None
            assert f"has {pages} pages; at most {MAX_PAGES} pages per document" in error
            assert await stored_pages(api, document_id) == 0
            (job,) = await jobs_of(api, document_id)
            assert (job.status, job.error_type, job.attempts) == ("failed", "TooManyPages", 1)

        # And the roomy tenant's 41 pages pass the check: they are stored
        for _ in range(600):
            if await stored_pages(api, allowed) == 41:
                break
            await asyncio.sleep(0.2)
        assert await stored_pages(api, allowed) == 41
    finally:
        worker.terminate(timeout_s=30)
        worker.close()
