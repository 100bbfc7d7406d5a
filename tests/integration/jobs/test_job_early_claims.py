"""A job is claimed as its message is fetched, before a worker thread is
free for it (:mod:`folio_shared.jobs.reserve`), on real Redis and
PostgreSQL: its lease is kept while it waits, and a claim whose message
never ran is given back."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, new_id
from support.jobs import start_echo, terminal_events_per_job, wait_for
from support.workers import start_in_process

from folio_shared.db.models import Job
from folio_shared.jobs import Jobs, events
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def _row(engine: AsyncEngine, job_id: object) -> sa.Row[tuple[str, int, dt.datetime, bool]]:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(
                    Job.status,
                    Job.attempts,
                    Job.lease_expires_at,
                    Job.lease_expires_at > sa.func.now(),
                ).where(Job.id == job_id)
            )
        ).one()


def _early_claims(settings: FolioSettings, **jobs: Any) -> FolioSettings:
    """``settings`` with early claims on (off by default), and ``jobs``."""
    update = {"early_claims": True, **jobs}
    return settings.model_copy(update={"jobs": settings.jobs.model_copy(update=update)})


async def _busy_and_claimed_behind(
    engine: AsyncEngine, jobs: Jobs, key: str, busy_ms: int
) -> tuple[uuid.UUID, uuid.UUID]:
    """A job running ``busy_ms`` on a worker's only thread, and a second
    job sent behind it, once that one's row says it was claimed."""
    busy, waiting = await start_echo(jobs, key, busy_ms), new_id()
    await jobs.enqueue(EchoV1(job_id=str(waiting), key=key))

    async def claimed() -> bool:
        return (await _row(engine, waiting)).status == "running"

    await wait_for(claimed, timeout_s=busy_ms / 3000, what="the second job's claim")
    assert (await jobs.get(busy)).status == "running"
    return busy, waiting


async def test_a_job_is_claimed_before_a_thread_is_free_and_keeps_its_lease(
    engine: AsyncEngine,
    settings: FolioSettings,
    redis: aioredis.Redis,
    key: str,
) -> None:
    # Given a worker with one thread, busy with a job for 2.5 leases (of
    # 4 s: a loaded machine may hold a heartbeat up for a 2 s one)
    settings = _early_claims(settings, lease_ms=4_000)
    running = start_in_process(settings, threads=1)
    jobs = Jobs(engine, running.broker, redis)
    lease_s = settings.jobs.lease_ms / 1000
    try:
        # When a second job's message comes behind it, then it is claimed
        # while the only thread still runs the first
        busy, waiting = await _busy_and_claimed_behind(engine, jobs, key, int(2_500 * lease_s))
        # And its lease is renewed while it waits: past its first lease,
        # it is still this claim's (not lost, not sent again)
        await asyncio.sleep(1.5 * lease_s)
        status, attempts, _, lease_held = await _row(engine, waiting)
        assert (status, attempts, lease_held) == ("running", 1, True)
        assert (await jobs.get(busy)).status == "running"

        async def both_done() -> bool:
            return {(await jobs.get(j)).status for j in (busy, waiting)} == {"succeeded"}

        await wait_for(both_done, timeout_s=30, what="both jobs to succeed")
        assert (await _row(engine, waiting)).attempts == 1
        assert await terminal_events_per_job(engine, [busy, waiting]) == {1}
    finally:
        running.stop()


async def test_a_claim_whose_message_never_ran_is_given_back_at_shutdown(
    engine: AsyncEngine,
    settings: FolioSettings,
    redis: aioredis.Redis,
    key: str,
) -> None:
    # Given a worker with one thread, busy, and a second job claimed behind it
    settings = _early_claims(settings)
    running = start_in_process(settings, threads=1)
    jobs = Jobs(engine, running.broker, redis)
    busy, waiting = await _busy_and_claimed_behind(engine, jobs, key, 9_000)
    # When the worker stops before a thread took the second message
    await asyncio.to_thread(running.worker.stop, 10_000)
    # Then its job is queued again with its attempt given back
    status, attempts, lease, _ = await _row(engine, waiting)
    assert (status, attempts, lease) == ("queued", 0, None)
    assert (await jobs.get(busy)).status == "succeeded"
    # And its live feed follows the row: `running` (the claim), then `queued`
    # again, so a client following the job does not see it running meanwhile
    await asyncio.sleep(0.5)  # events are sent from the loop, after the commit
    feed = [e.data for e in await events.read(redis, waiting) if e.type == "state"]
    assert [e["status"] for e in feed] == ["running", "queued"], feed
    assert feed[-1] == {"status": "queued", "attempt": 0, "unclaimed": True}
    # And its message is back in Redis: another worker runs it once, as its
    # first attempt, before the reconciler would send a stranded job again
    again = start_in_process(settings, threads=1)
    try:

        async def done() -> bool:
            return (await jobs.get(waiting)).status == "succeeded"

        stranded_s = settings.jobs.stranded_after_ms / 1000
        await wait_for(done, timeout_s=stranded_s / 2, what="the given-back job to succeed")
        assert (await _row(engine, waiting)).attempts == 1
        assert await terminal_events_per_job(engine, [busy, waiting]) == {1}
    finally:
        again.stop()
        running.broker.close()
