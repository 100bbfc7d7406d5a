"""The API's search (``run_search``) of two source trees, alternated query
by query on the same data and the same worker-docs.

Fills a tenant of ``--chunks`` chunks and one of ``--small-tenant-chunks``
as ``bench/search_latency.py`` does (``--language pt``: Portuguese words
labelled multilingual-e5-small's, the relevance set's 60 questions, a
``by-language`` deployment; ``en``: ``wN`` words, all-MiniLM-L6-v2), starts
one worker-docs answering ``queries.embed`` and, per tree, a process that
runs ``run_search`` with that tree's sources on ``PYTHONPATH``. Each query
goes to both trees in turn (the order swapped every query), so both see
the same load; a pair is dropped when either side fell back to keywords.
Prints p50 / p95 per tree and tenant, each tree's against the other's, the
load, how many hit lists differed between the trees, and, as the baseline
of the same run, a bare pgvector top-10 of each query's vector (``ORDER BY
<=> LIMIT 10``: no tenant, no fusion)::

    git worktree add /tmp/folio-before <commit>
    .venv/bin/python bench/search_trees.py --before-tree /tmp/folio-before --language pt
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))
import _portuguese as portuguese
from _servers import NAMESPACE, BenchServers
from search_latency import build_hnsw, fill_tenant

from folio_shared.messages import Queue, physical_queue_names
from folio_worker_docs.embeddings.model import get_embedder
from folio_worker_docs.embeddings.select import load_embedder

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "shared/src", "services/api/src", "services/worker-docs/src", "tools/devstack/src",
)  # fmt: skip

#: A tree's process: reads ``[tenant, text]`` lines, answers ``R [ms, hit ids, fallback]``.
CHILD = """
import asyncio, json, sys, time, uuid
sys.path.insert(0, sys.argv[1] + "/bench")
from sqlalchemy.ext.asyncio import create_async_engine
import _api_search
from folio_api.domain.search import services
from folio_api.domain.search.repository import SearchFilters, SearchGroup, SearchMode
from folio_shared.broker import create_broker
from folio_shared.settings import BrokerSettings, FolioSettings, RedisSettings

async def main():
    url, redis_url, namespace, model = sys.argv[2:6]
    settings = FolioSettings(redis=RedisSettings(url=redis_url),
                             broker=BrokerSettings(namespace=namespace))
    broker = create_broker(settings, middleware=[])
    res = _api_search.resources(settings, broker, create_async_engine(url), model)
    print("R ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        tenant, text = json.loads(line)
        started = time.perf_counter()
        found = await services.run_search(
            res, uuid.UUID(tenant), text, k=10, mode=SearchMode.HYBRID,
            group=SearchGroup.DOCUMENT, filters=SearchFilters())
        ms = (time.perf_counter() - started) * 1000
        print("R " + json.dumps([ms, [str(h.chunk_id) for h in found.hits], found.fallback]),
              flush=True)

asyncio.run(main())
"""


class Tree:
    """One tree's ``run_search`` process."""

    def __init__(self, root: Path, args: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
        env["PYTHONPATH"] = os.pathsep.join(str(root / p) for p in SOURCES)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self._read()

    def _read(self) -> str:
        assert self.proc.stdout is not None
        while line := self.proc.stdout.readline():
            if line.startswith("R "):
                return line[2:]
        raise RuntimeError("the tree's search process ended")

    def search(self, tenant: uuid.UUID, text: str) -> tuple[float, list[str], str | None]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps([str(tenant), text]) + "\n")
        self.proc.stdin.flush()
        ms, ids, fallback = json.loads(self._read())
        return float(ms), list(ids), fallback

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


class Bare:
    """A bare pgvector top-10 of the query's vector, embedded here by the
    language's model (outside the time), on a connection of its own."""

    SQL = sa.text("SELECT id FROM chunks ORDER BY embedding <=> CAST(:q AS vector) LIMIT 10")

    def __init__(self, url: str, language: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = create_async_engine(url)
        self.embedder = load_embedder(portuguese.E5) if language == "pt" else get_embedder()

    def search(self, text: str) -> float:
        vector = str(self.embedder.encode_query(text))

        async def timed() -> float:
            async with self.engine.connect() as conn:
                started = time.perf_counter()
                await conn.execute(self.SQL, {"q": vector})
                return (time.perf_counter() - started) * 1000

        return self.loop.run_until_complete(timed())

    def close(self) -> None:
        self.loop.run_until_complete(self.engine.dispose())
        self.loop.close()


async def fill(url: str, language: str, chunks: int, small: int) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_async_engine(url)
    tenants = (uuid.uuid4(), uuid.uuid4())
    words = portuguese.vocabulary() if language == "pt" else None
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP INDEX ix_chunks_embedding_hnsw"))
        for tenant, count in zip(tenants, (chunks, small), strict=True):
            await fill_tenant(conn, tenant, count, 20, words)
    async with engine.begin() as conn:
        await build_hnsw(conn)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM (ANALYZE) chunks, documents"))
    await engine.dispose()
    return tenants


def measure(
    trees: dict[str, Tree], tenants: dict[str, uuid.UUID], texts: list[str], bare: Bare
) -> None:
    times: dict[tuple[str, str], list[float]] = {("-", "bare pgvector top-10"): []}
    loads, differing, dropped = [os.getloadavg()[0]], 0, 0
    for i, text in enumerate(texts):
        for tenant_name, tenant in tenants.items():
            names = list(trees) if i % 2 else list(trees)[::-1]
            answers = {name: trees[name].search(tenant, text) for name in names}
            if any(fallback for _, _, fallback in answers.values()):
                dropped += 1
                continue
            differing += len({tuple(ids) for _, ids, _ in answers.values()}) > 1
            for name, (ms, _, _) in answers.items():
                times.setdefault((tenant_name, name), []).append(ms)
        times[("-", "bare pgvector top-10")].append(bare.search(text))
        if i % 30 == 29:
            loads.append(os.getloadavg()[0])
    print(f"\n{len(texts)} queries; pairs whose hits differed {differing}, dropped {dropped}")
    print("| tenant | tree | p50 ms | p95 ms |")
    print("|---|---|---:|---:|")
    for (tenant_name, name), values in sorted(times.items()):
        q = statistics.quantiles(values, n=100)
        print(f"| {tenant_name} | {name} | {q[49]:.1f} | {q[94]:.1f} |")
    for tenant_name in tenants:
        this, before = (statistics.quantiles(times[(tenant_name, n)], n=100) for n in trees)
        print(f"{tenant_name}: this / before p50 {this[49] / before[49]:.3f}, "
              f"p95 {this[94] / before[94]:.3f}")  # fmt: skip
    print("load (1 min):", ", ".join(f"{x:.1f}" for x in loads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before-tree", type=Path, required=True)
    parser.add_argument("--language", choices=("en", "pt"), default="pt")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--small-tenant-chunks", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2, help="times through the queries")
    args = parser.parse_args()
    model = "by-language" if args.language == "pt" else "all-MiniLM-L6-v2"
    with BenchServers() as servers:
        url = servers.database_url.replace("postgresql://", "postgresql+asyncpg://")
        large, small = asyncio.run(fill(url, args.language, args.chunks, args.small_tenant_chunks))
        env = servers.folio_env(
            HF_HUB_OFFLINE="1", FOLIO_METRICS_PORT="0", FOLIO_PIPELINE_EMBEDDING_MODEL=model
        )
        argv = ["folio_worker_docs.main", "-p", "1", "-t", "2", "--queues",
                *physical_queue_names(Queue.QUERIES)]  # fmt: skip
        code = f"from folio_shared.worker import supervise; raise SystemExit(supervise({argv!r}))"
        with (servers.root / "worker-docs.log").open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        child_args = [url, servers.redis_url, NAMESPACE, model]
        trees = {"this": Tree(ROOT, child_args), "before": Tree(args.before_tree, child_args)}
        bare = Bare(url, args.language)
        try:
            if args.language == "pt":
                texts = portuguese.queries(60)
            else:
                texts = [f"w{7 + 13 * i} w{101 + 37 * i}" for i in range(60)]
            deadline = time.monotonic() + 300
            for tree in trees.values():  # warm up: models loaded, connections open
                for text in texts[:10]:
                    while tree.search(large, text)[2] and time.monotonic() < deadline:
                        time.sleep(1)
            measure(trees, {"large": large, "small": small}, texts * args.rounds, bare)
        finally:
            bare.close()
            for tree in trees.values():
                tree.close()
            worker.terminate()
            worker.wait(timeout=60)


if __name__ == "__main__":
    main()
