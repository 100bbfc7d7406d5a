"""Deleting jobs: finished ones past their retention, dead ones on request.

A job's ``job_events`` rows go with it (``ON DELETE CASCADE``). A deleted
parent's remaining children are detached (``parent_id`` cleared) or, for a
dead parent, deleted with it by the same cascade. A batch goes with the
history purge once it finished before the cutoff and none of its members
is left.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Batch, Job

#: Job states a job never leaves by itself; their history may be purged.
FINISHED = (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED, JobStatus.FAILED)
#: Finished states but ``dead``, whose jobs have a retention of their own.
_ENDED = tuple(s for s in FINISHED if s is not JobStatus.DEAD)


def _finished_before(
    cutoff: datetime | None, dead_cutoff: datetime | None
) -> sa.ColumnElement[bool]:
    """Finished jobs past their retention: dead ones finished before
    ``dead_cutoff``, the others before ``cutoff`` (``None``: kept forever)."""
    kept_forever: sa.ColumnElement[bool] = sa.false()
    ended = sa.and_(Job.status.in_(_ENDED), Job.finished_at < cutoff) if cutoff else kept_forever
    dead = (
        sa.and_(Job.status == JobStatus.DEAD, Job.finished_at < dead_cutoff)
        if dead_cutoff
        else kept_forever
    )
    return sa.or_(ended, dead)


async def count_finished(
    session: AsyncSession, *, before: datetime | None, dead_before: datetime | None
) -> int:
    """How many jobs are past their retention (see :func:`purge_finished`)."""
    condition = _finished_before(before, dead_before)
    return int(await session.scalar(sa.select(sa.func.count()).where(condition)) or 0)


async def purge_finished(
    session: AsyncSession,
    *,
    before: datetime | None,
    dead_before: datetime | None,
    batch_size: int = 1000,
) -> int:
    """Delete jobs that reached a final state before ``before`` (dead ones:
    before ``dead_before``; ``None``: none), at most ``batch_size`` per
    transaction, each committed; returns how many were deleted. Jobs still
    pending, queued or running are never touched; a purged parent's
    remaining children are detached from it, never deleted with it."""
    old = _finished_before(before, dead_before)
    deleted = 0
    while True:
        ids = (await session.scalars(sa.select(Job.id).where(old).limit(batch_size))).all()
        if not ids:
            if before is not None:
                await _purge_batches(session, before)
            return deleted
        # Children first: a parent row is referenced by its children.
        await session.execute(sa.update(Job).where(Job.parent_id.in_(ids)).values(parent_id=None))
        result = await session.execute(sa.delete(Job).where(Job.id.in_(ids)))
        deleted += int(getattr(result, "rowcount", 0) or 0)
        await session.commit()


async def _purge_batches(session: AsyncSession, before: datetime) -> None:
    """Delete batches finished before ``before`` whose members are all gone."""
    await session.execute(
        sa.delete(Batch).where(
            Batch.finished_at < before,
            ~sa.exists().where(Job.batch_id == Batch.id),
        )
    )
    await session.commit()


async def purge_dead(conn: AsyncConnection, job_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Delete those of ``job_ids`` that are ``dead`` (in the caller's
    transaction); returns the ids deleted."""
    deleted = await conn.execute(
        sa.delete(Job).where(Job.id.in_(list(job_ids)), Job.status == "dead").returning(Job.id)
    )
    return [r.id for r in deleted.all()]
