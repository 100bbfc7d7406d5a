"""Helpers that create tenants and documents for the pipeline tests."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document, Tenant


async def make_tenant(session: AsyncSession) -> uuid.UUID:
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:10]}")
    session.add(tenant)
    await session.flush()
    return tenant.id


async def make_document(
    session: AsyncSession, tenant_id: uuid.UUID, filename: str, kind: str = "text"
) -> uuid.UUID:
    document = Document(
        tenant_id=tenant_id,
        filename=filename,
        kind=kind,
        storage_key=f"{tenant_id}/{uuid.uuid4().hex}",
        sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        size_bytes=1,
        status=DocumentStatus.READY,
    )
    session.add(document)
    await session.flush()
    return document.id
