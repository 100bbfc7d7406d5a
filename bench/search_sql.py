"""Search SQL over 100,000 chunks, this code against an earlier one, in
the same run: execution time (``EXPLAIN (ANALYZE, BUFFERS)``), buffers and
wall time of the hybrid statement, both groupings, per query, the two
variants interleaved so both see the same machine load.

Fills one tenant as ``bench/search_latency.py`` does (the same generated
texts, vectors and queries), in ``public`` (this code's layout) and in a
schema ``before`` whose ``chunks`` copy keeps ``tsv`` in the storage
``--before-tsv-storage`` (``extended``: as before migration 0016), with
PostgreSQL's own choice of generic or custom plans (before search forced
custom ones) and ``--before-max-matches``. The earlier statements come
from a file:

    git show <commit>:services/api/src/folio_api/domain/search/statements.py \\
        > /tmp/statements_before.py
    .venv/bin/python bench/search_sql.py --before-statements /tmp/statements_before.py

Baseline in the same run: a bare pgvector top-10. Without ``--pg-url`` it
starts a private PostgreSQL (with pgvector).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
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
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import folio_api.domain.search.preparing as preparing
import folio_api.domain.search.repository as repository
from folio_api.domain.search.repository import SearchOptions
from folio_shared.db.engine import create_session_factory
from folio_worker_docs.embeddings.model import get_embedder

sys.path.insert(0, str(Path(__file__).parent))
from _servers import BenchServers, scratch_database
from search_latency import VOCABULARY, build_hnsw, fill_tenant

#: The copy of ``chunks`` the earlier statements run on.
COPY_SQL = """
CREATE SCHEMA before;
CREATE TABLE before.chunks (LIKE public.chunks INCLUDING DEFAULTS INCLUDING GENERATED
                            INCLUDING STORAGE);
ALTER TABLE before.chunks ALTER COLUMN tsv SET STORAGE {storage};
INSERT INTO before.chunks ({columns}) SELECT {columns} FROM public.chunks ORDER BY ctid;
ALTER TABLE before.chunks ADD PRIMARY KEY (id);
CREATE INDEX ON before.chunks (tenant_id);
CREATE INDEX ON before.chunks USING gin (tsv);
CREATE INDEX ON before.chunks USING hnsw (embedding vector_cosine_ops);
ANALYZE before.chunks
"""
COLUMNS = (
    "id, tenant_id, document_id, chunk_index, page_start, page_end, char_start, char_end, "
    "text, token_count, embedding, model_version, pipeline_version, created_at, language"
)
BARE_SQL = "SELECT id FROM chunks ORDER BY embedding <=> CAST(:q AS vector) LIMIT 10"


def load_statement(path: Path) -> Callable[..., str]:
    spec = importlib.util.spec_from_file_location("statements_before", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function: Callable[..., str] = module.statement
    accepted = set(inspect.signature(function).parameters)

    def statement(**kwargs: Any) -> str:  # the earlier signature may lack newer keywords
        return function(**{k: v for k, v in kwargs.items() if k in accepted})

    return statement


def print_plan(node: dict[str, Any], depth: int = 0) -> None:
    """The plan's nodes taking 1 ms or more: type, relation, time, rows."""
    total = node.get("Actual Total Time", 0.0) * node.get("Actual Loops", 1)
    if total >= 1.0:
        what = node.get("Relation Name") or node.get("CTE Name") or node.get("Index Name") or ""
        rows = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        print(f"  {'  ' * depth}{node['Node Type']} {what} {total:.1f} ms, {rows} rows")
    for child in node.get("Plans", []):
        print_plan(child, depth + 1)


class Capture:
    """The session search is given: runs what it asks and keeps the last statement."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.last: tuple[Any, Any] = (None, None)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await self.session.scalar(*args, **kwargs)

    async def execute(self, stmt: Any, params: Any = None) -> Any:
        self.last = (stmt, params)
        return await self.session.execute(stmt, params)


async def fill(url: str, chunks: int, per_document: int) -> uuid.UUID:
    engine = create_async_engine(url)
    tenant = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP INDEX ix_chunks_embedding_hnsw"))
        await fill_tenant(conn, tenant, chunks, per_document)
    async with engine.begin() as conn:
        await build_hnsw(conn)
        await conn.execute(sa.text("ANALYZE chunks"))
    await engine.dispose()
    return tenant


async def measure(
    url: str, tenant: uuid.UUID, before: Callable[..., str], before_max_matches: int, queries: int
) -> None:
    embedder = get_embedder()
    rng = random.Random(3)  # the queries of bench/search_latency.py
    texts = [
        " ".join(f"w{int(math.exp(rng.uniform(2, math.log(VOCABULARY))))}" for _ in range(2))
        for _ in range(queries)
    ]
    module = vars(repository)  # the search module, whose statement is swapped
    this = module["statement"]
    engine = create_async_engine(url)
    factory = create_session_factory(engine)
    custom_plans = preparing.PLANS
    auto_plans = "auto"
    variants = {
        "before": ("before, public", before, auto_plans, before_max_matches),
        "this code": ("public", this, custom_plans, SearchOptions().keyword_max_matches),
    }
    figures: dict[tuple[str, str], dict[str, list[float]]] = {}
    bare: list[float] = []
    slowest: dict[tuple[str, str], tuple[float, str, dict[str, Any]]] = {}
    for i, text in enumerate(texts):
        vector = embedder.encode_query(text)
        for group in ("document", "chunk"):
            for name, (path, statement, plans, max_matches) in variants.items():
                async with factory() as session:
                    await session.execute(sa.text(f"SET search_path = {path}"))
                    capture = Capture(session)
                    module["statement"] = statement
                    module["PLANS"] = vars(preparing)["PLANS"] = plans
                    started = time.perf_counter()
                    await repository.search(
                        capture,  # type: ignore[arg-type]
                        tenant_id=tenant, query_vector=vector, query_text=text, k=10,
                        group=group, options=SearchOptions(keyword_max_matches=max_matches),
                    )  # fmt: skip
                    wall = (time.perf_counter() - started) * 1000
                    stmt, params = capture.last
                    plan = (
                        await session.scalar(
                            sa.text(
                                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + stmt.text
                            ).bindparams(*stmt._bindparams.values()),
                            params,
                        )
                    )[0]
                    await session.rollback()
                    await session.execute(sa.text("RESET search_path"))
                    await session.commit()
                if i < 5:  # warm-up
                    continue
                top = plan["Plan"]
                row = figures.setdefault((name, group), {"exec": [], "wall": [], "buffers": []})
                row["exec"].append(plan["Execution Time"])
                if plan["Execution Time"] > slowest.get((name, group), (0.0, "", {}))[0]:
                    slowest[(name, group)] = (plan["Execution Time"], text, top)
                row["wall"].append(wall)
                row["buffers"].append(top["Shared Hit Blocks"] + top["Shared Read Blocks"])
        async with factory() as session:
            plan = (
                await session.scalar(
                    sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + BARE_SQL), {"q": str(vector)}
                )
            )[0]
        if i >= 5:
            bare.append(plan["Execution Time"])
    module["statement"] = this
    module["PLANS"] = vars(preparing)["PLANS"] = custom_plans
    await engine.dispose()

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[18]

    base = statistics.median(bare)
    print(f"\n{queries - 5} queries, k = 10; bare pgvector top-10 execution p50 {base:.1f} ms\n")
    print(
        "| code | grouping | execution p50 ms | p95 ms | vs bare p50 | buffers p50 "
        "| wall p50 ms | p95 ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (name, group), row in figures.items():
        ex, walls = row["exec"], row["wall"]
        print(
            f"| {name} | {group} | {statistics.median(ex):.1f} | {p95(ex):.1f} | "
            f"{statistics.median(ex) / base:.2f} x | {statistics.median(row['buffers']):.0f} | "
            f"{statistics.median(walls):.1f} | {p95(walls):.1f} |"
        )
    for (name, group), (ms, text, plan) in slowest.items():
        print(f"\nslowest, {name}, {group}: {text!r}, {ms:.1f} ms")
        print_plan(plan)


async def run(pg_url: str, args: argparse.Namespace) -> None:
    async with scratch_database(pg_url, "folio_bench_sql") as url:
        started = time.perf_counter()
        tenant = await fill(url, args.chunks, args.chunks_per_document)
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text("SET maintenance_work_mem = '512MB'"))
            for part in COPY_SQL.format(storage=args.before_tsv_storage, columns=COLUMNS).split(
                ";"
            ):
                await conn.execute(sa.text(part))
            sizes = await conn.execute(
                sa.text(
                    "SELECT n.nspname, pg_relation_size(c.oid), pg_relation_size(c.reltoastrelid) "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relname = 'chunks'"
                )
            )
            print(json.dumps({s: [heap, toast] for s, heap, toast in sizes}), "(heap, toast bytes)")
        await engine.dispose()
        print(f"filled and copied {args.chunks} chunks in {time.perf_counter() - started:.1f}s")
        await measure(
            url,
            tenant,
            load_statement(args.before_statements),
            args.before_max_matches,
            args.queries,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", help="superuser URL (default: a private server)")
    parser.add_argument("--before-statements", type=Path, required=True)
    parser.add_argument("--before-tsv-storage", choices=["extended", "main"], default="extended")
    parser.add_argument(
        "--before-max-matches",
        type=int,
        default=1000,
        help="the earlier code's keyword_max_matches default (1000 before e272a22)",
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--chunks-per-document", type=int, default=20)
    parser.add_argument(
        "--queries", type=int, default=105, help="the first 5 warm up; at least 7 (p95 needs 2)"
    )
    args = parser.parse_args()
    if args.queries < 7:
        parser.error("--queries must be at least 7: the first 5 only warm up")
    if args.pg_url:
        asyncio.run(run(args.pg_url, args))
        return
    with BenchServers() as servers:
        asyncio.run(run(servers.postgres.url("postgres"), args))


if __name__ == "__main__":
    main()
