"""Stored document centroids (migration 0018): every way a document's
chunks change leaves ``document_centroids`` equal to the mean of its chunk
vectors per model, and e5 search scores documents exactly as the centroid
averaged from the chunks at query time did."""

from __future__ import annotations

import random
import uuid

import pytest
import sqlalchemy as sa
from pipeline_helpers import make_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.repository import SearchGroup, SearchMode, SearchOptions, search
from folio_api.domain.search.semantic import CENTROID_WEIGHTS
from folio_shared.db.models import EMBEDDING_DIMENSIONS
from folio_shared.embedding_models import DEFAULT_MODEL, LANGUAGE_MODELS
from folio_worker_docs.chunks_store import delete_document_chunks, replace_document_chunks
from folio_worker_docs.text.chunking import TextChunk

pytestmark = [pytest.mark.integration]

E5 = LANGUAGE_MODELS["pt"]

#: Per document and model name: the chunks' mean, as search averaged it
#: before centroids were stored, and what the table holds; a row of
#: either side alone is a mismatch.
_MISMATCHES = """
WITH expected AS (
    SELECT document_id, split_part(model_version, '@', 1) AS model, avg(embedding) AS centroid,
           count(*) AS chunks
    FROM chunks WHERE tenant_id = :t AND embedding IS NOT NULL
    GROUP BY 1, 2
)
SELECT e.document_id, g.document_id FROM expected e
FULL JOIN (SELECT * FROM document_centroids WHERE tenant_id = :t) g
  ON g.document_id = e.document_id AND g.model = e.model
WHERE g.document_id IS NULL OR e.document_id IS NULL
   OR g.centroid <> e.centroid OR g.chunk_count <> e.chunks
"""


def _unit(rng: random.Random) -> list[float]:
    vector = [rng.gauss(0, 1) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


async def _store(
    session: AsyncSession,
    tenant: uuid.UUID,
    document: uuid.UUID,
    rng: random.Random,
    count: int,
    model: str = E5,
) -> None:
    chunks = [TextChunk(i, f"parte {i}", 1, 1, i * 10, i * 10 + 7, 3) for i in range(count)]
    await replace_document_chunks(
        session,
        tenant_id=tenant,
        document_id=document,
        chunks=chunks,
        vectors=[_unit(rng) for _ in chunks],
        model_version=f"{model}@test",
        pipeline_version="test",
        language="pt" if model == E5 else "en",
    )


async def _mismatches(session: AsyncSession, tenant: uuid.UUID) -> list[object]:
    return list((await session.execute(sa.text(_MISMATCHES), {"t": tenant})).all())


async def _centroid_rows(session: AsyncSession, tenant: uuid.UUID) -> int:
    count = await session.scalar(
        sa.text("SELECT count(*) FROM document_centroids WHERE tenant_id = :t"), {"t": tenant}
    )
    return int(count or 0)


async def test_centroids_follow_every_change_of_the_chunks(session: AsyncSession) -> None:
    rng = random.Random(27)
    tenant = await make_tenant(session)
    first = await make_document(session, tenant, "a.txt")
    second = await make_document(session, tenant, "b.txt")

    # stored, then replaced by another set (a reprocessed document)
    await _store(session, tenant, first, rng, 7)
    await _store(session, tenant, second, rng, 3, DEFAULT_MODEL)
    assert await _centroid_rows(session, tenant) == 2
    assert await _mismatches(session, tenant) == []
    await _store(session, tenant, first, rng, 4)
    assert await _mismatches(session, tenant) == []

    # a re-embedding switch moves new vectors and model into the chunks
    await session.execute(
        sa.text(
            "UPDATE chunks SET embedding = CAST(:v AS vector), model_version = :m "
            "WHERE document_id = :d"
        ),
        {"v": str(_unit(rng)), "m": f"{E5}@other", "d": second},
    )
    assert await _mismatches(session, tenant) == []
    models = await session.scalars(
        sa.text("SELECT model FROM document_centroids WHERE document_id = :d"), {"d": second}
    )
    assert list(models) == [E5]

    # a chunk of another model among the document's: one centroid per model
    await session.execute(
        sa.text("UPDATE chunks SET model_version = :m WHERE document_id = :d AND chunk_index = 0"),
        {"m": f"{DEFAULT_MODEL}@test", "d": first},
    )
    assert await _centroid_rows(session, tenant) == 3
    assert await _mismatches(session, tenant) == []

    # deleted chunks, then a deleted document: no centroid left behind
    await delete_document_chunks(session, tenant_id=tenant, document_id=first)
    assert await _centroid_rows(session, tenant) == 1
    await session.execute(sa.text("DELETE FROM documents WHERE id = :d"), {"d": second})
    assert await _centroid_rows(session, tenant) == 0


#: e5 documents' semantic scores as search computed them before centroids
#: were stored: best chunk plus β times the cosine with the chunks' mean.
_QUERY_TIME = """
SELECT d.filename,
       (max(1 - (c.embedding <=> CAST(:q AS vector)))
        + :beta * (1 - (avg(c.embedding) <=> CAST(:q AS vector)))) / (1 + :beta) AS score
FROM chunks c JOIN documents d ON d.id = c.document_id
WHERE c.tenant_id = :t GROUP BY d.filename ORDER BY score DESC, d.filename
"""


async def test_e5_ranking_is_the_query_time_centroids(session: AsyncSession) -> None:
    # Given 30 e5 documents of 1 to 12 chunks (the tenant is searched exactly,
    # so each document's best chunk is in the semantic list)
    rng = random.Random(28)
    tenant = await make_tenant(session)
    for i in range(30):
        document = await make_document(session, tenant, f"doc-{i:02d}.txt")
        await _store(session, tenant, document, rng, rng.randint(1, 12))
    query = _unit(rng)
    options = SearchOptions(candidates=400)

    # When e5's query ranks them by document
    hits = await search(
        session,
        tenant_id=tenant,
        query_vector=None,
        query_vectors={E5: query},
        query_text="documento",
        k=30,
        mode=SearchMode.SEMANTIC,
        group=SearchGroup.DOCUMENT,
        options=options,
    )

    # Then the order and the scores are those of the centroid averaged at query time
    rows = await session.execute(
        sa.text(_QUERY_TIME), {"q": str(query), "beta": CENTROID_WEIGHTS[E5], "t": tenant}
    )
    expected = [(name, score) for name, score in rows]
    assert [h.filename for h in hits] == [name for name, _ in expected]
    for hit, (_, score) in zip(hits, expected, strict=True):
        assert hit.document_score == pytest.approx(score, abs=1e-9)
