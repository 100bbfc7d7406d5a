"""Listing a tenant's jobs (single-job operations use :class:`folio_shared.jobs.Jobs`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from folio_api.domain.jobs.schemas import JobPage, job_out
from folio_api.pagination import after_cursor, encode_cursor
from folio_api.resources import Resources
from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job


async def list_jobs(
    resources: Resources,
    tenant_id: uuid.UUID,
    *,
    status: JobStatus | None,
    document_id: uuid.UUID | None,
    top_level: bool,
    created_after: datetime | None,
    created_before: datetime | None,
    cursor: str | None,
    limit: int,
) -> JobPage:
    query = sa.select(Job).where(
        Job.tenant_id == tenant_id, after_cursor(Job.created_at, Job.id, cursor)
    )
    if status is not None:
        query = query.where(Job.status == status)
    if document_id is not None:
        query = query.where(Job.document_id == document_id)
    if top_level:
        query = query.where(Job.parent_id.is_(None))
    if created_after is not None:
        query = query.where(Job.created_at >= created_after)
    if created_before is not None:
        query = query.where(Job.created_at < created_before)
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    assert resources.sessions is not None
    async with resources.sessions() as session:
        rows = list(await session.scalars(query))
    page = rows[:limit]
    return JobPage(
        items=[job_out(j) for j in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None,
    )
