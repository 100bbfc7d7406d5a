"""The services' database pool (``folio_shared.db.engine.create_engine``) on a
PostgreSQL of the test's own: connections are kept, not churned, and a
restart of the server costs no request an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_devstack.ports import pick_port
from folio_devstack.servers import PostgresServer
from folio_shared.db.engine import PING_AFTER_IDLE_S, create_engine
from folio_shared.settings import DatabaseSettings, FolioSettings

pytestmark = pytest.mark.integration

POOL_SIZE = 3


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    with PostgresServer(pick_port(15633), tmp_path / "pg", fsync=False) as pg:
        yield pg


@pytest.fixture
async def own_engine(own_postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    settings = FolioSettings(database=DatabaseSettings(url=own_postgres.url(), pool_size=POOL_SIZE))
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


async def backend_pid(engine: AsyncEngine, hold_s: float = 0.0) -> int:
    async with engine.connect() as conn:
        pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        if hold_s:
            await conn.execute(sa.text("SELECT pg_sleep(:s)"), {"s": hold_s})
        assert isinstance(pid, int)
        return pid


async def test_a_burst_keeps_its_connections(own_engine: AsyncEngine) -> None:
    # Given as many concurrent users as the pool holds (twice pool_size)
    burst = 2 * POOL_SIZE
    first = set(await asyncio.gather(*(backend_pid(own_engine, 0.2) for _ in range(burst))))
    assert len(first) == burst
    # When the same burst comes again
    again = set(await asyncio.gather(*(backend_pid(own_engine, 0.2) for _ in range(burst))))
    # Then it is served by the same connections: none was closed and reopened
    assert again == first


async def test_a_live_connection_idle_past_the_ping_is_kept(own_engine: AsyncEngine) -> None:
    # Given a connection given back and left idle long enough to be pinged
    first = await backend_pid(own_engine)
    await asyncio.sleep(PING_AFTER_IDLE_S + 0.2)
    # When it is taken again, Then the ping finds it alive and it is reused
    # (the ping used to fail on a live connection, so each was replaced)
    assert await backend_pid(own_engine) == first


async def test_a_restart_costs_no_request_an_error(
    own_engine: AsyncEngine, own_postgres: PostgresServer
) -> None:
    # Given pooled connections to a server that then restarts
    before = set(await asyncio.gather(*(backend_pid(own_engine, 0.1) for _ in range(POOL_SIZE))))
    own_postgres.restart()
    await asyncio.sleep(PING_AFTER_IDLE_S)
    # Then every next request is served, on new connections (the dead ones
    # were pinged on checkout and replaced)
    after = await asyncio.gather(*(backend_pid(own_engine, 0.1) for _ in range(POOL_SIZE)))
    assert not before & set(after)


async def test_a_connection_lost_just_after_use_fails_once(
    own_engine: AsyncEngine, own_postgres: PostgresServer
) -> None:
    # Given a connection given back a moment ago, then killed server-side
    victim = await backend_pid(own_engine)
    admin = await asyncpg.connect(own_postgres.url())
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", victim) is True
    finally:
        await admin.close()
    # When it is used again within PING_AFTER_IDLE_S (no ping): the request
    # fails as one whose connection dies mid-way, and the pool renews it
    with pytest.raises(DBAPIError) as failed:
        await backend_pid(own_engine)
    assert failed.value.connection_invalidated
    assert await backend_pid(own_engine) != victim
