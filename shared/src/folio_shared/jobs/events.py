"""Per-job event streams in Redis (Redis Streams).

Every state change and progress report of a job is appended to the stream
``folio:job:<id>:events``; a reader replays from any event id (the SSE
``Last-Event-ID``) and then blocks for new ones. Streams are capped
(``MAXLEN ~ 1000``) and expire some time after the job's terminal event.
PostgreSQL's ``job_events`` table keeps the durable history of state
changes; the stream is the live feed, and losing it (a Redis flush) loses
only live progress, never a job.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from folio_shared.logging import get_logger
from folio_shared.redis_pipe import RedisPipe

log = get_logger(__name__)

#: Events kept per job stream (approximate trim).
MAX_EVENTS = 1000
#: How long a finished job's stream is kept, in seconds.
FINISHED_TTL_S = 7 * 24 * 3600
#: Statuses after which no event follows.
TERMINAL = frozenset({"succeeded", "failed", "dead", "cancelled"})


def stream_key(job_id: uuid.UUID | str) -> str:
    return f"folio:job:{job_id}:events"


@dataclass(frozen=True)
class JobEvent:
    """One event: ``id`` (stream id, for replay), ``type`` (``state`` or
    ``progress``) and its ``data``."""

    id: str
    type: str
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.type == "state" and self.data.get("status") in TERMINAL


async def publish(
    client: aioredis.Redis, job_id: uuid.UUID | str, type_: str, data: dict[str, Any]
) -> str | None:
    """Append an event; returns its id, or ``None`` when Redis failed (the
    job itself is unaffected: this is the live feed only)."""
    key = stream_key(job_id)
    try:
        async with client.pipeline(transaction=False) as pipe:
            pipe.xadd(
                key,
                {"type": type_, "data": json.dumps(data, default=str)},
                maxlen=MAX_EVENTS,
                approximate=True,
            )
            if type_ == "state" and data.get("status") in TERMINAL:
                pipe.expire(key, FINISHED_TTL_S)
            results = await pipe.execute()
    except Exception as e:
        log.warning("job event not published", job_id=str(job_id), error=repr(e))
        return None
    event_id = results[0]
    return event_id.decode() if isinstance(event_id, bytes) else str(event_id)


async def start_run(client: aioredis.Redis, job_id: uuid.UUID | str) -> None:
    """A retried or re-driven job's feed starts again: the earlier runs'
    events (their terminal event among them) are dropped and the new run's
    first event, ``state`` ``{"status": "pending", "retried": true}``, is
    written, in one transaction. Redis failing is logged, not raised (the
    SSE route also never ends a stream on a terminal event the job row
    does not confirm)."""
    key = stream_key(job_id)
    data = json.dumps({"status": "pending", "retried": True})
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.xadd(key, {"type": "state", "data": data}, maxlen=MAX_EVENTS, approximate=True)
            await pipe.execute()
    except Exception as e:
        log.warning("job feed not restarted", job_id=str(job_id), error=repr(e))


def _id_key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


async def may_have_sent(client: aioredis.Redis, job_id: uuid.UUID | str, event_id: str) -> bool:
    """Whether ``event_id`` can be an id of the job's feed: it is in the
    stream, or older than all of it (trimmed, or an earlier run's), or the
    stream is gone or unreadable (nothing to tell). False for an id within
    or after the stream that it does not hold: one never sent."""
    key = stream_key(job_id)
    try:
        if await client.xrange(key, min=event_id, max=event_id, count=1):
            return True
        first: Any = await client.xrange(key, count=1)
    except Exception:  # Redis away: the job row answers the stream
        return True
    if not first:
        return True
    raw = first[0][0]
    first_id = raw.decode() if isinstance(raw, bytes) else str(raw)
    return _id_key(event_id) < _id_key(first_id)


def _decode(entries: Sequence[Any]) -> list[JobEvent]:
    events = []
    for raw_id, fields in entries:
        fid = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
        f = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()
        }
        events.append(JobEvent(fid, f.get("type", "state"), json.loads(f.get("data", "{}"))))
    return events


async def read(
    client: aioredis.Redis,
    job_id: uuid.UUID | str,
    *,
    after: str | None = None,
    block_ms: int | None = None,
    count: int = 100,
) -> list[JobEvent]:
    """Events after ``after`` (all when ``None``), waiting up to ``block_ms``
    for new ones when there are none."""
    key = stream_key(job_id)
    start = after or "0-0"
    if block_ms is None:
        entries: Any = await client.xrange(key, min=f"({start}" if after else "-", count=count)
        return _decode(entries or [])
    result: Any = await client.xread({key: start}, count=count, block=block_ms)
    if not result:
        return []
    return _decode(result[0][1])


#: Appends a batch of events: ``KEYS`` are their streams, ``ARGV`` holds
#: the cap and the finished streams' lifetime, then per event its type,
#: its data and ``1`` when it is terminal (the stream then expires).
_APPEND_MANY = """
local maxlen, ttl = ARGV[1], ARGV[2]
for i, key in ipairs(KEYS) do
  local j = 3 * i
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'type', ARGV[j], 'data', ARGV[j + 1])
  if ARGV[j + 2] == '1' then redis.call('EXPIRE', key, ttl) end
end
return #KEYS
"""


class EventSender:
    """Publishes job events in order, in batches, off the caller's path.

    Job transitions call :meth:`send` (no waiting); one task drains the
    queue and writes whatever has accumulated with one Redis command (a
    script appending each event to its stream, as :func:`publish` does), so
    a worker finishing a thousand jobs a second makes a few round trips,
    not a thousand, and parses one reply per batch rather than one per
    stream entry. Events of one job keep their order. ``close()`` flushes.
    The command goes over a :class:`~folio_shared.redis_pipe.RedisPipe` of
    its own (redis-py's client costs several times the CPU per command, on
    the event loop every claim and outcome batch waits for); over
    ``client`` for a server the pipe does not reach (TLS).

    - ``client``: the async Redis client.
    - ``max_batch``: most events per command (default 500).
    """

    def __init__(self, client: aioredis.Redis, *, max_batch: int = 500) -> None:
        self.client = client
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[str, str, dict[str, Any]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._append = client.register_script(_APPEND_MANY)
        self._sha = hashlib.sha1(_APPEND_MANY.encode()).hexdigest()  # noqa: S324 - Redis's id
        self._pipe = RedisPipe.for_client(client)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def send(self, job_id: uuid.UUID | str, type_: str, data: dict[str, Any]) -> None:
        """Queue an event (call it from the event loop's thread)."""
        self._queue.put_nowait((str(job_id), type_, data))

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            batch = [item]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            stop = None in batch
            events = [e for e in batch if e is not None]
            if events:
                await self._write(events)
            if stop:
                return

    async def _write(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        keys: list[str] = []
        args: list[str | int] = [MAX_EVENTS, FINISHED_TTL_S]
        for job_id, type_, data in events:
            keys.append(stream_key(job_id))
            terminal = type_ == "state" and data.get("status") in TERMINAL
            args += (type_, json.dumps(data, default=str), 1 if terminal else 0)
        try:
            if self._pipe is None:
                await self._append(keys=keys, args=args)
                return
            [reply] = await self._pipe.execute([("EVALSHA", self._sha, len(keys), *keys, *args)])
            if isinstance(reply, NoScriptError):  # a fresh or flushed Redis: EVAL loads it
                [reply] = await self._pipe.execute(
                    [("EVAL", _APPEND_MANY, len(keys), *keys, *args)]
                )
            if isinstance(reply, Exception):
                raise reply
        except Exception as e:
            log.warning("job events not published", count=len(events), error=repr(e))

    async def close(self) -> None:
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None
        if self._pipe is not None:
            self._pipe.close()
