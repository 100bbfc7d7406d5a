"""A job claimed while its worker is still booting keeps its lease.

Dramatiq starts consuming before its ``after_worker_boot`` hooks run, so a
queued job can be claimed before JobTracking's ``after_worker_boot``. Its
lease must still be renewed: it is not reaped and run a second time while
its first attempt is still working.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import dramatiq
import pytest
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import SlowV1, declare
from support.jobs import drop_namespace, wait_status
from support.workers import free_port, tune

from folio_shared.broker import create_broker
from folio_shared.db.models import Job
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


class HoldBoot(Middleware):
    """Last in the stack, so its ``after_worker_boot`` runs before every
    other one (Dramatiq runs ``after_*`` hooks in reverse order): it holds
    the boot until the test actor has started (at most ``timeout_s``)."""

    def __init__(self, redis_url: str, key: str, timeout_s: float = 20) -> None:
        self.redis_url, self.key, self.timeout_s = redis_url, key, timeout_s

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        client = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + self.timeout_s
        try:
            while not client.get(f"test:{self.key}:slow:started"):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)
        finally:
            client.close()


async def test_a_job_claimed_during_boot_has_its_lease_renewed(
    settings: FolioSettings, engine: AsyncEngine, key: str
) -> None:
    # Given a worker whose boot is held until it has claimed a slow job
    # (5 s of work against a 2 s lease)
    broker = create_broker(settings)
    declare(broker)
    tune(broker, metrics_port=free_port())
    broker.add_middleware(HoldBoot(settings.redis.url, key))
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    client = aioredis.Redis.from_url(settings.redis.url)
    job_id = uuid.uuid4()
    try:
        jobs = Jobs(engine, broker, client)
        await jobs.enqueue(SlowV1(job_id=str(job_id), key=key, steps=50, step_ms=100))
        await asyncio.to_thread(worker.start)
        assert await client.get(f"test:{key}:slow:started"), "the job did not start during boot"

        # When the job has run past its first lease and more
        await asyncio.sleep(3.5)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(Job.status, Job.attempts, Job.lease_expires_at > sa.func.now()).where(
                        Job.id == job_id
                    )
                )
            ).one()
        # Then its lease is still ahead (renewed) and it was never run again
        assert (str(row[0]), row[1], row[2]) == ("running", 1, True)
        done = await wait_status(jobs, job_id, "succeeded", timeout_s=30)
        assert done.attempts == 1
        assert int(await client.get(f"test:{key}:slow:started") or 0) == 1
    finally:
        await asyncio.to_thread(worker.stop, 10_000)
        broker.close()
        await client.aclose()
        drop_namespace(settings.redis.url, settings.broker.namespace)
