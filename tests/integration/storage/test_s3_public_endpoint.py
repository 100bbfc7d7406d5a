"""Presigned S3 URLs name the endpoint their clients reach.

In Docker Compose the services reach MinIO as ``http://minio:9000``, a name
the host cannot resolve; ``FOLIO_S3_PUBLIC_ENDPOINT_URL`` is where the host
reaches it. Here Folio talks to moto as ``127.0.0.1`` and clients reach it
as ``localhost``: a URL is signed for ``localhost`` (SigV4 signs the host,
so rewriting a URL afterwards would break its signature) and works there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from storagekit import sha256, upload

from folio_shared.settings import FolioSettings, StorageSettings
from folio_shared.storage import create_storage
from folio_shared.storage.s3 import S3Storage


def public_of(endpoint: str) -> str:
    """The same moto server under another host name."""
    parts = urlsplit(endpoint)
    assert parts.hostname == "127.0.0.1", endpoint
    return f"{parts.scheme}://localhost:{parts.port}"


@pytest.fixture
async def public_storage(test_servers: Any) -> AsyncIterator[S3Storage]:
    store = S3Storage(
        f"folio-test-{uuid.uuid4().hex[:20]}",
        endpoint_url=test_servers.s3_endpoint_url,
        public_endpoint_url=public_of(test_servers.s3_endpoint_url),
        access_key_id="testing",
        secret_access_key="testing",
        create_bucket=True,
    )
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_a_download_url_is_signed_for_the_public_endpoint_and_works_there(
    public_storage: S3Storage, test_servers: Any
) -> None:
    body = os.urandom(70_001)
    await public_storage.put_bytes("down/a.pdf", body, content_type="application/pdf")

    url = await public_storage.presign_download("down/a.pdf", expires_s=60, filename="a.pdf")

    assert url.startswith(public_of(test_servers.s3_endpoint_url) + "/"), url
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    assert sha256(response.content) == sha256(body)


async def test_an_upload_url_is_signed_for_the_public_endpoint_and_works_there(
    public_storage: S3Storage, test_servers: Any
) -> None:
    presigned = await public_storage.presign_upload(
        "up/b.png", content_type="image/png", max_bytes=4096, expires_s=60
    )

    assert presigned.url.startswith(public_of(test_servers.s3_endpoint_url) + "/"), presigned.url
    body = os.urandom(4096)
    response = await upload(presigned, body, "image/png")
    assert response.status_code in (200, 201, 204), response.text
    assert await public_storage.get_bytes("up/b.png") == body


def test_the_public_endpoint_is_read_from_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLIO_S3_PUBLIC_ENDPOINT_URL", "http://localhost:9000")
    monkeypatch.setenv("FOLIO_S3_ENDPOINT_URL", "http://minio:9000")
    settings = FolioSettings(env="test", storage=StorageSettings(backend="s3"))
    store = create_storage(settings)
    assert isinstance(store, S3Storage)
    assert store.endpoint_url == "http://minio:9000"
    assert store.public_endpoint_url == "http://localhost:9000"
