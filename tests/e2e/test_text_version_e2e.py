"""Text-layer pages carry the version of their reading: a reprocess reads
again the pages an older reading stored, keeps those the current one stored,
and re-chunks from the new text."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from e2ekit import Api, finished, job_done, requeue, submit

from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import Chunk, Page
from folio_worker_docs.text import TEXT_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOTE = b"""# Harbour pilots

The **harbour pilot** boards each vessel at the outer buoy and guides it past
the reef, as the [port rules](https://example.org/rules) require.
"""

#: The page as a reading that kept Markdown's marks stored it.
MARKED = NOTE.decode()


async def _page(api: Api, document_id: uuid.UUID) -> tuple[str, str | None]:
    async with api.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(Page.text, Page.text_version).where(Page.document_id == document_id)
            )
        ).one()
    return row.text, row.text_version


async def _store(api: Api, document_id: uuid.UUID, text: str, version: str | None) -> None:
    async with api.engine.begin() as conn:
        await conn.execute(
            sa.update(Page)
            .where(Page.document_id == document_id)
            .values(text=text, text_version=version)
        )


async def _chunks(api: Api, document_id: uuid.UUID) -> str:
    async with api.engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(Chunk.text)
            .where(Chunk.document_id == document_id)
            .order_by(Chunk.chunk_index)
        )
        return " ".join(rows)


async def test_a_reprocess_reads_again_only_text_pages_an_older_reading_stored(
    api: Api,
) -> None:
    # Given a Markdown note, read by the current reading: stored without its marks
    document_id = await submit(api, DocumentKind.MARKDOWN, "text/markdown", NOTE)
    assert await finished(api.engine, document_id) == "ready"
    rendered, version = await _page(api, document_id)
    assert version == TEXT_VERSION
    assert "**" not in rendered
    assert "https://" not in rendered
    assert "harbour pilot" in rendered

    # Given its page as stored by the current reading, but with other text
    await _store(api, document_id, MARKED, TEXT_VERSION)
    # When it is processed again
    await job_done(api.engine, await requeue(api, document_id))
    assert await finished(api.engine, document_id) == "ready"
    # Then the page is kept as stored (a checkpoint), and chunks come from it
    assert await _page(api, document_id) == (MARKED, TEXT_VERSION)
    assert "**harbour pilot**" in await _chunks(api, document_id)

    # Given its page as a reading before versions were recorded stored it
    await _store(api, document_id, MARKED, None)
    # When it is processed again
    await job_done(api.engine, await requeue(api, document_id))
    assert await finished(api.engine, document_id) == "ready"
    # Then the page was read again by the current reading, and re-chunked from it
    assert await _page(api, document_id) == (rendered, TEXT_VERSION)
    chunks = await _chunks(api, document_id)
    assert "**" not in chunks
    assert "harbour pilot" in chunks
