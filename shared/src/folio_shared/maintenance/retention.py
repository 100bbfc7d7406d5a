"""Document retention per tenant: documents older than their tenant's
``document_retention_days`` are deleted, with everything that is theirs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import AuditLog, Document, Tenant
from folio_shared.maintenance.summary import Summary
from folio_shared.maintenance.uploads import delete_objects
from folio_shared.storage import Storage

#: Who the audit log says deleted documents past their retention.
AUDIT_ACTOR = "maintenance"


async def apply_document_retention(
    session: AsyncSession,
    storage: Storage,
    *,
    now: datetime,
    tenant_id: uuid.UUID | None = None,
    dry_run: bool = False,
    batch_size: int = 200,
) -> Summary:
    """Delete documents created more than their tenant's retention before
    ``now``, in every tenant that has one (or only ``tenant_id``): the stored
    object first, then the row, whose pages and chunks go with it (cascade)
    and whose jobs are detached (their history stays until it is purged).
    Tenants without a retention are never touched. One audit-log entry per
    tenant that lost documents."""
    query = sa.select(Tenant.id, Tenant.document_retention_days).where(
        Tenant.document_retention_days.is_not(None)
    )
    if tenant_id is not None:
        query = query.where(Tenant.id == tenant_id)
    tenants = (await session.execute(query.order_by(Tenant.id))).all()
    matched = changed = objects_deleted = 0
    for tenant in tenants:
        cutoff = now - timedelta(days=tenant.document_retention_days)
        old = sa.and_(Document.tenant_id == tenant.id, Document.created_at < cutoff)
        matched += await session.scalar(sa.select(sa.func.count()).where(old)) or 0
        if dry_run:
            continue
        deleted_here = 0
        while True:
            rows = (
                await session.execute(
                    sa.select(Document.id, Document.storage_key)
                    .where(old)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                break
            objects_deleted += await delete_objects(storage, [r.storage_key for r in rows])
            result = await session.execute(
                sa.delete(Document).where(Document.id.in_([r.id for r in rows]))
            )
            deleted_here += int(getattr(result, "rowcount", 0) or 0)
            await session.commit()
        if deleted_here:
            session.add(
                AuditLog(
                    actor=AUDIT_ACTOR,
                    action="documents.retention",
                    target=f"tenant:{tenant.id}",
                    details={
                        "deleted": deleted_here,
                        "retention_days": tenant.document_retention_days,
                    },
                )
            )
            await session.commit()
        changed += deleted_here
    await session.rollback()
    return Summary(
        "apply_document_retention",
        dry_run,
        matched,
        changed,
        objects_deleted,
        details={"tenants": len(tenants)},
    )
