"""The few reads only the dashboard makes: finished jobs per minute, recent
failures and a job's children.
Everything else the pages show comes from the API's own services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job


@dataclass(frozen=True)
class Overview:
    """``per_minute``: jobs finished in each of the last ``minutes``
    minutes (oldest first); ``failures``: the newest failed or dead jobs
    (counts by kind and state come from :mod:`folio_api.domain.jobs.stats`)."""

    per_minute: list[int]
    failures: list[Job]


def _tenant(tenant_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    return Job.tenant_id == tenant_id if tenant_id is not None else sa.true()


async def overview(
    session: AsyncSession, tenant_id: uuid.UUID | None, *, minutes: int = 60
) -> Overview:
    """The home page's numbers for one tenant (``None``: every tenant)."""
    since = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    minute = sa.func.date_trunc("minute", Job.finished_at)
    finished = await session.execute(
        sa.select(minute, sa.func.count())
        .where(_tenant(tenant_id), Job.finished_at >= since)
        .group_by(minute)
    )
    by_minute = {m.astimezone(UTC): n for m, n in finished}
    per_minute = [by_minute.get(since + timedelta(minutes=i), 0) for i in range(minutes)]
    failures = list(
        await session.scalars(
            sa.select(Job)
            .where(_tenant(tenant_id), Job.status.in_([JobStatus.FAILED, JobStatus.DEAD]))
            .order_by(Job.updated_at.desc())
            .limit(10)
        )
    )
    return Overview(per_minute=per_minute, failures=failures)


async def children(
    session: AsyncSession, tenant_id: uuid.UUID | None, parent_id: uuid.UUID, *, limit: int = 200
) -> list[Job]:
    """A job's children (OCR pages, batch members), in creation order."""
    return list(
        await session.scalars(
            sa.select(Job)
            .where(_tenant(tenant_id), Job.parent_id == parent_id)
            .order_by(Job.created_at, Job.id)
            .limit(limit)
        )
    )
