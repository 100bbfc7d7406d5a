"""Helpers of the job-engine tests (settings, waiting, counters, history)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

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
        # Dead workers are noticed after 5 s instead of Dramatiq's 60 s.
        broker=BrokerSettings(namespace=f"t{uuid.uuid4().hex[:10]}", heartbeat_timeout_ms=5_000),
        storage=StorageSettings(local_root=tmp / "store"),
        jobs=JobSettings(**defaults),
    )


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
