"""The tenant's keyword totals kept in rows of their own (migration 0024):
every way a tenant's documents and chunks change leaves the sums of
``tenant_keyword_totals`` equal to the sums over its documents that
keyword ranking used to compute at every search."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from pipeline_helpers import make_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_shared.db.engine import create_session_factory
from folio_worker_docs.chunks_store import delete_document_chunks, replace_document_chunks
from folio_worker_docs.text.chunking import TextChunk

pytestmark = [pytest.mark.integration]

#: (chunks, tokens, documents) summed over the documents, as search did
_SUMMED = """
SELECT coalesce(sum(chunk_count), 0), coalesce(sum(token_count), 0), count(*)
FROM documents WHERE tenant_id = :t AND chunk_count > 0
"""
#: the same from the kept rows
_KEPT = """
SELECT coalesce(sum(chunks), 0), coalesce(sum(tokens), 0), coalesce(sum(documents), 0)
FROM tenant_keyword_totals WHERE tenant_id = :t
"""


async def _totals(session: AsyncSession, tenant: uuid.UUID) -> tuple[tuple[int, ...], ...]:
    summed = (await session.execute(sa.text(_SUMMED), {"t": tenant})).one()
    kept = (await session.execute(sa.text(_KEPT), {"t": tenant})).one()
    return tuple(int(v) for v in summed), tuple(int(v) for v in kept)


async def _store(
    session: AsyncSession, tenant: uuid.UUID, document: uuid.UUID, tokens: list[int]
) -> None:
    chunks = [TextChunk(i, f"parte {i}", 1, 1, i * 10, i * 10 + 7, n) for i, n in enumerate(tokens)]
    await replace_document_chunks(
        session,
        tenant_id=tenant,
        document_id=document,
        chunks=chunks,
        vectors=[[0.1] * 384 for _ in chunks],
        model_version="m@test",
        pipeline_version="test",
        language="pt",
    )


async def test_totals_follow_every_change_of_the_documents(session: AsyncSession) -> None:
    tenant, other = await make_tenant(session), await make_tenant(session)
    # a tenant without chunks: zeros, no row needed
    assert await _totals(session, tenant) == ((0, 0, 0), (0, 0, 0))
    first = await make_document(session, tenant, "a.txt")
    second = await make_document(session, tenant, "b.txt")
    third = await make_document(session, other, "c.txt")
    assert await _totals(session, tenant) == ((0, 0, 0), (0, 0, 0))

    # stored, then one re-processed into fewer, longer chunks
    await _store(session, tenant, first, [5, 7, 9])
    await _store(session, tenant, second, [4])
    await _store(session, other, third, [100, 200])
    assert await _totals(session, tenant) == ((4, 25, 2), (4, 25, 2))
    await _store(session, tenant, first, [30, 1])
    assert await _totals(session, tenant) == ((3, 35, 2), (3, 35, 2))

    # a re-embedding switch moves vectors, not counts
    await session.execute(
        sa.text("UPDATE chunks SET model_version = 'm@other' WHERE document_id = :d"),
        {"d": second},
    )
    # a status change alone (the API's deletion marks the row first) changes nothing
    await session.execute(
        sa.text("UPDATE documents SET status = 'deleted' WHERE id = :d"), {"d": second}
    )
    assert await _totals(session, tenant) == ((3, 35, 2), (3, 35, 2))

    # chunks deleted, then a document deleted with its chunks
    await delete_document_chunks(session, tenant_id=tenant, document_id=first)
    assert await _totals(session, tenant) == ((1, 4, 1), (1, 4, 1))
    await session.execute(sa.text("DELETE FROM documents WHERE id = :d"), {"d": second})
    assert await _totals(session, tenant) == ((0, 0, 0), (0, 0, 0))

    # the other tenant's totals were never touched
    assert await _totals(session, other) == ((2, 300, 1), (2, 300, 1))


async def test_parallel_writers_and_a_deleted_tenant(engine: AsyncEngine) -> None:
    factory = create_session_factory(engine)
    async with factory() as session:
        tenant = await make_tenant(session)
        documents = [await make_document(session, tenant, f"{i}.txt") for i in range(6)]
        await session.commit()
    # Given writers on separate connections (their deltas in their own slots)
    async with factory() as a, factory() as b:
        for i, document in enumerate(documents):
            await _store(a if i % 2 else b, tenant, document, [i + 1, 2])
        await a.commit()
        await b.commit()
    async with factory() as session:
        summed, kept = await _totals(session, tenant)
        assert summed == kept == (12, 33, 6)
        # When the tenant is deleted, its documents and totals go with it
        await session.execute(sa.text("DELETE FROM tenants WHERE id = :t"), {"t": tenant})
        await session.commit()
        rows = await session.scalar(
            sa.text("SELECT count(*) FROM tenant_keyword_totals WHERE tenant_id = :t"),
            {"t": tenant},
        )
        assert rows == 0
