"""Fixtures of the storage contract suite: one ``storage`` per backend.

- ``local``: a fresh folder per test, and the real Folio API served by
  uvicorn on a free loopback port (its signed upload/download routes), so
  presigned URLs are exercised over real HTTP.
- ``s3``: moto's S3 server from ``make test`` with a fresh bucket per test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.live_server import LiveServer, serve

from folio_shared.settings import (
    DatabaseSettings,
    FolioSettings,
    RedisSettings,
    StorageSettings,
)
from folio_shared.storage import LocalStorage, Signer, Storage
from folio_shared.storage.s3 import S3Storage

SIGNING_SECRET = "contract-test-signing-secret-0123456789"


@pytest.fixture
def live_api(tmp_path: Path, test_servers: Any) -> Iterator[LiveServer]:
    """The API over local storage in ``tmp_path / "store"``, on a free port."""

    def settings_for(base_url: str) -> FolioSettings:
        return FolioSettings(
            env="test",
            storage=StorageSettings(
                backend="local",
                local_root=tmp_path / "store",
                signing_secret=SIGNING_SECRET,
                public_base_url=base_url,
            ),
            redis=RedisSettings(url=test_servers.redis_url),
            database=DatabaseSettings(url=test_servers.pg_admin_url),
        )

    with serve(settings_for) as server:
        yield server


@pytest.fixture
async def local_storage(tmp_path: Path, live_api: LiveServer) -> AsyncIterator[LocalStorage]:
    """An open local storage in the live API's folder, signing URLs to it."""
    store = LocalStorage(
        tmp_path / "store", signer=Signer(SIGNING_SECRET), public_base_url=live_api.base_url
    )
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def s3_storage(test_servers: Any) -> AsyncIterator[S3Storage]:
    """An open S3 storage on moto, with a fresh bucket."""
    store = S3Storage(
        f"folio-test-{uuid.uuid4().hex[:20]}",
        endpoint_url=test_servers.s3_endpoint_url,
        access_key_id="testing",
        secret_access_key="testing",
        create_bucket=True,
        part_bytes=5 * 1024 * 1024,
    )
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    """Each backend in turn (the contract tests run once per backend)."""
    store: Storage = request.getfixturevalue(f"{request.param}_storage")
    return store
