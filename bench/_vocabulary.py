"""The tenant's vocabulary in the relevance benchmark: built by
worker-docs' collection (:func:`folio_worker_docs.vocabulary.collect`) and
read by the API's own function (:func:`folio_api.domain.search.vocabulary.added_words`)
through ``tests/relevance/runner.py``'s ``vocabulary_expansions``, which the
relevance test uses too, the query's vectors by each model given as the API's
worker would give them."""

from __future__ import annotations

import uuid

from runner import vocabulary_expansions
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_worker_docs.embeddings.select import Models
from folio_worker_docs.vocabulary import collect


async def build(
    factory: async_sessionmaker[AsyncSession], models: Models, tenant_id: uuid.UUID
) -> str:
    """Collect every word of the tenant's documents; a line saying what it took."""
    done = await collect(factory, models, tenant_id=tenant_id, max_words=10**9)
    return (
        f"vocabulary: {done.documents} documents, {done.words} words embedded "
        f"in {done.seconds:.1f} s"
    )


#: The words the API adds to each query's keyword search, and the milliseconds
#: each took apart from embedding the query.
expansions = vocabulary_expansions
