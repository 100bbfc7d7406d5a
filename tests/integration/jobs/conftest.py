"""Fixtures of the job-engine tests: settings with quick leases and retries.

Each test module gets a fresh migrated database (``database_url``) and each
test its own broker namespace in the test Redis, so nothing leaks between
tests. ``worker`` (the test actors in this process, on Folio's real
middleware stack), ``jobs`` and ``key`` come from :mod:`support.fixtures`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import job_settings

from folio_shared.broker import create_broker
from folio_shared.jobs import Jobs
from folio_shared.settings import BrokerSettings, FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return job_settings(database_url, test_servers.redis_url, tmp_path)


@pytest.fixture
def aside(
    engine: AsyncEngine, settings: FolioSettings, key: str, redis: Redis
) -> Iterator[tuple[Jobs, RedisBroker]]:
    """``Jobs`` on a broker namespace no worker reads: its messages stay
    where a test puts them, and only the test touches its rows."""
    broker = create_broker(
        settings.model_copy(update={"broker": BrokerSettings(namespace=f"{key}-aside")})
    )
    assert isinstance(broker, RedisBroker)
    try:
        yield Jobs(engine, broker, redis), broker
    finally:
        broker.close()
