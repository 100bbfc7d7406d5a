"""Per-key rate limits, shared by every API replica through Redis.

A fixed one-minute window per key, counted in Redis under
``folio:ratelimit:<key id>:<minute>`` (expiring after the window). Past
``limit_per_minute`` requests the API answers 429 with ``Retry-After``
(seconds until the window ends). Fixed windows let a client burst up to
twice the limit across a window edge.

Leases: asking Redis at every request would cost a round trip each, which
the busiest routes feel. A process instead takes a *lease* of
``lease_size`` requests at once (``INCRBY``) and spends it locally; the
lease is ``limit_per_minute / 100`` requests, at least 1 and at most
:data:`MAX_LEASE`. With a small limit (under 200 a minute) every request
still asks Redis and the count is exact; with a large one, each replica may
hold up to 1.5 % of the limit unspent when the window ends (see below), so
a client of a large limit may be refused that much early (never let past
the limit).

One lease at a time, fetched ahead: requests of a key that find its lease
being fetched wait for that fetch and spend from it, instead of each
fetching a lease of its own (under concurrency that counted every waiting
request's lease in Redis, spent one request of each and dropped the rest,
so a busy key was refused long before its limit). Once half a lease is
spent, the next one is fetched in the background, so a busy key's requests
do not stop for a Redis round trip every ``lease_size`` requests (they
did: under load that wait was the longest part of a request). A process
thus holds up to one and a half leases of a key unspent. A key refused in a
window is refused by the process for the rest of that window, once its
lease is spent, without asking Redis again (a fixed window's count only
grows).

Redis down: requests are **allowed** (an outage of the limiter must not
take the API down with it, and uploads must keep working while Redis is
away). After a failure the limiter is skipped for ``open_for_s`` seconds
(default 1) so requests do not each wait for a Redis timeout.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from redis.asyncio import Redis

from folio_shared.errors import RateLimited
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Length of a window, in seconds.
WINDOW_S = 60
#: Keys whose leases a process remembers (past it, leases are forgotten).
MAX_TRACKED_KEYS = 10_000


def window_key(key_id: uuid.UUID, window: int) -> str:
    return f"folio:ratelimit:{key_id}:{window}"


#: Largest lease a process takes at once, in requests.
MAX_LEASE = 50


@dataclass
class RateLimiter:
    """``limit_per_minute`` requests per key and minute; see the module notes.

    - ``open_for_s``: how long the limiter is skipped after Redis failed
      (default 1 s).
    """

    limit_per_minute: int
    open_for_s: float = 1.0
    _skip_until: float = 0.0
    #: key id → (window, requests left in this process's lease)
    _leases: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)
    #: key id → the lease being fetched from Redis
    _fetching: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    #: key id → (window refused in, retry after this time.time())
    _refused: dict[uuid.UUID, tuple[int, float]] = field(default_factory=dict)

    @property
    def lease_size(self) -> int:
        return max(1, min(MAX_LEASE, self.limit_per_minute // 100))

    async def hit(self, redis: Redis, key_id: uuid.UUID) -> None:
        """Count one request of ``key_id``; raises :class:`RateLimited`
        past the limit."""
        while True:
            if time.monotonic() < self._skip_until:
                return
            now = time.time()
            window = int(now // WINDOW_S)
            lease = self._leases.get(key_id)
            if lease is not None and lease[0] == window and lease[1] > 0:
                left = lease[1] - 1
                self._leases[key_id] = (window, left)
                size = self.lease_size
                if size > 1 and left <= size // 2 and key_id not in self._fetching:
                    self._fetch(redis, key_id, window)  # the next lease, ahead
                return
            refused = self._refused.get(key_id)
            if refused is not None and refused[0] == window:
                raise self._limited(refused[1] - now)
            fetching = self._fetching.get(key_id) or self._fetch(redis, key_id, window)
            await asyncio.shield(fetching)  # then spend from what it brought

    def _fetch(self, redis: Redis, key_id: uuid.UUID, window: int) -> asyncio.Task[None]:
        """Fetch a lease of ``key_id`` for ``window`` (a task; requests of
        the key wait for it rather than fetch their own)."""
        task = asyncio.get_running_loop().create_task(self._take_lease(redis, key_id, window))
        self._fetching[key_id] = task
        return task

    async def _take_lease(self, redis: Redis, key_id: uuid.UUID, window: int) -> None:
        """Take a lease of ``key_id`` in Redis and add it to the process's;
        a key past its limit is remembered as refused until the window ends.

        The task leaves :attr:`_fetching` as it ends, not in a done
        callback: a request that ran between the end and the callback found
        a finished fetch, awaited it without yielding and, with its lease
        of the window before, looped on it forever."""
        try:
            await self._take_lease_now(redis, key_id, window)
        finally:
            del self._fetching[key_id]

    async def _take_lease_now(self, redis: Redis, key_id: uuid.UUID, window: int) -> None:
        size = self.lease_size
        key = window_key(key_id, window)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.incrby(key, size)
                pipe.expire(key, WINDOW_S + 1, nx=True)
                count, _ = await pipe.execute()
        except Exception as e:
            self._skip_until = time.monotonic() + self.open_for_s
            log.warning("rate limiter unavailable; allowing requests", error=repr(e))
            return
        if len(self._leases) >= MAX_TRACKED_KEYS:
            self._leases.clear()
            self._refused.clear()
        granted = min(size, self.limit_per_minute - (int(count) - size))
        if granted <= 0:
            self._refused[key_id] = (window, (window + 1) * WINDOW_S)
            return
        lease = self._leases.get(key_id)
        left = lease[1] if lease is not None and lease[0] == window else 0
        self._leases[key_id] = (window, left + granted)

    def _limited(self, seconds_left: float) -> RateLimited:
        retry_after_s = max(1, int(seconds_left + 0.999))
        return RateLimited(
            f"more than {self.limit_per_minute} requests per minute with this key; "
            f"retry in {retry_after_s} s",
            retry_after_s=retry_after_s,
        )
