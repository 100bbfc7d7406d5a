"""Re-embedding after a model change: every chunk of the tenant ends with
the new model's vectors, document by document, another tenant's chunks are
left alone, and search keeps answering, never empty, during the switch."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from pipeline_helpers import add_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_api.domain.search.repository import SearchMode, search
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Chunk
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import load_embedder
from folio_worker_docs.reembed import reembed, stale_documents
from folio_worker_docs.text.chunking import ChunkingOptions

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TEXTS = {
    "boiler.txt": "Descale the boiler every three months. The pressure gauge must read 1.5 bar.",
    "lease.txt": "O inquilino paga o aluguel até o quinto dia útil de cada mês ao locador.",
    "bees.txt": "Honey bees dance to tell the hive where the flowers are and how far away.",
}


async def _index(
    session: AsyncSession, embedder: Embedder, tenant_id: uuid.UUID, texts: dict[str, str]
) -> None:
    for filename, text in texts.items():
        await add_document(
            session, embedder, tenant_id, filename, [text], options=ChunkingOptions(8, 2)
        )


async def test_reembedding_switches_a_tenant_while_search_answers(
    engine: AsyncEngine, embedder: Embedder
) -> None:
    sessions = create_session_factory(engine)
    new = load_embedder("multilingual-e5-small")
    assert new.model_version != embedder.model_version
    async with sessions() as session, session.begin():
        tenant = await make_tenant(session)
        other = await make_tenant(session)
        await _index(session, embedder, tenant, TEXTS)
        await _index(session, embedder, other, {"other.txt": TEXTS["bees.txt"]})

    # Given a deployment whose queries are embedded by the new model ...
    query = "how often should the boiler be descaled"
    vector = new.encode_query(query)
    answers: list[int] = []
    switching = True

    async def ask() -> None:
        while switching:
            async with sessions() as session:
                for mode in SearchMode:
                    hits = await search(
                        session, tenant_id=tenant, query_vector=vector, query_text=query, mode=mode
                    )
                    answers.append(len(hits))
            await asyncio.sleep(0)

    asker = asyncio.create_task(ask())
    async with sessions() as session:
        assert (
            await stale_documents(session, model_version=new.model_version, tenant_id=tenant) == 3
        )
    # ... when the tenant's chunks are re-embedded, under queries
    summary = await reembed(sessions, new, tenant_id=tenant, max_documents=2)
    assert (summary.documents, summary.remaining) == (2, 1)
    summary = await reembed(sessions, new, tenant_id=tenant)
    switching = False
    await asker

    # Then every search during the switch answered, none empty
    assert answers
    assert min(answers) > 0
    assert (summary.documents, summary.remaining) == (1, 0)
    async with sessions() as session:
        rows = (
            await session.execute(
                sa.select(Chunk.tenant_id, Chunk.text, Chunk.embedding, Chunk.model_version)
            )
        ).all()
        mine = [r for r in rows if r.tenant_id == tenant]
        assert mine
        assert {r.model_version for r in mine} == {new.model_version}
        expected = new.encode([r.text for r in mine])
        stored = np.asarray([np.asarray(r.embedding, dtype=np.float32) for r in mine])
        assert float((expected * stored).sum(axis=1).min()) > 0.9999
        # another tenant's chunks are not touched
        assert {r.model_version for r in rows if r.tenant_id == other} == {embedder.model_version}
        # and the new model finds the boiler document first
        hits = await search(
            session, tenant_id=tenant, query_vector=vector, query_text=query,
            mode=SearchMode.SEMANTIC,
        )  # fmt: skip
        assert hits[0].filename == "boiler.txt"
    # a second run has nothing left to do
    again = await reembed(sessions, new, tenant_id=tenant)
    assert (again.documents, again.chunks, again.remaining) == (0, 0, 0)
