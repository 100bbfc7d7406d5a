"""A 200 MB upload through a real uvicorn server process is streamed: the
server's memory (RSS, sampled every 20 ms during the upload) grows by a few
MB at most."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from apikit import make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import wait_until_healthy

from folio_devstack.ports import pick_port

pytestmark = pytest.mark.integration

UPLOAD_BYTES = 200 * 1024 * 1024
CHUNK = (b"Folio streams uploads to storage without holding them in memory.\n" * 1024)[:65536]
#: Allowed growth of the server's peak RSS over its warmed-up baseline.
MAX_GROWTH_BYTES = 8 * 1024 * 1024


@pytest.fixture
def api_process(tmp_path: Path, database_url: str, test_servers: Any) -> Iterator[str]:
    port = pick_port(18471)
    env = {
        **os.environ,
        "FOLIO_ENV": "test",
        "FOLIO_DATABASE_URL": database_url,
        "FOLIO_REDIS_URL": test_servers.redis_url,
        "FOLIO_BROKER_NAMESPACE": "memtest",
        "FOLIO_STORAGE_BACKEND": "local",
        "FOLIO_STORAGE_LOCAL_ROOT": str(tmp_path / "store"),
        "FOLIO_UPLOAD_MAX_BYTES": str(UPLOAD_BYTES + 1024 * 1024),
        "FOLIO_API_RATE_LIMIT_PER_MINUTE": "100000",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "folio_api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(base_url, process, 30)
    try:
        yield f"{base_url}|{process.pid}"
    finally:
        process.terminate()
        process.wait(timeout=15)


def multipart_body(boundary: str, filename: str, total: int, digest: Any) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    sent = 0
    while sent < total:
        piece = CHUNK[: min(len(CHUNK), total - sent)]
        digest.update(piece)
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_200_mb_upload_keeps_api_memory_flat(api_process: str, engine: AsyncEngine) -> None:
    base_url, pid = api_process.split("|")
    who = await make_tenant(engine, "memory")
    server = psutil.Process(int(pid))
    with httpx.Client(base_url=base_url, headers=who.headers, timeout=300) as http:
        # warm up: imports, pools, first request paths
        for i in range(3):
            warm = http.post(
                "/v1/documents",
                params={"process": "false"},
                files={"file": (f"w{i}.txt", CHUNK * 4 + str(i).encode(), "text/plain")},
            )
            assert warm.status_code == 201, warm.text
        baseline = server.memory_info().rss
        peak = [baseline]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], server.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        digest = hashlib.sha256()
        boundary = "folio-memory-test-boundary"
        try:
            response = http.post(
                "/v1/documents",
                params={"process": "false"},
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                content=multipart_body(boundary, "big.txt", UPLOAD_BYTES, digest),
            )
        finally:
            stop.set()
            sampler.join()
    assert response.status_code == 201, response.text
    document = response.json()["document"]
    assert document["size_bytes"] == UPLOAD_BYTES
    assert document["sha256"] == digest.hexdigest()
    growth = peak[0] - baseline
    print(
        f"API RSS baseline {baseline / 2**20:.1f} MiB, peak {peak[0] / 2**20:.1f} MiB, "
        f"growth {growth / 2**20:.2f} MiB"
    )
    assert growth < MAX_GROWTH_BYTES, f"RSS grew by {growth / 2**20:.1f} MiB"
