"""Writing a document's chunks: bulk, atomic, idempotent."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from pipeline_helpers import make_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import Chunk, Document
from folio_shared.errors import DocumentNotFound, InvalidInput
from folio_worker_docs.chunks_store import delete_document_chunks, replace_document_chunks
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
from folio_worker_docs.text.types import ExtractedPage

pytestmark = pytest.mark.integration

PAGES = [
    ExtractedPage(1, " ".join(f"Line {i} about river deltas and silt." for i in range(60))),
    ExtractedPage(2, " ".join(f"Line {i} about mangrove forests." for i in range(60))),
]


async def _write(session: AsyncSession, embedder: Embedder, tenant_id: uuid.UUID,
                 document_id: uuid.UUID) -> int:  # fmt: skip
    chunks = chunk_pages(PAGES, embedder.token_spans, ChunkingOptions(96, 16))
    vectors = embedder.encode([c.text for c in chunks])
    return await replace_document_chunks(
        session,
        tenant_id=tenant_id,
        document_id=document_id,
        chunks=chunks,
        vectors=vectors,
        model_version=embedder.model_version,
        pipeline_version="test-1",
    )


async def _rows(session: AsyncSession, document_id: uuid.UUID) -> list[sa.Row[tuple[int, ...]]]:
    result = await session.execute(
        sa.select(Chunk.chunk_index, Chunk.page_start, Chunk.page_end, Chunk.char_start)
        .where(Chunk.document_id == document_id)
        .order_by(Chunk.chunk_index)
    )
    return list(result.all())


async def _totals(session: AsyncSession, document_id: uuid.UUID) -> tuple[int, int]:
    row = (
        await session.execute(
            sa.select(Document.chunk_count, Document.token_count).where(Document.id == document_id)
        )
    ).one()
    return row.chunk_count, row.token_count


async def test_writing_the_same_chunks_twice_leaves_one_set(
    session: AsyncSession, embedder: Embedder
) -> None:
    tenant_id = await make_tenant(session)
    document_id = await make_document(session, tenant_id, "deltas.txt")
    first = await _write(session, embedder, tenant_id, document_id)
    rows_first = await _rows(session, document_id)
    second = await _write(session, embedder, tenant_id, document_id)
    rows_second = await _rows(session, document_id)
    assert first == second == len(rows_second) > 2
    assert rows_first == rows_second
    assert [r.chunk_index for r in rows_second] == list(range(second))
    assert rows_second[0].page_start == 1
    assert rows_second[-1].page_end == 2
    stored = (
        await session.execute(
            sa.select(Chunk.embedding, Chunk.model_version, Chunk.tsv).where(
                Chunk.document_id == document_id, Chunk.chunk_index == 0
            )
        )
    ).one()
    assert len(stored.embedding) == 384
    assert stored.model_version == embedder.model_version
    assert "delta" in str(stored.tsv)
    # the document keeps its totals for keyword ranking
    assert await _totals(session, document_id) == (
        second,
        await session.scalar(
            sa.select(sa.func.sum(Chunk.token_count)).where(Chunk.document_id == document_id)
        ),
    )


async def test_replace_is_atomic_on_bad_input(session: AsyncSession, embedder: Embedder) -> None:
    tenant_id = await make_tenant(session)
    document_id = await make_document(session, tenant_id, "a.txt")
    count = await _write(session, embedder, tenant_id, document_id)
    await session.commit()
    chunks = chunk_pages(PAGES, embedder.token_spans)
    bad_vectors = [[0.0] * 384 for _ in chunks[:-1]] + [[0.0] * 3]
    with pytest.raises(InvalidInput, match="dimensions"):
        await replace_document_chunks(
            session, tenant_id=tenant_id, document_id=document_id, chunks=chunks,
            vectors=bad_vectors, model_version="m", pipeline_version="p",
        )  # fmt: skip
    await session.rollback()
    assert len(await _rows(session, document_id)) == count
    await delete_document_chunks(session, tenant_id=tenant_id, document_id=document_id)
    await session.commit()


async def test_another_tenants_document_is_not_found(
    session: AsyncSession, embedder: Embedder
) -> None:
    owner = await make_tenant(session)
    intruder = await make_tenant(session)
    document_id = await make_document(session, owner, "mine.txt")
    with pytest.raises(DocumentNotFound):
        await _write(session, embedder, intruder, document_id)


async def test_delete_document_chunks(session: AsyncSession, embedder: Embedder) -> None:
    tenant_id = await make_tenant(session)
    document_id = await make_document(session, tenant_id, "gone.txt")
    count = await _write(session, embedder, tenant_id, document_id)
    deleted = await delete_document_chunks(session, tenant_id=tenant_id, document_id=document_id)
    assert deleted == count
    assert await _rows(session, document_id) == []
    assert await _totals(session, document_id) == (0, 0)
