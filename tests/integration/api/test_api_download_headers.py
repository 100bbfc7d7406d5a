"""Downloads are never sniffed into something else: a stored file served by
the API (``GET /v1/documents/{id}/file``) or by the local backend's signed
route (``GET /storage/download``) carries ``X-Content-Type-Options: nosniff``,
so a browser does not render an uploaded file as HTML or script."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from apikit import TenantKey
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import Document
from folio_shared.settings import FolioSettings
from folio_shared.storage import LocalStorage

pytestmark = pytest.mark.integration

# Plain text whose first bytes a sniffing browser would take for HTML.
HTML_LOOKALIKE = b"<html><script>alert(1)</script></html>\n\fsecond page\n"


async def test_downloads_say_nosniff(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine, settings: FolioSettings
) -> None:
    # Given a stored text file that looks like HTML
    uploaded = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("page.txt", HTML_LOOKALIKE, "text/plain")},
        params={"process": "false"},
    )
    assert uploaded.status_code in (201, 202), uploaded.text
    doc_id = uploaded.json()["document"]["id"]

    # When it is downloaded through the API
    direct = await client.get(f"/v1/documents/{doc_id}/file", headers=alice.headers)
    # Then it comes back as sent, and must not be sniffed
    assert direct.status_code == 200
    assert direct.content == HTML_LOOKALIKE
    assert direct.headers["x-content-type-options"] == "nosniff"

    # When it is downloaded through a presigned URL of the local backend
    async with engine.connect() as conn:
        key = await conn.scalar(
            sa.select(Document.storage_key).where(Document.id == uuid.UUID(doc_id))
        )
    url = await LocalStorage.from_settings(settings).presign_download(
        key, expires_s=60, filename="page.txt"
    )
    parts = urlsplit(url)
    signed = await client.get(f"{parts.path}?{parts.query}")
    assert signed.status_code == 200, signed.text
    assert signed.content == HTML_LOOKALIKE
    assert signed.headers["x-content-type-options"] == "nosniff"
