"""The few reads only the dashboard makes: finished jobs per minute, recent
failures, a job's children and tenants' names.
Everything else the pages show comes from the API's own services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job, Tenant


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


async def tenant_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of the tenants ``ids``."""
    if not ids:
        return {}
    rows = await session.execute(sa.select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids)))
    return {row.id: row.name for row in rows}


async def find_tenant(session: AsyncSession, text: str) -> uuid.UUID | None:
    """The tenant whose id or name is ``text`` (``None``: no such tenant)."""
    try:
        by_id: sa.ColumnElement[bool] = Tenant.id == uuid.UUID(text)
    except ValueError:
        by_id = sa.false()
    return await session.scalar(sa.select(Tenant.id).where(sa.or_(by_id, Tenant.name == text)))


async def all_tenant_names(session: AsyncSession, *, limit: int = 500) -> list[str]:
    """Tenants' names in order (suggestions for the tenant filter)."""
    return list(await session.scalars(sa.select(Tenant.name).order_by(Tenant.name).limit(limit)))


async def job_tenants(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The tenant of each job of ``ids``."""
    if not ids:
        return {}
    rows = await session.execute(sa.select(Job.id, Job.tenant_id).where(Job.id.in_(ids)))
    return {row.id: row.tenant_id for row in rows}


async def change_mark(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[int, Any]:
    """A mark of ``tenant_id``'s jobs created in the last 24 hours (how
    many, and the latest change to any), which moves whenever one of them
    changes state or progress (through ``ix_jobs_tenant_id_created_at``)."""
    since = datetime.now(UTC) - timedelta(hours=24)
    row = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.max(Job.updated_at)).where(
                Job.tenant_id == tenant_id, Job.created_at >= since
            )
        )
    ).one()
    return int(row[0]), row[1]
