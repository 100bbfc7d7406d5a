"""Fixtures for integration tests: a fresh PostgreSQL database per test module.

``empty_database_url``: a new, empty database (dropped after the module).
``database_url``: the same, migrated to the latest revision.
``session``: an ``AsyncSession`` on the migrated database, rolled back after
each test.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url, create_session_factory

pytestmark = pytest.mark.integration


async def _admin(admin_url: str, statement: str) -> None:
    engine = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
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
