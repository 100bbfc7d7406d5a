"""A message a worker fetched but never received goes back to its queue.

Dramatiq's fetch moves messages into the worker's set of unacknowledged
messages and returns them; when Redis restarts while the reply is on its
way, the worker never gets them, and Dramatiq returns a worker's set only
once the worker stops heart-beating. The job stayed ``queued`` for good (a
Redis restart test once ended with four such jobs). The reconciler puts
such a message back, once per ``FOLIO_JOBS_STRANDED_AFTER_MS``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, new_id

from folio_shared.jobs import Jobs, reconcile
from folio_shared.jobs.pointers import run_dispatch

pytestmark = pytest.mark.integration

GHOST = "ghost-worker"


async def test_a_message_fetched_by_a_worker_that_never_received_it_goes_back_to_its_queue(
    engine: AsyncEngine, key: str, redis: Redis, aside: tuple[Jobs, RedisBroker]
) -> None:
    # Given a queued job (in a namespace no worker reads) whose message a
    # live worker fetched, the reply lost on the way: the message sits in
    # that worker's set of fetched messages, not in the queue
    jobs, broker = aside
    job_id = new_id()
    await jobs.enqueue(EchoV1(job_id=str(job_id), key=key))
    queue = await engine_scalar(engine, "SELECT queue_name FROM jobs WHERE id = :id", job_id)
    ns = broker.namespace
    fetched = run_dispatch(broker, "fetch", queue, GHOST, 10)
    assert len(fetched) == 1
    assert await redis.llen(f"{ns}:{queue}") == 0
    assert await redis.scard(f"{ns}:__acks__.{GHOST}.{queue}") == 1

    # When the reconciler passes while the job is young, nothing moves
    async with engine.connect() as conn:
        young = await reconcile.reconcile(
            conn, redis, broker, lost_after_s=0.0, stranded_after_s=600
        )
    assert young.stranded_requeued == 0
    assert await redis.llen(f"{ns}:{queue}") == 0

    # Once it has been queued longer than the stranded limit
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE jobs SET sent_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": job_id},
        )
    async with engine.connect() as conn:
        first = await reconcile.reconcile(
            conn, redis, broker, lost_after_s=0.0, stranded_after_s=600
        )
        second = await reconcile.reconcile(
            conn, redis, broker, lost_after_s=0.0, stranded_after_s=600
        )
    # Then its message is back in the queue, once, out of the worker's set
    assert (first.stranded_requeued, first.lost_resent) == (1, 0)
    assert (second.stranded_requeued, second.lost_resent) == (0, 0)
    assert await redis.llen(f"{ns}:{queue}") == 1
    assert await redis.scard(f"{ns}:__acks__.{GHOST}.{queue}") == 0
    assert str((await jobs.get(job_id)).status) == "queued"


async def engine_scalar(engine: AsyncEngine, statement: str, job_id: object) -> str:
    async with engine.connect() as conn:
        return str(await conn.scalar(sa.text(statement), {"id": job_id}))
