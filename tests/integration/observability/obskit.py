"""Helpers of the observability tests: settings, an in-process worker with
its metrics port, scraping, waiting."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import redis
from prometheus_client.parser import text_string_to_metric_families

from folio_shared.jobs import Jobs
from folio_shared.ops.pause import QueuePause
from folio_shared.ops.workers import WorkerRegistry
from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    JobSettings,
    RedisSettings,
    StorageSettings,
)
from folio_shared.worker_metrics import Metrics


def settings_for(database_url: str, redis_url: str, tmp: Path) -> FolioSettings:
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url),
        broker=BrokerSettings(namespace=f"o{uuid.uuid4().hex[:10]}"),
        storage=StorageSettings(local_root=tmp / "store"),
        jobs=JobSettings(
            lease_ms=2_000,
            min_backoff_ms=20,
            max_backoff_ms=50,
            reconcile_interval_ms=500,
            lost_after_ms=2_000,
            max_retries=3,
        ),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tune(broker: dramatiq.Broker, *, metrics_port: int) -> Metrics:
    """Make the stack quick for tests: a private metrics port, fast pause
    polling and registry heartbeats. Returns the Metrics middleware."""
    found: Metrics | None = None
    for m in broker.middleware:
        if isinstance(m, Metrics):
            m.port, m.addr = metrics_port, "127.0.0.1"
            found = m
        elif isinstance(m, QueuePause):
            m.poll_ms, m.defer_ms = 50, 200
        elif isinstance(m, WorkerRegistry):
            m.heartbeat_ms = 100
    assert found is not None
    return found


def drop_namespace(redis_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for pattern in (f"{namespace}:*", f"folio:{namespace}:*"):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


@dataclass
class RunningWorker:
    broker: dramatiq.Broker
    worker: dramatiq.Worker
    metrics_port: int


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on the metrics port: (name, sorted labels) → value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def wait_for(predicate: Callable[[], Any], *, timeout_s: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def wait_status(jobs: Jobs, job_id: uuid.UUID, *statuses: str, timeout_s: float = 30) -> Any:
    async def check() -> Any:
        job = await jobs.get(job_id)
        return job if str(job.status) in statuses else None

    return await wait_for(check, timeout_s=timeout_s, what=f"job {job_id} in {statuses}")
