"""Per-kind limits across worker processes, measured from the job rows.

Two worker processes serve ``test.limited`` (:mod:`support.limited`); the
rate and concurrency they enforce come from their environment. Every
held-back job must still succeed on its first attempt (a held message is
delayed, never failed or retried), and the workers' metrics count it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import sending_jobs, wait_for
from support.limited import (
    KIND,
    QUEUES,
    Capped,
    capped,
    declare_limited,
    enqueue_limited,
)
from support.metrics import scrape, value
from support.workers import free_port, kind_worker

from folio_shared.broker import create_broker
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Job
from folio_shared.errors import ConfigurationError
from folio_shared.jobs import Jobs, outbox
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def jobs(engine: AsyncEngine, settings: FolioSettings) -> AsyncIterator[Jobs]:
    async with sending_jobs(engine, settings) as jobs:
        yield jobs


def start_workers(spawn: Any, settings: FolioSettings, n: int, **env: str) -> list[int]:
    """``n`` worker processes of ``test.limited``; their metrics ports."""
    ports = []
    for _ in range(n):
        port = free_port()
        spawn(
            settings,
            module="support.limited_main",
            queues=QUEUES,
            threads=4,
            FOLIO_METRICS_PORT=str(port),
            **env,
        )
        ports.append(port)
    return ports


async def finished_rows(engine: AsyncEngine, ids: list[uuid.UUID], timeout_s: float) -> list[Any]:
    async def done() -> list[Any] | None:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(Job.status, Job.attempts, Job.started_at, Job.finished_at).where(
                        Job.id.in_(ids)
                    )
                )
            ).all()
        terminal = [r for r in rows if str(r.status) in ("succeeded", "failed", "dead")]
        return list(rows) if len(terminal) == len(ids) else None

    rows: list[Any] = await wait_for(done, timeout_s=timeout_s, what="every job finished")
    return rows


def most_starts_in_window(starts: list[datetime], window_s: float) -> int:
    """The largest number of ``starts`` in any half-open window of ``window_s``."""
    times = sorted(s.timestamp() for s in starts)
    best = 0
    for i, t in enumerate(times):
        best = max(best, sum(1 for u in times[i:] if u < t + window_s))
    return best


def most_overlapping(rows: list[Any]) -> int:
    """The most jobs running at one instant (``started_at`` to ``finished_at``)."""
    edges = sorted(
        [(r.started_at.timestamp(), 1) for r in rows]
        + [(r.finished_at.timestamp(), -1) for r in rows]
    )
    running = best = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        running += step
        best = max(best, running)
    return best


def limited_count(ports: list[int], limit: str) -> float:
    return sum(value(scrape(p), "folio_jobs_limited_total", actor=KIND, limit=limit) for p in ports)


def assert_first_attempts(rows: list[Any]) -> None:
    assert {str(r.status) for r in rows} == {"succeeded"}
    assert {r.attempts for r in rows} == {1}


async def check_rate(
    engine: AsyncEngine,
    jobs: Jobs,
    spawn: Any,
    settings: FolioSettings,
    *,
    limit: int,
    window_s: int,
    rate: str,
    total: int,
) -> None:
    # Jobs first: the workers find a backlog as they boot.
    ids = await enqueue_limited(engine, jobs, [{"n": i} for i in range(total)])
    ports = start_workers(spawn, settings, 2, TEST_RATE_LIMIT=rate)
    rounds = -(-total // limit)
    rows = await finished_rows(engine, ids, timeout_s=window_s * rounds + 60)
    assert_first_attempts(rows)
    starts = [r.started_at for r in rows]
    assert most_starts_in_window(starts, window_s) <= limit
    # Held back, not dropped: the last start waited for the windows before it.
    span = (max(starts) - min(starts)).total_seconds()
    assert span >= window_s * (rounds - 1)
    assert limited_count(ports, "rate") >= total - limit


async def test_rate_limit_holds_across_two_processes(
    engine: AsyncEngine, jobs: Jobs, spawn: Any, settings: FolioSettings
) -> None:
    await check_rate(engine, jobs, spawn, settings, limit=10, window_s=5, rate="10/5s", total=25)


@pytest.mark.slow
async def test_rate_limit_60_per_minute_across_two_processes(
    engine: AsyncEngine, jobs: Jobs, spawn: Any, settings: FolioSettings
) -> None:
    await check_rate(engine, jobs, spawn, settings, limit=60, window_s=60, rate="60/m", total=90)


async def test_concurrency_limit_holds_across_two_processes(
    engine: AsyncEngine, jobs: Jobs, spawn: Any, settings: FolioSettings
) -> None:
    ids = await enqueue_limited(engine, jobs, [{"n": i, "sleep_ms": 300} for i in range(18)])
    ports = start_workers(spawn, settings, 2, TEST_CONCURRENCY="3")
    rows = await finished_rows(engine, ids, timeout_s=90)
    assert_first_attempts(rows)
    t0 = min(r.started_at for r in rows)
    timeline = sorted(
        (
            round((r.started_at - t0).total_seconds(), 3),
            round((r.finished_at - t0).total_seconds(), 3),
        )
        for r in rows
    )
    assert most_overlapping(rows) <= 3, timeline
    assert limited_count(ports, "concurrency") > 0


def test_invalid_limits_fail_where_the_kind_is_declared(settings: FolioSettings) -> None:
    broker = create_broker(settings)
    try:
        with pytest.raises(ConfigurationError, match="rate_limit"):
            declare_limited(broker, rate_limit="sixty a minute")
        with pytest.raises(ConfigurationError, match="concurrency"):
            declare_limited(broker, concurrency=-1)
    finally:
        broker.close()


async def test_a_kind_declared_with_the_sdk_keeps_its_concurrency(
    engine: AsyncEngine, jobs: Jobs, settings: FolioSettings
) -> None:
    # The SDK binds kinds while the worker boots, after the limits
    # middleware has booted: the limit must hold all the same.
    with kind_worker(settings, [capped]):
        ids = []
        async with create_session_factory(engine)() as session:
            for n in range(10):
                job = outbox.enqueue_envelope(session, capped.envelope(Capped(n=n)))
                ids.append(job.id)
            await session.commit()
        await jobs.dispatch(ids)
        rows = await finished_rows(engine, ids, timeout_s=60)
    assert_first_attempts(rows)
    assert most_overlapping(rows) <= 2
