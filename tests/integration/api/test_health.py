"""``/healthz`` and ``/readyz`` against real Redis and PostgreSQL.

The app runs in process (``AsyncTestClient`` runs its lifespan); Redis and
PostgreSQL are the real servers of ``make test``. A dependency is "down" when
its URL points at a loopback port where nothing listens.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from folio_api.app import create_app
from folio_shared.settings import DatabaseSettings, FolioSettings, RedisSettings, StorageSettings

pytestmark = pytest.mark.integration


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def settings_for(tmp_path: Path, *, redis_url: str, database_url: str) -> FolioSettings:
    return FolioSettings(
        env="test",
        redis=RedisSettings(url=redis_url),
        database=DatabaseSettings(url=database_url),
        storage=StorageSettings(backend="local", local_root=tmp_path / "store"),
    )


@asynccontextmanager
async def client_for(settings: FolioSettings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


def assert_not_ready(response: Any) -> dict[str, Any]:
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 503
    assert problem["code"] == "not_ready"
    assert problem["type"]
    assert problem["title"]
    return problem


async def test_healthz_is_200(tmp_path: Path, test_servers: Any) -> None:
    settings = settings_for(
        tmp_path, redis_url=test_servers.redis_url, database_url=test_servers.pg_admin_url
    )
    async with client_for(settings) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_is_200_even_when_dependencies_are_down(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{closed_port()}/0",
        database_url=f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres",
    )
    async with client_for(settings) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_200_when_everything_is_up(tmp_path: Path, test_servers: Any) -> None:
    settings = settings_for(
        tmp_path, redis_url=test_servers.redis_url, database_url=test_servers.pg_admin_url
    )
    async with client_for(settings) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"redis": "ok", "postgres": "ok", "storage": "ok"},
    }


async def test_readyz_is_degraded_not_503_when_redis_is_down(
    tmp_path: Path, test_servers: Any
) -> None:
    """Uploads keep working through the outbox while Redis is down: the API
    stays ready (in its Service), degraded, naming Redis."""
    settings = settings_for(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{closed_port()}/0",
        database_url=test_servers.pg_admin_url,
    )
    async with client_for(settings) as client:
        started = time.monotonic()
        response = await client.get("/readyz")
        elapsed_s = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "degraded",
        "checks": {"redis": "unreachable", "postgres": "ok", "storage": "ok"},
        "degraded": ["redis"],
    }
    assert elapsed_s < 5


def assert_no_internals(response: Any, *internals: str) -> None:
    """No exception text, class name, host or port in the probe's answer."""
    for internal in (*internals, "Error", "Exception", "127.0.0.1", "errno", "Connect"):
        assert internal not in response.text, response.text


async def test_readyz_is_503_naming_postgres_when_postgres_is_down(
    tmp_path: Path, test_servers: Any
) -> None:
    port = closed_port()
    settings = settings_for(
        tmp_path,
        redis_url=test_servers.redis_url,
        database_url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
    )
    async with client_for(settings) as client:
        response = await client.get("/readyz")
    problem = assert_not_ready(response)
    assert problem["detail"] == "postgres unreachable"
    assert problem["checks"] == {"redis": "ok", "postgres": "unreachable", "storage": "ok"}
    assert_no_internals(response, str(port))


async def test_readyz_names_every_failing_part(tmp_path: Path, test_servers: Any) -> None:
    redis_port, pg_port = closed_port(), closed_port()
    settings = settings_for(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        database_url=f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
    )
    async with client_for(settings) as client:
        # the storage folder disappears under the running API
        (tmp_path / "store" / "objects").rmdir()
        response = await client.get("/readyz")
    problem = assert_not_ready(response)
    assert problem["detail"] == "postgres unreachable; storage unreachable"
    assert problem["checks"] == {
        "redis": "unreachable",
        "postgres": "unreachable",
        "storage": "unreachable",
    }
    assert_no_internals(response, str(redis_port), str(pg_port), str(tmp_path))


async def test_readyz_recovers_when_redis_comes_back(tmp_path: Path, test_servers: Any) -> None:
    """A Redis that the API saw go away is reported again once it answers."""
    port = closed_port()
    settings = settings_for(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{port}/0",
        database_url=test_servers.pg_admin_url,
    )
    async with client_for(settings) as client:
        assert (await client.get("/readyz")).json()["status"] == "degraded"
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                response = await client.get("/readyz")
                if response.json()["status"] == "ready" or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "ready", response.text
            server.terminate()
            server.wait(timeout=10)
            gone = await client.get("/readyz")
            assert gone.status_code == 200
            assert gone.json()["degraded"] == ["redis"]
        finally:
            server.kill()
            server.wait(timeout=10)


async def test_unknown_routes_and_bad_input_are_problem_details(
    tmp_path: Path, test_servers: Any
) -> None:
    settings = settings_for(
        tmp_path, redis_url=test_servers.redis_url, database_url=test_servers.pg_admin_url
    )
    async with client_for(settings) as client:
        missing = await client.get("/no/such/route")
        no_token = await client.get("/storage/download")
        schema = await client.get("/schema/openapi.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "not_found"
    assert no_token.status_code == 400
    assert no_token.json()["code"] == "invalid_input"
    assert "'token'" in no_token.json()["detail"]
    assert schema.status_code == 200
    assert {"/healthz", "/readyz", "/storage/upload", "/storage/download"} <= set(
        schema.json()["paths"]
    )


async def test_signed_storage_routes_exist_only_for_the_local_backend(
    test_servers: Any,
) -> None:
    settings = FolioSettings(
        env="test",
        storage=StorageSettings(backend="s3"),
        redis=RedisSettings(url=test_servers.redis_url),
        database=DatabaseSettings(url=test_servers.pg_admin_url),
    )
    paths = {route.path for route in create_app(settings).routes}
    assert "/storage/upload" not in paths
    assert "/healthz" in paths
