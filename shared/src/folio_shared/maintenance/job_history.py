"""Job history retention: finished jobs (and their events) older than the
retention are deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job
from folio_shared.maintenance.summary import Summary

#: Job states a job never leaves by itself; their history may be purged.
FINISHED = (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED, JobStatus.FAILED)


async def purge_job_history(
    session: AsyncSession,
    *,
    retention_days: int,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = 1000,
) -> Summary:
    """Delete finished jobs (and, by cascade, their events) that finished
    more than ``retention_days`` before ``now``. Jobs still pending, queued
    or running are never touched; a purged parent's remaining children are
    detached from it, never deleted with it."""
    cutoff = now - timedelta(days=retention_days)
    old = sa.and_(Job.status.in_(FINISHED), Job.finished_at < cutoff)
    matched = await session.scalar(sa.select(sa.func.count()).where(old)) or 0
    if dry_run:
        return Summary("purge_job_history", True, matched, 0)
    changed = 0
    while True:
        ids = (await session.scalars(sa.select(Job.id).where(old).limit(batch_size))).all()
        if not ids:
            break
        # Children first: a parent row is referenced by its children.
        await session.execute(sa.update(Job).where(Job.parent_id.in_(ids)).values(parent_id=None))
        result = await session.execute(sa.delete(Job).where(Job.id.in_(ids)))
        changed += int(getattr(result, "rowcount", 0) or 0)
        await session.commit()
    return Summary("purge_job_history", False, matched, changed)
