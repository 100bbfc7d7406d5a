"""The planner really uses the HNSW index for similarity search and the GIN
index for full-text search, with realistic statistics (no planner switches
turned off)."""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_api.domain.search.repository import SearchMode, search
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import EMBEDDING_DIMENSIONS, Chunk, Document, Tenant

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHUNKS = 3000
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda"]


def _unit_vector(rng: random.Random) -> list[float]:
    v = [rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


@pytest.fixture(scope="module")
async def corpus(engine: AsyncEngine) -> dict[str, object]:
    """CHUNKS chunks with random unit embeddings and common words; chunk 1234
    alone holds the word "paralelepípedo"."""
    rng = random.Random(20240611)
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        tenant = Tenant(name=f"search-{uuid.uuid4().hex[:6]}")
        session.add(tenant)
        await session.flush()
        doc = Document(
            tenant_id=tenant.id,
            filename="corpus.txt",
            storage_key=f"t/{uuid.uuid4()}",
            status="ready",
        )
        session.add(doc)
        await session.flush()
        vectors = [_unit_vector(rng) for _ in range(CHUNKS)]
        rows = []
        for i, vec in enumerate(vectors):
            words = " ".join(rng.choice(WORDS) for _ in range(30))
            if i == 1234:
                words += " paralelepípedo"
            rows.append(
                {
                    "tenant_id": tenant.id,
                    "document_id": doc.id,
                    "chunk_index": i,
                    "page_start": 1,
                    "page_end": 1,
                    "char_start": 0,
                    "char_end": len(words),
                    "text": words,
                    "token_count": 30,
                    "embedding": vec,
                    "pipeline_version": "test",
                }
            )
        await session.execute(sa.insert(Chunk), rows)
    async with engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE chunks"))
        await conn.commit()
    return {"vectors": vectors, "document_id": doc.id}


def _plan(rows: sa.Result[Any]) -> str:
    return "\n".join(str(line) for line in rows.scalars())


async def test_similarity_query_uses_the_hnsw_index(
    engine: AsyncEngine, corpus: dict[str, object]
) -> None:
    vectors = corpus["vectors"]
    assert isinstance(vectors, list)
    probe = "[" + ",".join(str(x) for x in vectors[42]) + "]"
    query = "SELECT id, chunk_index FROM chunks ORDER BY embedding <=> CAST(:q AS vector) LIMIT 10"
    async with engine.connect() as conn:
        plan = _plan(await conn.execute(sa.text("EXPLAIN " + query), {"q": probe}))
        hits = (await conn.execute(sa.text(query), {"q": probe})).all()
    assert "ix_chunks_embedding_hnsw" in plan, plan
    # The probe is chunk 42's own vector: it is its own nearest neighbour.
    assert hits[0].chunk_index == 42
    assert len(hits) == 10


async def test_full_text_query_uses_the_gin_index(
    engine: AsyncEngine, corpus: dict[str, object]
) -> None:
    query = "SELECT chunk_index FROM chunks WHERE tsv @@ websearch_to_tsquery('simple', :q)"
    async with engine.connect() as conn:
        plan = _plan(await conn.execute(sa.text("EXPLAIN " + query), {"q": "Paralelepipedo"}))
        hits = (await conn.execute(sa.text(query), {"q": "Paralelepipedo"})).scalars().all()
    assert "ix_chunks_tsv" in plan, plan
    # language unknown: 'simple' configuration (case-folded, no stemming),
    # accents folded, so "Paralelepípedo" is found without its accent.
    assert hits == [1234]


class _Capture:
    """The session search is given: runs what it asks, keeps the last statement."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.last: tuple[Any, Any] = (None, None)

    async def execute(self, stmt: Any, params: Any = None) -> Any:
        self.last = (stmt, params)
        return await self.session.execute(stmt, params)


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [n for child in node.get("Plans", []) for n in _nodes(child)]


async def test_each_query_word_is_counted_in_a_plan_made_with_its_value(
    engine: AsyncEngine, corpus: dict[str, object]
) -> None:
    """Keyword ranking counts each query word's chunks no further than
    ``keyword_max_matches + 1``. Each count is planned with its word as a
    value, so PostgreSQL can read chunks until that many hold a word nearly
    every chunk holds ("alpha") instead of first listing every chunk that
    holds it through the GIN index; a count planned once for any word
    could not choose."""
    factory = create_session_factory(engine)
    async with factory() as session:
        tenant = await session.scalar(
            sa.select(Document.tenant_id).where(Document.id == corpus["document_id"])
        )
        capture = _Capture(session)
        hits = await search(
            capture,  # type: ignore[arg-type]
            tenant_id=tenant,
            query_vector=None,
            query_text="alpha paralelepípedo",
            mode=SearchMode.KEYWORD,
        )
        stmt, params = capture.last
        explain = sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + stmt.text)
        plan = (await session.scalar(explain.bindparams(*stmt._bindparams.values()), params))[0]
        await session.rollback()
    assert hits[0].chunk_index == 1234
    conditions = [
        str(node.get("Index Cond", "")) + str(node.get("Filter", ""))
        for node in _nodes(plan["Plan"])
    ]
    for word in ("alpha", "paralelepipedo"):
        assert any(f"tsv @@ '''{word}'''::tsquery" in c for c in conditions), conditions
