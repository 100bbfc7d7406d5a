"""Constraints, cascades and defaults hold in the real database."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus, JobStatus, PageMethod
from folio_shared.db.models import Chunk, Document, Job, JobEvent, Page, Tenant

pytestmark = pytest.mark.integration


async def _tenant(session: AsyncSession) -> Tenant:
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    session.add(tenant)
    await session.flush()
    return tenant


def _document(tenant: Tenant, sha256: str | None, status: DocumentStatus) -> Document:
    return Document(
        tenant_id=tenant.id,
        filename="a.pdf",
        storage_key=f"{tenant.id}/{uuid.uuid4()}",
        sha256=sha256,
        status=status,
    )


async def _fails(session: AsyncSession, *rows: object) -> None:
    """Adding ``rows`` violates a constraint; the session stays usable."""
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            session.add_all(rows)


async def test_tenant_names_are_unique(session: AsyncSession) -> None:
    tenant = await _tenant(session)
    await _fails(session, Tenant(name=tenant.name))


async def test_same_file_twice_in_one_tenant_is_refused_once_uploaded(
    session: AsyncSession,
) -> None:
    tenant, other = await _tenant(session), await _tenant(session)
    sha = "a" * 64
    session.add(_document(tenant, sha, DocumentStatus.READY))
    await session.flush()
    # Same tenant, same bytes: refused.
    await _fails(session, _document(tenant, sha, DocumentStatus.UPLOADED))
    # Another tenant may hold the same file.
    session.add(_document(other, sha, DocumentStatus.READY))
    # Uploads not yet done, and deleted documents, do not count.
    session.add(_document(tenant, sha, DocumentStatus.AWAITING_UPLOAD))
    session.add(_document(tenant, sha, DocumentStatus.DELETED))
    await session.flush()


async def test_storage_keys_are_unique(session: AsyncSession) -> None:
    tenant = await _tenant(session)
    doc = _document(tenant, None, DocumentStatus.AWAITING_UPLOAD)
    session.add(doc)
    await session.flush()
    twin = _document(tenant, None, DocumentStatus.AWAITING_UPLOAD)
    twin.storage_key = doc.storage_key
    await _fails(session, twin)


async def test_page_and_chunk_numbers_are_unique_per_document(session: AsyncSession) -> None:
    tenant = await _tenant(session)
    doc = _document(tenant, None, DocumentStatus.PROCESSING)
    session.add(doc)
    await session.flush()

    def page() -> Page:
        return Page(
            document_id=doc.id, page_no=1, text="x", method=PageMethod.TEXT, pipeline_version="1"
        )

    def chunk() -> Chunk:
        return Chunk(
            tenant_id=tenant.id,
            document_id=doc.id,
            chunk_index=0,
            page_start=1,
            page_end=1,
            char_start=0,
            char_end=1,
            text="x",
            token_count=1,
            pipeline_version="1",
        )

    session.add_all([page(), chunk()])
    await session.flush()
    await _fails(session, page())
    await _fails(session, chunk())


async def test_check_constraints_refuse_bad_values(session: AsyncSession) -> None:
    tenant = await _tenant(session)
    await _fails(session, Job(tenant_id=tenant.id, actor_name="a", queue_name="q", progress=101))
    await _fails(
        session, Job(tenant_id=tenant.id, actor_name="a", queue_name="q", priority="urgent")
    )
    # Bypassing the ORM's own enum check: the database still refuses.
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                sa.text(
                    "INSERT INTO jobs (actor_name, queue_name, status) VALUES ('a', 'q', 'nope')"
                )
            )
    # An operator key has no tenant, a tenant key must have one.
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                sa.text(
                    "INSERT INTO api_keys (kind, name, prefix, key_hash) "
                    "VALUES ('tenant', 'k', 'p1', 'h')"
                )
            )


async def test_deleting_a_document_cascades_and_detaches_jobs(session: AsyncSession) -> None:
    tenant = await _tenant(session)
    doc = _document(tenant, "b" * 64, DocumentStatus.READY)
    session.add(doc)
    await session.flush()
    job = Job(tenant_id=tenant.id, document_id=doc.id, actor_name="docs.x", queue_name="documents")
    session.add_all(
        [
            job,
            Page(document_id=doc.id, page_no=1, text="x", method="ocr", pipeline_version="1"),
        ]
    )
    await session.flush()
    session.add(JobEvent(job_id=job.id, kind="state", status=JobStatus.QUEUED))
    await session.flush()

    await session.execute(sa.delete(Document).where(Document.id == doc.id))

    pages = await session.scalar(
        sa.select(sa.func.count()).select_from(Page).where(Page.document_id == doc.id)
    )
    assert pages == 0
    document_id = await session.scalar(sa.select(Job.document_id).where(Job.id == job.id))
    assert document_id is None
    # Deleting the job takes its events with it.
    await session.execute(sa.delete(Job).where(Job.id == job.id))
    events = await session.scalar(
        sa.select(sa.func.count()).select_from(JobEvent).where(JobEvent.job_id == job.id)
    )
    assert events == 0


async def test_server_defaults_are_read_back_without_lazy_loads(session: AsyncSession) -> None:
    # Given a new job, only required fields set
    tenant = await _tenant(session)
    job = Job(tenant_id=tenant.id, actor_name="docs.x", queue_name="documents")
    session.add(job)
    await session.flush()
    # Then server defaults are there at once (an async session cannot lazy-load)
    assert job.status == JobStatus.PENDING
    assert (job.attempts, job.progress, job.priority) == (0, 0, "normal")
    first_update = job.updated_at
    assert first_update is not None
    # When it is updated in a later transaction
    await session.commit()
    job.stage = "extract"
    await session.commit()
    # Then updated_at moved and is readable
    assert job.updated_at > first_update
