"""Reading a document's stored fields (tenant-scoped)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document, DocumentFields


async def document_fields(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[bool, DocumentFields | None]:
    """Whether the tenant has this (not deleted) document, and its fields row if any."""
    row = (
        await session.execute(
            sa.select(Document.id, DocumentFields)
            .outerjoin(DocumentFields, DocumentFields.document_id == Document.id)
            .where(
                Document.id == document_id,
                Document.tenant_id == tenant_id,
                Document.status != DocumentStatus.DELETED,
            )
        )
    ).first()
    if row is None:
        return False, None
    return True, row[1]


async def summaries(
    session: AsyncSession, tenant_id: uuid.UUID, document_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, dict[str, str]]]:
    """``document id -> (document type, {field name: value})`` for those of
    the documents that have been through extraction."""
    if not document_ids:
        return {}
    rows = await session.execute(
        sa.select(DocumentFields.document_id, DocumentFields.document_type, DocumentFields.fields)
        .where(DocumentFields.tenant_id == tenant_id)
        .where(DocumentFields.document_id.in_(document_ids))
    )
    return {
        document_id: (
            document_type,
            {name: str(field.get("value")) for name, field in (fields or {}).items()},
        )
        for document_id, document_type, fields in rows
    }
