"""A job kind with limits, for the limit and scheduling tests.

``test.limited`` is a plain Dramatiq actor under Folio's middleware (as a
kind declared with the SDK is): its ``rate_limit`` and ``concurrency``
come from the environment of the worker process that declares it
(``TEST_RATE_LIMIT``, ``TEST_CONCURRENCY``). Its payload may ask it to
sleep; it returns the payload's ``n``. :func:`enqueue_limited` creates its
jobs through the outbox, as the API does for a job of any kind.
``test.capped`` is a kind declared with the SDK (``@job``), with a
concurrency limit.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from typing import Any

import dramatiq
import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import create_session_factory
from folio_shared.jobs import Jobs, outbox
from folio_shared.kinds import JobContext, job
from folio_shared.messages import Priority, physical_queue_names

KIND = "test.limited"
QUEUE = "limited"
#: Every physical queue of the kind's queue (a worker's ``--queues``).
QUEUES = physical_queue_names(QUEUE)


def declare_limited(
    broker: dramatiq.Broker, *, rate_limit: str | None = None, concurrency: int | None = None
) -> dramatiq.Actor[..., Any]:
    options: dict[str, Any] = {}
    if rate_limit:
        options["rate_limit"] = rate_limit
    if concurrency:
        options["concurrency"] = concurrency

    async def limited(payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(int(payload.get("sleep_ms", 0)) / 1000)
        return {"n": payload.get("n")}

    actor: dramatiq.Actor[..., Any] = dramatiq.actor(  # type: ignore[call-overload]
        limited, actor_name=KIND, queue_name=QUEUE, broker=broker, **options
    )
    for name in QUEUES:
        if name not in broker.get_declared_queues():
            broker.declare_queue(name)
    return actor


def declare_from_env(broker: dramatiq.Broker) -> dramatiq.Actor[..., Any]:
    conc = os.environ.get("TEST_CONCURRENCY")
    return declare_limited(
        broker,
        rate_limit=os.environ.get("TEST_RATE_LIMIT") or None,
        concurrency=int(conc) if conc else None,
    )


async def enqueue_limited(
    engine: AsyncEngine,
    jobs: Jobs,
    payloads: list[dict[str, Any]],
    *,
    eta: datetime | None = None,
) -> list[uuid.UUID]:
    """Create and send one ``test.limited`` job per payload; their ids."""
    async with create_session_factory(engine)() as session:
        for payload in payloads:
            env = outbox.kind_envelope(KIND, 1, QUEUE, payload, priority=Priority.NORMAL)
            outbox.enqueue_envelope(session, env, eta=eta)
        await session.commit()
        ids = outbox.pending_ids(session)
    await jobs.dispatch(ids)
    return ids


class Capped(msgspec.Struct, frozen=True):
    n: int
    sleep_ms: int = 200


@job("test.capped", queue="capped", payload=Capped, concurrency=2)
async def capped(ctx: JobContext, p: Capped) -> dict[str, int]:
    """A kind declared with the SDK, at most two running at once."""
    await ctx.progress(0.5, stage="napping")
    await asyncio.sleep(p.sleep_ms / 1000)
    return {"n": p.n}
