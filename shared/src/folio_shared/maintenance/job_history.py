"""Job history retention: finished jobs (and their events) older than the
retention are deleted (:mod:`folio_shared.jobs.purge`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.jobs import purge
from folio_shared.maintenance.summary import Summary


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
    matched = await purge.count_finished(session, before=cutoff)
    if dry_run:
        return Summary("purge_job_history", True, matched, 0)
    changed = await purge.purge_finished(session, before=cutoff, batch_size=batch_size)
    return Summary("purge_job_history", False, matched, changed)
