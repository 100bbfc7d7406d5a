"""Helpers of the storage tests: a body's digest, and a presigned upload sent
the way a client sends it."""

from __future__ import annotations

import hashlib

import httpx

from folio_shared.storage import PresignedUpload


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload(presigned: PresignedUpload, body: bytes, content_type: str) -> httpx.Response:
    """Send ``body`` the way a client follows ``presigned``."""
    async with httpx.AsyncClient(timeout=30) as client:
        if presigned.method == "POST":
            fields = dict(presigned.fields)
            fields["Content-Type"] = content_type
            return await client.post(
                presigned.url, data=fields, files={"file": ("upload", body, content_type)}
            )
        headers = {**presigned.headers, "Content-Type": content_type}
        return await client.put(presigned.url, content=body, headers=headers)
