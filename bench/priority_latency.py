"""Priority latency: how long a critical job waits behind a backlog of normal ones.

Starts its own Redis and PostgreSQL (pgvector, migrated) and one Folio
worker (the supervised worker, 1 process, ``--threads`` threads, full
middleware stack). Keeps a backlog of at least ``--backlog`` queued normal
tracked jobs (each sleeps ``--sleep-ms``) on the worker's queue, then sends
one job through the real API path (``Jobs.enqueue``: outbox row, dispatch)
and measures from the send to the job row's ``started_at``. Repeats
``--repeats`` times as ``critical`` and ``--normal-repeats`` times as
``normal`` (which waits for the whole backlog), topping the backlog up
before each send, and prints p50 / p95 / max.

The backlog is written in bulk in the state ``dispatch`` leaves a job
(row ``queued``, message on Redis): the outbox's row-at-a-time dispatch
would be slower than the worker drains it.

    .venv/bin/python bench/priority_latency.py --backlog 10000 --repeats 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
import sqlalchemy as sa
from _servers import (
    NAMESPACE,
    BenchServers,
    NoopV1,
    folio_worker_argv,
    insert_queued,
    job_rows,
    workers,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio_shared.broker import create_broker
from folio_shared.db.engine import async_database_url
from folio_shared.jobs import Jobs
from folio_shared.messages import Priority, Queue, physical_queue_name

#: The Redis list holding the normal queue's message ids.
NORMAL_QUEUE_KEY = f"{NAMESPACE}:{physical_queue_name(Queue.DOCUMENTS)}"


@dataclass
class Sample:
    priority: str
    backlog: int
    latency_s: float


async def backlog_depth(client: aioredis.Redis) -> int:
    return int(await client.llen(NORMAL_QUEUE_KEY))


async def top_up(jobs: Jobs, client: aioredis.Redis, target: int, sleep_ms: int) -> int:
    """Queue normal jobs until the backlog holds ``target``; returns its depth."""
    depth = await backlog_depth(client)
    while depth < target:
        rows, messages = job_rows(target - depth + 500, sleep_ms=sleep_ms)
        await insert_queued(jobs.engine, rows)
        for message in messages:
            jobs.broker.enqueue(message)
        depth = await backlog_depth(client)
    return depth


async def started_at(engine: AsyncEngine, job_id: uuid.UUID) -> datetime | None:
    async with engine.connect() as conn:
        value = await conn.scalar(
            sa.text("SELECT started_at FROM jobs WHERE id = :id"), {"id": job_id}
        )
    return value if isinstance(value, datetime) else None


async def measure(jobs: Jobs, priority: Priority, timeout_s: float) -> float:
    job_id = uuid.uuid4()
    sent = datetime.now(UTC)
    await jobs.enqueue(NoopV1(job_id=str(job_id)), priority=priority)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        started = await started_at(jobs.engine, job_id)
        if started is not None:
            return (started - sent).total_seconds()
        await asyncio.sleep(0.005)
    raise TimeoutError(f"{priority.value} job not started after {timeout_s:g} s")


async def run(servers: BenchServers, args: argparse.Namespace) -> list[Sample]:
    settings = servers.folio_settings()
    engine = create_async_engine(async_database_url(servers.database_url))
    broker = create_broker(settings)
    client = aioredis.Redis.from_url(servers.redis_url)
    jobs = Jobs(engine, broker, client)
    samples: list[Sample] = []
    try:
        depth = await top_up(jobs, client, args.backlog, args.sleep_ms)
        print(f"backlog of {depth} normal jobs queued", flush=True)
        with workers(args.log_dir) as group:
            group.spawn(folio_worker_argv(1, args.threads), servers.folio_env(), "folio")
            # Let the worker boot and start draining the backlog.
            while await backlog_depth(client) >= depth:
                if not group.alive():
                    raise RuntimeError(f"the worker exited; see {args.log_dir}")
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            plan = [Priority.CRITICAL] * args.repeats + [Priority.NORMAL] * args.normal_repeats
            for i, priority in enumerate(plan):
                depth = await top_up(jobs, client, args.backlog, args.sleep_ms)
                timeout_s = 10.0 if priority is Priority.CRITICAL else args.timeout_s
                latency = await measure(jobs, priority, timeout_s)
                samples.append(Sample(priority.value, depth, latency))
                print(
                    f"  {i + 1:>2}/{len(plan)} {priority.value:<8} behind {depth:>6}:"
                    f" {latency * 1000:8.1f} ms",
                    flush=True,
                )
                await asyncio.sleep(0.2)
    finally:
        await client.aclose()
        broker.close()
        await engine.dispose()
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def table(samples: list[Sample]) -> str:
    lines = [
        "| sent as | runs | backlog at send (min) | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for priority in ("critical", "normal"):
        values = [s.latency_s * 1000 for s in samples if s.priority == priority]
        if not values:
            continue
        backlog = min(s.backlog for s in samples if s.priority == priority)
        lines.append(
            f"| {priority} | {len(values)} | {backlog:,} | {percentile(values, 50):,.1f}"
            f" | {percentile(values, 95):,.1f} | {max(values):,.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=10_000, help="queued normal jobs")
    parser.add_argument("--sleep-ms", type=int, default=2, help="sleep of each normal job")
    parser.add_argument("--repeats", type=int, default=20, help="critical sends")
    parser.add_argument("--normal-repeats", type=int, default=3, help="normal sends")
    parser.add_argument("--threads", type=int, default=8, help="worker threads")
    parser.add_argument("--fsync", action="store_true", help="PostgreSQL fsync on")
    parser.add_argument("--timeout-s", type=float, default=180.0, help="limit per normal send")
    parser.add_argument("--log-dir", type=Path, default=None, help="worker logs")
    args = parser.parse_args()
    with BenchServers(fsync=args.fsync) as servers:
        args.log_dir = args.log_dir or servers.root / "logs"
        print(f"servers: redis {servers.redis_url}, postgres {servers.database_url}")
        print(f"worker logs: {args.log_dir}", flush=True)
        samples = asyncio.run(run(servers, args))
    print()
    print(table(samples))
    print(
        f"\n(1 worker process x {args.threads} threads; normal jobs sleep {args.sleep_ms} ms;"
        f" PostgreSQL fsync {'on' if args.fsync else 'off'})"
    )


if __name__ == "__main__":
    main()
