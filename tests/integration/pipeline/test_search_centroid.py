"""A document's semantic score by model: multilingual-e5-small's documents
are scored by their best chunk and their centroid together, the other
models' by their best chunk alone (``folio_api.domain.search.semantic``)."""

from __future__ import annotations

import math
import uuid

import pytest
from pipeline_helpers import make_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.repository import SearchGroup, SearchMode, SearchOptions, search
from folio_shared.db.models import EMBEDDING_DIMENSIONS
from folio_shared.embedding_models import DEFAULT_MODEL, LANGUAGE_MODELS
from folio_worker_docs.chunks_store import replace_document_chunks
from folio_worker_docs.text.chunking import TextChunk

pytestmark = [pytest.mark.integration]

E5 = LANGUAGE_MODELS["pt"]

#: document -> each chunk's cosine with the query. "whole" is near the
#: query in every chunk; "aside" has one chunk a little nearer and the
#: rest about something else.
DOCUMENTS = {"whole": (0.80, 0.70, 0.70), "aside": (0.82, 0.0, 0.0)}


#: The query's vector: the first axis.
QUERY = [1.0] + [0.0] * (EMBEDDING_DIMENSIONS - 1)


def _vector(cosine: float, axis: int) -> list[float]:
    """A unit vector at ``cosine`` with :data:`QUERY`, the rest of it on
    ``axis`` (one of its own)."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    vector[0] = cosine
    vector[axis] = math.sqrt(1 - cosine * cosine)
    return vector


async def _add(
    session: AsyncSession, tenant: uuid.UUID, model: str, language: str, first_axis: int
) -> dict[uuid.UUID, str]:
    names = {}
    axis = first_axis
    for name, cosines in DOCUMENTS.items():
        document_id = await make_document(session, tenant, f"{name}-{language}.txt")
        chunks = [TextChunk(i, f"parte {i}", 1, 1, i * 10, i * 10 + 7, 3) for i in range(3)]
        vectors = []
        for cosine in cosines:
            vectors.append(_vector(cosine, axis))
            axis += 1
        await replace_document_chunks(
            session,
            tenant_id=tenant,
            document_id=document_id,
            chunks=chunks,
            vectors=vectors,
            model_version=f"{model}@test",
            pipeline_version="test",
            language=language,
        )
        names[document_id] = name
    return names


async def _ranking(
    session: AsyncSession, tenant: uuid.UUID, model: str, options: SearchOptions | None = None
) -> list[str]:
    hits = await search(
        session,
        tenant_id=tenant,
        query_vector=None,
        query_vectors={model: QUERY},
        query_text="documento",
        mode=SearchMode.SEMANTIC,
        group=SearchGroup.DOCUMENT,
        options=options,
    )
    assert all(0 < hit.document_score <= 1 for hit in hits)
    return [hit.filename.split("-")[0] for hit in hits]


async def test_e5_documents_are_scored_with_their_centroid_the_others_by_their_best_chunk(
    session: AsyncSession,
) -> None:
    # Given the same two documents embedded by each model
    tenant = await make_tenant(session)
    await _add(session, tenant, E5, "pt", 1)
    await _add(session, tenant, DEFAULT_MODEL, "en", 100)

    # When each model's query ranks them, then e5's ranks the document
    # near the query as a whole first ((0.80 + 0.88) / 2 against
    # (0.82 + 0.47) / 2), all-MiniLM-L6-v2's the one with the nearest
    # chunk, as e5's does without the centroid
    assert await _ranking(session, tenant, E5) == ["whole", "aside"]
    assert await _ranking(session, tenant, DEFAULT_MODEL) == ["aside", "whole"]
    best_chunk_only = SearchOptions(centroid_weights={})
    assert await _ranking(session, tenant, E5, best_chunk_only) == ["aside", "whole"]
