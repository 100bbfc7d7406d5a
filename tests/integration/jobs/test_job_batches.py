"""Batches: members counted once as they reach a final state, and the
completion job written exactly once — with failures, retries, cancels, and
a worker SIGKILLed mid-batch (real worker processes, real servers).

Members are jobs of the test kind (:mod:`support.plain_kinds`), written as
``POST /v1/batches`` writes them: the batch row, then each member through
the outbox with its ``batch_id``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from support.jobs import at_least, counter, job_settings, wait_for
from support.plain_kinds import DONE, KIND_QUEUE, WORK

from folio_devstack.servers import RedisServer
from folio_shared.broker import create_broker
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Batch, Job
from folio_shared.jobs import Jobs, outbox
from folio_shared.jobs.batches import JOB_KEY
from folio_shared.messages import Priority
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def make_batch(
    jobs: Jobs,
    key: str,
    n: int,
    *,
    fail: frozenset[int] = frozenset(),
    sleep_ms: int = 0,
    eta: datetime | None = None,
    max_retries: int = 3,
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A batch of ``n`` test-kind jobs (those in ``fail`` fail) with a
    completion job of kind ``test.kind.done``; returns its id and members."""
    done = outbox.kind_envelope(DONE, 1, KIND_QUEUE, {"key": key}, priority=Priority.NORMAL)
    async with create_session_factory(jobs.engine)() as session:
        batch = Batch(
            id=uuid.uuid4(),
            total=n,
            on_complete={**done, JOB_KEY: {"priority": "high", "max_retries": 2}},
            meta={},
        )
        session.add(batch)
        await session.flush()
        members = [
            outbox.enqueue_envelope(
                session,
                outbox.kind_envelope(
                    WORK,
                    1,
                    KIND_QUEUE,
                    {"key": key, "fail": i in fail, "sleep_ms": sleep_ms},
                    priority=Priority.NORMAL,
                ),
                batch_id=batch.id,
                eta=eta,
                max_retries=max_retries,
            )
            for i in range(n)
        ]
        await session.commit()
        ids = outbox.pending_ids(session)
    await jobs.dispatch(ids)
    return batch.id, [m.id for m in members]


async def batch_row(engine: AsyncEngine, batch_id: uuid.UUID) -> Batch:
    async with create_session_factory(engine)() as session:
        row = await session.get(Batch, batch_id)
    assert row is not None
    return row


async def completion_done(jobs: Jobs, batch_id: uuid.UUID, timeout_s: float) -> Job:
    """Wait for the batch's completion job to succeed; returns it."""

    async def check() -> Job | None:
        row = await batch_row(jobs.engine, batch_id)
        if row.completion_job_id is None:
            return None
        job = await jobs.get(row.completion_job_id)
        return job if job.status == "succeeded" else None

    found: Job = await wait_for(check, timeout_s=timeout_s, what="the batch's completion job")
    return found


async def test_a_batch_counts_its_members_and_completes_once(
    jobs: Jobs, key: str, settings: FolioSettings
) -> None:
    batch_id, ids = await make_batch(jobs, key, 20, fail=frozenset({3, 7}))
    completion = await completion_done(jobs, batch_id, timeout_s=60)
    row = await batch_row(jobs.engine, batch_id)
    assert (row.total, row.finished, row.failed) == (20, 20, 2)
    assert row.finished_at is not None
    assert await counter(settings, key, "done") == 1
    assert completion.meta == {"batch_id": str(batch_id)}
    assert (completion.priority, completion.max_retries) == ("high", 2)
    assert completion.actor_name == DONE

    # A failed member retried is counted out, then in again when it ends;
    # the completion, already sent, is not sent again.
    await jobs.retry(ids[3])
    reopened = await batch_row(jobs.engine, batch_id)
    assert (reopened.finished, reopened.failed) in ((19, 1), (20, 2))

    async def settled() -> bool:
        return (await jobs.get(ids[3])).status == "failed"

    await wait_for(settled, timeout_s=30, what="the retried member to fail again")
    again = await batch_row(jobs.engine, batch_id)
    assert (again.finished, again.failed) == (20, 2)
    assert again.completion_job_id == row.completion_job_id
    assert await counter(settings, key, "done") == 1


async def test_cancelled_members_count_and_complete_the_batch(
    jobs: Jobs, key: str, settings: FolioSettings
) -> None:
    later = datetime.now(UTC) + timedelta(minutes=10)
    batch_id, ids = await make_batch(jobs, key, 3, eta=later)
    for job_id in ids[:2]:
        await jobs.cancel(job_id)
    row = await batch_row(jobs.engine, batch_id)
    assert (row.finished, row.failed, row.completion_job_id) == (2, 2, None)
    await jobs.cancel(ids[2])
    await completion_done(jobs, batch_id, timeout_s=30)
    assert await counter(settings, key, "done") == 1


@pytest.fixture
def fault_settings(database_url: str, own_redis: RedisServer, tmp_path: Path) -> FolioSettings:
    return job_settings(database_url, own_redis.url, tmp_path, lease_ms=1_500)


@pytest.mark.slow
async def test_a_batch_of_200_completes_once_across_a_sigkill(
    database_url: str, fault_settings: FolioSettings, spawn: Any, key: str
) -> None:
    """200 members, 8 at a time on a worker process that is SIGKILLed
    mid-batch: the jobs it held are redelivered to a second worker, and the
    completion still runs exactly once."""
    engine = create_async_engine(database_url)
    broker = create_broker(fault_settings)
    client = aioredis.Redis.from_url(fault_settings.redis.url)
    jobs = Jobs(engine, broker, client)
    try:
        batch_id, ids = await make_batch(jobs, key, 200, sleep_ms=300)
        first = spawn(fault_settings, threads=8)
        await wait_for(
            lambda: at_least(counter(fault_settings, key, "kind"), 30),
            timeout_s=60,
            what="the first worker to be busy",
        )
        first.kill()
        spawn(fault_settings, threads=8)
        await completion_done(jobs, batch_id, timeout_s=180)
        row = await batch_row(engine, batch_id)
        assert (row.finished, row.failed) == (200, 0)
        assert await counter(fault_settings, key, "done") == 1
        async with engine.connect() as conn:
            redelivered = await conn.scalar(
                sa.select(sa.func.count()).where(Job.id.in_(ids), Job.attempts > 1)
            )
            succeeded = await conn.scalar(
                sa.select(sa.func.count()).where(Job.id.in_(ids), Job.status == "succeeded")
            )
        assert succeeded == 200
        assert redelivered is not None
        assert redelivered >= 5, redelivered
    finally:
        await client.aclose()
        broker.close()
        await engine.dispose()
