"""One Redis reader per API process for every open job event stream.

A blocking ``XREAD`` holds its Redis connection while it waits: one per
open stream would let a few thousand clients exhaust Redis's connections
and take the broker down for everyone. :class:`StreamHub` runs one task
with one connection of its own that waits on every followed job's stream
at once (one ``XREAD BLOCK`` naming them all) and wakes the streams whose
job has new events; each stream then fetches them with a short ``XRANGE``
on the API's bounded pool. The hub's connection is the only one a waiting
stream uses.

The hub also admits streams: at most ``per_key`` open at once for one API
key across every API process, and ``per_process`` in this process. Past
either, :meth:`StreamHub.admit` raises :class:`TooManyStreams` (``429``
with ``Retry-After``). A key's open streams are leased slots in Redis
(:mod:`folio_shared.leases`): each stream holds one, renewed by its process
every third of ``lease_ms`` and given back when the stream ends, so N API
replicas still allow ``per_key`` streams per key, not N times as many, and
the slots of a process that died come back when their lease ends. While
Redis cannot be reached, the key's cap is counted in this process only.

- ``redis``: the hub's own client (closed with the hub).
- ``per_key``, ``per_process``: the caps (``FOLIO_API_SSE_STREAMS_PER_KEY``,
  ``FOLIO_API_SSE_STREAMS_PER_PROCESS``).
- ``namespace``: the Redis namespace of the slots (the broker's).
- ``lease_ms``: how long a slot outlives its last renewal (default 30,000).
- ``block_ms``: how long one ``XREAD`` waits (default 500); a stream
  opened meanwhile is in the next one.
- ``retry_after_s``: what a refused client is told (default 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from folio_shared.errors import RateLimited
from folio_shared.jobs import events
from folio_shared.leases import ACQUIRE_SCRIPT, RENEW_SCRIPT
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Pause after the hub's read failed (Redis away), in seconds.
RETRY_S = 1.0


class TooManyStreams(RateLimited):
    """Too many event streams open for this key or this API process."""

    code = "too_many_streams"


@dataclass(eq=False)
class Follower:
    """One open stream: the job it follows and the flag the hub sets when
    the job's stream has new events."""

    job_id: str
    key_id: str
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    slot: str = field(default_factory=lambda: uuid.uuid4().hex)  # its member in Redis


class StreamHub:
    """Admits event streams and wakes them when their job has new events."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        per_key: int,
        per_process: int,
        namespace: str = "folio",
        lease_ms: int = 30_000,
        block_ms: int = 500,
        retry_after_s: int = 5,
    ) -> None:
        self.redis = redis
        self.per_key = per_key
        self.per_process = per_process
        self.namespace = namespace
        self.lease_ms = lease_ms
        self.block_ms = block_ms
        self.retry_after_s = retry_after_s
        self._acquire = redis.register_script(ACQUIRE_SCRIPT)
        self._renew = redis.register_script(RENEW_SCRIPT)
        self._renewed = time.monotonic()
        self._giving_back: set[asyncio.Task[None]] = set()
        self._followers: dict[str, set[Follower]] = {}  # stream key → followers
        self._cursors: dict[str, str] = {}  # stream key → last id the hub saw
        self._per_key: Counter[str] = Counter()
        self._open = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def open_streams(self) -> int:
        return self._open

    def slots_key(self, key_id: str) -> str:
        """The Redis key of an API key's stream slots."""
        return f"folio:{self.namespace}:sse:{key_id}"

    async def admit(
        self, job_id: uuid.UUID | str, *, key_id: uuid.UUID | str, after: str | None
    ) -> Follower:
        """Follow ``job_id`` (``after``: the last event id the client has)
        until :meth:`release`; raises :class:`TooManyStreams` past a cap."""
        key = str(key_id)
        if self._open >= self.per_process:
            raise TooManyStreams(
                f"this API process has {self._open} event streams open, its maximum; "
                f"retry in {self.retry_after_s} s",
                retry_after_s=self.retry_after_s,
            )
        follower = Follower(str(job_id), key)
        if not await self._take_slot(follower):
            raise TooManyStreams(
                f"this API key has {self.per_key} event streams open, its maximum; "
                f"close one or retry in {self.retry_after_s} s",
                retry_after_s=self.retry_after_s,
            )
        stream = events.stream_key(follower.job_id)
        self._open += 1
        self._per_key[key] += 1
        self._followers.setdefault(stream, set()).add(follower)
        self._cursors.setdefault(stream, after or "0-0")
        self._start()
        self._changed.set()
        return follower

    async def _take_slot(self, follower: Follower) -> bool:
        if self._per_key[follower.key_id] >= self.per_key:
            return False
        try:
            taken = await self._acquire(
                keys=[self.slots_key(follower.key_id)],
                args=[self.per_key, self.lease_ms, follower.slot],
            )
        except Exception as e:  # Redis away: this process's count is the cap
            log.warning("stream slots not reachable; counting in this process", error=repr(e))
            return True
        return bool(taken)

    def release(self, follower: Follower) -> None:
        """Stop following (once; a second call does nothing)."""
        stream = events.stream_key(follower.job_id)
        followers = self._followers.get(stream)
        if followers is None or follower not in followers:
            return
        followers.discard(follower)
        if not followers:
            del self._followers[stream], self._cursors[stream]
        self._open -= 1
        self._per_key[follower.key_id] -= 1
        if not self._per_key[follower.key_id]:
            del self._per_key[follower.key_id]
        task = asyncio.get_running_loop().create_task(self._give_back(follower))
        self._giving_back.add(task)
        task.add_done_callback(self._giving_back.discard)

    async def _give_back(self, follower: Follower) -> None:
        try:
            await self.redis.zrem(self.slots_key(follower.key_id), follower.slot)
        except Exception as e:  # the slot's lease ends on its own
            log.debug("stream slot not given back", error=repr(e))

    async def _renew_slots(self) -> None:
        """Extend the leases of this process's streams (every third of a lease)."""
        if time.monotonic() - self._renewed < self.lease_ms / 3000:
            return
        self._renewed = time.monotonic()
        followers = [f for group in self._followers.values() for f in group]
        try:
            for f in followers:
                await self._renew(keys=[self.slots_key(f.key_id)], args=[self.lease_ms, f.slot])
        except Exception as e:  # retried at the next renewal
            log.debug("stream slots not renewed", error=repr(e))

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._closed:
            if not self._cursors:
                self._changed.clear()
                await self._changed.wait()
                continue
            await self._renew_slots()
            try:
                streams: dict[Any, Any] = dict(self._cursors)
                result: Any = await self.redis.xread(streams, count=100, block=self.block_ms)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # Redis away: streams fall back on the job row
                log.debug("job event hub cannot read", error=repr(e))
                await asyncio.sleep(RETRY_S)
                continue
            for raw_key, entries in result or []:
                stream = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
                if stream not in self._cursors or not entries:
                    continue
                last = entries[-1][0]
                self._cursors[stream] = last.decode() if isinstance(last, bytes) else str(last)
                for follower in self._followers.get(stream, ()):
                    follower.woken.set()

    async def close(self) -> None:
        """Stop the reader and close its connection. The streams' slots are
        not given back (their leases end), as when the process dies."""
        self._closed = True
        self._changed.set()
        if self._task is not None:
            # redis-py can swallow a cancellation that lands in a blocking
            # XREAD: the loop also stops on ``_closed`` once that read returns.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout=self.block_ms / 1000 + 2)
            self._task = None
        await self.redis.aclose()
