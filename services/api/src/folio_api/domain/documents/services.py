"""Reading and deleting documents (every call scoped to one tenant)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

from folio_api.domain.documents import repository
from folio_api.domain.documents.schemas import (
    ChunkOut,
    ChunkPage,
    DocumentOut,
    DocumentPage,
    PageText,
    TextOut,
    document_out,
)
from folio_api.domain.documents.text import MAX_TEXT_CHARS, read_window
from folio_api.domain.fields import repository as fields_repository
from folio_api.domain.fields.filters import FieldFilters
from folio_api.domain.jobs.schemas import job_out
from folio_api.pagination import encode_cursor
from folio_api.resources import Resources, reads, writes
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.db.models import Document
from folio_shared.errors import (
    DocumentStateConflict,
    JobNotFound,
    JobStateConflict,
    ObjectNotFound,
    PageNotFound,
)
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Statuses in which a document has text to read.
READABLE = (DocumentStatus.READY, DocumentStatus.PARTIAL)


async def document_row(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> Document:
    """The tenant's document row (404 otherwise)."""
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        return await repository.get_document(session, tenant_id, document_id)


async def get_document(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentOut:
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        document = await repository.get_document(session, tenant_id, document_id)
        latest = await repository.latest_jobs(session, [document.id])
    job = latest.get(document.id)
    return document_out(document, job_out(job) if job else None)


async def list_documents(
    resources: Resources,
    tenant_id: uuid.UUID,
    *,
    status: DocumentStatus | None,
    kind: DocumentKind | None,
    created_after: datetime | None,
    created_before: datetime | None,
    cursor: str | None,
    limit: int,
    fields: FieldFilters | None = None,
) -> DocumentPage:
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        rows = await repository.list_documents(
            session,
            tenant_id,
            status=status,
            kind=kind,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
            fields=fields,
        )
        page = rows[:limit]
        latest = await repository.latest_jobs(session, [d.id for d in page])
        extracted = await fields_repository.summaries(session, tenant_id, [d.id for d in page])
    items = [
        document_out(
            d, job_out(latest[d.id]) if d.id in latest else None, extracted.get(d.id, (None, None))
        )
        for d in page
    ]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return DocumentPage(items=items, next_cursor=next_cursor)


async def get_text(
    resources: Resources,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    page_no: int | None,
    *,
    offset: int = 0,
    limit: int = MAX_TEXT_CHARS,
) -> TextOut:
    """A window of the document's text (all pages, or one), at most
    ``limit`` characters from ``offset`` (see :mod:`.text`); 409 while it
    has none yet."""
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        document = await repository.get_document(session, tenant_id, document_id)
        window = await read_window(session, document.id, page=page_no, offset=offset, limit=limit)
    total = window.page_count
    if not window.found or not total:
        if page_no is not None and total:
            raise PageNotFound(
                f"document {document_id} has no page {page_no} (it has {total})",
                document_id=str(document_id),
                page=page_no,
            )
        if document.status not in READABLE:
            raise DocumentStateConflict(
                f"document {document_id} has no text yet (status {document.status})",
                document_id=str(document_id),
                status=str(document.status),
            )
        if page_no is not None:
            raise PageNotFound(f"document {document_id} has no page {page_no}", page=page_no)
    return TextOut(
        document_id=document.id,
        page_count=document.page_count or total,
        page=page_no,
        text=window.text,
        pages=[
            PageText(
                page_no=p.page_no,
                text=p.text,
                method=p.method,
                low_confidence=p.low_confidence,
                ocr_confidence=p.ocr_confidence,
            )
            for p in window.parts
        ],
        offset=window.offset,
        total_chars=window.total_chars,
        next_offset=window.next_offset,
    )


async def list_chunks(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, *, after: int, limit: int
) -> ChunkPage:
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        document = await repository.get_document(session, tenant_id, document_id)
        rows = await repository.chunks(session, tenant_id, document.id, after=after, limit=limit)
    page = rows[:limit]
    return ChunkPage(
        items=[
            ChunkOut(
                id=c.id,
                index=c.chunk_index,
                page_start=c.page_start,
                page_end=c.page_end,
                char_start=c.char_start,
                char_end=c.char_end,
                token_count=c.token_count,
                text=c.text,
            )
            for c in page
        ],
        next_after=page[-1].chunk_index if len(rows) > limit else None,
    )


async def delete_document(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    """Cancel the document's running work, then remove its rows (pages and
    chunks with it) and its stored file. The row is first marked
    ``deleted`` so it vanishes from every read at once."""
    assert resources.sessions is not None
    assert resources.jobs is not None
    async with writes(resources, tenant_id) as session:
        document = await repository.get_document(session, tenant_id, document_id, for_update=True)
        active = await repository.active_job_ids(session, document.id)
        await repository.mark_deleted(session, document.id)
        await session.commit()
    for job_id in active:
        # finished meanwhile, or cancelled with its parent: nothing to do
        with contextlib.suppress(JobStateConflict, JobNotFound):
            await resources.jobs.cancel(job_id, tenant_id=tenant_id)
    with contextlib.suppress(ObjectNotFound):
        await resources.storage.delete(document.storage_key)
    async with writes(resources, tenant_id) as session:
        await repository.delete_row(session, document.id)
        await session.commit()
    log.info("document deleted", document_id=str(document_id), tenant_id=str(tenant_id))
