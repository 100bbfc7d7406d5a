"""An outcome its fence refused (the attempt's lease went to another
worker) is not announced in the job's live feed, on real Redis and
PostgreSQL: the feed a client follows ends at its first terminal event,
so a refused ``succeeded`` would end it while the job still runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import start_echo, wait_for
from support.workers import start_in_process

from folio_shared.db.models import Job
from folio_shared.jobs import Jobs, events
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def test_a_success_refused_by_its_fence_publishes_no_terminal_event(
    engine: AsyncEngine, settings: FolioSettings, redis: aioredis.Redis, key: str
) -> None:
    # Given a worker running a tracked job
    running = start_in_process(settings, threads=1)
    jobs = Jobs(engine, running.broker, redis)
    try:
        job_id = await start_echo(jobs, key, 1_500)
        # When its lease is lost meanwhile and another worker runs attempt 2
        lease = datetime.now(UTC) + timedelta(minutes=1)
        taken = {"attempts": 2, "worker": "another-worker", "lease_expires_at": lease}
        async with engine.begin() as conn:
            await conn.execute(sa.update(Job).where(Job.id == job_id).values(**taken))
        gate = running.broker.ack_gate

        async def acked() -> bool:
            return gate.acked >= 1

        await wait_for(acked, what="the first attempt's message to be acked")
        await asyncio.sleep(0.5)  # the round's events are sent after its commit
    finally:
        running.stop()

    # Then the row is still the other worker's attempt (the fence held)
    job = await jobs.get(job_id)
    assert (job.status, job.attempts) == ("running", 2)
    # And the live feed says nothing terminal about the refused attempt
    feed = await events.read(redis, job_id)
    assert [e.data for e in feed if e.type == "state"] == [{"status": "running", "attempt": 1}]
    assert not any(e.terminal for e in feed)
