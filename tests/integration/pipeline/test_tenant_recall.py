"""A tenant's semantic results do not depend on its neighbours: a tenant
holding under 1 % of the chunks gets its own nearest chunks, the same as
when it was alone, although every other tenant's chunk is nearer the query
(the HNSW index alone, which filters the tenant after its scan, finds
none of them)."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from pipeline_helpers import make_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_api.domain.search.repository import SearchGroup, SearchMode, SearchOptions, search
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import EMBEDDING_DIMENSIONS, Chunk

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMALL = 20
CROWD = 3000


def _unit(values: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in values))
    return [x / norm for x in values]


def _near(rng: random.Random, centre: Sequence[float], noise: float) -> list[float]:
    return _unit([c + rng.gauss(0.0, noise) for c in centre])


async def _add_chunks(
    session: AsyncSession, tenant_id: uuid.UUID, vectors: Sequence[Sequence[float]]
) -> list[uuid.UUID]:
    document_id = await make_document(session, tenant_id, "chunks.txt")
    ids = [uuid.uuid4() for _ in vectors]
    rows = [
        {
            "id": chunk_id,
            "tenant_id": tenant_id,
            "document_id": document_id,
            "chunk_index": i,
            "page_start": 1,
            "page_end": 1,
            "char_start": 0,
            "char_end": 4,
            "text": "text",
            "token_count": 1,
            "embedding": vector,
            "pipeline_version": "test",
        }
        for i, (chunk_id, vector) in enumerate(zip(ids, vectors, strict=True))
    ]
    for offset in range(0, len(rows), 500):
        await session.execute(sa.insert(Chunk), rows[offset : offset + 500])
    return ids


async def _semantic(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: Sequence[float],
    options: SearchOptions | None = None,
) -> list[uuid.UUID]:
    hits = await search(
        session,
        tenant_id=tenant_id,
        query_vector=query,
        query_text="",
        k=10,
        mode=SearchMode.SEMANTIC,
        group=SearchGroup.CHUNK,
        options=options,
    )
    return [hit.chunk_id for hit in hits]


async def test_a_small_tenant_gets_its_nearest_chunks_among_a_crowd(engine: AsyncEngine) -> None:
    rng = random.Random(31)
    query = _unit([rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)])
    sessions = create_session_factory(engine)
    # Given a tenant of SMALL chunks, somewhat near the query ...
    small_vectors = [_near(rng, query, 0.08) for _ in range(SMALL)]
    async with sessions() as session, session.begin():
        small = await make_tenant(session)
        small_ids = await _add_chunks(session, small, small_vectors)
    by_distance = sorted(
        zip(small_ids, small_vectors, strict=True),
        key=lambda pair: -sum(a * b for a, b in zip(pair[1], query, strict=True)),
    )
    expected = [chunk_id for chunk_id, _ in by_distance[:10]]
    async with sessions() as session:
        alone = await _semantic(session, small, query)

    # ... and another tenant whose CROWD chunks are all nearer the query
    async with sessions() as session, session.begin():
        crowd = await make_tenant(session)
        await _add_chunks(session, crowd, [_near(rng, query, 0.02) for _ in range(CROWD)])
    async with engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE chunks"))
        await conn.commit()

    async with sessions() as session:
        among = await _semantic(session, small, query)
    async with sessions() as session:
        # the planner steered to the HNSW index, as it is with other statistics
        await session.execute(sa.text("SET LOCAL enable_sort = off"))
        among_steered = await _semantic(session, small, query)
        through_index = await _semantic(session, small, query, SearchOptions(exact_max_chunks=0))
        crowd_hits = await _semantic(session, crowd, query, SearchOptions(exact_max_chunks=100))

    # Then the small tenant (under 1 % of the chunks) gets its own nearest
    # chunks, in order, the same as when it was alone
    assert SMALL / (SMALL + CROWD) < 0.01
    assert alone == expected
    assert among == expected
    assert among_steered == expected
    # the index alone loses them: the case is real
    assert len(through_index) < 10
    # and a large tenant still searches through the index
    assert len(crowd_hits) == 10
