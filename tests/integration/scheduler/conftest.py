"""Fixtures of the scheduler tests: settings in a broker namespace of the
test's own (tick claims, last ticks and queues), dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    RedisSettings,
    StorageSettings,
)


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> Iterator[FolioSettings]:
    namespace = f"s{uuid.uuid4().hex[:10]}"
    yield FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=test_servers.redis_url),
        broker=BrokerSettings(namespace=namespace),
        storage=StorageSettings(local_root=tmp_path / "store"),
    )
    client = redis.Redis.from_url(test_servers.redis_url)
    keys = [
        *client.scan_iter(f"{namespace}:*", count=1000),
        *client.scan_iter(f"folio:{namespace}:*", count=1000),
    ]
    if keys:
        client.delete(*keys)
    client.close()
