"""The document row as the pipeline changes it: one statement per change.

Each function writes the row with a single ``UPDATE … RETURNING`` that
also checks it is the tenant's and not deleted (raising
:class:`~folio_shared.errors.DocumentNotFound` otherwise), instead of
reading the row and writing it back: a one-page document used to read its
row three times and write it three times.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document
from folio_shared.errors import DocumentNotFound


def _mine(tenant_id: uuid.UUID, document_id: uuid.UUID) -> tuple[Any, ...]:
    return (
        Document.id == document_id,
        Document.tenant_id == tenant_id,
        Document.status != DocumentStatus.DELETED,
    )


def _not_found(document_id: uuid.UUID) -> DocumentNotFound:
    return DocumentNotFound(f"no document {document_id}", document_id=str(document_id))


async def start_processing(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> Document:
    """Mark the document ``processing`` and return its row (in the
    session's transaction)."""
    stmt = (
        sa.update(Document)
        .where(*_mine(tenant_id, document_id))
        .values(status=DocumentStatus.PROCESSING)
        .returning(Document)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    doc = (await session.scalars(stmt)).first()
    if doc is None:
        raise _not_found(document_id)
    return doc


async def set_page_count(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID, page_count: int
) -> None:
    """Record the document's page count (in the session's transaction)."""
    stmt = (
        sa.update(Document)
        .where(*_mine(tenant_id, document_id))
        .values(page_count=page_count)
        .returning(Document.id)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).first() is None:
        raise _not_found(document_id)


@dataclass(frozen=True)
class FinalState:
    """What the completion step decided for the document."""

    status: DocumentStatus
    error: str | None
    low_confidence_pages: Sequence[int]
    #: merged into the row's metadata (top-level keys replaced)
    meta: dict[str, Any]
    chunk_count: int
    token_count: int
    #: ``None``: left as it is
    page_count: int | None = None


async def finish(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID, state: FinalState
) -> None:
    """Write the document's final state and its chunk totals, locking the
    row until the session's transaction ends (the chunks are replaced under
    that lock, :mod:`folio_worker_docs.chunks_store`)."""
    values: dict[str, Any] = {
        "status": state.status,
        "error": state.error,
        "low_confidence_pages": list(state.low_confidence_pages),
        "meta": sa.func.coalesce(Document.meta, sa.text("'{}'::jsonb")).op("||")(
            sa.bindparam("meta_patch", state.meta, type_=JSONB)
        ),
        "chunk_count": state.chunk_count,
        "token_count": state.token_count,
    }
    if state.page_count is not None:
        values["page_count"] = state.page_count
    stmt = (
        sa.update(Document)
        .where(*_mine(tenant_id, document_id))
        .values(**values)
        .returning(Document.id)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).first() is None:
        raise _not_found(document_id)
