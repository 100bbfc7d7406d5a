"""A document's file as an HTTP answer: streamed from local storage, or a
short-lived redirect to a presigned URL (S3). Used by
``GET /v1/documents/{id}/file`` and the dashboard's download link."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response
from litestar.response import Redirect, Stream

from folio_api.domain.documents import services
from folio_api.resources import Resources
from folio_shared.db.enums import DocumentStatus
from folio_shared.errors import DocumentStateConflict
from folio_shared.storage import LocalStorage, attachment_disposition

#: Lifetime of a download redirect (S3), in seconds.
DOWNLOAD_URL_EXPIRY_S = 300


async def file_response(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> Response[Any]:
    """The tenant's document's file (404 for another tenant's, 409 before upload)."""
    document = await services.document_row(resources, tenant_id, document_id)
    if document.status == DocumentStatus.AWAITING_UPLOAD:
        raise DocumentStateConflict(
            f"document {document_id} has no file yet", status=str(document.status)
        )
    key = document.storage_key
    storage = resources.storage
    if not isinstance(storage, LocalStorage):
        url = await storage.presign_download(
            key, expires_s=DOWNLOAD_URL_EXPIRY_S, filename=document.filename
        )
        return Redirect(url, status_code=307)
    return Stream(
        storage.get_stream(key),
        media_type=document.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": attachment_disposition(document.filename),
            "Content-Length": str(document.size_bytes or 0),
            "Cache-Control": "private, no-store",
        },
    )
