"""Presigned uploads of a job's input (``purpose=job_input``).

A job of a kind of your own reads its input from storage (the SDK's
``ctx.read`` / ``ctx.download``, which read only keys under the job's
tenant's prefix). :func:`create_job_input_upload` grants an upload of any
content type (declared by the client, default ``application/octet-stream``)
up to ``settings.upload.max_bytes`` under a fresh key
``tenants/<tenant id>/inputs/<uuid>/<file name>``; no document is made, the
key is what the job's payload names.

Such a URL writes once (:func:`check_input_open`): on the local backend the
upload route refuses it (409 ``upload_closed``) once the object exists, so
the bytes a job was submitted with cannot be swapped later through the URL.
With S3 the client writes to S3 directly and the URL writes until it expires
(at most 15 minutes); only the grant's holder has it, and the key stays in
its tenant's prefix.
"""

from __future__ import annotations

import re
import uuid

from folio_api.domain.documents.filetypes import sanitize_filename
from folio_api.resources import Resources
from folio_shared.errors import FileTooLarge, InvalidInput, UploadClosed
from folio_shared.storage import PresignedUpload
from folio_shared.storage.keys import JOB_INPUTS_DIR, tenant_prefix

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MEDIA_WORD = r"[A-Za-z0-9!#$&^_.+-]{1,127}"
_CONTENT_TYPE = re.compile(rf"{_MEDIA_WORD}/{_MEDIA_WORD}")


def job_input_key(tenant_id: uuid.UUID, filename: str) -> str:
    """A fresh key for a job input of ``tenant_id``."""
    return f"{tenant_prefix(tenant_id)}{JOB_INPUTS_DIR}/{uuid.uuid4()}/{filename}"


def check_content_type(content_type: str | None) -> str:
    """The declared content type (``type/subtype``, no parameters), or the default."""
    if content_type is None:
        return DEFAULT_CONTENT_TYPE
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise InvalidInput(
            f"body field 'content_type': {content_type!r} is not a media type "
            "such as 'audio/wav' (type/subtype, no parameters)"
        )
    return content_type.lower()


async def create_job_input_upload(
    resources: Resources,
    tenant_id: uuid.UUID,
    *,
    filename: str,
    size_bytes: int | None,
    content_type: str | None,
) -> tuple[str, PresignedUpload]:
    """The key of a job input and the grant to send it."""
    settings = resources.settings.upload
    clean = sanitize_filename(filename)
    media_type = check_content_type(content_type)
    if size_bytes is not None and size_bytes > settings.max_bytes:
        raise FileTooLarge(
            f"body field 'size_bytes': {size_bytes} is over the upload limit of "
            f"{settings.max_bytes} bytes",
            max_bytes=settings.max_bytes,
        )
    key = job_input_key(tenant_id, clean)
    grant = await resources.storage.presign_upload(
        key,
        content_type=media_type,
        max_bytes=size_bytes or settings.max_bytes,
        expires_s=settings.presign_expiry_s,
    )
    return key, grant


async def check_input_open(resources: Resources, key: str) -> None:
    """Refuse (:class:`UploadClosed`) a second write to a job input's key."""
    if await resources.storage.stat(key) is not None:
        raise UploadClosed(
            "this upload URL is closed: the job input was already uploaded "
            "(upload it again with a new grant)",
            key=key,
        )
