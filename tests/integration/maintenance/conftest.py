"""Fixtures of the maintenance tests: a session that cleans up after each
test, a store per backend (local folder, moto's S3), and a Redis broker in
a namespace of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from support.jobs import drop_namespace

from folio_shared.broker import create_broker
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import AuditLog, Job, Tenant
from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    RedisSettings,
    S3Settings,
    StorageSettings,
)
from folio_shared.storage import LocalStorage, Storage
from folio_shared.storage.s3 import S3Storage


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_session_factory(engine)() as session:
        yield session
        await session.rollback()
        await session.execute(sa.delete(Job))
        await session.execute(sa.delete(Tenant))
        await session.execute(sa.delete(AuditLog))
        await session.commit()


@pytest.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, test_servers: Any
) -> AsyncIterator[Storage]:
    if request.param == "local":
        settings = FolioSettings(storage=StorageSettings(local_root=tmp_path / "store"))
        store: Storage = LocalStorage.from_settings(settings)
    else:
        settings = FolioSettings(
            storage=StorageSettings(backend="s3"),
            s3=S3Settings(
                bucket=f"maint-{uuid.uuid4().hex[:10]}",
                endpoint_url=test_servers.s3_endpoint_url,
                access_key_id="testing",
                secret_access_key="testing",
                create_bucket=True,
            ),
        )
        store = S3Storage.from_settings(settings)
    async with store:
        yield store


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=test_servers.redis_url),
        broker=BrokerSettings(namespace=f"m{uuid.uuid4().hex[:10]}"),
        storage=StorageSettings(local_root=tmp_path / "store"),
    )


@pytest.fixture
def broker(settings: FolioSettings) -> Iterator[dramatiq.Broker]:
    """A Redis broker in the test's namespace (nothing consumes it)."""
    b = create_broker(settings)
    yield b
    b.close()
    drop_namespace(settings.redis.url, settings.broker.namespace)
