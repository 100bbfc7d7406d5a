"""What the tenant's vocabulary costs a keyword search (``mode=keyword``).

Indexes each relevance set (``tests/relevance/{en,pt}``) in a fresh tenant
(the worker's chunking; random chunk vectors: keyword search reads none),
collects the tenant's vocabulary with the real models
(:func:`folio_worker_docs.vocabulary.collect`, timed), then asks every
query in rounds alternating the two codes: keyword search as before (the
query's words alone) and as the API now runs it (the API's
:func:`~folio_api.domain.search.vocabulary.added_words` with the query's
vector, then the search with those words). Prints p50/p95 of each, the
words' own part, and the query's embedding by its model in this process
(the API waits for it from a worker, 2-4 ms more). Then times the nearest
words alone in a tenant of ``--words`` words (random vectors): the exact
search over a large vocabulary.

    .venv/bin/python bench/keyword_vocabulary_latency.py [--rounds 3] [--words 30000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from folio_api.domain.search.repository import SearchGroup, SearchMode, search
from folio_api.domain.search.vocabulary import added_words, nearest_words
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import EMBEDDING_DIMENSIONS, VocabularyWord
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL
from folio_worker_docs.embeddings.select import Models, deployment_models
from folio_worker_docs.vocabulary import collect

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from _servers import BenchServers, scratch_database
from keyword_vocabulary import _Chunking
from runner import LANGUAGES, index_documents, load_set, make_tenant


def _p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def _keyword(session: AsyncSession, tenant: uuid.UUID, text: str, added: list[str]) -> None:
    await search(
        session, tenant_id=tenant, query_vector=None, query_text=text, k=10,
        mode=SearchMode.KEYWORD, group=SearchGroup.DOCUMENT, expansions=added,
    )  # fmt: skip


async def _time_set(session: AsyncSession, models: Models, language: str, rounds: int) -> None:
    relevance_set = load_set(language)
    tenant = await make_tenant(session)
    await index_documents(session, _Chunking(models.default, models.by_language), tenant,
                          relevance_set.documents)  # fmt: skip
    await session.commit()
    factory = create_session_factory(session.bind)  # type: ignore[arg-type]
    done = await collect(factory, models, tenant_id=tenant, max_words=10**9)
    rate = done.words / max(done.seconds, 1e-9)
    print(
        f"\n{language}: {done.documents} documents, {done.words} words embedded and stored "
        f"in {done.seconds:.1f} s ({rate:.0f} words/s)"
    )
    model = models.of(language)
    texts = [q.text for q in relevance_set.queries]
    embed_ms, vectors = [], []
    for text in texts:
        started = time.perf_counter()
        vectors.append(model.encode_query(text))
        embed_ms.append((time.perf_counter() - started) * 1000)
    old, new, words = [], [], []
    for _ in range(rounds):
        for text, vector in zip(texts, vectors, strict=True):
            started = time.perf_counter()
            await _keyword(session, tenant, text, [])
            old.append((time.perf_counter() - started) * 1000)

            async def embed(
                names: Sequence[str | None], v: list[float] = vector
            ) -> list[list[float]]:
                return [v for _ in names]

            started = time.perf_counter()
            added = await added_words(session, tenant, text, BY_LANGUAGE, embed)
            middle = time.perf_counter()
            await _keyword(session, tenant, text, added)
            new.append((time.perf_counter() - started) * 1000)
            words.append((middle - started) * 1000)
    print(f"| {language} | p50 | p95 |\n|---|---:|---:|")
    for label, values in (
        ("keyword search as before", old),
        ("words added + keyword search with them", new),
        ("of which finding the words", words),
        (f"query embedding by {model.model_version} (this process)", embed_ms),
    ):
        print(f"| {label} | {_p(values, 0.5):.1f} ms | {_p(values, 0.95):.1f} ms |")
    p50 = statistics.median(new) / statistics.median(old)
    p95 = _p(new, 0.95) / _p(old, 0.95)
    print(f"ratio new/old: p50 {p50:.2f}x, p95 {p95:.2f}x ({len(old)} queries each, alternated)")


async def _time_large(session: AsyncSession, words: int) -> None:
    tenant = await make_tenant(session)
    rng = np.random.default_rng(3)
    version = f"{DEFAULT_MODEL}@bench"
    for start in range(0, words, 2_000):
        v = rng.standard_normal((min(2_000, words - start), EMBEDDING_DIMENSIONS))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        rows = [{"tenant_id": tenant, "model_version": version, "word": f"w{start + i}",
                 "embedding": list(map(float, row))} for i, row in enumerate(v)]  # fmt: skip
        await session.execute(insert(VocabularyWord).values(rows))
    await session.commit()
    await session.execute(sa.text("ANALYZE vocabulary_words"))
    times = []
    for _ in range(100):
        q = rng.standard_normal(EMBEDDING_DIMENSIONS)
        q /= np.linalg.norm(q)
        started = time.perf_counter()
        await nearest_words(session, tenant, DEFAULT_MODEL, "query", list(map(float, q)))
        times.append((time.perf_counter() - started) * 1000)
    print(f"\nnearest 8 of {words} words (exact): p50 {_p(times, 0.5):.1f} ms, "
          f"p95 {_p(times, 0.95):.1f} ms (100 queries)")  # fmt: skip


async def run(pg_url: str, args: argparse.Namespace) -> None:
    models = deployment_models(BY_LANGUAGE)
    for embedder in (models.default, *models.by_language.values()):
        embedder.use_onnx_for_queries()
    async with scratch_database(pg_url, "folio_bench_vocabulary_latency") as url:
        engine = create_async_engine(url)
        async with create_session_factory(engine)() as session:
            for language in args.language or LANGUAGES:
                await _time_set(session, models, language, args.rounds)
            await _time_large(session, args.words)
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", help="superuser URL of a PostgreSQL with pgvector")
    parser.add_argument("--language", choices=LANGUAGES, action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--words", type=int, default=30_000)
    args = parser.parse_args()
    if args.pg_url:
        asyncio.run(run(args.pg_url, args))
        return
    with BenchServers() as servers:
        asyncio.run(run(servers.postgres.url("postgres"), args))


if __name__ == "__main__":
    main()
