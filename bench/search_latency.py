"""Search latency over 100,000 chunks, query embedding included.

Creates a scratch database on the given PostgreSQL server (superuser URL),
migrates it, fills one tenant with ``--chunks`` chunks generated inside
PostgreSQL (texts of 60 words from a 20,000-word vocabulary with a
Zipf-like frequency curve, random 384-dimension vectors;
random vectors are the hard case for HNSW: no cluster structure to
exploit), builds the HNSW index, then times ``--queries`` hybrid searches,
each embedding its query with the real model first. Reports p50/p95/p99
(target p95 <= 50 ms) and drops the database.

    .venv/bin/python bench/search_latency.py --pg-url postgresql://postgres@127.0.0.1:PORT/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url, create_session_factory
from folio_shared.embeddings import get_embedder
from folio_shared.search import SearchMode, search

#: Distinct words of the generated texts; word ``wN`` is drawn with a
#: probability falling with N (log-uniform), like word frequencies in real text.
VOCABULARY = 20_000

FILL_SQL = """
INSERT INTO chunks (tenant_id, document_id, chunk_index, page_start, page_end,
                    char_start, char_end, text, token_count, embedding, model_version,
                    pipeline_version)
SELECT :tenant_id, d.id, g.i, 1, 1, 0, 400,
       (SELECT string_agg('w' || floor(exp(random() * ln(:vocabulary)))::int, ' ')
          FROM generate_series(1, 60) AS s(n) WHERE g.i >= 0),
       60,
       (SELECT CAST(array_agg(random() - 0.5) AS vector(384))
          FROM generate_series(1, 384) AS s(n) WHERE g.i >= 0),
       'bench', 'bench'
FROM generate_series(0, :per_document - 1) AS g(i)
CROSS JOIN (SELECT id FROM documents WHERE tenant_id = :tenant_id) d
"""


async def run(pg_url: str, chunks: int, queries: int, per_document: int) -> None:
    admin = create_async_engine(async_database_url(pg_url), isolation_level="AUTOCOMMIT")
    name = f"folio_bench_search_{uuid.uuid4().hex[:8]}"
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(async_database_url(pg_url)).set(database=name).render_as_string(False)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        engine = create_async_engine(url)
        tenant_id = uuid.uuid4()
        documents = chunks // per_document
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("INSERT INTO tenants (id, name) VALUES (:t, 'bench')"), {"t": tenant_id}
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO documents (tenant_id, filename, kind, storage_key, status) "
                    "SELECT :t, 'doc-' || i || '.txt', 'text', 'bench/' || i, 'ready' "
                    "FROM generate_series(1, :n) AS i"
                ),
                {"t": tenant_id, "n": documents},
            )
            await conn.execute(sa.text("DROP INDEX ix_chunks_embedding_hnsw"))
            await conn.execute(
                sa.text(FILL_SQL),
                {"tenant_id": tenant_id, "vocabulary": VOCABULARY, "per_document": per_document},
            )
        print(f"filled {documents * per_document} chunks in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(sa.text("SET maintenance_work_mem = '512MB'"))
            await conn.execute(
                sa.text(
                    "CREATE INDEX ix_chunks_embedding_hnsw ON chunks "
                    "USING hnsw (embedding vector_cosine_ops)"
                )
            )
            await conn.execute(sa.text("ANALYZE chunks"))
        print(f"built the HNSW index in {time.perf_counter() - started:.1f}s")

        embedder = get_embedder()
        rng = random.Random(3)
        texts = [
            " ".join(f"w{int(math.exp(rng.uniform(2, math.log(VOCABULARY))))}" for _ in range(2))
            for _ in range(queries)
        ]
        factory = create_session_factory(engine)
        latencies: dict[str, list[float]] = {"embed": [], "search": [], "total": []}
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
            if i >= 10:  # the first queries warm caches and connections
                latencies["embed"].append((t1 - t0) * 1000)
                latencies["search"].append((t2 - t1) * 1000)
                latencies["total"].append((t2 - t0) * 1000)
        for part, values in latencies.items():
            q = statistics.quantiles(values, n=100)
            print(
                f"{part:>6}: p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms "
                f"({len(values)} queries)"
            )
        await engine.dispose()
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", required=True, help="superuser URL of the server")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=210)
    parser.add_argument("--chunks-per-document", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.pg_url, args.chunks, args.queries, args.chunks_per_document))


if __name__ == "__main__":
    main()
