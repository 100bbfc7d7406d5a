"""A backlog of queued jobs: Redis memory, the API's job reads while workers
drain it, and the drain rate.

Starts its own Redis and PostgreSQL (pgvector, migrated), a tenant with an
API key, and the API served as ``folio-api`` serves it (uvicorn, Folio's HTTP
protocol, uvloop, loopback). Then:

1. **Baseline**: ``GET /v1/jobs/{id}`` in open loop at ``--rate`` requests/s
   for ``--baseline-s`` seconds on a small set of finished jobs, with no
   backlog and no worker running: what the route costs on this machine now.
2. **Backlog**: ``--jobs`` tracked no-op jobs of the tenant, written in bulk
   in the state the outbox's dispatch leaves them (row ``queued``, message
   on Redis). Redis's ``used_memory`` before and after gives the bytes each
   queued job costs.
3. **Drain**: ``--processes`` Folio worker processes (the supervised worker,
   full middleware: claim with a lease, outcome, events) start; while they
   drain, the same open loop reads random jobs of the backlog in windows of
   ``--window-s`` seconds until the last job row is ``succeeded`` (bounded
   by ``--timeout-s``). The drain rate is jobs per second from the workers'
   start to the last job done.

Prints one table: p50/p99 of the reads idle and during the drain (and their
ratio), Redis memory, the drain rate. Loopback only; the workers, the API
and the servers are stopped at the end.

    .venv/bin/python bench/backlog.py --jobs 100000 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import _openloop
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from _servers import BenchServers, folio_worker_argv, insert_queued, job_rows, workers
from _uvicorn import serve, stop
from sqlalchemy.ext.asyncio import create_async_engine

from folio_devstack.ports import pick_port
from folio_shared.broker import create_broker
from folio_shared.db.engine import async_database_url, create_session_factory
from folio_shared.db.repositories.tenants import create_tenant
from folio_shared.jobs.send import AsyncSender

#: Messages sent per Redis round trip while the backlog is queued.
ENQUEUE_BATCH = 1_000


async def seed_tenant(database_url: str) -> tuple[str, uuid.UUID]:
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with create_session_factory(engine)() as session:
            tenant, key = await create_tenant(session, f"backlog-{uuid.uuid4().hex[:6]}")
            await session.commit()
    finally:
        await engine.dispose()
    return key, tenant.id


async def queue_backlog(servers: BenchServers, tenant_id: uuid.UUID, count: int) -> list[str]:
    """``count`` queued no-op jobs of the tenant; returns their ids."""
    engine = create_async_engine(async_database_url(servers.database_url))
    broker = create_broker(servers.folio_settings())
    client = aioredis.Redis.from_url(servers.redis_url)
    # Folio's own bulk send: the dispatch script and the job's message
    # pointer, as ``broker.enqueue`` writes them, ENQUEUE_BATCH per round trip.
    sender = AsyncSender(broker, client)
    ids: list[str] = []
    try:
        for start in range(0, count, 10_000):
            rows, messages = job_rows(min(10_000, count - start))
            for row in rows:
                row["tenant_id"] = tenant_id
            await insert_queued(engine, rows)
            for first in range(0, len(messages), ENQUEUE_BATCH):
                errors = await sender.send_many(messages[first : first + ENQUEUE_BATCH])
                failed = [e for e in errors if e is not None]
                if failed:
                    raise failed[0]
            ids += [str(row["id"]) for row in rows]
    finally:
        sender.close()
        await client.aclose()
        broker.close()
        await engine.dispose()
    return ids


def reads(base_url: str, key: str, ids: list[str], rate: float, seconds: float) -> Any:
    """Open-loop ``GET /v1/jobs/{id}`` on ids picked at random."""
    picks = [random.choice(ids) for _ in range(int(rate * seconds) + 1)]
    return _openloop.run_sync(
        base_url,
        rate=rate,
        connections=8,
        duration_s=seconds,
        headers={"Authorization": f"Bearer {key}"},
        path_of=lambda i: f"/v1/jobs/{picks[i]}",
    )


async def _unfinished(database_url: str) -> int:
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with engine.connect() as conn:
            sql = "SELECT count(*) FROM jobs WHERE status <> 'succeeded'"
            return int((await conn.execute(sa.text(sql))).scalar_one())
    finally:
        await engine.dispose()


def unfinished(database_url: str) -> int:
    return asyncio.run(_unfinished(database_url))


def summary(results: list[Any]) -> tuple[float, float, int, int]:
    """p50 and p99 (ms) over every request of ``results``, requests, non-2xx."""
    latencies = sorted(ms for r in results for ms in r.latencies_ms)
    if not latencies:
        return float("nan"), float("nan"), 0, 0
    bad = sum(n for r in results for s, n in r.statuses.items() if s >= 300)
    bad += sum(r.errors for r in results)
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return p50, p99, len(latencies), bad


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="folio-bench-backlog-"))
    with BenchServers(work / "servers") as servers:
        key, tenant_id = asyncio.run(seed_tenant(servers.database_url))
        port = pick_port(18700)
        base_url = f"http://127.0.0.1:{port}"
        env = servers.folio_env(
            FOLIO_API_RATE_LIMIT_PER_MINUTE="1000000000", FOLIO_LOG_LEVEL="WARNING"
        )
        api = serve(["--factory", "folio_api.app:create_app"], env, port, 1, work / "api.log")
        client = redis.Redis.from_url(servers.redis_url)
        try:
            warm = asyncio.run(queue_backlog(servers, tenant_id, 200))
            reads(base_url, key, warm, args.rate, 2.0)  # warm-up
            idle = [reads(base_url, key, warm, args.rate, args.baseline_s)]
            before = int(client.info("memory")["used_memory"])
            started = time.monotonic()
            ids = asyncio.run(queue_backlog(servers, tenant_id, args.jobs))
            queued_s = time.monotonic() - started
            after = int(client.info("memory")["used_memory"])
            print(f"{args.jobs:,} jobs queued in {queued_s:.1f} s", flush=True)
            draining: list[Any] = []
            with workers(work / "logs") as group:
                group.spawn(
                    folio_worker_argv(args.processes, args.threads), servers.folio_env(), "folio"
                )
                started = time.monotonic()
                left = len(ids) + len(warm)
                while left and time.monotonic() - started < args.timeout_s:
                    if not group.alive():
                        sys.exit(f"the workers exited; see {work / 'logs'}")
                    draining.append(reads(base_url, key, ids, args.rate, args.window_s))
                    left = unfinished(servers.database_url)
                    done = len(ids) + len(warm) - left
                    print(
                        f"  {time.monotonic() - started:6.1f} s: {done:,} done, {left:,} left",
                        flush=True,
                    )
                drain_s = time.monotonic() - started
        finally:
            client.close()
            stop(api)
    print_table(args, idle, draining, (after - before) / args.jobs, len(ids) - left, drain_s)
    if left:
        sys.exit(f"{left:,} jobs were not done after {args.timeout_s:g} s")


def print_table(
    args: argparse.Namespace,
    idle: list[Any],
    draining: list[Any],
    per_job: float,
    done: int,
    drain_s: float,
) -> None:
    """The figures; ``done`` jobs of the backlog drained in ``drain_s`` (all of
    them unless the drain hit ``--timeout-s``)."""
    i50, i99, i_n, i_bad = summary(idle)
    d50, d99, d_n, d_bad = summary(draining)
    print()
    print(
        f"backlog of {args.jobs:,} tracked no-op jobs, {args.processes} worker process(es)"
        f" x {args.threads} threads; reads at {args.rate:g}/s"
    )
    print()
    print("| measure | result | baseline (same run) | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| GET /v1/jobs/{{id}} p50 ms | {d50:.1f} | {i50:.1f} idle | {d50 / i50:.2f} |")
    print(f"| GET /v1/jobs/{{id}} p99 ms | {d99:.1f} | {i99:.1f} idle | {d99 / i99:.2f} |")
    print(f"| reads (non-2xx) | {d_n:,} ({d_bad}) | {i_n:,} ({i_bad}) | - |")
    print(f"| Redis memory per queued job | {per_job:,.0f} bytes | - | - |")
    print(f"| Redis memory for the backlog | {per_job * args.jobs / 2**20:,.1f} MiB | - | - |")
    print(f"| drain rate | {done / drain_s:,.0f} jobs/s | {done:,} in {drain_s:.0f} s | - |")
    print(f"\ndrain p99 during drain: {d99:.1f} ms; idle p99: {i99:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="queued jobs")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--rate", type=float, default=50.0, help="job reads per second")
    parser.add_argument("--baseline-s", type=float, default=10.0, help="idle reads (seconds)")
    parser.add_argument("--window-s", type=float, default=5.0, help="reads per drain window")
    parser.add_argument("--timeout-s", type=float, default=1200.0, help="bound on the drain")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
