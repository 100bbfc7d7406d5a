"""A chunk's vector and ``tsv`` are kept in its row: computing the distance
to each of a tenant's chunks, or reading the terms of each chunk keyword
search matches, reads the table's pages, not a TOAST lookup per chunk
(migrations 0014 and 0016; before them, a chunk row over 2 kB had its
vector, then its ``tsv``, moved out of line, and each chunk read cost a
TOAST index lookup and a page or two more)."""

from __future__ import annotations

import json
import random
import uuid

import pytest
import sqlalchemy as sa
from pipeline_helpers import make_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import EMBEDDING_DIMENSIONS, Chunk

pytestmark = [pytest.mark.integration]

CHUNKS = 200


async def _long_chunks(engine: AsyncEngine, rng: random.Random) -> uuid.UUID:
    """A tenant of ``CHUNKS`` chunks whose rows are over the 2 kB toast
    threshold, each holding ``common``."""
    words = [f"word{i}" for i in range(5000)]
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        tenant = await make_tenant(session)
        document = await make_document(session, tenant, "long.txt")
        rows = [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant,
                "document_id": document,
                "chunk_index": i,
                "page_start": 1,
                "page_end": 1,
                "char_start": 0,
                "char_end": 1,
                "text": "common " + " ".join(rng.choice(words) for _ in range(200)),
                "token_count": 200,
                "embedding": [rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)],
                "pipeline_version": "test",
            }
            for i in range(CHUNKS)
        ]
        await session.execute(sa.insert(Chunk), rows)
    return tenant


def _buffers(plan: object) -> int:
    top = (plan if isinstance(plan, list) else json.loads(str(plan)))[0]["Plan"]
    return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])


async def test_an_exact_scan_reads_no_toast_for_the_vectors(engine: AsyncEngine) -> None:
    rng = random.Random(14)
    # Given chunks whose rows are over the 2 kB toast threshold
    tenant = await _long_chunks(engine, rng)
    query = "[" + ",".join(str(rng.gauss(0.0, 1.0)) for _ in range(EMBEDDING_DIMENSIONS)) + "]"
    async with engine.connect() as conn:
        # When every one of the tenant's chunks is compared with a query
        plan = await conn.scalar(
            sa.text(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
                "SELECT id, 1 - (embedding <=> CAST(:q AS vector)) AS value FROM chunks "
                "WHERE tenant_id = :t ORDER BY value DESC LIMIT 10"
            ),
            {"q": query, "t": tenant},
        )
    buffers = _buffers(plan)
    # Then it reads less than a buffer per chunk (its rows share pages);
    # a vector out of line costs a TOAST index lookup and a page per chunk
    assert buffers < CHUNKS, buffers


async def test_keyword_matches_read_no_toast_for_their_terms(engine: AsyncEngine) -> None:
    # Given chunks whose rows are over the 2 kB toast threshold, all matching
    tenant = await _long_chunks(engine, random.Random(16))
    async with engine.connect() as conn:
        # When each matching chunk's terms are read (as BM25 does)
        plan = await conn.scalar(
            sa.text(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
                "SELECT sum(length(ts_filter(setweight(tsv, 'A', '{common}'), '{a}'))) "
                "FROM chunks WHERE tenant_id = :t AND tsv @@ 'common'::tsquery"
            ),
            {"t": tenant},
        )
    buffers = _buffers(plan)
    # Then it reads less than a buffer per chunk; a tsv out of line costs a
    # TOAST index lookup and a page or two per chunk
    assert buffers < CHUNKS, buffers
