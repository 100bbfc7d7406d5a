"""Hybrid search's candidates on Folio's relevance sets, for
``bench/search_rerank.py``: each set indexed as ``bench/search_relevance.py``
does (real chunking, the ``by-language`` models, the chunk store, a private
PostgreSQL), each query asked of the real hybrid search (documents, its
``depth`` best), and every chunk's text, so that rerankers can be scored
outside the database. Kept in a pickle between runs (``--cache``).
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from folio_api.domain.search.fusion import language_weights
from folio_api.domain.search.repository import SearchGroup, SearchMode, SearchOptions, search
from folio_shared.db.engine import create_session_factory
from folio_shared.embedding_models import BY_LANGUAGE
from folio_worker_docs.embeddings.select import Models
from folio_worker_docs.text.chunking import model_text

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from runner import Query, index_documents, load_set, make_tenant, query_vectors


@dataclass(frozen=True, slots=True)
class Candidate:
    filename: str
    score: float  # hybrid's document score
    chunk_index: int  # its best chunk


@dataclass(frozen=True, slots=True)
class SetCandidates:
    language: str
    queries: list[Query]
    lists: list[list[Candidate]]  # per query, hybrid's order
    chunks: dict[str, list[str]]  # filename -> its chunks' embedded text, in order


async def collect(url: str, models: Models, language: str, depth: int) -> SetCandidates:
    """Index ``language``'s set in a new tenant of ``url`` and ask hybrid
    search (``by-language`` weights) for each query's ``depth`` documents."""
    relevance_set = load_set(language)
    engine = create_async_engine(url)
    options = SearchOptions(language_weights=language_weights(BY_LANGUAGE))
    lists: list[list[Candidate]] = []
    async with create_session_factory(engine)() as session:
        tenant_id = await make_tenant(session)
        await index_documents(session, models, tenant_id, relevance_set.documents)
        await session.commit()
        rows = (
            await session.execute(
                sa.text(
                    "SELECT d.filename, c.text FROM chunks c JOIN documents d "
                    "ON d.id = c.document_id WHERE c.tenant_id = :t "
                    "ORDER BY d.filename, c.chunk_index"
                ),
                {"t": tenant_id},
            )
        ).all()
        vectors = query_vectors(models, [q.text for q in relevance_set.queries])
        for query, vector in zip(relevance_set.queries, vectors, strict=True):
            hits = await search(
                session,
                tenant_id=tenant_id,
                query_vector=None if isinstance(vector, Mapping) else vector,
                query_vectors=vector if isinstance(vector, Mapping) else None,
                query_text=query.text,
                k=depth,
                mode=SearchMode.HYBRID,
                group=SearchGroup.DOCUMENT,
                options=options,
            )
            lists.append([Candidate(h.filename, h.document_score, h.chunk_index) for h in hits])
    await engine.dispose()
    chunks: dict[str, list[str]] = {}
    for filename, text in rows:
        chunks.setdefault(str(filename), []).append(model_text(str(text)))
    return SetCandidates(language, relevance_set.queries, lists, chunks)


def load_cache(path: Path) -> dict[str, SetCandidates]:
    with path.open("rb") as f:
        data: dict[str, SetCandidates] = pickle.load(f)  # noqa: S301 (a file this script wrote)
    return data


def save_cache(path: Path, data: Mapping[str, SetCandidates]) -> None:
    with path.open("wb") as f:
        pickle.dump(dict(data), f)
