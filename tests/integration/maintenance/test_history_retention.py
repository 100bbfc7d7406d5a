"""History retention on real PostgreSQL: dead letters kept until their own
retention, old webhook deliveries deleted in bounded batches, recent and
unfinished rows untouched, a retention of 0 keeping everything."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_shared import maintenance
from folio_shared.db.enums import JobStatus
from folio_shared.db.models import (
    Job,
    Tenant,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _job(status: JobStatus, finished_days_ago: float | None) -> Job:
    finished = NOW - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    return Job(
        actor_name="docs.process", queue_name="documents", status=status, finished_at=finished
    )


def _pruned(table: str) -> float:
    value = REGISTRY.get_sample_value("folio_maintenance_rows_pruned_total", {"table": table})
    return value or 0.0


@pytest.fixture
def delivery_deletes(engine: AsyncEngine) -> Iterator[list[int]]:
    """The row count of every DELETE on ``webhook_deliveries`` the engine runs."""
    counts: list[int] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM WEBHOOK_DELIVERIES"):
            counts.append(cursor.rowcount)

    sa.event.listen(engine.sync_engine, "after_cursor_execute", record)
    yield counts
    sa.event.remove(engine.sync_engine, "after_cursor_execute", record)


async def test_dead_jobs_are_kept_until_their_own_retention(db: AsyncSession) -> None:
    # Given finished jobs of several ages, dead ones among them
    db.add_all(
        [
            _job(JobStatus.FAILED, 10),  # past the 7 days: goes
            _job(JobStatus.SUCCEEDED, 3),  # recent: stays
            _job(JobStatus.DEAD, 10),  # a dead letter within its 30 days: stays
            _job(JobStatus.DEAD, 40),  # past its 30 days: goes
            _job(JobStatus.RUNNING, None),
        ]
    )
    await db.commit()
    # When retention 0 is asked of both: nothing is deleted
    kept = await maintenance.purge_job_history(db, retention_days=0, dead_retention_days=0, now=NOW)
    assert (kept.matched, kept.changed) == (0, 0)
    assert await db.scalar(sa.select(sa.func.count()).select_from(Job)) == 5

    # When the history is purged with 7 days, dead letters 30
    before = _pruned("jobs")
    done = await maintenance.purge_job_history(
        db, retention_days=7, dead_retention_days=30, now=NOW
    )
    # Then the old failed job and the old dead letter are gone, the rest stays
    assert (done.changed, done.details["jobs"]) == (2, 2)
    left = sorted((s, f) for s, f in (await db.execute(sa.select(Job.status, Job.finished_at))))
    assert sorted(s for s, _ in left) == sorted(
        [JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.RUNNING]
    )
    assert (NOW - timedelta(days=10)) in {f for s, f in left if s == JobStatus.DEAD}
    assert _pruned("jobs") - before == 2


async def test_old_webhook_deliveries_go_in_bounded_batches(
    db: AsyncSession, delivery_deletes: list[int]
) -> None:
    # Given an endpoint with five old ended deliveries (with attempts), an
    # old one still pending and a recent one
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    db.add(tenant)
    await db.flush()
    endpoint = WebhookEndpoint(tenant_id=tenant.id, url="https://example.test/h", secret="s")
    db.add(endpoint)
    await db.flush()

    def delivery(status: str, days_ago: float) -> WebhookDelivery:
        return WebhookDelivery(
            tenant_id=tenant.id,
            endpoint_id=endpoint.id,
            event_id=uuid.uuid4(),
            event_type="job.succeeded",
            payload={},
            status=status,
            created_at=NOW - timedelta(days=days_ago),
        )

    old = [delivery("succeeded" if i % 2 else "failed", 40 + i) for i in range(5)]
    pending, recent = delivery("pending", 45), delivery("succeeded", 5)
    db.add_all([*old, pending, recent])
    await db.flush()
    db.add_all(
        WebhookAttempt(tenant_id=tenant.id, delivery_id=d.id, attempt=1, latency_ms=3)
        for d in [*old, recent]
    )
    await db.commit()

    # When a dry run looks: five match, nothing changes
    dry = await maintenance.purge_job_history(
        db, retention_days=7, delivery_retention_days=30, now=NOW, dry_run=True
    )
    assert (dry.details["webhook_deliveries"], dry.changed) == (5, 0)
    assert delivery_deletes == []

    # When the history is purged in batches of two
    before = _pruned("webhook_deliveries")
    done = await maintenance.purge_job_history(
        db, retention_days=7, delivery_retention_days=30, now=NOW, batch_size=2
    )
    # Then the five old ended deliveries went, never more than two per statement
    assert done.details["webhook_deliveries"] == 5
    assert delivery_deletes == [2, 2, 1]
    assert _pruned("webhook_deliveries") - before == 5
    left = set((await db.scalars(sa.select(WebhookDelivery.id))).all())
    assert left == {pending.id, recent.id}
    attempts = set((await db.scalars(sa.select(WebhookAttempt.delivery_id))).all())
    assert attempts == {recent.id}
    # And with retention 0 nothing more goes, even the recent one
    kept = await maintenance.purge_job_history(
        db, retention_days=7, delivery_retention_days=0, now=NOW + timedelta(days=365)
    )
    assert kept.details["webhook_deliveries"] == 0
    assert await db.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 2
