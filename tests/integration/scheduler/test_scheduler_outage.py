"""The scheduler rides out a Redis outage: it keeps running, and sends the
ticks it missed once Redis is back. Real ``folio-scheduler`` processes and a
Redis of the test's own, stopped and restarted."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from schedkit import scheduler_env, take_jobs_by_task
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_devstack.servers import RedisServer
from folio_shared.db.models import Job
from folio_shared.maintenance.registry import TASKS
from folio_shared.settings import BrokerSettings, DatabaseSettings, FolioSettings, RedisSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCHEDULER = Path(sys.executable).with_name("folio-scheduler")
TASK_NAMES = sorted(t.name for t in TASKS)


@pytest.fixture
def outage_settings(database_url: str, own_redis: RedisServer) -> FolioSettings:
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=own_redis.url),
        broker=BrokerSettings(namespace=f"s{uuid.uuid4().hex[:10]}"),
    )


async def _wait_for_tasks(
    engine: AsyncEngine, proc: subprocess.Popen[bytes], count: int, timeout_s: float
) -> None:
    """Until ``count`` tasks have a job each (counting jobs instead would
    stop early when a regular tick's jobs land during the catch-up)."""
    deadline = time.monotonic() + timeout_s
    query = sa.select(sa.func.count(sa.distinct(Job.actor_name)))
    while True:
        assert proc.poll() is None, f"the scheduler exited with {proc.returncode}"
        async with engine.connect() as conn:
            n = (await conn.execute(query)).scalar_one()
        if n >= count:
            return
        assert time.monotonic() < deadline, f"{n} of {count} tasks"
        await asyncio.sleep(0.2)


async def test_scheduler_started_while_redis_is_down_waits_and_catches_up(
    outage_settings: FolioSettings, own_redis: RedisServer, engine: AsyncEngine
) -> None:
    # Given Redis is down when the scheduler starts
    own_redis.stop()
    proc = subprocess.Popen(
        [str(SCHEDULER)],
        env=scheduler_env(outage_settings, FOLIO_SCHEDULER_CATCH_UP_RETRY_S="0.5"),
        stdout=subprocess.DEVNULL,
    )
    try:
        # Then it keeps running (before: a connection error, exit 1)
        await asyncio.sleep(6)
        assert proc.poll() is None, f"the scheduler exited with {proc.returncode}"
        assert await take_jobs_by_task(engine) == {}
        # When Redis is back, every task's missed tick is sent, once
        own_redis.start()
        await _wait_for_tasks(engine, proc, len(TASKS), timeout_s=30)
        await asyncio.sleep(1.5)  # a few more tries of the keeper: nothing twice
        assert proc.poll() is None
        sent = await take_jobs_by_task(engine)
        assert sorted(sent) == TASK_NAMES
        # every-minute tasks may also have had their regular tick meanwhile
        assert all(n <= 2 for n in sent.values()), sent
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
