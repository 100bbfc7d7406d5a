"""The local backend's presigned URLs, served by the API.

Registered only when ``FOLIO_STORAGE_BACKEND=local`` (with S3, clients talk
to S3 directly). The token in ``?token=`` is verified first (403
``invalid_signature`` when forged, altered, expired or for another method).

- ``PUT /storage/upload?token=…``: the raw file as the body, with exactly
  the ``Content-Type`` the token names (else 415 ``unsupported_file_type``).
  A declared ``Content-Length`` over the token's ``max_bytes`` is refused
  before reading (413 ``file_too_large``); otherwise the body is streamed to
  storage and reading stops at the first byte past ``max_bytes`` (413, and
  nothing is stored). Success: 201 with the stored object. A document's
  URL writes only while the document awaits its upload: after ``process``
  checked it, or after ``DELETE``, 409 ``upload_closed``.
- ``GET /storage/download?token=…``: the object, streamed, with its
  content type, ``ETag`` and, when the token names a file name,
  ``Content-Disposition: attachment``. 404 ``object_not_found`` if gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get, put
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Stream

from folio_api.domain.storage.schemas import UploadedObject
from folio_api.domain.uploads.services import check_upload_open
from folio_api.resources import get_resources
from folio_shared.errors import FileTooLarge, InvalidInput, ObjectNotFound, UnsupportedFileType
from folio_shared.storage import (
    DOWNLOAD_PATH,
    UPLOAD_PATH,
    LocalStorage,
    attachment_disposition,
)

Token = Annotated[
    str,
    QueryParameter(name="token", description="signed token from a presigned URL", max_length=8192),
]


def local_storage(state: State) -> LocalStorage:
    """The app's storage, which these routes require to be the local backend."""
    storage = get_resources(state).storage
    if not isinstance(storage, LocalStorage):
        raise RuntimeError("signed storage routes need the local storage backend")
    return storage


class LocalStorageController(Controller):
    """Signed upload/download routes of the local storage backend."""

    tags = ["storage"]

    @put(
        UPLOAD_PATH,
        status_code=201,
        request_max_body_size=None,  # bounded by the token's max_bytes below
        summary="Upload to a presigned URL (local storage backend)",
    )
    async def upload(
        self, request: Request[Any, Any, Any], state: State, token: Token
    ) -> UploadedObject:
        storage = local_storage(state)
        grant = storage.verify_upload(token)
        await check_upload_open(get_resources(state), grant.key)
        max_bytes = grant.max_bytes or 0
        content_type = (request.headers.get("content-type") or "").strip()
        if content_type != grant.content_type:
            raise UnsupportedFileType(
                f"this upload URL accepts Content-Type {grant.content_type!r} only, "
                f"not {content_type!r}",
                key=grant.key,
            )
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                declared_bytes = int(declared)
            except ValueError as e:
                raise InvalidInput("Content-Length is not a number") from e
            if declared_bytes > max_bytes:
                raise FileTooLarge(
                    f"body of {declared_bytes} bytes is over this upload URL's "
                    f"limit of {max_bytes} bytes",
                    key=grant.key,
                )

        async def bounded() -> AsyncIterator[bytes]:
            received_bytes = 0
            async for chunk in request.stream():
                received_bytes += len(chunk)
                if received_bytes > max_bytes:
                    raise FileTooLarge(
                        f"body is over this upload URL's limit of {max_bytes} bytes",
                        key=grant.key,
                    )
                yield chunk

        stored = await storage.put_stream(grant.key, bounded(), content_type=content_type)
        return UploadedObject(
            key=stored.key,
            size_bytes=stored.size_bytes,
            content_type=stored.content_type,
            etag=stored.etag,
        )

    @get(DOWNLOAD_PATH, summary="Download from a presigned URL (local storage backend)")
    async def download(self, state: State, token: Token) -> Stream:
        storage = local_storage(state)
        grant = storage.verify_download(token)
        stored = await storage.stat(grant.key)
        if stored is None:
            raise ObjectNotFound(f"no object under key {grant.key!r}", key=grant.key)
        headers = {"ETag": f'"{stored.etag}"', "Cache-Control": "private, no-store"}
        if grant.filename is not None:
            headers["Content-Disposition"] = attachment_disposition(grant.filename)
        return Stream(
            storage.get_stream(grant.key),
            media_type=stored.content_type or "application/octet-stream",
            headers=headers,
        )
