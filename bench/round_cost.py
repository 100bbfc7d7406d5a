"""What one bookkeeping round costs PostgreSQL and its client, alone: the
worker's round statement (:func:`folio_shared.jobs.store_batch.run_round`)
run back to back on one connection of a pool like the worker's (generic
plans, role ``folio_app``), with no worker, no other thread and no other
client, beside single-row statements on the same table for scale.

Starts its own Redis and PostgreSQL (``--fsync`` for fsync on), queues
``--jobs`` tracked no-op jobs as ``broker_overhead.py`` does (their
messages are not consumed), then for each round size *n* in ``--sizes``
runs rounds of *n* claims plus the outcomes of the *n* jobs the previous
round claimed, and prints per round: wall time (mean, median), the
PostgreSQL backend's CPU (from ``/proc``) and the client's CPU. In a
worker, compare these with ``bench/job_timeline.py``'s rounds: what a
round takes there beyond this is waiting (for the CPU, the interpreter
lock, the event loop).

    .venv/bin/python bench/round_cost.py --jobs 4000 --sizes 1 2 4 8 [--fsync]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

from _servers import BenchServers
from broker_overhead import _create_folio_jobs

from folio_shared.db.engine import create_raw_pool
from folio_shared.db.enums import JobStatus
from folio_shared.jobs import store_batch
from folio_shared.jobs.store import Claim
from folio_shared.jobs.store_batch import ClaimRequest, OutcomeRequest, Request

#: Single-row statements for scale: (name, SQL, whether it takes a job id).
SCALE = (
    ("SELECT 1", "SELECT 1", False),
    ("UPDATE of updated_at, one row", "UPDATE jobs SET updated_at = now() WHERE id = $1", True),
    (
        "INSERT of one job event",
        "INSERT INTO job_events (job_id, kind, status, data) VALUES ($1, 'state', 'running', '{}')",
        True,
    ),
)


def _backend_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _line(name: str, walls: list[float], server_s: float, client_s: float) -> str:
    n = len(walls)
    return (
        f"| {name} | {n} | {1000 * statistics.fmean(walls):.3f} |"
        f" {1000 * statistics.median(walls):.3f} | {1000 * server_s / n:.3f} |"
        f" {1000 * client_s / n:.3f} |"
    )


async def _rounds(conn: Any, pid: int, ids: list[uuid.UUID], size: int) -> str:
    claimed: list[Claim] = []
    walls: list[float] = []
    server0, client0 = _backend_cpu_s(pid), time.thread_time()
    for i in range(0, len(ids) - size + 1, size):
        requests: list[Request] = [ClaimRequest(j, False, str(j)) for j in ids[i : i + size]]
        requests += [OutcomeRequest(c.job_id, c.attempt, JobStatus.SUCCEEDED) for c in claimed]
        started = time.perf_counter()
        results = await store_batch.run_round(conn, requests, worker="bench", lease_ms=60_000)
        walls.append(time.perf_counter() - started)
        claimed = [r for r in results if isinstance(r, Claim)]
        if len(claimed) != size:
            raise RuntimeError(f"claimed {len(claimed)} of {size}")
    server_s, client_s = _backend_cpu_s(pid) - server0, time.thread_time() - client0
    return _line(f"round: {size} claims + {size} outcomes", walls, server_s, client_s)


async def _scale(conn: Any, pid: int, ids: list[uuid.UUID]) -> list[str]:
    lines = []
    for name, sql, with_id in SCALE:
        statement = await conn.prepare(sql)
        walls: list[float] = []
        server0, client0 = _backend_cpu_s(pid), time.thread_time()
        for job_id in ids:
            started = time.perf_counter()
            await statement.fetch(*((job_id,) if with_id else ()))
            walls.append(time.perf_counter() - started)
        server_s, client_s = _backend_cpu_s(pid) - server0, time.thread_time() - client0
        lines.append(_line(name, walls, server_s, client_s))
    return lines


async def measure(servers: BenchServers, jobs: int, sizes: list[int]) -> list[str]:
    lines = []
    for size in sizes:
        await _create_folio_jobs(servers, jobs)  # a fresh set for each size
        pool = await create_raw_pool(
            servers.folio_settings(), min_size=1, max_size=1, generic_plans=True
        )
        try:
            async with pool.acquire() as conn:
                rows = await conn.fetch("SELECT id FROM jobs ORDER BY created_at, id")
                ids = [row["id"] for row in rows]
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                lines.append(await _rounds(conn, pid, ids, size))
                if size == sizes[-1]:
                    lines += await _scale(conn, pid, ids)
        finally:
            await pool.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4_000, help="jobs per round size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--fsync", action="store_true", help="PostgreSQL fsync on")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.1f}")
    with BenchServers(fsync=args.fsync) as servers:
        lines = asyncio.run(measure(servers, args.jobs, args.sizes))
    print(f"load: {os.getloadavg()[0]:.1f}; PostgreSQL fsync {'on' if args.fsync else 'off'}\n")
    print("| statement | runs | wall mean ms | wall median ms | PostgreSQL CPU ms | client CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
