"""Fixtures of the scheduler tests: settings in a broker namespace of the
test's own (tick claims, last ticks and queues), dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.jobs import drop_namespace

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
    drop_namespace(test_servers.redis_url, namespace)
