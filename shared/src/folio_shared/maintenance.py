"""Maintenance tasks: the work behind the scheduler's periodic messages.

Each task is a plain async function over a session (and the storage when it
touches objects), so the worker's maintenance actors and the ``folio
maintenance`` CLI run the same code. Each is idempotent, honours
``dry_run`` (count, change nothing) and returns a summary of what it did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.db.models import Document, Job
from folio_shared.errors import ObjectNotFound
from folio_shared.storage import Storage

#: Job states a job never leaves by itself; their history may be purged.
_FINISHED = (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED, JobStatus.FAILED)


@dataclass(frozen=True)
class Summary:
    """What a maintenance run did (or would do, with ``dry_run``)."""

    task: str
    dry_run: bool
    matched: int
    changed: int
    objects_deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def purge_job_history(
    session: AsyncSession,
    *,
    retention_days: int,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = 1000,
) -> Summary:
    """Delete finished jobs (and, by cascade, their events) older than the
    retention. Jobs still pending, queued or running are never touched, nor
    parents whose children are not all old enough to go."""
    cutoff = now - timedelta(days=retention_days)
    old = sa.and_(Job.status.in_(_FINISHED), Job.finished_at < cutoff)
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


async def expire_uploads(
    session: AsyncSession,
    storage: Storage,
    *,
    abandoned_after_s: int,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = 500,
) -> Summary:
    """Remove presigned uploads never completed: the object (if the client
    sent part of one) and the document row."""
    cutoff = now - timedelta(seconds=abandoned_after_s)
    stale = sa.and_(Document.status == DocumentStatus.AWAITING_UPLOAD, Document.created_at < cutoff)
    matched = await session.scalar(sa.select(sa.func.count()).where(stale)) or 0
    if dry_run:
        return Summary("expire_uploads", True, matched, 0)
    changed = deleted_objects = 0
    while True:
        rows = (
            await session.execute(
                sa.select(Document.id, Document.storage_key)
                .where(stale)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            break
        for _, key in rows:
            if await storage.exists(key):
                try:
                    await storage.delete(key)
                    deleted_objects += 1
                except ObjectNotFound:
                    pass
        result = await session.execute(
            sa.delete(Document).where(Document.id.in_([r[0] for r in rows]))
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
        await session.commit()
    return Summary("expire_uploads", False, matched, changed, deleted_objects)
