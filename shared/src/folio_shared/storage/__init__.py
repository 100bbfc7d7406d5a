"""Object storage: one interface, a local-directory and an S3 backend.

The S3 backend is :class:`folio_shared.storage.s3.S3Storage`.

Usage (a sync constructor, then an explicit async open; nothing is opened at
import or construction)::

    storage = create_storage(get_settings())
    await storage.open()          # or: async with create_storage(settings) as storage:
    try:
        await storage.put_bytes("a/b.txt", b"hi", content_type="text/plain")
    finally:
        await storage.close()
"""

from __future__ import annotations

from folio_shared.settings import FolioSettings
from folio_shared.storage.base import (
    DEFAULT_CHUNK_BYTES,
    PresignedUpload,
    Storage,
    StoredObject,
    attachment_disposition,
)
from folio_shared.storage.keys import MAX_KEY_BYTES, validate_key, validate_prefix
from folio_shared.storage.local import DOWNLOAD_PATH, UPLOAD_PATH, LocalStorage
from folio_shared.storage.signing import SignedGrant, Signer


def create_storage(settings: FolioSettings) -> Storage:
    """The backend ``settings.storage.backend`` names, built but not opened.

    Await :meth:`Storage.open` (or use ``async with``) before using it.
    The S3 backend's client libraries (aioboto3, botocore: about a second
    of CPU) are imported only when it is configured.
    """
    if settings.storage.backend == "s3":
        from folio_shared.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    return LocalStorage.from_settings(settings)


__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DOWNLOAD_PATH",
    "MAX_KEY_BYTES",
    "UPLOAD_PATH",
    "LocalStorage",
    "PresignedUpload",
    "SignedGrant",
    "Signer",
    "Storage",
    "StoredObject",
    "attachment_disposition",
    "create_storage",
    "validate_key",
    "validate_prefix",
]
