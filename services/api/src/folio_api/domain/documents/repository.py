"""Every SQL query of the documents domain, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.fields.filters import FieldFilters, filter_sql
from folio_api.pagination import after_cursor
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.db.models import (
    ACTIVE_TOP_LEVEL,
    FINISHED_JOB_STATUSES,
    Chunk,
    Document,
    Job,
    Page,
)
from folio_shared.errors import DocumentNotFound


async def get_document(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Document:
    """The tenant's document; another tenant's (or a deleted one) is
    :class:`DocumentNotFound`."""
    query = sa.select(Document).where(
        Document.id == document_id,
        Document.tenant_id == tenant_id,
        Document.status != DocumentStatus.DELETED,
    )
    if for_update:
        query = query.with_for_update()
    document = await session.scalar(query)
    if document is None:
        raise DocumentNotFound(f"no document {document_id}", document_id=str(document_id))
    return document


async def find_by_sha256(
    session: AsyncSession, tenant_id: uuid.UUID, sha256: str
) -> Document | None:
    """The tenant's stored document with these bytes, if any (neither
    awaiting its upload nor deleted: ``dedupe_sha256`` is set)."""
    return await session.scalar(
        sa.select(Document).where(Document.tenant_id == tenant_id, Document.dedupe_sha256 == sha256)
    )


async def list_documents(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    status: DocumentStatus | None,
    kind: DocumentKind | None,
    created_after: datetime | None,
    created_before: datetime | None,
    cursor: str | None,
    limit: int,
    fields: FieldFilters | None = None,
) -> list[Document]:
    """Up to ``limit + 1`` documents, newest first (one more tells whether
    another page follows); ``fields``: only documents whose extracted
    fields pass (:mod:`folio_api.domain.fields.filters`)."""
    query = sa.select(Document).where(
        Document.tenant_id == tenant_id,
        Document.status != DocumentStatus.DELETED,
        after_cursor(Document.created_at, Document.id, cursor),
    )
    if status is not None:
        query = query.where(Document.status == status)
    if kind is not None:
        query = query.where(Document.kind == kind)
    if created_after is not None:
        query = query.where(Document.created_at >= created_after)
    if created_before is not None:
        query = query.where(Document.created_at < created_before)
    if fields:
        condition, params = filter_sql(fields, "documents.id")
        query = query.where(sa.text(condition).bindparams(tenant_id=tenant_id, **params))
    query = query.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit + 1)
    return list(await session.scalars(query))


async def latest_jobs(
    session: AsyncSession, document_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Job]:
    """The most recent top-level job of each document."""
    if not document_ids:
        return {}
    rows = await session.scalars(
        sa.select(Job)
        .where(Job.document_id.in_(document_ids), Job.parent_id.is_(None))
        .order_by(Job.document_id, Job.created_at.desc(), Job.id.desc())
        .ext(distinct_on(Job.document_id))
    )
    return {job.document_id: job for job in rows if job.document_id is not None}


async def active_job(session: AsyncSession, document_id: uuid.UUID) -> Job | None:
    """The document's top-level job still pending, queued or running, if any."""
    return await session.scalar(
        sa.select(Job)
        .where(Job.document_id == document_id, sa.text(ACTIVE_TOP_LEVEL))
        .order_by(Job.created_at.desc())
        .limit(1)
    )


async def active_job_ids(session: AsyncSession, document_id: uuid.UUID) -> list[uuid.UUID]:
    """Every job of the document not yet finished (top-level first)."""
    rows = await session.scalars(
        sa.select(Job.id)
        .where(Job.document_id == document_id, Job.status.not_in(FINISHED_JOB_STATUSES))
        .order_by(Job.parent_id.is_not(None), Job.created_at)
    )
    return list(rows)


async def pages(session: AsyncSession, document_id: uuid.UUID, page_no: int | None) -> list[Page]:
    query = sa.select(Page).where(Page.document_id == document_id)
    if page_no is not None:
        query = query.where(Page.page_no == page_no)
    return list(await session.scalars(query.order_by(Page.page_no)))


async def page_count(session: AsyncSession, document_id: uuid.UUID) -> int:
    count = await session.scalar(
        sa.select(sa.func.count()).select_from(Page).where(Page.document_id == document_id)
    )
    return int(count or 0)


async def chunks(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID, *, after: int, limit: int
) -> list[Chunk]:
    """Up to ``limit + 1`` chunks with an index above ``after``, in order."""
    return list(
        await session.scalars(
            sa.select(Chunk)
            .where(
                Chunk.document_id == document_id,
                Chunk.tenant_id == tenant_id,
                Chunk.chunk_index > after,
            )
            .order_by(Chunk.chunk_index)
            .limit(limit + 1)
        )
    )


async def mark_deleted(session: AsyncSession, document_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(Document)
        .where(Document.id == document_id)
        .values(status=DocumentStatus.DELETED, updated_at=sa.func.now())
    )


async def delete_row(session: AsyncSession, document_id: uuid.UUID) -> None:
    """Delete the row; pages and chunks go with it, jobs are detached."""
    await session.execute(sa.delete(Document).where(Document.id == document_id))
