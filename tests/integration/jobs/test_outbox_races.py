"""The outbox's two senders racing: a dispatch and relays of the same rows.

A large dispatch (the API's after an upload, a scheduler tick) and the
outbox relay of the same ``pending`` rows, with a worker claiming what they
send, must neither deadlock nor send a job twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, new_id
from support.jobs import job_settings, wait_for
from support.workers import RunningWorker

from folio_shared.jobs import Jobs, outbox
from folio_shared.jobs.send import AsyncSender
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

JOBS = 1_500


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    # The worker's reconciler relays only rows older than a third of
    # lost_after: none in this test, so every send is one the test counts.
    return job_settings(database_url, test_servers.redis_url, tmp_path, lost_after_ms=600_000)


class CountingSender(AsyncSender):
    """An :class:`AsyncSender` that counts the messages it sent, per job."""

    def __init__(self, broker: dramatiq.Broker, client: aioredis.Redis) -> None:
        super().__init__(broker, client)
        self.sent: Counter[str] = Counter()

    async def send(
        self, message: dramatiq.Message[Any], *, delay_ms: int | None = None
    ) -> dramatiq.Message[Any]:
        sent = await super().send(message, delay_ms=delay_ms)
        self.sent[sent.options["job_id"]] += 1
        return sent


async def test_a_dispatch_racing_relays_sends_every_job_once_without_deadlock(
    engine: AsyncEngine, worker: RunningWorker, redis: aioredis.Redis, key: str
) -> None:
    # Given 1,500 committed pending jobs, as an upload burst leaves them
    sender = CountingSender(worker.broker, redis)
    jobs = Jobs(engine, worker.broker, redis, sender=sender)
    async with jobs.sessions() as session:
        for _ in range(JOBS):
            await outbox.enqueue(session, EchoV1(job_id=str(new_id()), key=key))
        await session.commit()
        ids = outbox.pending_ids(session)
    # When their dispatch runs while two relays send the same rows and the
    # worker claims whatever either sent
    stop = asyncio.Event()

    async def relaying() -> int:
        sent = 0
        async with engine.connect() as conn:
            while not stop.is_set():
                sent += await outbox.relay(
                    conn, worker.broker, min_age_ms=0, batch=50, sender=sender
                )
                await asyncio.sleep(0)
        return sent

    relays = [asyncio.create_task(relaying()) for _ in range(2)]
    try:
        dispatched = await jobs.dispatch(ids)
    finally:
        stop.set()
        relayed = await asyncio.gather(*relays)
    # Then every job was sent exactly once, by one side or the other
    twice = {job for job, n in sender.sent.items() if n > 1}
    assert not twice, f"{len(twice)} jobs sent more than once"
    assert {uuid.UUID(job) for job in sender.sent} == set(ids)
    assert dispatched + sum(relayed) == JOBS
    # And every one ran to the end
    await wait_for(lambda: _succeeded(engine, ids), timeout_s=120, what="every job to succeed")


async def _succeeded(engine: AsyncEngine, ids: list[uuid.UUID]) -> bool:
    async with engine.connect() as conn:
        done = await conn.scalar(
            sa.text("SELECT count(*) FROM jobs WHERE id = ANY(:ids) AND status = 'succeeded'"),
            {"ids": ids},
        )
    return done == len(ids)
