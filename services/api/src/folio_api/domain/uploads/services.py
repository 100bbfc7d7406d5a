"""Presigned uploads: the grant, and the check before processing.

:func:`create_upload` inserts a document in status ``awaiting_upload``
under a random key of the tenant's prefix and asks the storage for a grant
bounded in time (``settings.upload.presign_expiry_s``, at most 15 min),
size (the declared size or the upload limit) and type (from the file
name's extension). The storage itself enforces those bounds. An upload
never completed is removed by the scheduler's ``expire_uploads`` task.

:func:`verify_upload` runs at ``POST /v1/documents/{id}/process``: the
object must exist, be non-empty and within the limit, and its first bytes
must be the type the name promised; it is then hashed (SHA-256) as a
stream. A file that fails the check is removed from storage (the client
may upload again while the grant lasts) and the request gets the 4xx.

Upload URLs write until then only (:func:`check_upload_open`): once the
upload is checked, or the document deleted, the local backend's upload
route refuses the URL (409 ``upload_closed``), so a second PUT cannot swap
the bytes past the type check nor bring a deleted file back. With S3 the
client writes to S3 directly; there (and against a PUT racing the check)
the workers' own check holds: they read the object only if its size and
SHA-256 are those recorded here (:mod:`folio_shared.document_files`).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from typing import Any

import sqlalchemy as sa

from folio_api.domain.documents.filetypes import (
    SNIFF_BYTES,
    check_upload,
    content_type_for,
    sanitize_filename,
)
from folio_api.domain.documents.metadata import check_metadata
from folio_api.domain.documents.upload_form import storage_key_for
from folio_api.domain.uploads.job_inputs import check_input_open
from folio_api.resources import Resources, writes
from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document
from folio_shared.errors import (
    DocumentStateConflict,
    EmptyFile,
    FileTooLarge,
    FolioError,
    InvalidInput,
    ObjectNotFound,
    UploadClosed,
)
from folio_shared.storage import PresignedUpload
from folio_shared.storage.keys import TENANTS_PREFIX, is_job_input_key


async def create_upload(
    resources: Resources,
    tenant_id: uuid.UUID,
    *,
    filename: str,
    size_bytes: int | None,
    metadata: dict[str, Any],
) -> tuple[Document, PresignedUpload]:
    """A document awaiting its upload, and the grant to send it."""
    settings = resources.settings.upload
    clean = sanitize_filename(filename)
    file_type = content_type_for(clean, allowed=settings.allowed)
    if size_bytes is not None:
        if size_bytes < 1:
            raise InvalidInput("body field 'size_bytes': must be at least 1")
        if size_bytes > settings.max_bytes:
            raise FileTooLarge(
                f"body field 'size_bytes': {size_bytes} is over the upload limit of "
                f"{settings.max_bytes} bytes",
                max_bytes=settings.max_bytes,
            )
    document = Document(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        filename=clean,
        kind=None,
        content_type=file_type.content_type,
        storage_key=storage_key_for(tenant_id),
        status=DocumentStatus.AWAITING_UPLOAD,
        meta=check_metadata(metadata, "body field 'metadata'"),
    )
    grant = await resources.storage.presign_upload(
        document.storage_key,
        content_type=file_type.content_type,
        max_bytes=size_bytes or settings.max_bytes,
        expires_s=settings.presign_expiry_s,
    )
    async with writes(resources, tenant_id) as session:
        session.add(document)
        await session.commit()
    return document, grant


async def verify_upload(resources: Resources, document: Document) -> str:
    """Check a presigned upload's object and fill in the document's type,
    size and SHA-256 (returned); see the module notes."""
    storage = resources.storage
    settings = resources.settings.upload
    stored = await storage.stat(document.storage_key)
    if stored is None:
        raise DocumentStateConflict(
            f"document {document.id}: the file has not been uploaded yet",
            document_id=str(document.id),
            status=str(document.status),
        )
    try:
        if stored.size_bytes == 0:
            raise EmptyFile("the uploaded file is empty", document_id=str(document.id))
        if stored.size_bytes > settings.max_bytes:
            raise FileTooLarge(
                f"the uploaded file is over the upload limit of {settings.max_bytes} bytes",
                max_bytes=settings.max_bytes,
            )
        head = await storage.get_range(document.storage_key, 0, SNIFF_BYTES)
        file_type = check_upload(
            head,
            document.filename,
            allowed=settings.allowed,
            declared_content_type=stored.content_type,
        )
    except FolioError:
        with contextlib.suppress(ObjectNotFound):
            await storage.delete(document.storage_key)
        raise
    digest = hashlib.sha256()
    size_bytes = 0
    async for chunk in storage.get_stream(document.storage_key):
        digest.update(chunk)
        size_bytes += len(chunk)
    document.kind = file_type.kind
    document.content_type = file_type.content_type
    document.size_bytes = size_bytes
    document.sha256 = digest.hexdigest()
    return document.sha256


async def check_upload_open(resources: Resources, key: str) -> None:
    """Refuse (:class:`UploadClosed`) a write to ``key`` when it is a
    document's key (under a tenant's prefix) and that document no longer
    awaits its upload: checked by ``process``, or deleted. A job input's
    URL writes once (:mod:`.job_inputs`)."""
    if not key.startswith(TENANTS_PREFIX):
        return  # not a document's key (the storage's own objects)
    if is_job_input_key(key):
        await check_input_open(resources, key)
        return
    assert resources.sessions is not None
    async with resources.sessions() as session:
        status = await session.scalar(sa.select(Document.status).where(Document.storage_key == key))
    if status != DocumentStatus.AWAITING_UPLOAD:
        raise UploadClosed(
            "this upload URL is closed: its document's upload was already checked "
            "(processed) or the document was deleted",
            key=key,
        )
