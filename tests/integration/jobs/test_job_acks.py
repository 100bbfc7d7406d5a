"""A success's outcome is written without its worker thread waiting, and
its message is acked only once that outcome is durable
(:mod:`folio_shared.jobs.acks`), on real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import PlainV1, new_id
from support.jobs import job_settings, sending_jobs, start_echo, wait_for, wait_status
from support.workers import RunningWorker, start_in_process

from folio_devstack.servers import RedisServer
from folio_shared.broker import create_broker
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def sender(settings: FolioSettings) -> Iterator[dramatiq.Broker]:
    """A broker of the workers' namespace that only sends."""
    broker = create_broker(settings)
    yield broker
    broker.close()


async def _unacked(redis: aioredis.Redis, namespace: str) -> set[str]:
    """Ids of the messages still in Redis: queued (or delayed), or fetched
    and not acked yet (an ack deletes a message's data)."""
    ids: set[str] = set()
    async for name in redis.scan_iter(f"{namespace}:*.msgs"):
        for data in (await redis.hgetall(name)).values():
            ids.add(dramatiq.Message.decode(data).message_id)
    return ids


async def test_an_outcome_held_up_in_the_database_holds_its_ack_not_the_worker_thread(
    engine: AsyncEngine,
    settings: FolioSettings,
    sender: dramatiq.Broker,
    redis: aioredis.Redis,
    key: str,
) -> None:
    # Given a worker with one thread, running a tracked job
    running = start_in_process(settings, threads=1)
    ran = threading.Event()
    mark = dramatiq.actor(ran.set, actor_name=f"test.mark.{key}", broker=running.broker)
    jobs = Jobs(engine, sender, redis)
    try:
        job_id = await start_echo(jobs, key, 1_500)
        async with engine.connect() as lock:
            # When its row is locked elsewhere as its outcome is written,
            # and an untracked message comes behind it
            await lock.execute(
                sa.text("SELECT 1 FROM jobs WHERE id = :id FOR UPDATE"), {"id": job_id}
            )
            mark.send()
            # Then the thread runs that message while the outcome waits
            done = await asyncio.to_thread(ran.wait, 10)
            assert done, "the worker thread waited for the outcome"
            await asyncio.sleep(0.3)
            job = await jobs.get(job_id)
            assert job.status == "running"
            # And the job's message is not acked before its outcome commits
            assert job.message_id in await _unacked(redis, settings.broker.namespace)
            await lock.rollback()

        async def acked() -> bool:
            return job.message_id not in await _unacked(redis, settings.broker.namespace)

        await wait_for(acked, what="the message's ack")
        job = await jobs.get(job_id)
        assert job.status == "succeeded"
        assert job.result == {"value": 0, "attempt": 1}
    finally:
        running.stop()


async def test_every_ack_comes_after_its_outcome_committed(
    engine: AsyncEngine,
    settings: FolioSettings,
    sender: dramatiq.Broker,
    redis: aioredis.Redis,
    key: str,
) -> None:
    # Given 1,000 queued jobs (enough to be sampled in flight on a fast
    # machine), then a worker of 4 threads
    jobs = Jobs(engine, sender, redis)
    ids = [new_id() for _ in range(1_000)]
    for job_id in ids:
        await jobs.enqueue(PlainV1(job_id=str(job_id), key=key))
    namespace = settings.broker.namespace
    running: RunningWorker = start_in_process(settings, threads=4)
    try:
        # When, again and again while they run, the messages still in Redis
        # are read first and the job rows after
        checks = 0
        early: set[uuid.UUID] = set()
        while True:
            waiting = await _unacked(redis, namespace)
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        sa.text("SELECT id, status, message_id FROM jobs WHERE id = ANY(:ids)"),
                        {"ids": ids},
                    )
                ).all()
            status = {r.id: r.status for r in rows}
            # Then every job whose message was gone had already succeeded
            early |= {r.id for r in rows if r.message_id not in waiting and r.status != "succeeded"}
            checks += 1
            if not waiting:
                break
            await asyncio.sleep(0.01)
        assert not early
        assert checks >= 3  # the run was seen in flight
        assert set(status.values()) == {"succeeded"}
    finally:
        running.stop()


async def test_an_ack_failing_through_a_redis_outage_is_made_once_redis_is_back(
    engine: AsyncEngine, database_url: str, own_redis: RedisServer, tmp_path: Path, key: str
) -> None:
    # Given a worker on a Redis of the test's own, whose acker tries again
    # every 0.1 s, and which Dramatiq never takes for dead (a dead worker's
    # messages are given back whatever its acker does)
    base = job_settings(database_url, own_redis.url, tmp_path)
    settings = base.model_copy(
        update={"broker": base.broker.model_copy(update={"heartbeat_timeout_ms": 120_000})}
    )
    running = start_in_process(settings, threads=1)
    running.broker.ack_gate.retry_s = 0.1  # type: ignore[attr-defined]
    client = aioredis.Redis.from_url(own_redis.url)
    try:
        async with sending_jobs(engine, settings) as jobs:
            job_id = await start_echo(jobs, key, 1_000)
            message_id = (await jobs.get(job_id)).message_id
            # When Redis stops while it runs, so that its ack fails for
            # 5 s after its outcome was written (the gate used to give up
            # after 30 tries, here 3 s)
            own_redis.stop()
            await wait_status(jobs, job_id, "succeeded")
            await asyncio.sleep(5)
            own_redis.start()

            # Then, Redis back, the message is acked: nothing of it is left
            async def acked() -> bool:
                return message_id not in await _unacked(client, settings.broker.namespace)

            await wait_for(acked, timeout_s=20, what="the message's ack after the outage")
            job = await jobs.get(job_id)
            assert (job.status, job.attempts) == ("succeeded", 1)
    finally:
        await client.aclose()
        running.stop()
