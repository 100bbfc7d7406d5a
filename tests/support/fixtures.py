"""Fixtures every test folder may use, each with one meaning across the suite.

- ``worker``: the test actors on an in-process worker (:class:`RunningWorker`),
  in the broker namespace of the folder's ``settings``.
- ``jobs``: the API side of the job engine (:class:`folio_shared.jobs.Jobs`)
  on that worker's broker.
- ``spawn``: starts worker *processes* (:func:`support.workers.start_process`);
  every one is closed at the end of the test.
- ``redis``: an asyncio Redis client of the test servers' Redis.
- ``spans``: every span this test process ends (tracing configured once).
- ``key``: a Redis counter prefix of the test's own (see :mod:`support.actors`).

``settings`` (a :class:`FolioSettings`) is the folder's own: each conftest
says which namespace, storage and job settings its tests run with.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_devstack.workers import WorkerProcess
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings
from folio_shared.telemetry import configure_tracing
from support.workers import RunningWorker, start_in_process, start_process


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    configure_tracing(service_name="folio-tests", processors=[SimpleSpanProcessor(exporter)])
    return exporter


@pytest.fixture
def worker(settings: FolioSettings, spans: InMemorySpanExporter) -> Iterator[RunningWorker]:
    # ``spans`` first: tracing is configured before the broker is built.
    running = start_in_process(settings)
    yield running
    running.stop()


@pytest.fixture
async def redis(test_servers: Any) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(test_servers.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def jobs(
    engine: AsyncEngine, worker: RunningWorker, settings: FolioSettings
) -> AsyncIterator[Jobs]:
    client = aioredis.Redis.from_url(settings.redis.url)
    yield Jobs(engine, worker.broker, client)
    await client.aclose()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(settings: FolioSettings, **options: Any) -> WorkerProcess:
        process = start_process(settings, tmp_path / f"worker-{len(started)}.log", **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture
def key() -> str:
    return uuid.uuid4().hex[:12]
