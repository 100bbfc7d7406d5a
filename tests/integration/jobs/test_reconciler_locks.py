"""A reconciler pass over a backlog leaves its jobs to the workers.

In a backlog the oldest queued jobs are the ones the reconciler looks at
for lost messages and the ones the workers' claim rounds want next. A pass
used to lock all of them (``FOR UPDATE``) while it asked Redis, two round
trips per job, whether each message was still there, so the claims of
those very jobs waited for the whole pass. Now it asks Redis first, for
all of them at once, and locks only the jobs it must re-send.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, new_id

from folio_shared.jobs import Jobs, outbox, reconcile
from folio_shared.jobs.pointers import message_pointer_key, messages_present

pytestmark = pytest.mark.integration

_UNLOCKED = sa.text(
    "SELECT count(*) FROM (SELECT id FROM jobs WHERE id = ANY(:ids) FOR UPDATE SKIP LOCKED) s"
)


async def test_a_pass_over_a_backlog_locks_only_the_job_it_resends(
    engine: AsyncEngine, key: str, redis: Redis, aside: tuple[Jobs, RedisBroker]
) -> None:
    # Given 200 queued jobs whose messages wait in their queue (a namespace
    # no worker reads), queued for a minute: past the reconciler's "lost"
    # age, short of its "stranded" one; one of them lost its message
    jobs, broker = aside
    ids = [new_id() for _ in range(200)]
    for job_id in ids:
        await jobs.enqueue(EchoV1(job_id=str(job_id), key=key))
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE jobs SET sent_at = now() - interval '1 minute' WHERE id = ANY(:ids)"),
            {"ids": ids},
        )
    lost = ids[-1]
    await redis.delete(message_pointer_key(broker.namespace, lost))

    # When a pass runs while another session keeps trying to lock the jobs
    fewest = len(ids)
    passing = True

    async def probe() -> None:
        nonlocal fewest
        async with engine.connect() as conn:
            while passing:
                fewest = min(fewest, int(await conn.scalar(_UNLOCKED, {"ids": ids}) or 0))
                await conn.rollback()
                await asyncio.sleep(0)

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0.05)
    async with engine.connect() as conn:
        report = await reconcile.reconcile(
            conn, redis, broker, lost_after_s=0.0, stranded_after_s=600, batch=500
        )
    passing = False
    await prober

    # Then it re-sent the lost job alone, and held no other job's row
    assert report.lost_resent == 1
    assert fewest >= len(ids) - 1, f"{len(ids) - fewest} jobs were locked during the pass"
    queue = await _queue(engine, lost)
    assert (await messages_present(redis, broker, [(queue, lost)]))[0] == (True, False)


async def test_presence_of_many_jobs_matches_one_by_one(
    engine: AsyncEngine, key: str, redis: Redis, aside: tuple[Jobs, RedisBroker]
) -> None:
    # Given a job in its queue, one delayed, one whose message is gone, and
    # one never sent
    jobs, broker = aside
    ready, delayed, gone = new_id(), new_id(), new_id()
    await jobs.enqueue(EchoV1(job_id=str(ready), key=key))
    async with jobs.sessions() as session:
        later = datetime.now(UTC) + timedelta(minutes=10)
        await outbox.enqueue(session, EchoV1(job_id=str(delayed), key=key), eta=later)
        await session.commit()
    await jobs.dispatch([delayed])
    await jobs.enqueue(EchoV1(job_id=str(gone), key=key))
    await redis.delete(message_pointer_key(broker.namespace, gone))
    queue = await _queue(engine, ready)
    asked = [(queue, ready), (queue, delayed), (queue, gone), (queue, uuid.uuid4())]

    # When presence is asked for all at once
    found = await messages_present(redis, broker, asked)

    # Then each answer says where its message is
    assert found == [(True, False), (True, True), (False, False), (False, False)]


async def _queue(engine: AsyncEngine, job_id: uuid.UUID) -> str:
    async with engine.connect() as conn:
        return str(
            await conn.scalar(sa.text("SELECT queue_name FROM jobs WHERE id = :id"), {"id": job_id})
        )
