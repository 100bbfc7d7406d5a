"""What row-level security through a parent row costs on the hot paths of
``pages`` and ``job_events`` (migration 0012).

Each path runs the same statement twice in the same run, on one private
PostgreSQL: as the tables' owner (no policy applies: the baseline) and as
Folio's services do (role ``folio_app``: a tenant's request in tenant
scope, a worker in system scope). Reports the median of ``--runs`` runs
and the ratio to the baseline.

- reading a document's pages (``GET /v1/documents/{id}/text``): tenant scope,
  the policy looks up the page's document (one primary-key probe per row);
- reading a job's events (the job timeline, SSE replay): tenant scope;
- writing a document's pages (worker-docs / worker-ocr): system scope, the
  policy's first test is true, the document is never looked up.

    .venv/bin/python bench/rls_overhead.py [--pages 2000] [--events 200] [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).parent))
from _servers import BenchServers

TENANT_SCOPE = (
    "SELECT set_config('folio.scope', 'tenant', false), set_config('folio.tenant_id', $1, false)"
)
SYSTEM_SCOPE = "SELECT set_config('folio.scope', 'system', false)"
READ_PAGES = "SELECT page_no, text FROM pages WHERE document_id = $1 ORDER BY page_no"
READ_EVENTS = "SELECT id, kind, status, data FROM job_events WHERE job_id = $1 ORDER BY id"


async def seed(conn: asyncpg.Connection, pages: int, events: int) -> tuple[str, str, str]:
    """A tenant with one document of ``pages`` pages and one job of ``events`` events."""
    tenant = await conn.fetchval(
        "INSERT INTO tenants (name) VALUES ($1) RETURNING id", f"t-{uuid.uuid4().hex[:8]}"
    )
    document = await conn.fetchval(
        "INSERT INTO documents (tenant_id, filename, storage_key, status)"
        " VALUES ($1, 'a.txt', $2, 'ready') RETURNING id",
        tenant,
        f"tenants/{tenant}/a",
    )
    await conn.execute(
        "INSERT INTO pages (document_id, page_no, text, method, pipeline_version)"
        " SELECT $1, n, repeat('word ', 300), 'text', 'b' FROM generate_series(1, $2) n",
        document,
        pages,
    )
    job = await conn.fetchval(
        "INSERT INTO jobs (tenant_id, document_id, actor_name, queue_name)"
        " VALUES ($1, $2, 'docs.process', 'documents') RETURNING id",
        tenant,
        document,
    )
    await conn.execute(
        "INSERT INTO job_events (job_id, kind, status) SELECT $1, 'state', 'running'"
        " FROM generate_series(1, $2)",
        job,
        events,
    )
    await conn.execute("ANALYZE")
    return str(tenant), str(document), str(job)


async def median_ms(runs: int, call: Callable[[], Awaitable[object]]) -> float:
    await call()  # warm the plan and the cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def write_pages(conn: asyncpg.Connection, document: str, pages: int) -> None:
    """A worker's page write, rolled back so each run writes the same rows."""
    tx = conn.transaction()
    await tx.start()
    await conn.execute("DELETE FROM pages WHERE document_id = $1", uuid.UUID(document))
    await conn.executemany(
        "INSERT INTO pages (document_id, page_no, text, method, pipeline_version)"
        " VALUES ($1, $2, $3, 'text', 'b')",
        [(uuid.UUID(document), n, "word " * 300) for n in range(1, pages + 1)],
    )
    await tx.rollback()


async def measure(url: str, pages: int, events: int, runs: int) -> list[tuple[str, float, float]]:
    owner = await asyncpg.connect(url)
    app = await asyncpg.connect(url)
    try:
        tenant, document, job = await seed(owner, pages, events)
        await app.execute("SET ROLE folio_app")
        doc_id, job_id = uuid.UUID(document), uuid.UUID(job)
        rows: list[tuple[str, float, float]] = []
        await app.execute(TENANT_SCOPE, tenant)
        assert len(await app.fetch(READ_PAGES, doc_id)) == pages  # the wall lets its own through
        base = await median_ms(runs, lambda: owner.fetch(READ_PAGES, doc_id))
        walled = await median_ms(runs, lambda: app.fetch(READ_PAGES, doc_id))
        rows.append((f"read {pages} pages, tenant scope", base, walled))
        base = await median_ms(runs, lambda: owner.fetch(READ_EVENTS, job_id))
        walled = await median_ms(runs, lambda: app.fetch(READ_EVENTS, job_id))
        rows.append((f"read {events} job events, tenant scope", base, walled))
        await app.execute(SYSTEM_SCOPE)
        write_runs = max(3, runs // 5)
        base = await median_ms(write_runs, lambda: write_pages(owner, document, pages))
        walled = await median_ms(write_runs, lambda: write_pages(app, document, pages))
        rows.append((f"write {pages} pages, system scope", base, walled))
        return rows
    finally:
        await owner.close()
        await app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with BenchServers() as servers:
        rows = asyncio.run(measure(servers.database_url, args.pages, args.events, args.runs))
    print("| path | owner (no policy), ms | folio_app (policy), ms | ratio |")
    print("|---|---|---|---|")
    for name, base, walled in rows:
        print(f"| {name} | {base:.2f} | {walled:.2f} | {walled / base:.2f} |")


if __name__ == "__main__":
    main()
