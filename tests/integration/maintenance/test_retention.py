"""Document retention per tenant: old documents of tenants with a retention
go (rows, pages, objects), everything else stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared import maintenance
from folio_shared.db.enums import DocumentStatus, JobStatus, PageMethod
from folio_shared.db.models import AuditLog, Document, Job, Page, Tenant
from folio_shared.storage import Storage

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def test_retention_deletes_only_old_documents_of_tenants_with_one(
    db: AsyncSession, storage: Storage
) -> None:
    # Given a tenant keeping documents 30 days and one keeping them forever
    short = Tenant(name=f"short-{uuid.uuid4().hex[:6]}", document_retention_days=30)
    forever = Tenant(name=f"forever-{uuid.uuid4().hex[:6]}")
    db.add_all([short, forever])
    await db.flush()

    def doc(tenant: Tenant, key: str, age_days: int) -> Document:
        return Document(
            tenant_id=tenant.id,
            filename="f.txt",
            storage_key=key,
            status=DocumentStatus.READY,
            created_at=NOW - timedelta(days=age_days),
        )

    old = doc(short, "r/short-old", 40)
    old_no_object = doc(short, "r/short-old-2", 31)
    recent = doc(short, "r/short-recent", 10)
    ancient = doc(forever, "r/forever-old", 400)
    db.add_all([old, old_no_object, recent, ancient])
    await db.flush()
    db.add(
        Page(document_id=old.id, page_no=1, text="x", method=PageMethod.TEXT, pipeline_version="1")
    )
    job = Job(
        actor_name="docs.process",
        queue_name="documents",
        status=JobStatus.SUCCEEDED,
        document_id=old.id,
        tenant_id=short.id,
    )
    db.add(job)
    await db.commit()
    job_id, short_id, forever_id = job.id, short.id, forever.id
    for key in ("r/short-old", "r/short-recent", "r/forever-old"):
        await storage.put_bytes(key, b"hello", content_type="text/plain")

    # When a dry run looks
    dry = await maintenance.apply_document_retention(db, storage, now=NOW, dry_run=True)
    assert (dry.matched, dry.changed, dry.objects_deleted) == (2, 0, 0)
    assert await db.scalar(sa.select(sa.func.count()).select_from(Document)) == 4
    assert await storage.exists("r/short-old")

    # When it runs (a batch of one, to cross batch boundaries)
    done = await maintenance.apply_document_retention(db, storage, now=NOW, batch_size=1)
    assert (done.matched, done.changed, done.objects_deleted) == (2, 2, 1)
    assert done.details == {"tenants": 1}
    db.expire_all()
    keys = set((await db.scalars(sa.select(Document.storage_key))).all())
    assert keys == {"r/short-recent", "r/forever-old"}
    assert {o.key async for o in storage.list()} == {"r/short-recent", "r/forever-old"}
    # Pages went with the document; its job stays, detached
    assert await db.scalar(sa.select(sa.func.count()).select_from(Page)) == 0
    kept_job = await db.get(Job, job_id, populate_existing=True)
    assert kept_job is not None
    assert kept_job.document_id is None
    audit = (await db.scalars(sa.select(AuditLog))).all()
    assert [(a.action, a.target, a.details["deleted"]) for a in audit] == [
        ("documents.retention", f"tenant:{short_id}", 2)
    ]

    # And again: nothing more (idempotent); one tenant only: nothing either
    again = await maintenance.apply_document_retention(db, storage, now=NOW)
    assert (again.matched, again.changed) == (0, 0)
    only = await maintenance.apply_document_retention(db, storage, now=NOW, tenant_id=forever_id)
    assert (only.matched, only.details) == (0, {"tenants": 0})
