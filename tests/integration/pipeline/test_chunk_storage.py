"""A chunk's vector is kept in its row: computing the distance to each of
a tenant's chunks reads the table's pages, not a TOAST lookup per chunk
(migration 0014; before it, a chunk row over 2 kB had its vector moved
out of line, and the exact search read ~6 buffers per chunk)."""

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


async def test_an_exact_scan_reads_no_toast_for_the_vectors(engine: AsyncEngine) -> None:
    rng = random.Random(14)
    words = [f"word{i}" for i in range(5000)]
    sessions = create_session_factory(engine)
    # Given chunks whose rows are over the 2 kB toast threshold
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
                "text": " ".join(rng.choice(words) for _ in range(200)),
                "token_count": 200,
                "embedding": [rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)],
                "pipeline_version": "test",
            }
            for i in range(CHUNKS)
        ]
        await session.execute(sa.insert(Chunk), rows)
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
    top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    buffers = top["Shared Hit Blocks"] + top["Shared Read Blocks"]
    # Then it reads less than a buffer per chunk (its rows share pages);
    # a vector out of line costs a TOAST index lookup and a page per chunk
    assert buffers < CHUNKS, buffers
