"""Test-wide fixtures: where the real servers are, and fresh databases.

``make test`` starts Redis, PostgreSQL (pgserver, with pgvector) and moto's S3
server on private loopback ports and exports their addresses in the
``FOLIO_TEST_*`` variables below; RabbitMQ is the machine's own on
127.0.0.1:5672. Integration tests never skip when a server is missing: they
fail, saying which variable is unset.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from folio_devstack.errors import ServerStartFailed
from folio_devstack.ports import pick_port
from folio_devstack.servers import RedisServer
from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url, create_session_factory

# The fixtures every folder shares (worker, jobs, spawn, redis, spans, key).
pytest_plugins = ["support.fixtures"]


@dataclass(frozen=True)
class TestServers:
    """Addresses of the servers the test run talks to."""

    redis_url: str  # redis://127.0.0.1:PORT (database 0 is free for tests)
    pg_admin_url: str  # postgresql://postgres@127.0.0.1:PORT/postgres (superuser)
    s3_endpoint_url: str  # http://127.0.0.1:PORT (moto server)
    amqp_url: str  # amqp://guest:guest@127.0.0.1:5672/


_VARS = {
    "redis_url": "FOLIO_TEST_REDIS_URL",
    "pg_admin_url": "FOLIO_TEST_PG_URL",
    "s3_endpoint_url": "FOLIO_TEST_S3_ENDPOINT",
    "amqp_url": "FOLIO_TEST_AMQP_URL",
}


def _xdist_index() -> int:
    """K of the pytest-xdist process ``gwK`` (0 without xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or "0")


def _server_set_suffix() -> str:
    """Under pytest-xdist, process ``gwK`` (K > 0) talks to the K-th set of
    servers the runner started (``FOLIO_TEST_*_GWK``); RabbitMQ is shared
    (each module makes a virtual host of its own)."""
    index = _xdist_index()
    return f"_GW{index}" if index else ""


@pytest.fixture(scope="session")
def test_servers() -> TestServers:
    suffix = _server_set_suffix()
    names = {
        field: var if field == "amqp_url" or not suffix else var + suffix
        for field, var in _VARS.items()
    }
    missing = [var for var in names.values() if not os.environ.get(var)]
    if missing:
        pytest.fail(
            "integration servers are not configured (unset: "
            + ", ".join(missing)
            + "); run the tests with `make test`",
            pytrace=False,
        )
    return TestServers(**{field: os.environ[var] for field, var in names.items()})


# --- a fresh PostgreSQL database per test module ---------------------------------


async def _admin(admin_url: str, statement: str, **params: Any) -> None:
    engine = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement), params)
    finally:
        await engine.dispose()


async def create_database(admin_url: str, label: str) -> str:
    """Create an empty database and return its ``postgresql+asyncpg://`` URL."""
    slug = re.sub(r"[^a-z0-9]", "_", label.lower())[-30:]
    name = f"folio_t_{slug}_{uuid.uuid4().hex[:8]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(async_database_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False)


async def drop_database(admin_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def refused_connections(admin_url: str, database_url: str) -> AsyncIterator[None]:
    """A real PostgreSQL outage for one database: it refuses new connections
    (``ALLOW_CONNECTIONS false``) and its open sessions are ended; both are
    undone on exit."""
    name = make_url(database_url).database
    await _admin(admin_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await _admin(
        admin_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name",
        name=name,
    )
    try:
        yield
    finally:
        await _admin(admin_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.fixture
def database_outage(
    test_servers: Any, database_url: str
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """``async with database_outage(): ...``: the test's database is down
    inside the block (:func:`refused_connections`)."""
    return lambda: refused_connections(test_servers.pg_admin_url, database_url)


@pytest.fixture(scope="module")
async def empty_database_url(
    test_servers: Any, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    admin_url: str = test_servers.pg_admin_url
    url = await create_database(admin_url, request.module.__name__)
    yield url
    await drop_database(admin_url, url)


@pytest.fixture(scope="module")
async def database_url(empty_database_url: str) -> str:
    # Called from async code on purpose: migrate must cope with a running loop.
    migrate.upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_session_factory(engine)() as session:
        yield session
        await session.rollback()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own (AOF on, a free loopback port), which it
    may stop, restart or flush; stopped at the end."""
    # Each xdist process looks in a range of ports of its own: a test that
    # restarts its Redis frees the port for a moment, and another process's
    # test must not take it then. Another program may still bind the port
    # between the pick and the start: then a new one is picked.
    for attempt in range(3):
        port = pick_port(17379 + 100 * _xdist_index())
        server = RedisServer(port, tmp_path / f"redis{attempt}", appendonly=True)
        try:
            server.start()
            break
        except ServerStartFailed as exc:
            if attempt == 2 or "Address already in use" not in str(exc):
                raise
    yield server
    server.stop()
