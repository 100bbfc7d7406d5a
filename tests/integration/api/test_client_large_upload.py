"""Presigned uploads through the Python client stream the file: a 48 MB
file goes from a path (sync, a document) and from an open stream (async, a
job's input) to storage while the process's traced Python memory (client
and the in-process API together) peaks far below the file's size."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import TenantKey, api_settings, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import LiveServer, serve

from folio_client import AsyncFolio, Folio
from folio_shared.storage import create_storage

pytestmark = pytest.mark.integration

FILE_BYTES = 48 * 1024 * 1024
#: The most traced memory an upload may hold at once: a sixth of the file.
MAX_PEAK_BYTES = FILE_BYTES // 6


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    with serve(
        lambda base_url: api_settings(
            tmp_path_factory.mktemp("large"),
            database_url=database_url,
            redis_url=test_servers.redis_url,
            max_bytes=FILE_BYTES + 1024,
            public_base_url=base_url,
        )
    ) as server:
        yield server


@pytest.fixture(scope="module")
async def lena(engine: AsyncEngine) -> TenantKey:
    return await make_tenant(engine, "lena")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("big") / "ledger.txt"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for n in range(FILE_BYTES // 64):
            line = f"{n:012d} Folio streams this ledger line by line to storage.....\n"
            data = line.encode()[:64]
            digest.update(data)
            out.write(data)
    assert path.stat().st_size == FILE_BYTES
    return path, digest.hexdigest()


def traced_peak() -> int:
    _, peak = tracemalloc.get_traced_memory()
    return peak


def test_a_document_larger_than_the_peak_goes_up_from_its_path(
    live: LiveServer, lena: TenantKey, big_file: tuple[Path, str]
) -> None:
    path, sha = big_file
    with Folio(live.base_url, lena.key) as folio:
        tracemalloc.start()
        try:
            upload = folio.upload_presigned(path, priority="low")
            peak = traced_peak()
        finally:
            tracemalloc.stop()
        document = folio.document(upload.document.id)
    assert peak < MAX_PEAK_BYTES, f"peak {peak} bytes for a {FILE_BYTES}-byte file"
    assert (document.filename, document.size_bytes) == ("ledger.txt", FILE_BYTES)
    assert document.sha256 == sha
    assert upload.job is not None


async def test_a_job_input_goes_up_from_an_open_stream(
    live: LiveServer, lena: TenantKey, big_file: tuple[Path, str]
) -> None:
    path, _ = big_file
    storage = create_storage(live.settings)
    async with AsyncFolio(live.base_url, lena.key) as folio:
        with path.open("rb") as stream:
            stream.seek(1024)  # sent from where the stream stands
            tracemalloc.start()
            try:
                key = await folio.upload_job_input(stream, content_type="text/plain")
                peak = traced_peak()
            finally:
                tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"peak {peak} bytes for a {FILE_BYTES}-byte file"
    assert key.endswith("/ledger.txt")
    stored = await storage.stat(key)
    assert stored is not None
    assert stored.size_bytes == FILE_BYTES - 1024
