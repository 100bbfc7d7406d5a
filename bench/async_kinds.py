"""Async job kinds: many I/O-bound jobs in flight in one worker process.

Starts its own Redis and PostgreSQL, then ``folio worker start --jobs
io_jobs`` (one worker process: the ``bench.wait`` kind of
``bench/noop/io_jobs.py``, an ``async def`` awaiting ``--wait-ms``). Once
the worker has recorded its kind, the clock starts: ``--jobs`` jobs are
created with the outbox (``enqueue_envelope`` + ``dispatch`` with the
API's asyncio sender, 100 a transaction, ten transactions at once), and the
clock stops when the last job row is ``succeeded``. From the job rows: the
peak number of jobs running at once (``started_at``/``finished_at``), and
queue wait and run time.

Baseline, in the same run: ``asyncio.gather`` of the same number of
``asyncio.sleep`` calls in this process. Folio's overhead is the wall time
beyond the baseline's.

    .venv/bin/python bench/async_kinds.py --jobs 1000 --wait-ms 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import sqlalchemy as sa
from _servers import NOOP_DIR, BenchServers, workers
from io_jobs import Wait, wait
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.broker import create_broker
from folio_shared.db.engine import async_database_url, create_session_factory
from folio_shared.jobs import outbox
from folio_shared.jobs.send import AsyncSender

PEAK_SQL = """
WITH ev AS (
  SELECT started_at AS t, 1 AS d FROM jobs WHERE actor_name = 'bench.wait'
  UNION ALL
  SELECT finished_at AS t, -1 AS d FROM jobs WHERE actor_name = 'bench.wait'
)
SELECT max(s) FROM (SELECT sum(d) OVER (ORDER BY t, d) AS s FROM ev) x
"""

TIMES_SQL = """
SELECT
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - queued_at)),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - queued_at)),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)),
  extract(epoch FROM max(finished_at) - min(created_at))
FROM jobs WHERE actor_name = 'bench.wait'
"""


async def gather_baseline(jobs: int, wait_ms: int) -> float:
    started = time.monotonic()
    await asyncio.gather(*(asyncio.sleep(wait_ms / 1000) for _ in range(jobs)))
    return time.monotonic() - started


async def create_jobs(servers: BenchServers, jobs: int, wait_ms: int) -> float:
    """Create and send ``jobs`` jobs with the outbox; returns seconds taken."""
    engine = create_async_engine(async_database_url(servers.database_url))
    broker = create_broker(servers.folio_settings())
    client = aioredis.Redis.from_url(servers.redis_url)
    sender = AsyncSender(broker, client)
    sessions = create_session_factory(engine)
    env = wait.envelope(Wait(ms=wait_ms))
    started = time.monotonic()

    async def batch(n: int) -> None:
        async with sessions() as session:
            for _ in range(n):
                outbox.enqueue_envelope(session, env)
            await session.commit()
            ids = outbox.pending_ids(session)
        async with engine.connect() as conn:
            await outbox.dispatch(conn, broker, ids, sender=sender)

    try:
        size = 100
        await asyncio.gather(*(batch(min(size, jobs - i)) for i in range(0, jobs, size)))
        return time.monotonic() - started
    finally:
        await client.aclose()
        broker.close()
        await engine.dispose()


def worker_argv(threads: int | None) -> list[str]:
    folio = Path(sys.executable).with_name("folio")
    argv = [str(folio), "worker", "start", "--jobs", "io_jobs"]
    return [*argv, "--threads", str(threads)] if threads else argv


async def poll(conn: Any, sql: str, predicate: Any, timeout_s: float) -> Any:
    """The first value of ``sql`` that satisfies ``predicate``, polled every 50 ms."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = (await conn.execute(sa.text(sql))).scalar()
        await conn.commit()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s} s: {sql} = {value}")
        await asyncio.sleep(0.05)


async def measure(servers: BenchServers, args: Any) -> dict[str, float]:
    engine = create_async_engine(async_database_url(servers.database_url))
    try:
        async with engine.connect() as conn:
            await poll(conn, "SELECT count(*) FROM job_kind_workers", bool, 120)
            started = time.monotonic()
            create_s = await create_jobs(servers, args.jobs, args.wait_ms)
            done_sql = "SELECT count(*) FROM jobs WHERE status = 'succeeded'"
            await poll(conn, done_sql, lambda n: n >= args.jobs, args.timeout_s)
            wall_s = time.monotonic() - started
            peak = int((await conn.execute(sa.text(PEAK_SQL))).scalar_one())
            wait50, wait95, run50, run95, span = (await conn.execute(sa.text(TIMES_SQL))).one()
    finally:
        await engine.dispose()
    return {
        "jobs": args.jobs,
        "wait_ms": args.wait_ms,
        "create_s": create_s,
        "wall_s": wall_s,
        "span_s": float(span),
        "peak": peak,
        "wait_p50_s": float(wait50),
        "wait_p95_s": float(wait95),
        "run_p50_s": float(run50),
        "run_p95_s": float(run95),
    }


def run(args: Any) -> dict[str, float]:
    baseline_s = asyncio.run(gather_baseline(args.jobs, args.wait_ms))
    with BenchServers() as servers, workers(servers.root / "logs") as group:
        env = servers.folio_env(FOLIO_WORKER_PROCESSES="1", FOLIO_LOG_LEVEL="WARNING")
        env["PYTHONPATH"] = os.pathsep.join([str(NOOP_DIR), env.get("PYTHONPATH", "")])
        group.spawn(worker_argv(args.threads), env, "kinds")
        result = asyncio.run(measure(servers, args))
    return {"baseline_s": baseline_s, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000)
    parser.add_argument("--wait-ms", type=int, default=2_000)
    parser.add_argument(
        "--threads", type=int, default=None, help="worker threads (default: Folio's)"
    )
    parser.add_argument("--timeout-s", type=float, default=120.0)
    args = parser.parse_args()
    r = run(args)
    print(f"{r['jobs']} jobs awaiting {r['wait_ms']} ms, one worker process")
    print(f"  asyncio.gather baseline:   {r['baseline_s']:.2f} s")
    print(
        f"  Folio, submit to all done: {r['wall_s']:.2f} s"
        f" (creating and sending the jobs: {r['create_s']:.2f} s)"
    )
    print(f"  last job sent to all done: {r['wall_s'] - r['create_s']:.2f} s")
    print(f"  first created to last finished (rows): {r['span_s']:.2f} s")
    print(
        f"  Folio's overhead: +{r['wall_s'] - r['baseline_s']:.2f} s"
        f" ({r['wall_s'] / r['baseline_s']:.2f} x the baseline)"
    )
    print(f"  peak in flight (rows): {r['peak']}")
    print(
        f"  queue wait p50 {r['wait_p50_s']:.2f} s, p95 {r['wait_p95_s']:.2f} s;"
        f" run time p50 {r['run_p50_s']:.2f} s, p95 {r['run_p95_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
