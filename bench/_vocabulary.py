"""The tenant's vocabulary in the relevance benchmark: built by
worker-docs' collection (:func:`folio_worker_docs.vocabulary.collect`) and
read by the API's own function (:func:`folio_api.domain.search.vocabulary.added_words`),
the query's vectors by each model given as the API's worker would give them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_api.domain.search.vocabulary import added_words
from folio_worker_docs.embeddings.select import Models
from folio_worker_docs.vocabulary import collect

QueryVector = Sequence[float] | Mapping[str, Sequence[float]]


async def build(
    factory: async_sessionmaker[AsyncSession], models: Models, tenant_id: uuid.UUID
) -> str:
    """Collect every word of the tenant's documents; a line saying what it took."""
    done = await collect(factory, models, tenant_id=tenant_id, max_words=10**9)
    return (
        f"vocabulary: {done.documents} documents, {done.words} words embedded "
        f"in {done.seconds:.1f} s"
    )


async def expansions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    texts: Sequence[str],
    vectors: Sequence[QueryVector],
    setting: str,
) -> tuple[list[list[str]], list[float]]:
    """The words the API adds to each query's keyword search, and the
    milliseconds each took apart from embedding the query."""
    out: list[list[str]] = []
    times: list[float] = []
    for text, vector in zip(texts, vectors, strict=True):

        async def embed(
            models: Sequence[str | None], vector: QueryVector = vector
        ) -> list[list[float]]:
            if isinstance(vector, Mapping):
                return [list(vector[m or ""]) for m in models]
            return [list(vector) for _ in models]

        started = time.perf_counter()
        out.append(await added_words(session, tenant_id, text, setting, embed))
        times.append((time.perf_counter() - started) * 1000)
    return out, times
