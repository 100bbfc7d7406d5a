"""Message pointers: where in Redis the latest message of a job is.

Dramatiq's Redis broker stores each send under a fresh id of its own
(``redis_message_id``), not the Dramatiq message id. So every send of a
tracked job records that id under :func:`message_pointer_key`: the
:class:`MessagePointers` middleware does it after a broker's ``enqueue``
(dispatch, relay, retry, delay expiry), and
:class:`~folio_shared.jobs.send.AsyncSender` in the round trip of its own
send (:func:`set_command`). The reconciler reads the pointer back
(:func:`message_present`): a ``queued`` job whose message is in neither its
queue nor its delay queue was lost and is sent again.

The pointer lives in the same Redis as the messages: a flush or a failover
loses both, which is exactly when a re-send is needed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import dramatiq
import redis
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from folio_shared.logging import get_logger

log = get_logger(__name__)

#: How long the pointer from a job to its latest Redis message is kept.
MESSAGE_POINTER_TTL_S = 7 * 24 * 3600


def message_pointer_key(namespace: str, job_id: uuid.UUID | str) -> str:
    """Redis key holding the Redis id of the latest message sent for a job."""
    return f"folio:{namespace}:job:{job_id}:msg"


def set_command(namespace: str, job_id: uuid.UUID | str, redis_id: str) -> tuple[Any, ...]:
    """The Redis command that records ``redis_id`` as the job's latest
    message, for a caller that pipelines it with the send."""
    return (b"SET", message_pointer_key(namespace, job_id), redis_id, b"EX", MESSAGE_POINTER_TTL_S)


class MessagePointers(Middleware):
    """Records the pointer of every tracked job's message a broker sends
    (see the module doc): without it the reconciler takes a queued job's
    message for lost and sends it again. Part of every worker's stack;
    send-only brokers (the API's) install it alone. A failed write is
    logged, never raised: the send itself succeeded."""

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        job_id = message.options.get("job_id")
        redis_id = message.options.get("redis_message_id")
        if not job_id or not redis_id or not isinstance(broker, RedisBroker):
            return
        key = message_pointer_key(broker.namespace, job_id)
        try:
            broker.client.set(key, redis_id, ex=MESSAGE_POINTER_TTL_S)
        except redis.RedisError as e:
            log.warning("message pointer not stored", job_id=job_id, error=repr(e))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _pointers(
    client: aioredis.Redis, namespace: str, job_ids: Sequence[uuid.UUID | str]
) -> list[str | None]:
    """The Redis ids of the jobs' latest messages, in one round trip."""
    async with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.get(message_pointer_key(namespace, job_id))
        found = await pipe.execute()
    return [None if rid is None else _text(rid) for rid in found]


async def messages_present(
    client: aioredis.Redis, broker: dramatiq.Broker, jobs: Sequence[tuple[str, uuid.UUID | str]]
) -> list[tuple[bool, bool]]:
    """``(anywhere, only_delayed)`` for the latest message of each
    ``(queue, job_id)`` on a Redis broker, in two round trips whatever
    their number. Other brokers (RabbitMQ) keep their own messages:
    present."""
    if not isinstance(broker, RedisBroker):
        return [(True, False)] * len(jobs)
    if not jobs:
        return []
    ns = broker.namespace
    rids = await _pointers(client, ns, [job_id for _, job_id in jobs])
    async with client.pipeline(transaction=False) as pipe:
        for (queue, _), rid in zip(jobs, rids, strict=True):
            if rid is not None:
                base = queue.removesuffix(".DQ")
                pipe.hexists(f"{ns}:{base}.msgs", rid)
                pipe.hexists(f"{ns}:{base}.DQ.msgs", rid)
        found = iter(await pipe.execute())
    result = []
    for rid in rids:
        if rid is None:
            result.append((False, False))
            continue
        ready, delayed = next(found), next(found)
        result.append((bool(ready or delayed), bool(delayed and not ready)))
    return result


async def message_present(
    client: aioredis.Redis, broker: dramatiq.Broker, queue: str, job_id: uuid.UUID | str
) -> tuple[bool, bool]:
    """:func:`messages_present` for one job."""
    return (await messages_present(client, broker, [(queue, job_id)]))[0]


async def fetched_by_live_workers(
    client: aioredis.Redis, broker: dramatiq.Broker, jobs: Sequence[tuple[str, uuid.UUID | str]]
) -> list[list[str]]:
    """For each ``(queue, job_id)``, the live workers whose set of fetched,
    unacknowledged messages (Dramatiq's ``__acks__`` sets) holds the job's
    latest message, in three round trips whatever their number. Dead
    workers are left out: Dramatiq's own maintenance (which the reconciler
    runs on every pass) hands back a dead worker's whole set."""
    return [holders for _, holders in await _held(client, broker, jobs)]


async def _held(
    client: aioredis.Redis, broker: dramatiq.Broker, jobs: Sequence[tuple[str, uuid.UUID | str]]
) -> list[tuple[str | None, list[str]]]:
    """:func:`fetched_by_live_workers`, each with the message's Redis id."""
    if not isinstance(broker, RedisBroker) or not jobs:
        return [(None, []) for _ in jobs]
    ns = broker.namespace
    alive_since = int(time.time() * 1000) - broker.heartbeat_timeout
    workers = [
        _text(w) for w in await client.zrangebyscore(f"{ns}:__heartbeats__", alive_since, "+inf")
    ]
    if not workers:
        return [(None, []) for _ in jobs]
    rids = await _pointers(client, ns, [job_id for _, job_id in jobs])
    async with client.pipeline(transaction=False) as pipe:
        for (queue, _), rid in zip(jobs, rids, strict=True):
            if rid is not None:
                base = queue.removesuffix(".DQ")
                for worker in workers:
                    pipe.sismember(f"{ns}:__acks__.{worker}.{base}", rid)
        found = iter(await pipe.execute())
    return [(rid, [] if rid is None else [w for w in workers if next(found)]) for rid in rids]


async def requeue_unreceived(
    client: aioredis.Redis, broker: dramatiq.Broker, queue: str, job_id: uuid.UUID | str
) -> bool:
    """Put the job's latest message back in its queue if it sits in a live
    worker's set of fetched, unacknowledged messages
    (:func:`fetched_by_live_workers`); ``True`` if it did.

    Dramatiq's fetch moves messages into the worker's set and returns them;
    when Redis restarts as the reply is on its way, the worker never gets
    them, and Dramatiq hands a worker's set back only once the worker has
    stopped heart-beating. The caller asks only for a job that has been
    ``queued`` for long (``FOLIO_JOBS_STRANDED_AFTER_MS``): should the worker
    hold the message after all (behind a long job), it runs once anyway, as
    the claim lets one delivery run. The move is Dramatiq's own ``requeue``
    command, run for the worker holding the message."""
    if not isinstance(broker, RedisBroker):
        return False
    rid, holders = (await _held(client, broker, [(queue, job_id)]))[0]
    if rid is None or not holders:
        return False
    base = queue.removesuffix(".DQ")
    for holder in holders:
        log.warning("message requeued from a worker that never received it", job_id=str(job_id))
        await asyncio.to_thread(_requeue, broker, base, holder, rid)
    return True


def _requeue(broker: RedisBroker, queue: str, holder: str, redis_id: str) -> None:
    run_dispatch(broker, "requeue", queue, holder, redis_id)


def run_dispatch(
    broker: RedisBroker, command: str, queue: str, worker_id: str, *extra: Any,
    maintenance: bool = False,
) -> Any:  # fmt: skip
    """Dramatiq's Redis ``dispatch`` script: ``command`` (``fetch``,
    ``requeue``, ``qsize`` ...) on ``queue`` as the worker ``worker_id``,
    followed by the command's own arguments ``extra``; ``maintenance``
    forces the script's clean-up of dead workers' messages. The argument
    list is the script's, in the order the broker itself passes it."""
    return broker.scripts["dispatch"](
        args=[
            command,
            int(time.time() * 1000),
            queue,
            worker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            int(maintenance),
            broker._max_unpack_size(),  # type: ignore[no-untyped-call]
            *extra,
        ],
        keys=[broker.namespace],
    )
