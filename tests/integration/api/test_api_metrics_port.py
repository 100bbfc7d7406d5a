"""``folio-api`` serves its metrics on a port of their own, not on the
public port (as the workers do): the real console script, run as a process
against the test Redis and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.live_server import wait_until_healthy
from support.workers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def api_process(database_url: str, test_servers: Any, tmp_path: Path) -> Iterator[tuple[str, str]]:
    api_port, metrics_port = free_port(), free_port()
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "FOLIO_ENV": "test",
        "FOLIO_HOME": str(tmp_path),
        "FOLIO_DATABASE_URL": database_url,
        "FOLIO_REDIS_URL": test_servers.redis_url,
        "FOLIO_BROKER_NAMESPACE": f"m{uuid.uuid4().hex[:8]}",
        "FOLIO_STORAGE_LOCAL_ROOT": str(tmp_path / "store"),
        "FOLIO_API_HOST": "127.0.0.1",
        "FOLIO_API_PORT": str(api_port),
        "FOLIO_METRICS_PORT": str(metrics_port),
    }
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "folio-api")], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        wait_until_healthy(base, proc, 60)
        yield base, f"http://127.0.0.1:{metrics_port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_metrics_are_served_on_their_own_port_only(api_process: tuple[str, str]) -> None:
    api, metrics = api_process
    # Given requests to the API
    for _ in range(3):
        assert httpx.get(f"{api}/healthz", timeout=5).status_code == 200
    # When /metrics is asked of the public port, then it is not there
    assert httpx.get(f"{api}/metrics", timeout=5).status_code == 404
    # and the metrics port has the API's request counts
    scraped = httpx.get(f"{metrics}/metrics", timeout=5)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    counted = [
        line
        for line in scraped.text.splitlines()
        if line.startswith("folio_http_requests_total{") and 'route="/healthz"' in line
    ]
    assert counted
    assert float(counted[0].rsplit(" ", 1)[1]) >= 3
