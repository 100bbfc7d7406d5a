"""Job-engine helpers of the tests: settings, waiting, counters, history."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio_devstack.servers import RedisServer
from folio_shared.broker import create_broker
from folio_shared.db.engine import async_database_url
from folio_shared.db.models import Job, JobEvent
from folio_shared.jobs import Jobs, events
from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    JobSettings,
    RedisSettings,
    StorageSettings,
)
from support.actors import EchoV1, new_id

#: Job settings of the tests: short leases, quick retries and reconciling.
TEST_JOB_SETTINGS: dict[str, Any] = {
    "lease_ms": 2_000,
    "min_backoff_ms": 50,
    "max_backoff_ms": 200,
    "reconcile_interval_ms": 500,
    "lost_after_ms": 2_000,
    "stranded_after_ms": 10_000,
    "max_retries": 3,
}


def job_settings(database_url: str, redis_url: str, tmp: Path, **jobs: Any) -> FolioSettings:
    """Settings of a job-engine test: a broker namespace of its own, local
    storage under ``tmp``, :data:`TEST_JOB_SETTINGS` updated with ``jobs``."""
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url),
        # Dead workers are noticed after 5 s instead of Dramatiq's 60 s.
        broker=BrokerSettings(namespace=f"t{uuid.uuid4().hex[:10]}", heartbeat_timeout_ms=5_000),
        storage=StorageSettings(local_root=tmp / "store"),
        jobs=JobSettings(**{**TEST_JOB_SETTINGS, **jobs}),
    )


def drop_namespace(redis_url: str, namespace: str) -> None:
    """Delete every Redis key of a broker namespace (queues, Folio's own)."""
    client = redis.Redis.from_url(redis_url)
    for pattern in (f"{namespace}:*", f"folio:{namespace}:*"):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


async def wait_for(
    predicate: Callable[[], Awaitable[Any]], *, timeout_s: float = 30, what: str = "condition"
) -> Any:
    """The first truthy value ``predicate`` gives, polled every 50 ms."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def at_least(value: Awaitable[int], n: int) -> bool:
    """Whether ``value`` (a counter read) is at least ``n``."""
    return await value >= n


async def wait_status(jobs: Jobs, job_id: uuid.UUID, *statuses: str, timeout_s: float = 30) -> Job:
    """The job once its status is one of ``statuses``."""

    async def check() -> Job | None:
        job = await jobs.get(job_id)
        return job if str(job.status) in statuses else None

    result: Job = await wait_for(check, timeout_s=timeout_s, what=f"job {job_id} in {statuses}")
    return result


async def state_history(engine: AsyncEngine, job_id: uuid.UUID) -> list[str]:
    """The statuses a job went through, in order (its ``state`` events)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(JobEvent.status)
            .where(JobEvent.job_id == job_id, JobEvent.kind == "state")
            .order_by(JobEvent.id)
        )
        return [str(r[0]) for r in rows]


async def runs(redis_client: aioredis.Redis, key: str, what: str) -> int:
    """How many times the test actors counted ``what`` under ``key``."""
    return int(await redis_client.get(f"test:{key}:{what}") or 0)


async def counter(settings: FolioSettings, key: str, what: str) -> int:
    """:func:`runs`, with a Redis client of its own."""
    client = aioredis.Redis.from_url(settings.redis.url)
    try:
        return await runs(client, key, what)
    finally:
        await client.aclose()


async def queued_document(engine: AsyncEngine) -> tuple[uuid.UUID, uuid.UUID]:
    """A new tenant and a ``queued`` document of it: their ids."""
    tenant_id, doc_id = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO tenants (id, name) VALUES (:t, :n)"),
            {"t": tenant_id, "n": f"t-{tenant_id.hex[:8]}"},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO documents (id, tenant_id, filename, storage_key, status)"
                " VALUES (:d, :t, 'a.pdf', :k, 'queued')"
            ),
            {"d": doc_id, "t": tenant_id, "k": f"k/{doc_id}"},
        )
    return tenant_id, doc_id


async def finish_as_worker(
    database_url: str,
    redis_client: aioredis.Redis,
    job_id: uuid.UUID | str,
    status: str,
    **data: Any,
) -> str | None:
    """End a job as its worker does: the row first, then the terminal event
    on its live feed (whose id is returned). Opens its own engine, so it
    may run on any event loop."""
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(Job)
                .where(Job.id == uuid.UUID(str(job_id)))
                .values(status=status, finished_at=sa.func.now())
            )
    finally:
        await engine.dispose()
    return await events.publish(redis_client, job_id, "state", {"status": status, **data})


async def terminal_events_per_job(engine: AsyncEngine, ids: list[uuid.UUID]) -> set[int]:
    """How many terminal events each job has (``{1}``: every job ended once)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(JobEvent.job_id, sa.func.count())
            .where(
                JobEvent.job_id.in_(ids),
                JobEvent.status.in_(["succeeded", "failed", "dead", "cancelled"]),
            )
            .group_by(JobEvent.job_id)
        )
        counts = dict(rows.all())
    return {counts.get(i, 0) for i in ids}


async def redis_fault(server: RedisServer, fault: str) -> None:
    """``restart`` the test's own Redis (it keeps its AOF) or ``flushall`` it."""
    if fault == "restart":
        server.restart()
        return
    client = aioredis.Redis.from_url(server.url)
    await client.flushall()
    await client.aclose()


@contextlib.asynccontextmanager
async def sending_jobs(engine: AsyncEngine, settings: FolioSettings) -> AsyncIterator[Jobs]:
    """The sending side (the API's): a broker that runs no actor."""
    broker = create_broker(settings)
    client = aioredis.Redis.from_url(settings.redis.url)
    try:
        yield Jobs(engine, broker, client)
    finally:
        await client.aclose()
        broker.close()


@contextlib.asynccontextmanager
async def api_jobs(database_url: str, settings: FolioSettings) -> AsyncIterator[Jobs]:
    """:func:`sending_jobs` on an engine of its own, disposed afterwards
    (what the HTTP API uses to create and follow jobs)."""
    engine = create_async_engine(database_url)
    try:
        async with sending_jobs(engine, settings) as jobs:
            yield jobs
    finally:
        await engine.dispose()


async def start_echo(jobs: Jobs, key: str, sleep_ms: int, **options: Any) -> uuid.UUID:
    """A test echo job sleeping ``sleep_ms``, once it is running (past its
    ``progress()`` call); ``options`` go to :meth:`Jobs.enqueue`."""
    job_id = new_id()
    await jobs.enqueue(EchoV1(job_id=str(job_id), key=key, sleep_ms=sleep_ms), **options)

    async def echoing() -> bool:
        return (await jobs.get(job_id)).stage == "echoing"

    await wait_for(echoing, timeout_s=60, what="the echo job to run")
    return job_id
