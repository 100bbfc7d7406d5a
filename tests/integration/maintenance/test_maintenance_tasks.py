"""Expired uploads and job history: exactly what they say, on real PostgreSQL and storage.

Rows and objects that must stay, stay; ``dry_run`` changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared import maintenance
from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.db.models import Batch, Document, Job, JobEvent, Tenant
from folio_shared.storage import Storage

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _tenant(db: AsyncSession) -> Tenant:
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    db.add(tenant)
    await db.flush()
    return tenant


def _job(status: JobStatus, finished_days_ago: float | None, **kw: Any) -> Job:
    finished = NOW - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    return Job(
        actor_name="docs.process", queue_name="documents", status=status, finished_at=finished, **kw
    )


async def test_purge_job_history_removes_only_old_finished_jobs(db: AsyncSession) -> None:
    # Given old and recent jobs in every state, one old one with events
    old_done = _job(JobStatus.SUCCEEDED, 8)
    db.add_all(
        [
            old_done,
            _job(JobStatus.DEAD, 30),
            _job(JobStatus.CANCELLED, 7.5),
            _job(JobStatus.SUCCEEDED, 6),  # recent: stays
            _job(JobStatus.RUNNING, None),  # unfinished: stays
            _job(JobStatus.QUEUED, None),
            _job(JobStatus.PENDING, None),
        ]
    )
    await db.flush()
    db.add(JobEvent(job_id=old_done.id, kind="state", status=JobStatus.SUCCEEDED, data={}))
    await db.commit()

    # When a dry run looks at it
    dry = await maintenance.purge_job_history(
        db, retention_days=7, dead_retention_days=14, now=NOW, dry_run=True
    )
    # Then it counts three and changes nothing
    assert (dry.matched, dry.changed) == (3, 0)
    assert await db.scalar(sa.select(sa.func.count()).select_from(Job)) == 7

    # When it runs for real (small batches, to cross batch boundaries)
    done = await maintenance.purge_job_history(
        db, retention_days=7, dead_retention_days=14, now=NOW, batch_size=2
    )
    assert (done.matched, done.changed) == (3, 3)
    statuses = sorted((await db.scalars(sa.select(Job.status))).all())
    assert statuses == sorted(
        [JobStatus.SUCCEEDED, JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.PENDING]
    )
    assert await db.scalar(sa.select(sa.func.count()).select_from(JobEvent)) == 0
    # And a second run finds nothing (idempotent)
    again = await maintenance.purge_job_history(
        db, retention_days=7, dead_retention_days=14, now=NOW
    )
    assert (again.matched, again.changed) == (0, 0)


async def test_purge_job_history_removes_old_batches_once_their_jobs_are_gone(
    db: AsyncSession,
) -> None:
    # Given an old finished batch whose member is old, an old one with a
    # recent member, and one still running
    def batch(finished_days_ago: float | None) -> Batch:
        at = NOW - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
        return Batch(total=1, finished=1 if at else 0, finished_at=at)

    gone, kept, running = batch(9), batch(9), batch(None)
    db.add_all([gone, kept, running])
    await db.flush()
    db.add_all(
        [
            _job(JobStatus.SUCCEEDED, 9, batch_id=gone.id),
            _job(JobStatus.SUCCEEDED, 1, batch_id=kept.id),
        ]
    )
    await db.commit()
    # When the history is purged
    await maintenance.purge_job_history(db, retention_days=7, now=NOW)
    # Then only the batch with no member left is deleted
    left = set((await db.scalars(sa.select(Batch.id))).all())
    assert gone.id not in left
    assert {kept.id, running.id} <= left


async def test_expire_uploads_deletes_stale_uploads_and_their_objects(
    db: AsyncSession, storage: Storage
) -> None:
    tenant = await _tenant(db)

    def doc(status: DocumentStatus, age_h: float, key: str) -> Document:
        return Document(
            tenant_id=tenant.id,
            filename=f"{key}.pdf",
            storage_key=key,
            status=status,
            created_at=NOW - timedelta(hours=age_h),
        )

    stale_with_object = doc(DocumentStatus.AWAITING_UPLOAD, 30, "t/stale-a")
    stale_without_object = doc(DocumentStatus.AWAITING_UPLOAD, 25, "t/stale-b")
    fresh = doc(DocumentStatus.AWAITING_UPLOAD, 2, "t/fresh")
    old_ready = doc(DocumentStatus.READY, 100, "t/ready")
    db.add_all([stale_with_object, stale_without_object, fresh, old_ready])
    await db.commit()
    for key in ("t/stale-a", "t/fresh", "t/ready"):
        await storage.put_bytes(key, b"%PDF-1.4 x", content_type="application/pdf")

    dry = await maintenance.expire_uploads(
        db, storage, abandoned_after_s=86_400, now=NOW, dry_run=True
    )
    assert (dry.matched, dry.changed, dry.objects_deleted) == (2, 0, 0)
    assert await storage.exists("t/stale-a")

    done = await maintenance.expire_uploads(db, storage, abandoned_after_s=86_400, now=NOW)
    assert (done.matched, done.changed, done.objects_deleted) == (2, 2, 1)
    left = set((await db.scalars(sa.select(Document.storage_key))).all())
    assert left == {"t/fresh", "t/ready"}
    assert not await storage.exists("t/stale-a")
    assert await storage.exists("t/fresh")
    assert await storage.exists("t/ready")
