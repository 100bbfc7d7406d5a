"""The statement after a Portuguese query's vector, with the tenant's
keyword totals read from ``tenant_keyword_totals`` (migration 0024)
against summed from its documents at every search (as before), alternated
query by query in one process on the same data.

Fills a tenant of ``--chunks`` chunks and one of ``--small-tenant-chunks``
as ``bench/search_trees.py --language pt`` does, then, per question of the
relevance set (its e5 vector computed beforehand, outside the time), runs
what ``run_search`` runs in one snapshot under ``by-language``: the
prepare statement, the keyword list's part that needs no vector, and the
search statement (timed: "after the vector"), once with each way of
finding the totals, the order swapped every question. Also times the two
ways of finding the totals alone. Hit lists of both are compared::

    .venv/bin/python bench/search_totals.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import folio_api.domain.search.statements as statements
from folio_api.domain.search.fusion import language_weights, preferred
from folio_api.domain.search.keyword_sql import keyword_ctes
from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import begin_snapshot, prepare
from folio_api.domain.search.repository import SearchMode, SearchOptions, keyword_terms, search
from folio_shared.db.engine import create_session_factory
from folio_shared.db.tenancy import enter_app_role_sync, tenant_session
from folio_shared.embedding_models import BY_LANGUAGE, models_of
from folio_shared.language import detect_query_language
from folio_worker_docs.embeddings.select import load_embedder

sys.path.insert(0, str(Path(__file__).parent))
import _portuguese as portuguese
from _servers import BenchServers
from search_trees import fill

#: The totals as search summed them before migration 0024.
SUMMED = """stats AS (
    SELECT coalesce(sum(chunk_count), 0)::float8 AS chunks,
           greatest(sum(token_count)::float8 / greatest(sum(chunk_count), 1), 1) AS chunk_len,
           count(*)::float8 AS docs
    FROM documents WHERE tenant_id = :tenant_id AND chunk_count > 0
),"""
#: The same from the kept rows (what ``keyword_ctes`` writes now).
KEPT = """stats AS (
    SELECT coalesce(sum(chunks), 0)::float8 AS chunks,
           greatest(sum(tokens)::float8 / greatest(sum(chunks), 1), 1) AS chunk_len,
           coalesce(sum(documents), 0)::float8 AS docs
    FROM tenant_keyword_totals WHERE tenant_id = :tenant_id
),"""


def summed_ctes(*args: object, **kwargs: object) -> str:
    """``keyword_ctes`` with the totals summed from the documents."""
    sql = keyword_ctes(*args, **kwargs)  # type: ignore[arg-type]
    assert KEPT in sql, "keyword_ctes no longer reads tenant_keyword_totals as measured"
    return sql.replace(KEPT, SUMMED)


VARIANTS: dict[str, Callable[..., str]] = {"summed": summed_ctes, "kept": keyword_ctes}
OPTIONS = SearchOptions(language_weights=language_weights(BY_LANGUAGE))


async def one(
    session: AsyncSession, tenant: uuid.UUID, text: str, vector: list[float]
) -> tuple[float, float, list[str]]:
    """(ms of the statement after the vector, ms of all three, hit ids)."""
    started = time.perf_counter()
    await begin_snapshot(session)
    order = preferred(models_of(BY_LANGUAGE), detect_query_language(text))
    prepared = await prepare(session, tenant, OPTIONS, order, parse_keywords(text).words)
    terms = await keyword_terms(
        session, tenant_id=tenant, query_text=text, prepared=prepared, k=10, options=OPTIONS
    )
    after = time.perf_counter()
    hits = await search(
        session, tenant_id=tenant, query_vector=None,
        query_vectors={prepared.models[0]: vector}, query_text=text, k=10,
        mode=SearchMode.HYBRID, options=OPTIONS, prepared=prepared, keyword_terms=terms,
    )  # fmt: skip
    done = time.perf_counter()
    return (done - after) * 1000, (done - started) * 1000, [str(h.chunk_id) for h in hits]


async def totals_alone(session: AsyncSession, tenant: uuid.UUID, cte: str) -> float:
    sql = sa.text(f"WITH {cte.rstrip(',')} SELECT * FROM stats")  # noqa: S608 - fixed text
    started = time.perf_counter()
    await session.execute(sql, {"tenant_id": tenant})
    return (time.perf_counter() - started) * 1000


def quantiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100)
    return q[49], q[94]


async def measure(
    sessions: async_sessionmaker[AsyncSession],
    tenants: dict[str, uuid.UUID],
    texts: list[str],
    vectors: dict[str, list[float]],
) -> None:
    times: dict[tuple[str, str, str], list[float]] = {}
    loads, differing = [os.getloadavg()[0]], 0
    for i, text in enumerate(texts):
        for tenant_name, tenant in tenants.items():
            hits = {}
            for name in list(VARIANTS) if i % 2 else list(VARIANTS)[::-1]:
                setattr(statements, "keyword_ctes", VARIANTS[name])  # noqa: B010 - swapped per query
                async with tenant_session(sessions, tenant) as session:
                    after, total, hits[name] = await one(session, tenant, text, vectors[text])
                async with tenant_session(sessions, tenant) as session:
                    cte = SUMMED if name == "summed" else KEPT
                    alone = await totals_alone(session, tenant, cte)
                for phase, ms in (("after the vector", after), ("all three", total),
                                  ("totals alone", alone)):  # fmt: skip
                    times.setdefault((tenant_name, phase, name), []).append(ms)
            differing += hits["summed"] != hits["kept"]
        if i % 30 == 29:
            loads.append(os.getloadavg()[0])
    setattr(statements, "keyword_ctes", keyword_ctes)  # noqa: B010
    print(f"\n{len(texts)} questions x {len(tenants)} tenants; differing hit lists {differing}")
    print("| tenant | statement | summed p50 / p95 ms | kept p50 / p95 ms | kept / summed |")
    print("|---|---|---:|---:|---:|")
    for tenant_name in tenants:
        for phase in ("after the vector", "all three", "totals alone"):
            (s50, s95), (k50, k95) = (
                quantiles(times[(tenant_name, phase, name)]) for name in ("summed", "kept")
            )
            print(f"| {tenant_name} | {phase} | {s50:.1f} / {s95:.1f} | {k50:.1f} / {k95:.1f} "
                  f"| {k50 / s50:.2f} / {k95 / s95:.2f} |")  # fmt: skip
    print("load (1 min):", ", ".join(f"{x:.1f}" for x in loads))


async def run(
    url: str, texts: list[str], vectors: dict[str, list[float]], tenants: dict[str, uuid.UUID]
) -> None:
    engine = create_async_engine(url)
    event.listen(engine.sync_engine.pool, "connect", enter_app_role_sync)
    sessions = create_session_factory(engine)
    try:
        for text in texts[:10]:  # warm-up: connections, caches
            for tenant in tenants.values():
                async with tenant_session(sessions, tenant) as session:
                    await one(session, tenant, text, vectors[text])
        await measure(sessions, tenants, texts, vectors)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--small-tenant-chunks", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2, help="times through the questions")
    args = parser.parse_args()
    texts = portuguese.queries(60)
    embedder = load_embedder(portuguese.E5)
    vectors = {text: [float(x) for x in embedder.encode_query(text)] for text in texts}
    with BenchServers() as servers:
        url = servers.database_url.replace("postgresql://", "postgresql+asyncpg://")
        large, small = asyncio.run(fill(url, "pt", args.chunks, args.small_tenant_chunks))
        print("load (1 min) after the fill:", f"{os.getloadavg()[0]:.1f}")
        asyncio.run(run(url, texts * args.rounds, vectors, {"large": large, "small": small}))


if __name__ == "__main__":
    main()
