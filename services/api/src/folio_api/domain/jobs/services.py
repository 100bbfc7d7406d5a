"""Reading jobs: the list (filtered, paged), one job with its timeline.

Single-job operations (cancel, retry) use :class:`folio_shared.jobs.Jobs`.
A ``tenant_id`` of ``None`` (an operator key) reads every tenant's jobs,
with their errors' full text (tenants read
:func:`~folio_shared.jobs.public_errors.tenant_message`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from folio_api.domain.jobs.schemas import JobOut, JobPage, job_out, timeline_entry
from folio_api.pagination import after_cursor, encode_cursor
from folio_api.resources import Resources, reads
from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job, JobEvent
from folio_shared.errors import InvalidInput, JobNotFound

#: Query parameters ``metadata.<key>=<value>`` filter on the job's labels.
METADATA_PREFIX = "metadata."
#: Most ``metadata.*`` filters in one request.
MAX_METADATA_FILTERS = 8


@dataclass(frozen=True)
class JobFilter:
    """What ``GET /v1/jobs`` filters on (every field optional)."""

    status: JobStatus | None = None
    kind: str | None = None
    batch_id: uuid.UUID | None = None
    document_id: uuid.UUID | None = None
    top_level: bool = False
    created_after: datetime | None = None
    created_before: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    #: jobs whose error message contains this text (case-insensitive)
    error_text: str | None = None


def metadata_filters(params: list[tuple[str, str]]) -> dict[str, str]:
    """The ``metadata.<key>=<value>`` pairs of a query string."""
    found = {k[len(METADATA_PREFIX) :]: v for k, v in params if k.startswith(METADATA_PREFIX)}
    if len(found) > MAX_METADATA_FILTERS or any(not k for k in found):
        raise InvalidInput(
            f"query fields 'metadata.<key>': at most {MAX_METADATA_FILTERS}, each with a key"
        )
    return found


async def list_jobs(
    resources: Resources,
    tenant_id: uuid.UUID | None,
    where: JobFilter,
    *,
    cursor: str | None,
    limit: int,
) -> JobPage:
    query = sa.select(Job).where(after_cursor(Job.created_at, Job.id, cursor))
    if tenant_id is not None:
        query = query.where(Job.tenant_id == tenant_id)
    if where.status is not None:
        query = query.where(Job.status == where.status)
    if where.kind is not None:
        query = query.where(Job.actor_name == where.kind)
    if where.batch_id is not None:
        query = query.where(Job.batch_id == where.batch_id)
    if where.document_id is not None:
        query = query.where(Job.document_id == where.document_id)
    if where.top_level:
        query = query.where(Job.parent_id.is_(None))
    if where.created_after is not None:
        query = query.where(Job.created_at >= where.created_after)
    if where.created_before is not None:
        query = query.where(Job.created_at < where.created_before)
    if where.metadata:
        query = query.where(Job.meta.contains(where.metadata))
    if where.error_text:
        query = query.where(Job.error_message.icontains(where.error_text, autoescape=True))
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        rows = list(await session.scalars(query))
    page = rows[:limit]
    return JobPage(
        items=[job_out(j, full_errors=tenant_id is None) for j in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None,
    )


async def job_detail(
    resources: Resources, tenant_id: uuid.UUID | None, job_id: uuid.UUID
) -> JobOut:
    """One job with its timeline (its state changes, oldest first)."""
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        job = await session.get(Job, job_id)
        if job is None or (tenant_id is not None and job.tenant_id != tenant_id):
            raise JobNotFound(f"no job {job_id}", job_id=str(job_id))
        events = await session.execute(
            sa.select(JobEvent.status, JobEvent.at, JobEvent.data)
            .where(JobEvent.job_id == job_id, JobEvent.kind == "state")
            .order_by(JobEvent.id)
        )
        operator = tenant_id is None
        timeline = [
            timeline_entry(str(status), at, data or {}, full_errors=operator)
            for status, at, data in events.all()
        ]
    return job_out(job, timeline=timeline, full_errors=operator)
