"""Scheduling jobs of a kind: a delayed job survives a Redis flush, and a
periodic job declared in configuration is sent once per tick.

The kind is ``test.limited`` (:mod:`support.limited`, no limits here), run
by a real worker process; its ``job_kinds`` row is written as a worker of
the SDK writes it at start.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from periodiq import cron
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import job_settings, sending_jobs, wait_for, wait_status
from support.limited import KIND, QUEUE, QUEUES, enqueue_limited

from folio_scheduler.sender import JobSender
from folio_scheduler.ticks import TickNotSent
from folio_scheduler.userjobs import PeriodicJob, ScheduledJob, parse_jobs, tick_job_id
from folio_shared.broker import create_broker
from folio_shared.db.models import Job, JobKind
from folio_shared.errors import ConfigurationError
from folio_shared.jobs import Jobs
from folio_shared.maintenance.registry import tick_key
from folio_shared.ops.workers import index_key
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def flush_settings(database_url: str, own_redis: Any, tmp_path: Path) -> FolioSettings:
    # A Redis of the test's own (it is flushed); a lost message counts as
    # lost after 5 s, so a re-send at the job's time is the due-time check's.
    return job_settings(database_url, own_redis.url, tmp_path, lost_after_ms=5_000)


@pytest.fixture
async def sending(engine: AsyncEngine, flush_settings: FolioSettings) -> AsyncIterator[Jobs]:
    async with sending_jobs(engine, flush_settings) as jobs:
        yield jobs


async def test_a_delayed_job_survives_a_redis_flush_and_runs_at_its_time(
    engine: AsyncEngine, sending: Jobs, spawn: Any, flush_settings: FolioSettings
) -> None:
    # Time for a worker to start after the flush: 5 s at load 8-10 on two
    # cores, well past 15 s under heavy load (it must be up before the eta)
    eta = datetime.now(UTC) + timedelta(seconds=30)
    (job_id,) = await enqueue_limited(engine, sending, [{"n": 7}], eta=eta)
    ns = flush_settings.broker.namespace
    client = redis.Redis.from_url(flush_settings.redis.url)
    try:
        assert client.hlen(f"{ns}:{QUEUE}.DQ.msgs") == 1  # the delayed message
        client.flushall()
    finally:
        client.close()
    # Only the job row knows about the job now; a worker starts after the flush.
    spawn(flush_settings, module="support.limited_main", queues=QUEUES)
    registry = index_key(ns)
    await wait_for(lambda: sending.redis.exists(registry), timeout_s=30, what="the worker")
    assert datetime.now(UTC) < eta - timedelta(seconds=1), "the worker started too late"
    job = await wait_status(sending, job_id, "succeeded", timeout_s=60)
    assert job.started_at is not None
    late_s = (job.started_at - eta).total_seconds()
    # At its time, not earlier; within the reconciler's period (0.5 s here)
    # plus a consumer's poll (up to 1 s) and what a loaded machine adds
    # (1.3 s in all at load 8-10), not after lost_after_ms (5 s).
    assert 0 <= late_s < 4.0, late_s
    assert job.attempts == 1
    assert job.result == {"n": 7}


# -- periodic jobs of a kind ----------------------------------------------------------


async def record_kind(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(
            insert(JobKind)
            .values(name=KIND, version=1, queue=QUEUE, payload_schema={}, options={})
            .on_conflict_do_nothing()
        )
        await conn.commit()


@pytest.fixture
def replicas(settings: FolioSettings) -> Iterator[list[PeriodicJob]]:
    job = ScheduledJob(kind=KIND, cron="* * * * *", name="tally", payload={"n": 42})
    made: list[tuple[Any, ...]] = []
    out = []
    for _ in range(2):
        broker = create_broker(settings)
        client = redis.Redis.from_url(settings.redis.url)
        sender = JobSender(settings, broker)
        made.append((sender, client, broker))
        out.append(
            PeriodicJob(
                job,
                broker=broker,
                client=client,
                sender=sender,
                cron=cron(job.cron),
                namespace=settings.broker.namespace,
                lock_ttl_s=3_600,
            )
        )
    yield out
    for sender, client, broker in made:
        sender.close()
        client.close()
        broker.close()


async def tick_jobs(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(Job.id, Job.meta.label("meta")).where(
                Job.actor_name == KIND, Job.meta["schedule"].astext == "tally"
            )
        )
        return list(rows)


async def test_a_periodic_job_is_sent_once_per_tick_and_runs(
    engine: AsyncEngine, replicas: list[PeriodicJob], spawn: Any, settings: FolioSettings
) -> None:
    a, b = replicas
    tick = datetime.now(UTC).replace(second=0, microsecond=0)
    # No worker has declared the kind yet: the tick is not sent, and is owed.
    with pytest.raises(TickNotSent):
        await asyncio.to_thread(a.send_tick, tick, attempts=1)
    assert await tick_jobs(engine) == []
    await record_kind(engine)
    # Both replicas wake for the tick, on periodiq's path.
    # (periodiq calls from its own thread, outside any event loop)
    await asyncio.to_thread(a.send_with_options, scheduled_at=tick)
    await asyncio.to_thread(b.send_with_options, scheduled_at=tick)
    # Redis loses the tick's claim (a flush): sending the tick again still
    # creates no second job, the job's id is the tick's.
    client = redis.Redis.from_url(settings.redis.url)
    client.delete(tick_key(settings.broker.namespace, a.name, tick.isoformat()))
    client.close()
    assert await asyncio.to_thread(a.send_tick, tick) is None
    rows = await tick_jobs(engine)
    assert len(rows) == 1
    job_id = tick_job_id(settings.broker.namespace, "tally", tick.isoformat())
    assert rows[0].id == job_id
    assert rows[0].meta == {"schedule": "tally", "tick": tick.isoformat()}
    # The next tick is a new job; a worker runs both.
    await asyncio.to_thread(b.send_with_options, scheduled_at=tick + timedelta(minutes=1))
    assert len(await tick_jobs(engine)) == 2
    spawn(settings, module="support.limited_main", queues=QUEUES)
    async with sending_jobs(engine, settings) as jobs:
        job = await wait_status(jobs, job_id, "succeeded", timeout_s=60)
    assert job.result == {"n": 42}


def test_scheduled_jobs_configuration_is_checked() -> None:
    jobs = parse_jobs(
        '[{"kind": "reports.build", "cron": "0 2 * * *", "payload": {"period": "day"},'
        ' "priority": "high", "tenant_id": "' + str(uuid.UUID(int=1)) + '"}]'
    )
    assert jobs[0].schedule_name == "reports.build"
    assert parse_jobs("") == []
    for bad in (
        '[{"kind": "a.b"}]',  # no cron
        '[{"kind": "a.b", "cron": "* * * * *", "when": 1}]',  # unknown field
        '[{"kind": "a.b", "cron": "* * * * *", "priority": "urgent"}]',
        '[{"kind": "a.b", "cron": "* * * * *"}, {"kind": "a.b", "cron": "0 * * * *"}]',
    ):
        with pytest.raises(ConfigurationError):
            parse_jobs(bad)
