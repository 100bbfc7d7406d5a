"""Fixtures of the job-engine tests: settings, an in-process worker, the API side.

Each test module gets a fresh migrated database (``database_url``) and each
test its own broker namespace in the test Redis, so nothing leaks between
tests. The worker runs Folio's real middleware stack in this process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis.asyncio as aioredis
from job_actors import declare
from jobkit import RunningWorker, drop_namespace, job_settings_for
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio_shared.broker import create_broker
from folio_shared.jobs import Jobs
from folio_shared.settings import (
    FolioSettings,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return job_settings_for(database_url, test_servers.redis_url, tmp_path)


@pytest.fixture
def worker(settings: FolioSettings) -> Iterator[RunningWorker]:
    broker = create_broker(settings)
    actors = declare(broker)
    # What Dramatiq's CLI does in each worker process before the worker
    # starts (TimeLimit starts its timer thread on this signal).
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    yield RunningWorker(broker, worker, actors)
    worker.stop(timeout=10_000)
    broker.close()
    drop_namespace(settings.redis.url, settings.broker.namespace)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def jobs(
    engine: AsyncEngine, worker: RunningWorker, settings: FolioSettings
) -> AsyncIterator[Jobs]:
    client = aioredis.Redis.from_url(settings.redis.url)
    yield Jobs(engine, worker.broker, client)
    await client.aclose()


@pytest.fixture
def key() -> str:
    """A Redis counter prefix of the test's own."""
    return uuid.uuid4().hex[:12]
