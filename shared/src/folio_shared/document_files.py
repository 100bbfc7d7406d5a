"""A document's stored file, as a worker may read it.

Workers never trust a message's ``storage_key`` alone: before reading,
:func:`checked_file` holds it against the document's row — the same key,
under the tenant's prefix — and returns the size and SHA-256 the row
recorded when the upload was checked, which the download then verifies
(:class:`~folio_shared.storage.files.Expected`). A message altered on the
way or re-driven with another key fails its job with
``InvalidStorageKey``; an object swapped after the check fails it with
``StoredFileChanged``.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document
from folio_shared.errors import DocumentNotFound
from folio_shared.storage.files import Expected
from folio_shared.storage.keys import check_document_key


def checked_file(document: Document, key: str) -> Expected:
    """What the object at ``key`` must be, for ``document``'s row (raises
    ``InvalidStorageKey`` when ``key`` is not that document's)."""
    check_document_key(key, tenant_id=document.tenant_id, recorded_key=document.storage_key)
    return Expected(size_bytes=document.size_bytes, sha256=document.sha256)


async def document_file(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID, key: str
) -> Expected:
    """:func:`checked_file` for the tenant's document ``document_id``
    (``DocumentNotFound`` when it is gone or another tenant's)."""
    document = await session.get(Document, document_id)
    if (
        document is None
        or document.tenant_id != tenant_id
        or document.status == DocumentStatus.DELETED
    ):
        raise DocumentNotFound(f"no document {document_id}", document_id=str(document_id))
    return checked_file(document, key)
