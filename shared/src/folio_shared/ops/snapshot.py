"""One sample of the cluster's state, for the cluster gauges.

:func:`take` reads queue depth (Folio's queues and the job kinds' recorded
in ``job_kinds``), paused queues and live workers from Redis, and the outbox
backlog and stalled jobs from PostgreSQL; a dependency that
does not answer is reported down (``folio_redis_up`` / ``folio_database_up``
0) and the rest is still reported. :func:`worker_sampler` gives the
sample function a worker's :class:`~folio_shared.worker_metrics.Metrics`
middleware serves, run on the worker's event loop with its open clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from dramatiq.asyncio import get_event_loop_thread
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.logging import get_logger
from folio_shared.messages import Queue
from folio_shared.ops.pause import paused_queues
from folio_shared.ops.queues import QueueStats, all_physical_queues, kind_queues, queue_stats
from folio_shared.ops.stalled import DEFAULT_STALL_AFTER_MS, count_stalled, outbox_backlog
from folio_shared.ops.workers import alive_per_queue, list_workers
from folio_shared.resources import resources

log = get_logger(__name__)

#: Longest a sample may take, in seconds (a scrape must not hang).
SAMPLE_TIMEOUT_S = 5.0


@dataclass
class Snapshot:
    """What :func:`take` saw; ``None`` counts: that source did not answer."""

    redis_up: bool = False
    database_up: bool = False
    queues: list[QueueStats] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)
    workers_alive: dict[str, int] = field(default_factory=dict)
    outbox_backlog: int | None = None
    stalled: int | None = None

    def samples(self) -> Iterator[tuple[str, tuple[str, ...], float]]:
        """``(metric, label values, value)`` for the cluster gauges."""
        yield "folio_redis_up", (), float(self.redis_up)
        yield "folio_database_up", (), float(self.database_up)
        for q in self.queues:
            for state in ("ready", "delayed", "in_flight", "dead"):
                yield "folio_queue_messages", (q.queue, state), float(getattr(q, state))
            yield "folio_queue_oldest_message_age_seconds", (q.queue,), q.oldest_age_s or 0.0
        if self.redis_up:
            for logical in Queue:
                yield "folio_queue_paused", (logical.value,), float(logical.value in self.paused)
                alive = float(self.workers_alive.get(logical.value, 0))
                yield "folio_workers_alive", (logical.value,), alive
        if self.outbox_backlog is not None:
            yield "folio_outbox_backlog", (), float(self.outbox_backlog)
        if self.stalled is not None:
            yield "folio_jobs_stalled", (), float(self.stalled)


async def take(
    client: aioredis.Redis,
    engine: AsyncEngine,
    namespace: str,
    *,
    stall_after_ms: int = DEFAULT_STALL_AFTER_MS,
) -> Snapshot:
    """Sample the cluster (see the module doc)."""
    snap = Snapshot()
    kinds: list[str] = []
    try:
        async with asyncio.timeout(SAMPLE_TIMEOUT_S):
            kinds = await kind_queues(engine)
    except Exception as e:
        log.warning("cluster sample: job kinds' queues unknown", error=repr(e))
    try:
        async with asyncio.timeout(SAMPLE_TIMEOUT_S):
            snap.queues = await queue_stats(client, namespace, queues=all_physical_queues(kinds))
            snap.paused = await paused_queues(client, namespace)
            snap.workers_alive = alive_per_queue(await list_workers(client, namespace))
        snap.redis_up = True
    except Exception as e:
        log.warning("cluster sample: Redis failed", error=repr(e))
    try:
        async with asyncio.timeout(SAMPLE_TIMEOUT_S):
            snap.outbox_backlog = await outbox_backlog(engine)
            snap.stalled = await count_stalled(engine, stall_after_ms=stall_after_ms)
        snap.database_up = True
    except Exception as e:
        log.warning("cluster sample: PostgreSQL failed", error=repr(e))
    return snap


def worker_sampler(
    namespace: str, *, stall_after_ms: int = DEFAULT_STALL_AFTER_MS
) -> Callable[[], Snapshot | None]:
    """A sample function for a worker process: runs :func:`take` on the
    worker's event loop with its open Redis client and engine."""

    def sample() -> Snapshot | None:
        loop = get_event_loop_thread()
        if loop is None:
            return None
        res = resources()
        snap: Snapshot = loop.run_coroutine(
            take(res.redis, res.engine, namespace, stall_after_ms=stall_after_ms)
        )
        return snap

    return sample
