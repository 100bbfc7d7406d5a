"""What the statement before each ``by-language`` search costs: the one
that counts the tenant's chunks (exact search or not) and finds which
model to embed the query by.

Before: an ``EXISTS`` over the same at most ``exact_max_chunks + 1``
chunks the count reads (one model version sought). Now: the (language,
model version) pairs the tenant holds, by a skip scan of
``ix_chunks_tenant_language_model`` (``folio_api.domain.search.statements``).
Both are timed alternately in one run, each in its own transaction as a
search runs it, on a tenant of ``--chunks`` chunks (30 % Portuguese on
multilingual-e5-small, the rest on all-MiniLM-L6-v2) and one of
``--small-tenant-chunks``::

    .venv/bin/python bench/search_prepare.py [--chunks 100000] [--runs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from folio_api.domain.search.statements import HELD_AND_MODELS_SQL
from folio_shared.db.engine import async_database_url

sys.path.insert(0, str(Path(__file__).parent))
from _servers import BenchServers
from search_latency import fill_tenant

#: The statement before (main until 2026-12-06).
BEFORE_SQL = (
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM chunks WHERE tenant_id = :tenant_id "
    "LIMIT :limit) AS s), EXISTS (SELECT 1 FROM (SELECT model_version FROM chunks "
    "WHERE tenant_id = :tenant_id LIMIT :limit) AS m WHERE m.model_version LIKE :first) "
    "FROM (SELECT set_config('hnsw.ef_search', :ef, true), "
    "set_config('plan_cache_mode', :plans, true)) AS e"
)

LABEL_SQL = """
UPDATE chunks SET
  language = CASE WHEN abs(hashtext(id::text)) % 10 < 3 THEN 'pt' ELSE 'en' END,
  model_version = CASE WHEN abs(hashtext(id::text)) % 10 < 3
                       THEN 'multilingual-e5-small@bench' ELSE 'all-MiniLM-L6-v2@bench' END
WHERE tenant_id = :t
"""


async def run(url: str, chunks: int, small: int, runs: int) -> None:
    engine = create_async_engine(async_database_url(url))
    tenants = {"large": uuid.uuid4(), "small": uuid.uuid4()}
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP INDEX ix_chunks_embedding_hnsw"))  # not read here
        for name, count in (("large", chunks), ("small", small)):
            await fill_tenant(conn, tenants[name], count, 20)
            await conn.execute(sa.text(LABEL_SQL), {"t": tenants[name]})
    async with engine.connect() as conn:
        await conn.execute(sa.text("COMMIT"))
        await conn.execute(sa.text("VACUUM ANALYZE chunks"))
    print(f"filled {chunks} + {small} chunks in {time.perf_counter() - started:.1f}s")
    statements = {
        "before (EXISTS)": (BEFORE_SQL, {"first": "multilingual-e5-small@%"}),
        "now (pairs)": (HELD_AND_MODELS_SQL, {"words": ""}),  # no keywords: the pairs alone
    }
    times: dict[tuple[str, str], list[float]] = {}
    for i in range(runs + 10):
        for tenant_name, tenant in tenants.items():
            for name, (sql, extra) in statements.items():
                params = {
                    "tenant_id": tenant, "limit": 5_001, "ef": "100",
                    "plans": "force_custom_plan", **extra,
                }  # fmt: skip
                async with engine.begin() as conn:
                    t0 = time.perf_counter()
                    await conn.execute(sa.text(sql), params)
                    elapsed = (time.perf_counter() - t0) * 1000
                if i >= 10:  # warm-up
                    times.setdefault((tenant_name, name), []).append(elapsed)
    await engine.dispose()
    print(f"| tenant | statement | p50 ms | p95 ms |  ({runs} runs each, alternated)")
    print("|---|---|---:|---:|")
    for (tenant_name, name), values in times.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        print(f"| {tenant_name} | {name} | {p50:.2f} | {p95:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--small-tenant-chunks", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with BenchServers() as servers:
        asyncio.run(
            run(servers.postgres.url("folio_bench"), args.chunks, args.small_tenant_chunks,
                args.runs)
        )  # fmt: skip


if __name__ == "__main__":
    main()
