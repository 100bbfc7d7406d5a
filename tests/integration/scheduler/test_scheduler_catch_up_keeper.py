"""The scheduler's catch-up keeper: a tick missed during a Redis outage (a
Redis of the test's own, stopped and restarted) or a PostgreSQL outage (the
test's own database refuses connections, ``ALLOW_CONNECTIONS false``, and
its sessions are ended) is owed, never raised, and sent once the server is
back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from schedkit import replica, take_jobs_by_task
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_devstack.servers import RedisServer
from folio_scheduler.recovery import CatchUpKeeper
from folio_shared.db.models import Job
from folio_shared.maintenance.registry import TASKS
from folio_shared.settings import BrokerSettings, DatabaseSettings, FolioSettings, RedisSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASK_NAMES = sorted(t.name for t in TASKS)


def _settings(database_url: str, redis_url: str) -> FolioSettings:
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url),
        broker=BrokerSettings(namespace=f"s{uuid.uuid4().hex[:10]}"),
    )


async def _wait_until_paid(keeper: CatchUpKeeper, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while keeper.owed:
        assert time.monotonic() < deadline, "the missed tick was never sent"
        await asyncio.sleep(0.1)


async def test_a_tick_during_a_redis_outage_is_sent_when_redis_is_back(
    database_url: str, own_redis: RedisServer, engine: AsyncEngine
) -> None:
    outage_settings = _settings(database_url, own_redis.url)
    keeper = CatchUpKeeper(retry_s=0.2)
    rep = replica(outage_settings, on_missed=keeper.owe)
    keeper.attach(rep.tasks)
    try:
        # Given Redis is down at a tick
        own_redis.stop()
        tick = datetime.now(UTC).replace(second=0, microsecond=0)
        relay = next(t for t in rep.tasks if t.task.name == "relay_outbox")
        await asyncio.to_thread(relay.send_with_options, scheduled_at=tick.isoformat())
        # Then the tick is owed, not raised, and trying again fails quietly
        assert keeper.owed
        assert not await asyncio.to_thread(keeper.try_now)
        assert keeper.owed
        # When Redis is back, the catch-up sends it
        own_redis.start()
        keeper.start()
        await _wait_until_paid(keeper, timeout_s=20)
        sent = await take_jobs_by_task(engine)
        assert sorted(sent) == TASK_NAMES
        assert set(sent.values()) == {1}
    finally:
        keeper.stop()
        await asyncio.to_thread(rep.close)


async def test_a_tick_during_a_postgres_outage_is_sent_when_it_is_back(
    database_url: str,
    test_servers: Any,
    engine: AsyncEngine,
    database_outage: Callable[[], AbstractAsyncContextManager[None]],
) -> None:
    settings = _settings(database_url, test_servers.redis_url)
    keeper = CatchUpKeeper(retry_s=0.2)
    rep = replica(settings, on_missed=keeper.owe)
    keeper.attach(rep.tasks)
    relay = next(t for t in rep.tasks if t.task.name == "relay_outbox")
    await take_jobs_by_task(engine)  # none of an earlier test
    try:
        # Given PostgreSQL refuses connections at a tick
        async with database_outage():
            tick = datetime.now(UTC).replace(second=0, microsecond=0)
            await asyncio.to_thread(relay.send_with_options, scheduled_at=tick.isoformat())
            # Then the tick is owed, and trying again fails quietly
            assert keeper.owed
            assert not await asyncio.to_thread(keeper.try_now)
        # When PostgreSQL is back, the catch-up sends it
        keeper.start()
        await _wait_until_paid(keeper, timeout_s=30)
    finally:
        keeper.stop()
        await asyncio.to_thread(rep.close)
    await engine.dispose()  # its connections were ended with the outage
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(Job.message).where(Job.actor_name == "maintenance.relay_outbox")
            )
        ).scalars()
        ticks = sorted(m["payload"]["tick"] for m in rows)
    assert ticks[-1] >= tick.isoformat()
    assert len(ticks) == len(set(ticks))
