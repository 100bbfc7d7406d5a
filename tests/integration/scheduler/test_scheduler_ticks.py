"""Two scheduler replicas send each tick's maintenance job once; missed
ticks are caught up at start; a tick whose job could not be created is
left to the catch-up. Real Redis and PostgreSQL; the replicas are two sets
of clients driving the path periodiq calls (``send_with_options``), from
threads, as periodiq calls it outside any event loop."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis
import sqlalchemy as sa
from periodiq import cron
from schedkit import Replica, replica
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_scheduler.catchup import catch_up, previous_due
from folio_scheduler.schedule import entries
from folio_scheduler.ticks import TickNotSent
from folio_shared.db.models import Job
from folio_shared.maintenance.registry import TASKS, last_tick_key, tick_key
from folio_shared.settings import DatabaseSettings, FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def replicas(settings: FolioSettings) -> Iterator[tuple[Replica, Replica]]:
    a, b = replica(settings), replica(settings)
    yield a, b
    a.close()
    b.close()


async def _jobs_by_tick(engine: AsyncEngine) -> collections.Counter[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(Job.actor_name, Job.message, Job.status))).all()
        await conn.execute(sa.delete(Job))
        await conn.commit()
    assert {str(r.status) for r in rows} <= {"queued"}
    return collections.Counter((r.actor_name, r.message["payload"]["tick"]) for r in rows)


def _ready_messages(settings: FolioSettings) -> int:
    client = redis.Redis.from_url(settings.redis.url)
    try:
        return int(client.hlen(f"{settings.broker.namespace}:maintenance.msgs"))
    finally:
        client.close()


async def test_two_replicas_send_each_task_once_per_tick(
    replicas: tuple[Replica, Replica], settings: FolioSettings, engine: AsyncEngine
) -> None:
    a, b = replicas
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    ticks = [start + timedelta(minutes=i) for i in range(5)]
    plus_two = timezone(timedelta(hours=2))

    def fire(rep: Replica, scheduled_at: str) -> None:
        for task in rep.tasks:
            task.send_with_options(scheduled_at=scheduled_at)

    # When both replicas wake at every tick, at the same time, one of them
    # naming it in another time zone and a few hundred milliseconds late
    with ThreadPoolExecutor(2) as pool:
        for tick in ticks:
            late = (tick + timedelta(milliseconds=400)).astimezone(plus_two)
            futures = [
                pool.submit(fire, a, tick.isoformat()),
                pool.submit(fire, b, late.isoformat()),
            ]
            for f in futures:
                f.result()

    # Then each task has exactly one job per tick, and one message each
    sent = await _jobs_by_tick(engine)
    expected = {(t.message_type.actor_name, tick.isoformat()) for t in TASKS for tick in ticks}
    assert set(sent) == expected
    assert set(sent.values()) == {1}
    assert _ready_messages(settings) == len(expected)
    # And the last tick is recorded for every task
    for task in TASKS:
        last = a.client.get(last_tick_key(settings.broker.namespace, task.name))
        assert last == ticks[-1].isoformat().encode()


def test_previous_due_finds_the_latest_due_time() -> None:
    now = datetime(2026, 6, 1, 12, 34, 56, tzinfo=UTC)
    assert previous_due(cron("* * * * *"), now) == datetime(2026, 6, 1, 12, 34, tzinfo=UTC)
    assert previous_due(cron("0 * * * *"), now) == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert previous_due(cron("30 3 * * *"), now) == datetime(2026, 6, 1, 3, 30, tzinfo=UTC)
    assert previous_due(cron("45 13 * * *"), now) == datetime(2026, 5, 31, 13, 45, tzinfo=UTC)
    assert previous_due(cron("0 0 1 1 *"), now) == datetime(2026, 1, 1, tzinfo=UTC)
    on_tick = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert previous_due(cron("0 * * * *"), on_tick) == on_tick


async def test_missed_ticks_are_caught_up_once_at_start(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    now = datetime(2026, 6, 1, 12, 34, 56, tzinfo=UTC)
    a, b = replica(settings, None), replica(settings, None)  # the default crons
    try:
        # Given no scheduler ever ran: both replicas start together
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda r: catch_up(r.tasks, now), [a, b]))
        # Then each task is caught up once, for its latest due tick
        assert sorted(results[0] + results[1]) == sorted(t.name for t in TASKS)
        sent = await _jobs_by_tick(engine)
        assert set(sent.values()) == {1}
        due = {
            e.task.message_type.actor_name: previous_due(cron(e.cron), now)
            for e in entries(settings.scheduler)
        }
        assert set(sent) == {(actor, when.isoformat()) for actor, when in due.items() if when}

        # When a scheduler starts again before anything new was due: nothing
        assert await asyncio.to_thread(catch_up, a.tasks, now + timedelta(seconds=3)) == []
        # When it starts after the hourly tick passed unsent: only that task
        later = now + timedelta(hours=1)
        hourly_only = [t for t in a.tasks if t.task.name == "expire_uploads"]
        minutely = [t for t in a.tasks if t.task.name in ("reap_stuck_jobs", "relay_outbox")]
        assert await asyncio.to_thread(catch_up, hourly_only, later) == ["expire_uploads"]
        caught_up = await asyncio.to_thread(catch_up, minutely, later)
        assert sorted(caught_up) == ["reap_stuck_jobs", "relay_outbox"]
        sent = await _jobs_by_tick(engine)
        assert sent == {
            ("maintenance.expire_uploads", "2026-06-01T13:00:00+00:00"): 1,
            ("maintenance.reap_stuck_jobs", "2026-06-01T13:34:00+00:00"): 1,
            ("maintenance.relay_outbox", "2026-06-01T13:34:00+00:00"): 1,
        }
    finally:
        await asyncio.to_thread(a.close)
        await asyncio.to_thread(b.close)


async def test_a_tick_whose_job_cannot_be_created_is_left_to_the_catch_up(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    # Given a replica whose PostgreSQL is unreachable
    broken = settings.model_copy(
        update={"database": DatabaseSettings(url="postgresql://postgres@127.0.0.1:9/none")}
    )
    rep = replica(broken)
    tick = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    task = next(t for t in rep.tasks if t.task.name == "relay_outbox")
    try:
        # When its tick comes, the job is not created
        with pytest.raises(TickNotSent):
            await asyncio.to_thread(task.send_tick, tick)
        # Then the tick is neither claimed nor recorded: another replica, or
        # the catch-up, still sends it
        ns = settings.broker.namespace
        assert rep.client.get(tick_key(ns, "relay_outbox", tick.isoformat())) is None
        assert rep.client.get(last_tick_key(ns, "relay_outbox")) is None
        assert task.missed(tick)
    finally:
        await asyncio.to_thread(rep.close)
    healthy = replica(settings)
    try:
        again = next(t for t in healthy.tasks if t.task.name == "relay_outbox")
        assert await asyncio.to_thread(again.send_tick, tick) is not None
        assert await _jobs_by_tick(engine) == {("maintenance.relay_outbox", tick.isoformat()): 1}
    finally:
        await asyncio.to_thread(healthy.close)
