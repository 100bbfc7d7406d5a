"""Fixtures of the job-engine tests: settings, an in-process worker, the API side.

Each test module gets a fresh migrated database (``database_url``) and each
test its own broker namespace in the test Redis, so nothing leaks between
tests. The worker runs Folio's real middleware stack in this process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from job_actors import declare
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio_shared.broker import create_broker
from folio_shared.db.models import Job, JobEvent
from folio_shared.jobs import Jobs
from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    JobSettings,
    RedisSettings,
    StorageSettings,
)

pytestmark = pytest.mark.integration


def job_settings_for(database_url: str, redis_url: str, tmp: Path, **jobs: Any) -> FolioSettings:
    defaults: dict[str, Any] = {
        "lease_ms": 2_000,
        "min_backoff_ms": 50,
        "max_backoff_ms": 200,
        "reconcile_interval_ms": 500,
        "lost_after_ms": 2_000,
        "max_retries": 3,
    }
    defaults.update(jobs)
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url),
        broker=BrokerSettings(namespace=f"t{uuid.uuid4().hex[:10]}"),
        storage=StorageSettings(local_root=tmp / "store"),
        jobs=JobSettings(**defaults),
    )


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return job_settings_for(database_url, test_servers.redis_url, tmp_path)


def drop_namespace(redis_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for pattern in (f"{namespace}:*", f"folio:{namespace}:*"):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


@dataclass
class RunningWorker:
    broker: dramatiq.Broker
    worker: dramatiq.Worker
    actors: dict[str, Any]


@pytest.fixture
def worker(settings: FolioSettings) -> Iterator[RunningWorker]:
    broker = create_broker(settings)
    actors = declare(broker)
    # What Dramatiq's CLI does in each worker process before the worker
    # starts (TimeLimit starts its timer thread on this signal).
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    yield RunningWorker(broker, worker, actors)
    worker.stop(timeout=10_000)
    broker.close()
    drop_namespace(settings.redis.url, settings.broker.namespace)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def jobs(
    engine: AsyncEngine, worker: RunningWorker, settings: FolioSettings
) -> AsyncIterator[Jobs]:
    client = aioredis.Redis.from_url(settings.redis.url)
    yield Jobs(engine, worker.broker, client)
    await client.aclose()


@pytest.fixture
def key() -> str:
    """A Redis counter prefix of the test's own."""
    return uuid.uuid4().hex[:12]


async def wait_for(
    predicate: Callable[[], Any], *, timeout_s: float = 30, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def wait_status(
    jobs: Jobs, job_id: uuid.UUID, statuses: set[str], timeout_s: float = 30
) -> Job:
    async def check() -> Job | None:
        job = await jobs.get(job_id)
        return job if str(job.status) in statuses else None

    result: Job = await wait_for(check, timeout_s=timeout_s, what=f"job in {statuses}")
    return result


async def state_history(engine: AsyncEngine, job_id: uuid.UUID) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(JobEvent.status)
            .where(JobEvent.job_id == job_id, JobEvent.kind == "state")
            .order_by(JobEvent.id)
        )
        return [str(r[0]) for r in rows]


async def counter(settings: FolioSettings, key: str, what: str) -> int:
    client = aioredis.Redis.from_url(settings.redis.url)
    try:
        value = await client.get(f"test:{key}:{what}")
    finally:
        await client.aclose()
    return int(value or 0)
