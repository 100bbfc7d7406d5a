"""Long fault runs: the faults of ``test_job_faults.py`` again and again
over many more jobs, a PostgreSQL restart, and a soak — every job still
ends once.

Each test has a ``short`` case, run by ``make test``, and a ``long`` one
(marker ``long``), run by ``make test-reliability`` only (minutes each).
docs/reliability.md lists both.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from support.actors import EchoV1
from support.jobs import job_settings, redis_fault, terminal_events_per_job, wait_for

from folio_devstack.ports import pick_port
from folio_devstack.servers import PostgresServer, RedisServer
from folio_shared.broker import create_broker
from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url
from folio_shared.db.models import Job
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Run:
    """``jobs`` echo jobs of ``sleep_ms`` each, and ``faults`` faults spread over them."""

    jobs: int
    faults: int
    sleep_ms: int = 20


#: A long case's marks: only in make test-reliability, and up to 20 min.
LONG_MARKS = (pytest.mark.long, pytest.mark.timeout(1_200))
SHORT = pytest.param(Run(jobs=120, faults=1), id="short")
LONG = pytest.param(Run(jobs=1_500, faults=5), id="long", marks=LONG_MARKS)


async def count_succeeded(engine: AsyncEngine, ids: list[uuid.UUID]) -> int:
    async with engine.connect() as conn:
        n = await conn.scalar(
            sa.select(sa.func.count()).where(Job.id.in_(ids), Job.status == "succeeded")
        )
    return int(n or 0)


async def send(jobs: Jobs, run: Run) -> list[uuid.UUID]:
    key = uuid.uuid4().hex[:8]
    ids = [uuid.uuid4() for _ in range(run.jobs)]
    for job_id in ids:
        await jobs.enqueue(EchoV1(job_id=str(job_id), key=key, sleep_ms=run.sleep_ms))
    return ids


async def at_fractions(jobs: Jobs, ids: list[uuid.UUID], run: Run) -> AsyncIterator[int]:
    """Yield fault number ``i`` once ``i / (faults + 1)`` of the jobs succeeded."""
    for i in range(1, run.faults + 1):
        goal = len(ids) * i // (run.faults + 1)

        async def reached(goal: int = goal) -> bool:
            return await count_succeeded(jobs.engine, ids) >= goal

        await wait_for(reached, timeout_s=600, what=f"{goal} jobs to succeed")
        yield i


async def all_ended_once(jobs: Jobs, ids: list[uuid.UUID], timeout_s: float) -> None:
    async def done() -> bool:
        return await count_succeeded(jobs.engine, ids) == len(ids)

    await wait_for(done, timeout_s=timeout_s, what=f"all {len(ids)} jobs to succeed")
    assert await terminal_events_per_job(jobs.engine, ids) == {1}


@pytest.fixture
async def redis_jobs(
    database_url: str, own_redis: RedisServer, tmp_path: Path
) -> AsyncIterator[tuple[Jobs, FolioSettings]]:
    settings = job_settings(database_url, own_redis.url, tmp_path, lease_ms=1_500)
    engine = create_async_engine(async_database_url(database_url))
    broker = create_broker(settings)
    client = aioredis.Redis.from_url(settings.redis.url)
    yield Jobs(engine, broker, client), settings
    await client.aclose()
    broker.close()
    await engine.dispose()


@pytest.mark.parametrize("run", [LONG])
async def test_repeated_sigkills_lose_nothing(
    redis_jobs: tuple[Jobs, FolioSettings], spawn: Any, run: Run
) -> None:
    """The short case is ``test_job_faults.py::test_sigkilled_worker_loses_nothing``."""
    jobs, settings = redis_jobs
    ids = await send(jobs, run)
    worker = spawn(settings)
    async for _ in at_fractions(jobs, ids, run):
        worker.kill()
        worker = spawn(settings)
    await all_ended_once(jobs, ids, timeout_s=900)


@pytest.mark.parametrize("fault", ["restart", "flushall"])
@pytest.mark.parametrize("run", [LONG])
async def test_repeated_redis_restarts_or_flushes_lose_nothing(
    redis_jobs: tuple[Jobs, FolioSettings], spawn: Any, own_redis: RedisServer,
    run: Run, fault: str,
) -> None:  # fmt: skip
    """The short cases are ``test_job_faults.py::test_redis_restart_or_flush_mid_run``."""
    jobs, settings = redis_jobs
    ids = await send(jobs, run)
    spawn(settings)
    spawn(settings)
    async for _ in at_fractions(jobs, ids, run):
        await redis_fault(own_redis, fault)
    await all_ended_once(jobs, ids, timeout_s=900)


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    """A PostgreSQL of the test's own, which it restarts; stopped at the end."""
    with PostgresServer(pick_port(15733), tmp_path / "pg", fsync=False) as pg:
        yield pg


@pytest.mark.parametrize("run", [SHORT, LONG])
async def test_postgres_restarts_mid_run_lose_nothing(
    own_postgres: PostgresServer, own_redis: RedisServer, spawn: Any, tmp_path: Path, run: Run
) -> None:
    # Given workers busy with jobs recorded in a PostgreSQL of the test's own
    own_postgres.psql("CREATE DATABASE folio_restarts")
    url = own_postgres.url("folio_restarts")
    migrate.upgrade(url)
    settings = job_settings(url, own_redis.url, tmp_path, lease_ms=1_500)
    engine = create_async_engine(async_database_url(url), pool_pre_ping=True)
    broker = create_broker(settings)
    client = aioredis.Redis.from_url(settings.redis.url)
    jobs = Jobs(engine, broker, client)
    try:
        ids = await send(jobs, run)
        spawn(settings)
        spawn(settings)
        # When PostgreSQL restarts, again and again, mid-run
        async for _ in at_fractions(jobs, ids, run):
            own_postgres.restart()
        # Then every job succeeds, once
        await all_ended_once(jobs, ids, timeout_s=900)
    finally:
        await client.aclose()
        broker.close()
        await engine.dispose()


def group_rss_bytes(leader_pid: int) -> int:
    """The resident memory of a worker's process group (supervisor and workers)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == leader_pid:  # the process group id
            total += int(fields[21]) * 4096  # rss, in pages
    return total


@pytest.mark.parametrize(
    "run",
    [pytest.param(Run(jobs=300, faults=0, sleep_ms=0), id="short"),
     pytest.param(Run(jobs=8_000, faults=0, sleep_ms=0), id="long", marks=LONG_MARKS)],
)  # fmt: skip
async def test_a_soak_ends_every_job_once_with_flat_worker_memory(
    redis_jobs: tuple[Jobs, FolioSettings], spawn: Any, run: Run
) -> None:
    # Given one worker warmed up on a fifth of the run
    jobs, settings = redis_jobs
    ids = await send(jobs, run)
    worker = spawn(settings)
    warm = len(ids) // 5

    async def warmed() -> bool:
        return await count_succeeded(jobs.engine, ids) >= warm

    await wait_for(warmed, timeout_s=300, what=f"{warm} jobs to succeed")
    after_warm_up = group_rss_bytes(worker.proc.pid)
    # When it runs the rest
    await all_ended_once(jobs, ids, timeout_s=900)
    # Then every job ended once, and its memory grew by less than 10 %
    at_end = group_rss_bytes(worker.proc.pid)
    assert after_warm_up > 0
    assert at_end < after_warm_up * 1.10, (after_warm_up, at_end)
