"""The worker's job-event publisher writes a batch with one Redis command:
each event lands on its own job's stream, in order, read back as
:func:`events.publish` writes them, and a finished job's stream expires."""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from folio_shared.jobs import events
from folio_shared.jobs.events import EventSender


async def test_a_batch_lands_on_each_job_s_stream_in_order(redis: aioredis.Redis) -> None:
    done, running = uuid.uuid4(), uuid.uuid4()
    sender = EventSender(redis)
    sender.start()
    sender.send(done, "state", {"status": "running", "attempt": 1})
    sender.send(running, "state", {"status": "running", "attempt": 2})
    sender.send(done, "progress", {"stage": "pages", "done": 1, "at": uuid.UUID(int=7)})
    sender.send(done, "state", {"status": "succeeded", "attempt": 1})
    await sender.close()
    published = await events.publish(redis, running, "progress", {"done": 3})

    got = await events.read(redis, done)
    assert [(e.type, e.data) for e in got] == [
        ("state", {"status": "running", "attempt": 1}),
        ("progress", {"stage": "pages", "done": 1, "at": str(uuid.UUID(int=7))}),
        ("state", {"status": "succeeded", "attempt": 1}),
    ]
    assert got[-1].terminal
    other = await events.read(redis, running)
    assert [(e.type, e.data) for e in other] == [
        ("state", {"status": "running", "attempt": 2}),
        ("progress", {"done": 3}),
    ]
    assert other[-1].id == published
    assert 0 < await redis.ttl(events.stream_key(done)) <= events.FINISHED_TTL_S
    assert await redis.ttl(events.stream_key(running)) == -1  # not finished: kept


async def test_a_script_cache_emptied_under_the_sender_is_refilled(
    redis: aioredis.Redis,
) -> None:
    """A restarted Redis has no scripts: the next batch loads it again."""
    job = uuid.uuid4()
    sender = EventSender(redis)
    sender.start()
    sender.send(job, "state", {"status": "running", "attempt": 1})
    await sender.close()
    await redis.script_flush()
    sender.start()
    sender.send(job, "state", {"status": "dead", "attempt": 1})
    await sender.close()
    assert [e.data["status"] for e in await events.read(redis, job)] == ["running", "dead"]
