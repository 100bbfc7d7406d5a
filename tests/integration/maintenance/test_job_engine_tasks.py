"""The stuck-job reaper and the outbox relay, on real PostgreSQL and Redis:
they act on exactly the jobs they should and leave every other job alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_shared import maintenance
from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.db.models import Job
from folio_shared.jobs.outbox import envelope
from folio_shared.messages import ExpireUploadsV1
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


def _job(status: JobStatus, **kw: object) -> Job:
    return Job(
        actor_name=ExpireUploadsV1.actor_name,
        queue_name="maintenance",
        status=status,
        message=envelope(ExpireUploadsV1()),
        **kw,
    )


async def _queued_message_count(settings: FolioSettings, broker: dramatiq.Broker) -> int:
    client = aioredis.Redis.from_url(settings.redis.url)
    try:
        return int(await client.hlen(f"{settings.broker.namespace}:maintenance.msgs"))
    finally:
        await client.aclose()


async def _snapshot(db: AsyncSession) -> dict[uuid.UUID, tuple[str, int, str | None]]:
    db.expire_all()
    rows = (await db.execute(sa.select(Job.id, Job.status, Job.attempts, Job.cause))).all()
    return {r.id: (str(r.status), r.attempts, r.cause) for r in rows}


async def test_reaper_requeues_or_quarantines_jobs_of_dead_workers_only(
    db: AsyncSession, engine: AsyncEngine, settings: FolioSettings, broker: dramatiq.Broker
) -> None:
    # Given jobs whose worker was killed (lease long expired), with attempts
    # left and without, and a job whose worker is alive (lease in the future)
    now = datetime.now(UTC)
    dead_worker = {"worker": "gone-host:4242", "lease_expires_at": now - timedelta(minutes=2)}
    stuck = _job(JobStatus.RUNNING, attempts=1, max_retries=3, **dead_worker)
    exhausted = _job(JobStatus.RUNNING, attempts=4, max_retries=3, **dead_worker)
    alive = _job(
        JobStatus.RUNNING,
        attempts=1,
        worker="live-host:1",
        lease_expires_at=now + timedelta(minutes=5),
    )
    done = _job(JobStatus.SUCCEEDED, attempts=1, finished_at=now)
    db.add_all([stuck, exhausted, alive, done])
    await db.commit()
    stuck_id, exhausted_id, alive_id, done_id = stuck.id, exhausted.id, alive.id, done.id
    before = await _snapshot(db)
    client = aioredis.Redis.from_url(settings.redis.url)
    try:
        # When a dry run looks: it counts, changes nothing, sends nothing
        async with engine.connect() as conn:
            dry = await maintenance.reap_stuck_jobs(
                conn, client, broker, lost_after_s=60, dry_run=True
            )
        assert dry.details["crashed_requeued"] == 1
        assert dry.details["crashed_dead"] == 1
        assert (dry.matched, dry.changed) == (2, 0)
        assert await _snapshot(db) == before
        assert await _queued_message_count(settings, broker) == 0

        # When the reaper runs
        async with engine.connect() as conn:
            summary = await maintenance.reap_stuck_jobs(conn, client, broker, lost_after_s=60)
    finally:
        await client.aclose()
    assert summary.details["crashed_requeued"] == 1
    assert summary.details["crashed_dead"] == 1
    assert (summary.matched, summary.changed) == (2, 2)
    after = await _snapshot(db)
    # Then the stuck job is queued again (cause: crash) and its message is on Redis
    assert after[stuck_id] == ("queued", 1, FailureCause.CRASH)
    assert await _queued_message_count(settings, broker) == 1
    # The one out of attempts is quarantined
    assert after[exhausted_id] == ("dead", 4, FailureCause.POISON)
    # The others are untouched
    assert after[alive_id] == before[alive_id]
    assert after[done_id] == before[done_id]


async def test_relay_sends_only_old_unsent_jobs(
    db: AsyncSession, engine: AsyncEngine, settings: FolioSettings, broker: dramatiq.Broker
) -> None:
    # Given a job committed a minute ago and never sent (the broker was
    # down), one committed just now (its sender is on it), and a queued one
    now = datetime.now(UTC)
    forgotten = _job(JobStatus.PENDING, created_at=now - timedelta(minutes=1))
    fresh = _job(JobStatus.PENDING)
    queued = _job(JobStatus.QUEUED, sent_at=now - timedelta(minutes=1))
    db.add_all([forgotten, fresh, queued])
    await db.commit()
    forgotten_id, fresh_id, queued_id = forgotten.id, fresh.id, queued.id
    before = await _snapshot(db)

    async with engine.connect() as conn:
        dry = await maintenance.relay_outbox(conn, broker, min_age_ms=5_000, dry_run=True)
    assert (dry.matched, dry.changed) == (1, 0)
    assert await _snapshot(db) == before
    assert await _queued_message_count(settings, broker) == 0

    async with engine.connect() as conn:
        summary = await maintenance.relay_outbox(conn, broker, min_age_ms=5_000, batch_size=1)
    assert (summary.matched, summary.changed) == (1, 1)
    after = await _snapshot(db)
    assert after[forgotten_id][0] == "queued"
    assert after[fresh_id] == before[fresh_id]
    assert after[queued_id] == before[queued_id]
    assert await _queued_message_count(settings, broker) == 1
