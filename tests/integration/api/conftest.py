"""Fixtures of the API tests: one migrated database per module, the API in
process (``AsyncTestClient`` runs its lifespan), two tenants and an
operator key. Redis and PostgreSQL are the real servers of ``make test``.

``client`` is the HTTP client of the API throughout the suite; ``redis``
(an asyncio Redis client) comes from :mod:`support.fixtures`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from apikit import TenantKey, api_settings, make_operator, make_tenant
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.app import create_app
from folio_shared.settings import FolioSettings


@pytest.fixture(scope="module")
def settings(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> FolioSettings:
    return api_settings(
        tmp_path_factory.mktemp("api"),
        database_url=database_url,
        redis_url=test_servers.redis_url,
    )


@pytest.fixture(scope="module")
async def client(settings: FolioSettings) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings, sse_heartbeat_s=0.5, relay_interval_s=0.5)
    async with AsyncTestClient(app=app, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
async def alice(engine: AsyncEngine) -> TenantKey:
    return await make_tenant(engine, "alice")


@pytest.fixture(scope="module")
async def bob(engine: AsyncEngine) -> TenantKey:
    return await make_tenant(engine, "bob")


@pytest.fixture(scope="module")
async def operator_key(engine: AsyncEngine) -> str:
    return await make_operator(engine)


@pytest.fixture(scope="module")
def store_root(settings: FolioSettings) -> Path:
    return settings.storage.local_root
