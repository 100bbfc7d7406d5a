"""Pausing and resuming a queue: workers stop taking its messages, sending
still works, and nothing is lost.

The paused logical queues (all their priority sub-queues) are a Redis set,
``folio:<namespace>:paused``. Each worker process's :class:`QueuePause`
middleware polls it and acts in two layers:

1. *Consumers stop fetching.* The Dramatiq consumer threads of a paused
   queue's physical queues are paused (:meth:`ConsumerThread.pause`): they
   no longer fetch from Redis, so messages stay where they are, in order,
   counted as ready. The delay-queue consumers keep running: due retries
   move to the (paused) ready queue and wait there.
2. *A guard for what was already fetched.* A consumer stops only after it
   finds its queue empty or its prefetch full, so a message of a paused
   queue can still reach a worker thread. Before anything claims it, that
   message is sent again with a delay (``defer_ms``) and the fetched copy
   is acked: the job stays ``queued`` and runs after the resume. Such a
   message loses its place in its queue (it comes back at the tail).

Pausing takes effect within ``poll_ms`` on every worker; a message started
before that finishes normally.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware, SkipMessage
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import JobKind
from folio_shared.errors import InvalidInput
from folio_shared.logging import get_logger
from folio_shared.messages import QUEUE_NAME, Queue, logical_of
from folio_shared.ops import audit

log = get_logger(__name__)


def paused_key(namespace: str) -> str:
    """The Redis set of paused logical queues."""
    return f"folio:{namespace}:paused"


def _decode(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def paused_queues(client: aioredis.Redis, namespace: str) -> set[str]:
    """The logical queues paused now."""
    return {_decode(v) for v in await client.smembers(paused_key(namespace))}


async def known_queue(queue: Queue | str, engine: AsyncEngine | None) -> str:
    """The logical queue named ``queue``: one of Folio's, or (with
    ``engine``) the queue of a job kind a worker recorded in ``job_kinds``;
    else :class:`~folio_shared.errors.InvalidInput` naming Folio's queues."""
    try:
        return Queue.parse(queue).value
    except InvalidInput:
        name = str(queue).strip().lower()
        if engine is None or not QUEUE_NAME.match(name):
            raise
        async with engine.connect() as conn:
            found = await conn.scalar(
                sa.select(JobKind.queue).where(JobKind.queue == name).limit(1)
            )
        if found is None:
            raise
        return name


async def pause_queue(
    client: aioredis.Redis,
    namespace: str,
    queue: Queue | str,
    *,
    engine: AsyncEngine | None = None,
    actor: str = "cli",
) -> bool:
    """Pause ``queue`` (a logical queue name: Folio's, or with ``engine`` a
    job kind's, see :func:`known_queue`); ``False`` when it already was.
    Recorded in the audit log when ``engine`` is given."""
    name = await known_queue(queue, engine)
    added = bool(await client.sadd(paused_key(namespace), name))
    if engine is not None:
        await audit.record_now(engine, actor=actor, action="queue.pause", target=f"queue:{name}")
    return added


async def resume_queue(
    client: aioredis.Redis,
    namespace: str,
    queue: Queue | str,
    *,
    engine: AsyncEngine | None = None,
    actor: str = "cli",
) -> bool:
    """Resume ``queue``; ``False`` when it was not paused."""
    name = await known_queue(queue, engine)
    removed = bool(await client.srem(paused_key(namespace), name))
    if engine is not None:
        await audit.record_now(engine, actor=actor, action="queue.resume", target=f"queue:{name}")
    return removed


class QueuePause(Middleware):
    """Stops a worker from taking messages of paused queues (module doc).

    Placement: before ``JobTracking``, so a deferred message is never
    claimed (its job stays ``queued``, its attempts untouched).

    - ``redis_url``: where the paused set lives (Folio's Redis).
    - ``namespace``: the broker namespace (default ``folio``).
    - ``poll_ms``: how often the set is read (default 1000 ms).
    - ``defer_ms``: delay before a deferred message is looked at again
      (default 5000 ms).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        namespace: str = "folio",
        poll_ms: int = 1_000,
        defer_ms: int = 5_000,
    ) -> None:
        self.redis_url = redis_url
        self.namespace = namespace
        self.poll_ms = poll_ms
        self.defer_ms = defer_ms
        self.paused: frozenset[str] = frozenset()
        self._worker: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._worker = worker
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="folio-queue-pause", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # Paused consumers must run again to be stopped and requeue.
        self._apply(frozenset())

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if not self.paused or logical_of(message.queue_name)[0] not in self.paused:
            return
        broker.enqueue(message.copy(), delay=self.defer_ms)
        message.options["folio_paused"] = True
        raise SkipMessage()

    # -- polling thread -----------------------------------------------------------------

    def _poll(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            while True:
                try:
                    members = client.smembers(paused_key(self.namespace))
                    paused = frozenset(_decode(m) for m in members)
                    if paused != self.paused:
                        log.info("paused queues changed", paused=sorted(paused))
                    self._apply(paused)
                except Exception as e:
                    log.warning("reading paused queues failed", error=repr(e))
                if self._stop.wait(self.poll_ms / 1000):
                    return
        finally:
            client.close()

    def _apply(self, paused: frozenset[str]) -> None:
        self.paused = paused
        consumers = getattr(self._worker, "consumers", None) or {}
        for name, consumer in list(consumers.items()):
            if name.endswith(".DQ"):
                continue
            want = logical_of(name)[0] in paused
            if want and not consumer.paused:
                consumer.pause()
            elif not want and consumer.paused:
                consumer.resume()
