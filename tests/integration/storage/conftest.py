"""Fixtures of the storage contract suite: one ``storage`` per backend.

- ``local``: a fresh folder per test, and the real Folio API served by
  uvicorn on a free loopback port (its signed upload/download routes), so
  presigned URLs are exercised over real HTTP.
- ``s3``: moto's S3 server from ``make test`` with a fresh bucket per test.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from folio_api.app import create_app
from folio_shared.settings import (
    DatabaseSettings,
    FolioSettings,
    RedisSettings,
    StorageSettings,
)
from folio_shared.storage import LocalStorage, S3Storage, Signer, Storage

SIGNING_SECRET = "contract-test-signing-secret-0123456789"


@dataclass
class LiveApi:
    """A Folio API served by uvicorn in a background thread."""

    base_url: str
    server: uvicorn.Server
    thread: threading.Thread


@pytest.fixture
def live_api(tmp_path: Path, test_servers: Any) -> Iterator[LiveApi]:
    """The API over local storage in ``tmp_path / "store"``, on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    settings = FolioSettings(
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
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the API server did not start", pytrace=False)
        time.sleep(0.01)
    try:
        yield LiveApi(base_url, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
async def local_storage(tmp_path: Path, live_api: LiveApi) -> AsyncIterator[LocalStorage]:
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
