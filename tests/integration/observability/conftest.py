"""Fixtures of the observability tests: a fresh namespace per test and an
in-process worker running Folio's full middleware stack, serving metrics on
a private port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis.asyncio as aioredis
from obs_actors import declare
from obskit import RunningWorker, drop_namespace, free_port, settings_for, tune
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.broker import create_broker
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings
from folio_shared.telemetry import configure_tracing

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every span this test process ends (tracing configured once)."""
    exporter = InMemorySpanExporter()
    configure_tracing(service_name="folio-tests", processors=[SimpleSpanProcessor(exporter)])
    return exporter


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return settings_for(database_url, test_servers.redis_url, tmp_path)


@pytest.fixture
def worker(settings: FolioSettings, spans: InMemorySpanExporter) -> Iterator[RunningWorker]:
    broker = create_broker(settings)
    declare(broker)
    port = free_port()
    tune(broker, metrics_port=port)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    yield RunningWorker(broker, worker, port)
    worker.stop(timeout=10_000)
    broker.close()
    drop_namespace(settings.redis.url, settings.broker.namespace)


@pytest.fixture
async def client(settings: FolioSettings) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(settings.redis.url)
    yield c
    await c.aclose()


@pytest.fixture
async def jobs(engine: AsyncEngine, worker: RunningWorker, client: aioredis.Redis) -> Jobs:
    return Jobs(engine, worker.broker, client)
