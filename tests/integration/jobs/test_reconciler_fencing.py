"""The reconciler acts once per lease expiry: a job whose completion step's
worker died is re-sent once, however many reconcilers pass (one per worker,
one after the other), and a job that then succeeds keeps no trace of the
crash as its error."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import ParentV1, new_id
from support.jobs import at_least, counter, wait_for, wait_status
from support.workers import RunningWorker

from folio_shared.broker import create_broker
from folio_shared.jobs import Jobs, outbox, reconcile
from folio_shared.settings import BrokerSettings, FolioSettings

pytestmark = pytest.mark.integration


async def crash_requeues(engine: AsyncEngine, job_id: uuid.UUID) -> int:
    """``queued`` events the reconciler wrote for a crash of ``job_id``."""
    async with engine.connect() as conn:
        count = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM job_events WHERE job_id = :id AND kind = 'state'"
                " AND status = 'queued' AND data->>'cause' = 'crash'"
            ),
            {"id": job_id},
        )
    return int(count or 0)


async def test_a_crashed_completion_step_is_requeued_once_and_its_success_clears_the_crash(
    jobs: Jobs,
    key: str,
    settings: FolioSettings,
    worker: RunningWorker,
    engine: AsyncEngine,
    redis: Redis,
) -> None:
    # Given a family whose completion step's worker died mid-run: the
    # parent is running its completion step, its lease expired
    parent_id = new_id()
    await jobs.enqueue(ParentV1(job_id=str(parent_id), key=key, children=2))
    await wait_status(jobs, parent_id, "succeeded", timeout_s=60)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE jobs SET status = 'running', finished_at = NULL, result = NULL,"
                " worker = 'gone', lease_expires_at = now() - interval '1 second' WHERE id = :id"
            ),
            {"id": parent_id},
        )
    # When the reconcilers of two workers pass, one after the other (their
    # messages go to a namespace no worker reads, so neither is run yet)
    aside = create_broker(
        settings.model_copy(update={"broker": BrokerSettings(namespace=f"{key}-aside")})
    )
    try:
        for _ in range(2):
            async with engine.connect() as conn:
                await reconcile.reconcile(conn, redis, aside)
    finally:
        aside.close()
    # Then the job was re-queued once
    assert await crash_requeues(engine, parent_id) == 1
    # And once its completion step runs again and succeeds, the crash is
    # history, not the job's error
    parent = await jobs.get(parent_id)
    assert parent.on_complete is not None
    outbox.resend(worker.broker, parent_id, parent.on_complete, continuation=True)
    await wait_for(lambda: at_least(counter(settings, key, "complete"), 2), what="completion rerun")
    parent = await wait_status(jobs, parent_id, "succeeded", timeout_s=30)
    assert (parent.cause, parent.error_type, parent.error_message) == (None, None, None)
