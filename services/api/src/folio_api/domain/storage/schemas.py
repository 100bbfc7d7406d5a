"""Wire types of the signed storage routes."""

from __future__ import annotations

import msgspec


class UploadedObject(msgspec.Struct, frozen=True):
    """Answer to a successful signed upload (201)."""

    key: str
    size_bytes: int
    content_type: str | None
    etag: str
