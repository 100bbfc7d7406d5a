"""Nothing is lost: worker SIGKILL, SIGTERM, poison jobs, Redis down, Redis
restarted (AOF) and Redis flushed — real worker processes, real servers.

Each test runs Folio's worker (the same supervisor as ``folio-worker-docs``)
as separate processes against its own Redis, and only checks outcomes in
PostgreSQL: every job reaches its final state, written once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, SlowV1, SuicideV1
from support.jobs import (
    api_jobs,
    at_least,
    counter,
    job_settings,
    redis_fault,
    terminal_events_per_job,
    wait_for,
)

from folio_devstack.servers import RedisServer
from folio_shared.db.models import Job
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def fault_settings(database_url: str, own_redis: RedisServer, tmp_path: Path) -> FolioSettings:
    return job_settings(database_url, own_redis.url, tmp_path, lease_ms=1_500)


@pytest.fixture
async def jobs(database_url: str, fault_settings: FolioSettings) -> AsyncIterator[Jobs]:
    """The API side: what the HTTP API uses to create and follow jobs."""
    async with api_jobs(database_url, fault_settings) as api:
        yield api


async def final_states(engine: AsyncEngine, ids: list[uuid.UUID]) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(Job.status, sa.func.count()).where(Job.id.in_(ids)).group_by(Job.status)
        )
        return {str(status): n for status, n in rows}


async def all_succeeded(jobs: Jobs, ids: list[uuid.UUID], timeout_s: float) -> None:
    async def done() -> bool:
        return (await final_states(jobs.engine, ids)).get("succeeded", 0) == len(ids)

    try:
        await wait_for(done, timeout_s=timeout_s, what=f"{len(ids)} jobs to succeed")
    except AssertionError as e:
        raise AssertionError(f"{e}; {await not_succeeded(jobs.engine, ids)}") from None


async def not_succeeded(engine: AsyncEngine, ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    """The jobs that did not succeed, as they stand (for a failure message)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                Job.id,
                Job.status,
                Job.attempts,
                Job.cause,
                Job.error_message,
                Job.lease_expires_at,
                Job.worker,
                Job.eta,
                Job.sent_at,
            ).where(Job.id.in_(ids), Job.status != "succeeded")
        )
        return [tuple(row) for row in rows]


async def send_echoes(jobs: Jobs, key: str, n: int, sleep_ms: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    for job_id in ids:
        await jobs.enqueue(EchoV1(job_id=str(job_id), key=key, sleep_ms=sleep_ms))
    return ids


async def test_sigkilled_worker_loses_nothing(
    jobs: Jobs, spawn: Any, fault_settings: FolioSettings
) -> None:
    key = uuid.uuid4().hex[:8]
    ids = await send_echoes(jobs, key, 200, sleep_ms=40)
    first = spawn(fault_settings)
    await wait_for(
        lambda: at_least(counter(fault_settings, key, "echo"), 40),
        timeout_s=60,
        what="the first worker to be busy",
    )
    first.kill()
    states = await final_states(jobs.engine, ids)
    assert states.get("succeeded", 0) < 200, "the kill happened mid-run"
    spawn(fault_settings)
    await all_succeeded(jobs, ids, timeout_s=120)
    assert await terminal_events_per_job(jobs.engine, ids) == {1}


async def test_redis_down_at_upload_then_relayed(
    jobs: Jobs, spawn: Any, fault_settings: FolioSettings, own_redis: RedisServer
) -> None:
    key = uuid.uuid4().hex[:8]
    own_redis.stop()
    ids = await send_echoes(jobs, key, 50, sleep_ms=0)
    assert await final_states(jobs.engine, ids) == {"pending": 50}
    own_redis.start()
    spawn(fault_settings)  # its reconciler relays the outbox
    await all_succeeded(jobs, ids, timeout_s=60)
    assert await terminal_events_per_job(jobs.engine, ids) == {1}


async def test_a_frozen_redis_does_not_stall_the_event_loop(
    jobs: Jobs, spawn: Any, fault_settings: FolioSettings, own_redis: RedisServer
) -> None:
    # Given a Redis that hangs (the process stopped: connections open, no
    # reply) while a job is created and sent, as the API does per upload
    key = uuid.uuid4().hex[:8]
    await send_echoes(jobs, key, 1, sleep_ms=0)  # the sender's connection is open
    assert own_redis.pid is not None
    loop = asyncio.get_running_loop()
    longest_gap = 0.0

    async def ticker() -> None:
        nonlocal longest_gap
        last = loop.time()
        while True:
            await asyncio.sleep(0.01)
            longest_gap = max(longest_gap, loop.time() - last)
            last = loop.time()

    ticks = asyncio.create_task(ticker())
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        sending = asyncio.create_task(send_echoes(jobs, key, 1, sleep_ms=0))
        await asyncio.sleep(2.0)
        assert not sending.done(), "the send waits for Redis"
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    (job_id,) = await sending
    ticks.cancel()
    # Then the loop kept serving other work meanwhile (a blocking enqueue
    # would have held it for the whole two seconds, or until its socket
    # timed out; a loaded machine alone leaves it idle a few hundred ms),
    # and the job still runs
    assert longest_gap < 1.0
    spawn(fault_settings)
    await all_succeeded(jobs, [job_id], timeout_s=60)


@pytest.mark.parametrize("fault", ["restart", "flushall"])
async def test_redis_restart_or_flush_mid_run(
    jobs: Jobs, spawn: Any, fault_settings: FolioSettings, own_redis: RedisServer, fault: str
) -> None:
    key = uuid.uuid4().hex[:8]
    ids = await send_echoes(jobs, key, 150, sleep_ms=30)
    spawn(fault_settings)
    await wait_for(
        lambda: at_least(counter(fault_settings, key, "echo"), 30),
        timeout_s=60,
        what="the worker to be busy",
    )
    await redis_fault(own_redis, fault)
    await all_succeeded(jobs, ids, timeout_s=120)
    assert await terminal_events_per_job(jobs.engine, ids) == {1}


async def test_sigterm_finishes_or_hands_back_running_jobs(
    jobs: Jobs, spawn: Any, fault_settings: FolioSettings
) -> None:
    key = uuid.uuid4().hex[:8]
    short, long = uuid.uuid4(), uuid.uuid4()
    worker = spawn(fault_settings, shutdown_ms=2_000)
    await jobs.enqueue(EchoV1(job_id=str(short), key=key, sleep_ms=1_000))
    await jobs.enqueue(SlowV1(job_id=str(long), key=key, steps=150, step_ms=40))
    await wait_for(
        lambda: at_least(counter(fault_settings, key, "slow:steps"), 3),
        timeout_s=30,
        what="both jobs to run",
    )
    assert worker.terminate() == 0
    # The short job finished within the grace period; the long one was handed back.
    assert str((await jobs.get(short)).status) == "succeeded"
    assert str((await jobs.get(long)).status) in {"running", "queued"}
    spawn(fault_settings)
    await all_succeeded(jobs, [short, long], timeout_s=60)


async def test_a_job_that_kills_its_worker_is_quarantined(
    jobs: Jobs, spawn: Any, fault_settings: FolioSettings
) -> None:
    key = uuid.uuid4().hex[:8]
    poison = uuid.uuid4()
    spawn(fault_settings)
    await jobs.enqueue(SuicideV1(job_id=str(poison), key=key), max_retries=2)
    ids = await send_echoes(jobs, key, 20, sleep_ms=0)

    async def dead() -> bool:
        return str((await jobs.get(poison)).status) == "dead"

    await wait_for(dead, timeout_s=120, what="the poison job to be quarantined")
    job = await jobs.get(poison)
    assert job.cause == "poison"
    assert job.attempts == 3
    assert await counter(fault_settings, key, "suicide") == 3
    # the worker came back each time and serves other work
    more = await send_echoes(jobs, key, 10, sleep_ms=0)
    await all_succeeded(jobs, ids + more, timeout_s=60)
